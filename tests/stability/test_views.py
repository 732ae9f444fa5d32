"""Stability pages: the permission matrix (pages, HTMX partials and every POST), the report page's content, the
publish form's gate (refusal, override, warnings), recompute in place or as a plain POST, applying recommended
swaps, and the links from the allocation pages and the nav."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocation.models import Schedule
from stability.gate import schedule_publish, schedule_recommended_swap_apply
from stability.models import NashStabilityReport, PublicationRecord, ScheduleChange
from stability.reports import stability_report_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("few_restarts")]

HX = {"HTTP_HX_REQUEST": "true"}
REASON = "Approved by the programme director; swaps handled in week 1."


def _user(request, who):
    if who == "anonymous":
        return None
    person = request.getfixturevalue(who)
    return getattr(person, "user", person)


def _pages(schedule) -> list[tuple[str, str]]:
    return [
        ("get", reverse("stability_overview")),
        ("get", reverse("stability_year", args=[schedule.year.label])),
        ("get", reverse("stability_report", args=[schedule.pk])),
        ("post", reverse("stability_recompute", args=[schedule.pk])),
        ("post", reverse("stability_price_of_anarchy", args=[schedule.pk])),
        ("post", reverse("stability_swap_apply", args=[schedule.pk])),
        ("post", reverse("stability_swaps_apply_all", args=[schedule.pk])),
        ("post", reverse("stability_publish", args=[schedule.pk])),
    ]


@pytest.mark.parametrize("who", ["anonymous", "faculty", "other_faculty"])
@pytest.mark.parametrize("htmx", [False, True])
def test_only_coordinators_reach_stability_pages(request, client_as, critical_draft, who, htmx):
    client = client_as(_user(request, who))
    for method, url in _pages(critical_draft):
        response = getattr(client, method)(url, **(HX if htmx else {}))
        if who == "anonymous":
            assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
        else:
            assert response.status_code == 403, url
    assert Schedule.objects.get(pk=critical_draft.pk).status == Schedule.Status.DRAFT
    assert not NashStabilityReport.objects.exists() and not ScheduleChange.objects.exists()


def test_coordinators_reach_every_page(client_as, coordinator, critical_draft):
    client = client_as(coordinator)
    assert client.get(reverse("stability_overview")).status_code == 302
    assert client.get(reverse("stability_year", args=[2031])).status_code == 200
    assert client.get(reverse("stability_report", args=[critical_draft.pk])).status_code == 200


def test_unknown_schedules_and_years_are_404(client_as, coordinator, critical_draft):
    client = client_as(coordinator)
    assert client.get(reverse("stability_year", args=[1999])).status_code == 404
    assert client.get("/coordinator/schedules/999999/stability/").status_code == 404
    assert client.post("/coordinator/schedules/999999/publish/").status_code == 404
    assert client.get("/coordinator/schedules/abc/stability/").status_code == 404


def test_the_year_page_lists_schedules_with_their_level(client_as, coordinator, critical_draft, stable_draft):
    stability_report_for(schedule=critical_draft)
    html = client_as(coordinator).get(reverse("stability_year", args=[2031])).content.decode()
    assert "Critical draft" in html and "Stable draft" in html
    assert "level-critical" in html and "not analysed yet" in html
    assert reverse("stability_report", args=[critical_draft.pk]) in html


def test_the_report_page_shows_gauge_counts_tables_chart_and_the_gate(client_as, coordinator, critical_draft):
    response = client_as(coordinator).get(reverse("stability_report", args=[critical_draft.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('role="img"') == 2  # the gauge and the gains chart
    assert "Nash distance 0.667" in html and "level-critical" in html
    for text in ("Blocking swaps", "Beneficial deviations", "Predicted swap requests", "Optimal welfare", "Efficiency",
                 "Price of anarchy", "Price of stability", "K = 5", "Top instabilities", "Recommended swaps",
                 "Dr. Alice Owner", "Dr. Bob Outsider", "Recompute", "The stability gate will refuse this schedule",
                 "Publish anyway, over the CRITICAL report", "Reason for publishing anyway"):
        assert text in html, text
    assert html.count('class="small-button apply"') == 1
    assert NashStabilityReport.objects.count() == 1


def test_a_stable_report_has_nothing_to_apply_and_no_override(client_as, coordinator, stable_draft):
    html = client_as(coordinator).get(reverse("stability_report", args=[stable_draft.pk])).content.decode()
    assert "no objection" in html and "Publish anyway" not in html and "No blocking swaps" in html
    assert 'class="small-button apply"' not in html


def test_publishing_a_critical_draft_without_force_is_refused_on_the_page(client_as, coordinator, critical_draft):
    response = client_as(coordinator).post(reverse("stability_publish", args=[critical_draft.pk]), {"reason": REASON})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Not published: the stability gate refused." in html and "CRITICAL" in html
    assert Schedule.objects.get(pk=critical_draft.pk).status == Schedule.Status.DRAFT
    assert not PublicationRecord.objects.exists()


def test_force_without_a_reason_is_refused_beside_the_reason_field(client_as, coordinator, critical_draft):
    response = client_as(coordinator).post(reverse("stability_publish", args=[critical_draft.pk]), {"force": "on"})
    assert response.status_code == 400
    assert "needs a written reason" in response.content.decode()
    assert Schedule.objects.get(pk=critical_draft.pk).status == Schedule.Status.DRAFT


def test_force_with_a_reason_publishes_and_shows_the_override(client_as, coordinator, critical_draft):
    client = client_as(coordinator)
    response = client.post(reverse("stability_publish", args=[critical_draft.pk]), {"force": "on", "reason": REASON})
    assert response.status_code == 302 and response["Location"] == reverse("stability_report", args=[critical_draft.pk])
    record = PublicationRecord.objects.get()
    assert record.forced and record.override_reason == REASON and record.channel == "page"
    assert record.published_by == coordinator
    html = client.get(response["Location"]).content.decode()
    assert "is published for" in html and "Published over a CRITICAL report (override)" in html and REASON in html
    assert 'id="publish"' not in html  # a published schedule has no publish form


def test_an_unstable_schedule_publishes_with_a_warning_message(client_as, coordinator, critical_draft, thresholds):
    thresholds(0.1, 0.5, 0.9)
    client = client_as(coordinator)
    html = client.get(reverse("stability_report", args=[critical_draft.pk])).content.decode()
    assert "It will publish with a warning" in html and "Publish anyway" not in html
    response = client.post(reverse("stability_publish", args=[critical_draft.pk]), follow=True)
    html = response.content.decode()
    assert 'class="warning"' in html and "UNSTABLE" in html
    assert not PublicationRecord.objects.get().forced


def test_publishing_a_published_schedule_again_is_refused(client_as, coordinator, stable_draft):
    schedule_publish(schedule=stable_draft, actor=coordinator, channel="api")
    response = client_as(coordinator).post(reverse("stability_publish", args=[stable_draft.pk]))
    assert response.status_code == 409 and PublicationRecord.objects.count() == 1


def test_recompute_swaps_the_report_partial_under_htmx(client_as, coordinator, critical_draft):
    client = client_as(coordinator)
    first = stability_report_for(schedule=critical_draft)
    response = client.post(reverse("stability_recompute", args=[critical_draft.pk]), **HX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html and 'id="stability-report"' in html
    assert NashStabilityReport.objects.exclude(pk=first.pk).count() == 1


def test_recompute_as_a_plain_post_redirects_with_a_message(client_as, coordinator, critical_draft):
    response = client_as(coordinator).post(reverse("stability_recompute", args=[critical_draft.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("stability_report", args=[critical_draft.pk])
    assert "Recomputed: critical" in response.content.decode()


def test_the_report_partial_is_served_to_htmx(client_as, coordinator, critical_draft):
    html = client_as(coordinator).get(reverse("stability_report", args=[critical_draft.pk]), **HX).content.decode()
    assert "<html" not in html and 'id="stability-report"' in html


def test_applying_a_recommended_swap_edits_the_draft_and_the_report_turns_stable(client_as, coordinator, critical_draft, people):
    client = client_as(coordinator)
    [swap] = stability_report_for(schedule=critical_draft).payload["recommended_swaps"]
    response = client.post(reverse("stability_swap_apply", args=[critical_draft.pk]),
                           {"assignment_a": swap["assignment_a"], "assignment_b": swap["assignment_b"]}, follow=True)
    html = response.content.decode()
    assert "Swap applied" in html and "level-stable" in html
    change = ScheduleChange.objects.get()
    assert change.kind == ScheduleChange.Kind.RECOMMENDED and change.actor == coordinator
    assert dict(critical_draft.assignments.values_list("faculty_id", "week__index"))[people["A"].pk] == 1


def test_applying_a_stale_or_bad_swap_shows_why_and_changes_nothing(client_as, coordinator, stable_draft, people):
    client = client_as(coordinator)
    a = stable_draft.assignments.get(faculty=people["A"]).pk
    b = stable_draft.assignments.get(faculty=people["B"]).pk
    url = reverse("stability_swap_apply", args=[stable_draft.pk])
    html = client.post(url, {"assignment_a": a, "assignment_b": b}, follow=True).content.decode()
    assert "could not be applied" in html and "no longer benefits both" in html
    html = client.post(url, {"assignment_a": "x"}, follow=True).content.decode()
    assert "could not be applied" in html
    assert not ScheduleChange.objects.exists()


def test_applying_a_swap_to_a_published_schedule_is_audited(client_as, coordinator, critical_draft):
    result = schedule_publish(schedule=critical_draft, actor=coordinator, force=True, reason=REASON, channel="api")
    [swap] = result.report.payload["recommended_swaps"]
    html = client_as(coordinator).post(
        reverse("stability_swap_apply", args=[critical_draft.pk]),
        {"assignment_a": swap["assignment_a"], "assignment_b": swap["assignment_b"]}, follow=True,
    ).content.decode()
    assert "Swap applied" in html and "Recommended swap applied by a coordinator" in html
    change = ScheduleChange.objects.get()
    assert change.nash_distance_before == pytest.approx(2 / 3) and change.nash_distance_after == 0
    assert Schedule.objects.get(pk=critical_draft.pk).status == Schedule.Status.PUBLISHED


def test_get_on_post_only_pages_is_405(client_as, coordinator, critical_draft):
    client = client_as(coordinator)
    for name in ("stability_recompute", "stability_swap_apply", "stability_swaps_apply_all", "stability_publish"):
        assert client.get(reverse(name, args=[critical_draft.pk])).status_code == 405, name


def test_the_nav_links_stability_for_coordinators_only(client_as, coordinator, faculty, critical_draft):
    html = client_as(coordinator).get(reverse("stability_year", args=[2031])).content.decode()
    assert f'href="{reverse("stability_overview")}"' in html


def test_faculty_do_not_see_the_stability_nav_link(client, faculty, example_year):
    client.force_login(faculty.user)
    html = client.get(reverse("my_schedule")).content.decode()
    assert reverse("stability_overview") not in html


def test_the_run_page_links_its_draft_to_the_stability_report(client_as, coordinator, example_year,
                                                              django_capture_on_commit_callbacks):
    from allocation.services import allocation_run_start

    with django_capture_on_commit_callbacks(execute=True):
        run, _ = allocation_run_start(year=example_year, mechanism="rsd", options={}, seed=3, actor=coordinator)
    run.refresh_from_db()
    html = client_as(coordinator).get(reverse("run_detail", args=[run.pk])).content.decode()
    assert reverse("stability_report", args=[run.schedule.pk]) in html


def test_a_large_schedule_offers_the_price_of_anarchy_as_a_background_job(
    client_as, coordinator, critical_draft, settings, django_capture_on_commit_callbacks, monkeypatch,
):
    from stability import tasks

    settings.GTSCHED_STABILITY = {**settings.GTSCHED_STABILITY, "poa_inline_max_assignments": 2}
    client = client_as(coordinator)
    page = client.get(reverse("stability_report", args=[critical_draft.pk])).content.decode()
    assert "not computed with every report" in page and reverse("stability_price_of_anarchy", args=[critical_draft.pk]) in page
    enqueued = []
    monkeypatch.setattr(tasks.stability_report_task, "delay", lambda *args: enqueued.append(args))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("stability_price_of_anarchy", args=[critical_draft.pk]), follow=True)
    assert "in the background" in response.content.decode() and len(enqueued) == 1
    tasks.stability_report_task.run(*enqueued[0])
    page = client.get(reverse("stability_report", args=[critical_draft.pk])).content.decode()
    assert "K = 5 random restarts" in page


# --- apply all recommended swaps --------------------------------------------------------------------------------


def test_apply_all_on_a_draft_turns_the_worked_example_stable(client_as, coordinator, critical_draft, people):
    client = client_as(coordinator)
    report = stability_report_for(schedule=critical_draft)
    page = client.get(reverse("stability_report", args=[critical_draft.pk])).content.decode()
    assert "Apply all 1 recommended swap" in page and f'name="report" value="{report.pk}"' in page
    response = client.post(reverse("stability_swaps_apply_all", args=[critical_draft.pk]), {"report": report.pk},
                           follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("stability_report", args=[critical_draft.pk])
    assert "Applied all 1 recommended swap" in html and "Nash distance 66.7% → 0.0%" in html and "level-stable" in html
    change = ScheduleChange.objects.get()
    assert change.kind == ScheduleChange.Kind.RECOMMENDED and change.actor == coordinator
    assert dict(critical_draft.assignments.values_list("faculty_id", "week__index"))[people["A"].pk] == 1
    newest = NashStabilityReport.objects.latest("created_at", "pk")
    assert newest.pk != report.pk and newest.is_nash_equilibrium


def test_apply_all_on_a_published_schedule_is_one_audited_change(client_as, coordinator, cycle_market, dave, erin):
    report = stability_report_for(schedule=cycle_market)
    assert len(report.payload["recommended_swaps"]) == 2
    html = client_as(coordinator).post(reverse("stability_swaps_apply_all", args=[cycle_market.pk]),
                                       {"report": report.pk}, follow=True).content.decode()
    assert "Applied all 2 recommended swaps" in html and "Nash distance 100.0% → 40.0%" in html
    change = ScheduleChange.objects.get()
    assert len(change.before) == len(change.after) == 4 and change.nash_distance_after == pytest.approx(0.4)
    assert cycle_market.assignments.get(faculty=dave).week.index == 6
    assert cycle_market.assignments.get(faculty=erin).week.index == 5
    assert Schedule.objects.get(pk=cycle_market.pk).status == Schedule.Status.PUBLISHED


def test_apply_all_refuses_and_changes_nothing_when_one_swap_no_longer_helps(client_as, coordinator, cycle_market,
                                                                             faculty, carol):
    report = stability_report_for(schedule=cycle_market)
    dave_erin = next(s for s in report.payload["recommended_swaps"] if s["a_faculty_name"] == "Dr. Dave Fourth")
    schedule_recommended_swap_apply(schedule=cycle_market, assignment_a=dave_erin["assignment_a"],
                                    assignment_b=dave_erin["assignment_b"], actor=coordinator)
    rows_before = sorted(cycle_market.assignments.values_list("pk", "faculty_id", "week_id"))
    html = client_as(coordinator).post(reverse("stability_swaps_apply_all", args=[cycle_market.pk]),
                                       {"report": report.pk}, follow=True).content.decode()
    assert "No swap was applied" in html and "no longer benefits both" in html
    assert sorted(cycle_market.assignments.values_list("pk", "faculty_id", "week_id")) == rows_before
    assert ScheduleChange.objects.count() == 1  # only the single swap applied above
    assert cycle_market.assignments.get(faculty=faculty).week.index == 1  # alice↔carol was not applied either


def test_apply_all_needs_a_report_of_this_schedule(client_as, coordinator, critical_draft, stable_draft):
    client = client_as(coordinator)
    other = stability_report_for(schedule=stable_draft)
    url = reverse("stability_swaps_apply_all", args=[critical_draft.pk])
    for data in ({}, {"report": "x"}, {"report": other.pk}, {"report": 10**12}):
        html = client.post(url, data, follow=True).content.decode()
        assert "could not be applied" in html, data
    empty = client.post(reverse("stability_swaps_apply_all", args=[stable_draft.pk]), {"report": other.pk}, follow=True)
    assert "nothing to apply" in empty.content.decode()
    assert not ScheduleChange.objects.exists()


def test_a_stable_report_offers_no_apply_all(client_as, coordinator, stable_draft):
    html = client_as(coordinator).get(reverse("stability_report", args=[stable_draft.pk])).content.decode()
    assert "Apply all" not in html
