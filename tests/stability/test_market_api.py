"""Swap market API: the permission matrix over every endpoint, requests posted with field-level errors and nothing
stored, proposals confirmed into an audited change, suggestions that never show a colleague's gains to faculty,
trading cycles and strategy performance for coordinators, and JSON (never a 500) for bad ids."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocation.models import Schedule
from stability.market.matching import swap_request_match
from stability.market.requests import swap_request_create
from stability.models import ScheduleChange, StrategyPerformance, SwapRequest
from tests.factories import make_year
from tests.stability.helpers import slot, weeks_of

pytestmark = pytest.mark.django_db

CAST = ["anonymous", "faculty", "other_faculty", "coordinator"]
REQUESTS = reverse("swap-request-list")
PERFORMANCE = reverse("strategy-performance")


@pytest.fixture
def api_as(api_client, request):
    def login(who):
        if who != "anonymous":
            person = request.getfixturevalue(who)
            api_client.force_authenticate(getattr(person, "user", person))
        return api_client

    return login


def _date(schedule, index: int) -> str:
    return str(schedule.year.weeks.get(index=index).start_date)


def _open_request(market, faculty):
    return swap_request_create(actor=faculty.user, give=slot(market, faculty, 0),
                               wanted_weeks=[market.year.weeks.get(index=1)], strategy="flexible", note="")


# --- the permission matrix ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who, count", [("anonymous", None), ("faculty", 1), ("other_faculty", 0), ("coordinator", 1)])
def test_listing_and_reading_an_open_request(api_as, market, faculty, who, count):
    swap = _open_request(market, faculty)
    client = api_as(who)
    listed = client.get(REQUESTS)
    detail = client.get(reverse("swap-request-detail", args=[swap.pk]))
    if count is None:
        assert listed.status_code == detail.status_code == 401
        return
    assert listed.status_code == 200 and listed.json()["count"] == count
    assert detail.status_code == (200 if count else 404)


def test_a_counterparty_sees_the_proposal_but_not_the_requesters_private_parts(api_as, market, faculty, other_faculty):
    swap = swap_request_match(swap=_open_request(market, faculty))
    body = api_as("other_faculty").get(reverse("swap-request-detail", args=[swap.pk])).json()
    assert body["your_role"] == "counterparty" and body["awaiting_your_confirmation"] is True
    assert body["requester"]["name"] == faculty.display_name
    assert body["give"]["week"] == _date(market, 0) and body["take"]["week"] == _date(market, 1)
    assert body["your_gain"] == pytest.approx(0.8)
    assert body["requester_gain"] is None and body["mutual_gain"] is None and body["wanted_weeks"] is None
    mine = api_as("faculty").get(reverse("swap-request-detail", args=[swap.pk])).json()
    assert mine["your_role"] == "requester" and mine["wanted_weeks"] == [_date(market, 1)]
    assert mine["counterparty_gain"] is None and mine["mutual_gain"] is None


@pytest.mark.parametrize("action", ["confirm", "decline", "cancel"])
@pytest.mark.parametrize("who", CAST + ["carol"])
def test_request_operations_permission_matrix(api_as, market, faculty, action, who):
    swap = swap_request_match(swap=_open_request(market, faculty))
    response = api_as(who).post(reverse(f"swap-request-{action}", args=[swap.pk]))
    allowed = {
        "confirm": {"faculty", "other_faculty"}, "decline": {"faculty", "other_faculty"},
        "cancel": {"faculty", "coordinator"},
    }[action]
    if who == "anonymous":
        assert response.status_code == 401
    elif who == "carol":
        assert response.status_code == 404  # not hers: not even visible
    elif who in allowed:
        assert response.status_code == 200, response.json()
    else:
        assert response.status_code == 403
        assert SwapRequest.objects.get(pk=swap.pk).status == SwapRequest.Status.MATCHED


@pytest.mark.parametrize("who, expected", [("anonymous", 401), ("faculty", 200), ("other_faculty", 200),
                                           ("coordinator", 400)])
def test_swap_suggestions_permission_matrix(api_as, market, who, expected):
    response = api_as(who).get(reverse("schedule-swap-suggestions", args=[market.pk]))
    assert response.status_code == expected
    if who == "coordinator":
        assert "faculty" in response.json()


@pytest.mark.parametrize("who, expected", [("anonymous", 401), ("faculty", 403), ("other_faculty", 403),
                                           ("coordinator", 200)])
def test_clear_cycles_and_strategy_performance_are_for_coordinators(api_as, market, who, expected):
    client = api_as(who)
    assert client.post(reverse("schedule-clear-cycles", args=[market.pk])).status_code == expected
    assert client.get(PERFORMANCE).status_code == expected


# --- posting ------------------------------------------------------------------------------------------------------


def test_posting_a_request_matches_it_at_once(api_as, market, faculty, other_faculty):
    response = api_as("faculty").post(REQUESTS, {
        "give": slot(market, faculty, 0).pk, "wanted_weeks": [_date(market, 1)], "strategy": "flexible",
        "note": "Conference",
    }, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "matched" and body["counterparty"]["name"] == other_faculty.display_name
    assert body["take"]["week"] == _date(market, 1) and body["your_gain"] == pytest.approx(0.8)
    assert body["confirm_url"].endswith(reverse("swap-request-confirm", args=[body["id"]]))


def test_posting_without_matching_leaves_the_request_open(api_as, market, faculty):
    week = market.year.weeks.get(index=1)
    response = api_as("faculty").post(REQUESTS, {
        "give": slot(market, faculty, 0).pk, "wanted_weeks": [week.pk], "match": False,
    }, format="json")
    assert response.status_code == 201 and response.json()["status"] == "open"


def test_posting_a_suggestion_by_its_take(api_as, market, faculty, carol):
    response = api_as("faculty").post(REQUESTS, {
        "give": slot(market, faculty, 0).pk, "take": slot(market, carol, 1).pk,
    }, format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["strategy"], body["status"], body["requester_confirmed"]) == ("suggested", "matched", True)


@pytest.mark.parametrize("case, field", [
    ("foreign assignment", "give"), ("unknown assignment", "give"), ("week of another year", "wanted_weeks"),
    ("wanted is given", "wanted_weeks"), ("blocked week", "wanted_weeks"), ("not a week", "wanted_weeks"),
    ("no such date", "wanted_weeks"), ("bad strategy", "strategy"), ("duplicate", "give"),
    ("take elsewhere", "take"),
])
def test_bad_requests_are_refused_by_field_and_store_nothing(api_as, market, faculty, other_faculty, rotations,
                                                            case, field):
    other_year = make_year(label=2030, num_weeks=4, rotations=rotations)
    before = 0
    payload = {"give": slot(market, faculty, 0).pk, "wanted_weeks": [_date(market, 1)]}
    if case == "foreign assignment":
        payload["give"] = slot(market, other_faculty, 1).pk
    elif case == "unknown assignment":
        payload["give"] = 999_999
    elif case == "week of another year":
        payload["wanted_weeks"] = [other_year.weeks.get(index=1).pk]
    elif case == "wanted is given":
        payload["wanted_weeks"] = [_date(market, 0)]
    elif case == "blocked week":
        payload["wanted_weeks"] = [_date(market, 7)]
    elif case == "not a week":
        payload["wanted_weeks"] = ["soon"]
    elif case == "no such date":
        payload["wanted_weeks"] = ["2026-07-07"]
    elif case == "bad strategy":
        payload["strategy"] = "bribery"
    elif case == "duplicate":
        _open_request(market, faculty)
        before = 1
    elif case == "take elsewhere":
        other = Schedule.objects.create(year=other_year, name="other")
        from allocation.models import Assignment

        payload["take"] = Assignment.objects.create(
            schedule=other, faculty=other_faculty, week=other_year.weeks.get(index=0), rotation=rotations[0]).pk
    response = api_as("faculty").post(REQUESTS, payload, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json(), response.json()
    assert all(isinstance(m, str) for m in response.json()[field])
    assert SwapRequest.objects.count() == before


def test_bad_ids_are_json_404s_never_500s(api_as, market):
    client = api_as("coordinator")
    for url in ("/api/v1/swap-requests/abc/", "/api/v1/swap-requests/99999999999999999999/",
                "/api/v1/swap-requests/12345/confirm", "/api/v1/schedules/abc/swap-suggestions",
                "/api/v1/schedules/999/clear-cycles"):
        response = client.post(url) if url.endswith(("confirm", "cycles")) else client.get(url)
        assert response.status_code == 404, url
        assert "detail" in response.json()
    assert client.get(REQUESTS, {"status": "lost"}).status_code == 400
    assert client.get(PERFORMANCE, {"year": "x"}).status_code == 400


# --- confirming ---------------------------------------------------------------------------------------------------


def test_confirming_both_sides_executes_the_swap(api_as, market, faculty, other_faculty):
    swap = swap_request_match(swap=_open_request(market, faculty))
    first = api_as("faculty").post(reverse("swap-request-confirm", args=[swap.pk])).json()
    assert first["status"] == "matched" and first["requester_confirmed"] is True
    done = api_as("other_faculty").post(reverse("swap-request-confirm", args=[swap.pk])).json()
    assert done["status"] == "executed" and done["change"] is not None
    change = ScheduleChange.objects.get(pk=done["change"])
    assert change.kind == "swap" and change.nash_distance_before == pytest.approx(0.8)
    assert weeks_of(market, faculty) == [1, 4] and weeks_of(market, other_faculty) == [0]
    again = api_as("other_faculty").post(reverse("swap-request-confirm", args=[swap.pk]))
    assert again.status_code == 400 and "status" in again.json()


# --- suggestions, cycles, performance -----------------------------------------------------------------------------


def test_faculty_suggestions_hide_the_partners_gain(api_as, market, faculty, other_faculty):
    rows = api_as("faculty").get(reverse("schedule-swap-suggestions", args=[market.pk])).json()
    assert [(r["give"]["week"], r["take"]["week"], r["partner"]["name"]) for r in rows][0] == (
        _date(market, 0), _date(market, 1), other_faculty.display_name,
    )
    assert rows[0]["gain"] == pytest.approx(0.8) and rows[0]["distance_reduction"] == pytest.approx(0.8)
    assert all(r["partner_gain"] is None and r["mutual_gain"] is None for r in rows)


def test_coordinators_read_anyones_suggestions_in_full_and_faculty_only_their_own(api_as, market, faculty):
    url = reverse("schedule-swap-suggestions", args=[market.pk])
    rows = api_as("coordinator").get(url, {"faculty": faculty.pk}).json()
    assert rows[0]["partner_gain"] == pytest.approx(0.8) and rows[0]["mutual_gain"] == pytest.approx(1.6)
    assert api_as("coordinator").get(url, {"faculty": 999_999}).status_code == 400
    assert api_as("other_faculty").get(url, {"faculty": faculty.pk}).status_code == 403


def test_suggestions_need_a_published_schedule(api_as, market):
    Schedule.objects.filter(pk=market.pk).update(status=Schedule.Status.DRAFT)
    response = api_as("faculty").get(reverse("schedule-swap-suggestions", args=[market.pk]))
    assert response.status_code == 400 and "schedule" in response.json()


def test_clearing_cycles_answers_the_cycles_proposed(api_as, cycle_market, faculty, other_faculty, carol, dave, erin):
    weeks = {w.index: w for w in cycle_market.year.weeks.all()}
    for person, give, want in ((faculty, 1, 2), (other_faculty, 2, 3), (carol, 3, 1), (dave, 5, 6), (erin, 6, 5)):
        swap_request_create(actor=person.user, give=slot(cycle_market, person, give), wanted_weeks=[weeks[want]],
                            strategy="targeted", note="")
    response = api_as("coordinator").post(reverse("schedule-clear-cycles", args=[cycle_market.pk]))
    assert response.status_code == 200
    body = response.json()
    assert body["cleared"] == 2 and sorted(len(c) for c in body["cycles"]) == [2, 3]
    assert all(r["status"] == "matched" and r["cycle"] for c in body["cycles"] for r in c)


def test_strategy_performance_lists_each_strategy_of_a_year(api_as, market, faculty):
    swap = swap_request_match(swap=_open_request(market, faculty))
    api_as("faculty").post(reverse("swap-request-cancel", args=[swap.pk]))
    assert StrategyPerformance.objects.filter(year=market.year).count() == 4
    rows = api_as("coordinator").get(PERFORMANCE, {"year": market.year.label}).json()["results"]
    flexible = next(r for r in rows if r["strategy"] == "flexible")
    assert (flexible["attempts"], flexible["successes"], flexible["share"]) == (1, 0, 1.0)
    assert flexible["fitness"] == pytest.approx(0.0) and flexible["frequency"] == pytest.approx(1.0)


def test_a_week_id_beyond_the_databases_range_is_a_field_error_not_a_server_error(api_as, market, faculty):
    response = api_as("faculty").post(REQUESTS, {
        "give": slot(market, faculty, 0).pk, "wanted_weeks": [2**70], "match": False,
    }, format="json")
    assert response.status_code == 400, response.content
    assert "wanted_weeks" in response.json()
    assert not SwapRequest.objects.exists()
