"""Swap market pages: the permission matrix for every page and form, suggestions that become requests, posting a
request with errors beside their fields, proposals confirmed into the published schedule, HTMX partials, and the
coordinator's market with its "Clear trading cycles" button."""

from __future__ import annotations

import pytest
from django.urls import reverse

from stability.market.matching import swap_request_match
from stability.market.requests import swap_request_create
from stability.models import ScheduleChange, SwapRequest
from tests.conftest import cast_user
from tests.stability.helpers import slot, weeks_of

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
CAST = ["anonymous", "faculty", "other_faculty", "coordinator"]



def _proposal(market, faculty):
    """Alice offers week 0 for week 1; the matcher proposes bob's week 1."""
    swap = swap_request_create(actor=faculty.user, give=slot(market, faculty, 0),
                               wanted_weeks=[market.year.weeks.get(index=1)], strategy="flexible", note="conference")
    return swap_request_match(swap=swap)


def _is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


# --- the permission matrix ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["swap_suggestions", "my_swap_requests"])
@pytest.mark.parametrize("who, expected", [("anonymous", "login"), ("faculty", 200), ("other_faculty", 200),
                                           ("coordinator", "market")])
def test_faculty_pages_permission_matrix(request, client_as, market, page, who, expected):
    response = client_as(cast_user(request, who)).get(reverse(page))
    if expected == "login":
        assert _is_login_redirect(response)
    elif expected == "market":  # a coordinator without a faculty profile is sent to the market page
        assert response.status_code == 302 and response["Location"] == reverse("swap_market_overview")
    else:
        assert response.status_code == expected


@pytest.mark.parametrize("who, expected", [("anonymous", "login"), ("faculty", 403), ("other_faculty", 403),
                                           ("coordinator", 200)])
def test_coordinator_market_permission_matrix(request, client_as, market, who, expected):
    client = client_as(cast_user(request, who))
    for url in (reverse("swap_market", args=[market.pk]), reverse("swap_market_overview")):
        response = client.get(url, follow=expected == 200)
        if expected == "login":
            assert _is_login_redirect(response)
        else:
            assert response.status_code == expected
    partial = client.get(reverse("swap_market", args=[market.pk]), **HX)
    assert _is_login_redirect(partial) if expected == "login" else partial.status_code == expected


@pytest.mark.parametrize("who, expected", [("anonymous", "login"), ("faculty", 403), ("other_faculty", 403),
                                           ("coordinator", 302)])
def test_clear_cycles_permission_matrix(request, client_as, market, who, expected):
    response = client_as(cast_user(request, who)).post(reverse("swap_market_clear_cycles", args=[market.pk]))
    if expected == "login":
        assert _is_login_redirect(response)
    else:
        assert response.status_code == expected
    if expected == 302:
        assert response["Location"] == reverse("swap_market", args=[market.pk])


def test_only_a_coordinator_clears_cycles(client_as, market, coordinator, faculty):
    assert client_as(faculty.user).post(reverse("swap_market_clear_cycles", args=[market.pk])).status_code == 403
    response = client_as(coordinator).post(reverse("swap_market_clear_cycles", args=[market.pk]), follow=True)
    assert response.status_code == 200 and b"No trading cycle" in response.content


@pytest.mark.parametrize("action", ["confirm", "decline", "cancel"])
@pytest.mark.parametrize("who", CAST + ["carol"])
def test_request_actions_permission_matrix(request, client_as, market, faculty, action, who):
    """Alice's proposal to bob: anonymous logs in; carol (not a party) cannot even see it; the coordinator sees it
    but is not a party; alice and bob act within the rules of each action."""
    swap = _proposal(market, faculty)
    response = client_as(cast_user(request, who)).post(reverse(f"swap_request_{action}", args=[swap.pk]))
    swap.refresh_from_db()
    if who == "anonymous":
        assert _is_login_redirect(response) and swap.status == SwapRequest.Status.MATCHED
    elif who == "carol":
        assert response.status_code == 404 and swap.status == SwapRequest.Status.MATCHED
    elif who == "coordinator":
        # A coordinator may withdraw a request on someone's behalf, but confirms or declines for nobody.
        if action == "cancel":
            assert response.status_code == 302 and swap.status == SwapRequest.Status.CANCELLED
        else:
            assert response.status_code == 403 and swap.status == SwapRequest.Status.MATCHED
    elif who == "other_faculty" and action == "cancel":
        assert response.status_code == 403 and swap.status == SwapRequest.Status.MATCHED
    else:
        assert response.status_code == 302
        expected = {"confirm": SwapRequest.Status.MATCHED, "decline": SwapRequest.Status.DECLINED,
                    "cancel": SwapRequest.Status.CANCELLED}[action]
        if action == "confirm" and who == "other_faculty":
            expected = SwapRequest.Status.MATCHED  # bob's confirmation alone: alice has not confirmed yet
        assert swap.status == expected


# --- suggestions -------------------------------------------------------------------------------------------------


def test_suggestions_page_lists_partner_and_week_and_a_request_button(client_as, market, faculty, other_faculty, carol):
    response = client_as(faculty.user).get(reverse("swap_suggestions"))
    html = response.content.decode()
    assert response.status_code == 200
    assert other_faculty.display_name in html and carol.display_name in html
    assert html.count("Request this swap") == 3
    assert '10%</span> → <b class="gain">90%</b>' in html  # alice's own match, before and after
    assert '80%</span> → <b class="gain">0%</b>' in html  # the schedule's nash distance, before and after


def test_requesting_a_suggestion_proposes_it_to_the_partner(client_as, market, faculty, other_faculty):
    give, take = slot(market, faculty, 0), slot(market, other_faculty, 1)
    client = client_as(faculty.user)
    response = client.post(reverse("swap_suggestion_request"), {"give": give.pk, "take": take.pk})
    assert response.status_code == 302 and response["Location"].startswith(reverse("my_swap_requests"))
    swap = SwapRequest.objects.get()
    assert (swap.strategy, swap.status, swap.counterparty, swap.requester_confirmed) == (
        "suggested", "matched", other_faculty, True,
    )
    page = client.get(reverse("swap_suggestions")).content.decode()
    assert f"request #{swap.pk}" in page, "an offered week says so instead of offering the button again"


def test_requesting_a_suggestion_over_htmx_answers_the_row(client_as, market, faculty, carol):
    response = client_as(faculty.user).post(
        reverse("swap_suggestion_request"), {"give": slot(market, faculty, 0).pk, "take": slot(market, carol, 1).pk}, **HX,
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert "Requested" in html and carol.display_name in html


def test_a_refused_suggestion_over_htmx_says_why_in_the_row(client_as, market, faculty, other_faculty):
    give, take = slot(market, faculty, 0), slot(market, other_faculty, 1)
    client = client_as(faculty.user)
    client.post(reverse("swap_suggestion_request"), {"give": give.pk, "take": take.pk})
    again = client.post(reverse("swap_suggestion_request"), {"give": give.pk, "take": take.pk}, **HX)
    assert again.status_code == 200, "htmx swaps only 2xx answers"
    assert 'class="field-error"' in again.content.decode() and "already offer" in again.content.decode()
    assert SwapRequest.objects.count() == 1


def test_nobody_requests_a_swap_with_someone_elses_week(client_as, market, faculty, other_faculty):
    response = client_as(other_faculty.user).post(
        reverse("swap_suggestion_request"), {"give": slot(market, faculty, 0).pk, "take": slot(market, other_faculty, 1).pk},
    )
    assert response.status_code == 404 and not SwapRequest.objects.exists()


def test_faculty_without_a_published_schedule_see_why(client_as, year, faculty):
    for page in ("swap_suggestions", "my_swap_requests"):
        response = client_as(faculty.user).get(reverse(page))
        assert response.status_code == 200
        assert b"No published schedule yet" in response.content


def test_a_login_without_a_faculty_profile_gets_the_no_profile_page(client_as, market, db):
    from tests.factories import UserFactory

    response = client_as(UserFactory(username="visitor")).get(reverse("swap_suggestions"))
    assert response.status_code == 403 and b"No faculty profile" in response.content


# --- my requests -------------------------------------------------------------------------------------------------


def test_posting_a_request_proposes_the_best_match(client_as, market, faculty, other_faculty):
    week1 = market.year.weeks.get(index=1)
    response = client_as(faculty.user).post(reverse("my_swap_requests"), {
        "give": slot(market, faculty, 0).pk, "strategy": "flexible", "wanted_weeks": [week1.pk], "note": "",
    }, follow=True)
    assert response.status_code == 200
    swap = SwapRequest.objects.get()
    assert swap.status == "matched" and swap.counterparty == other_faculty
    assert f"proposed to {other_faculty.display_name}" in response.content.decode()


def test_a_bad_request_comes_back_with_the_error_beside_the_field(client_as, market, faculty):
    response = client_as(faculty.user).post(reverse("my_swap_requests"), {
        "give": slot(market, faculty, 0).pk, "strategy": "flexible", "note": "",
    })
    assert response.status_code == 400
    html = response.content.decode()
    assert 'fieldset class="wanted has-error"' in html and "Tick at least one week" in html
    assert not SwapRequest.objects.exists()


@pytest.mark.parametrize("bad_year", ["x", "1999", "2026x"])
def test_a_request_for_a_bad_year_is_a_form_error_not_the_latest_schedule(client_as, market, faculty, bad_year):
    week1 = market.year.weeks.get(index=1)
    response = client_as(faculty.user).post(reverse("my_swap_requests"), {
        "year": bad_year, "give": slot(market, faculty, 0).pk, "strategy": "flexible", "wanted_weeks": [week1.pk], "note": "",
    })
    assert response.status_code == 400
    assert f"Year “{bad_year}” has no published schedule of yours; choose one of: 2026." in response.content.decode()
    assert not SwapRequest.objects.exists()


def test_a_suggestion_requested_for_a_bad_year_is_refused(client_as, market, faculty, other_faculty):
    data = {"year": "x", "give": slot(market, faculty, 0).pk, "take": slot(market, other_faculty, 1).pk}
    client = client_as(faculty.user)
    row = client.post(reverse("swap_suggestion_request"), data, **HX)
    assert row.status_code == 200 and "Year “x” has no published schedule of yours" in row.content.decode()
    page = client.post(reverse("swap_suggestion_request"), data, follow=True)
    assert "Year “x” has no published schedule of yours" in page.content.decode()
    assert not SwapRequest.objects.exists()


@pytest.mark.parametrize("page", ["swap_suggestions", "my_swap_requests"])
def test_a_page_asked_for_a_bad_year_says_so(client_as, market, faculty, page):
    client = client_as(faculty.user)
    bad = client.get(reverse(page), {"year": "x" * 500})
    assert bad.status_code == 400
    assert f"Year “{'x' * 20}…” has no published schedule of yours; choose one of: 2026." in bad.content.decode()
    for good in ({"year": "2026"}, {"year": ""}, {}):
        response = client.get(reverse(page), good)
        assert response.status_code == 200 and "has no published schedule" not in response.content.decode()


def test_the_form_offers_only_weeks_one_could_take(client_as, market, faculty):
    form = client_as(faculty.user).get(reverse("my_swap_requests")).context["form"]
    offered = sorted(w.index for w in form.fields["wanted_weeks"].queryset)
    assert offered == [1, 2, 3, 5, 6]  # not the held weeks 0 and 4, not the blocked week 7
    assert sorted(a.week.index for a in form.fields["give"].queryset) == [0, 4]


def test_a_proposal_is_confirmed_by_both_and_the_schedule_shows_the_new_week(client_as, client, market, faculty,
                                                                             other_faculty):
    swap = _proposal(market, faculty)
    bob_page = client_as(other_faculty.user).get(reverse("my_swap_requests")).content.decode()
    assert "Proposals for you" in bob_page and faculty.display_name in bob_page and "conference" in bob_page
    client.post(reverse("swap_request_confirm", args=[swap.pk]))
    client.logout()
    alice = client_as(faculty.user)
    response = alice.post(reverse("swap_request_confirm", args=[swap.pk]), **HX)
    partial = response.content.decode()
    assert response.status_code == 200 and 'id="request-lists"' in partial and "<html" not in partial
    assert "Swap done: the published schedule now shows your new week." in partial, "the message lands in the partial"
    swap.refresh_from_db()
    assert swap.status == "executed" and ScheduleChange.objects.filter(pk=swap.change_id).exists()
    assert weeks_of(market, faculty) == [1, 4]
    schedule_page = alice.get(reverse("my_schedule")).content.decode()
    assert "Mon 13 Jul" in schedule_page  # week 2 (index 1) now on alice's schedule


def test_an_outsider_sees_nothing_of_other_peoples_requests(client_as, market, faculty, carol):
    _proposal(market, faculty)
    html = client_as(carol.user).get(reverse("my_swap_requests")).content.decode()
    assert faculty.display_name not in html and "Proposals for you" not in html


# --- the coordinator's market ------------------------------------------------------------------------------------


def test_the_market_lists_requests_and_clears_cycles_over_htmx(client_as, cycle_market, faculty, other_faculty, carol,
                                                              coordinator):
    weeks = {w.index: w for w in cycle_market.year.weeks.all()}
    for person, give, want in ((faculty, 1, 2), (other_faculty, 2, 3), (carol, 3, 1)):
        swap_request_create(actor=person.user, give=slot(cycle_market, person, give), wanted_weeks=[weeks[want]],
                            strategy="targeted", note="")
    client = client_as(coordinator)
    page = client.get(reverse("swap_market", args=[cycle_market.pk])).content.decode()
    assert "Clear trading cycles" in page and "3 open" in page and "Strategy performance" in page
    response = client.post(reverse("swap_market_clear_cycles", args=[cycle_market.pk]), **HX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'id="market-requests"' in html
    assert html.count('<span class="badge status-matched">Trading cycle</span>') == 3
    assert set(SwapRequest.objects.values_list("status", flat=True)) == {"matched"}


def test_faculty_swap_pages_show_no_replicator_fitness_solver_status_or_payment(client_as, market, faculty):
    _proposal(market, faculty)
    for page in ("swap_suggestions", "my_swap_requests"):
        html = client_as(faculty.user).get(reverse(page)).content.decode()
        for jargon in ("itness", "eplicator", "OPTIMAL", "FEASIBLE", "payment"):
            assert jargon not in html, (page, jargon)
