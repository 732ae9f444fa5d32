"""Stability in the admin: read-only reports, publication records, audit trail, calibrations, swap requests and
strategy performance (no add, change or delete, even for a superuser); a price-of-anarchy estimate may only be
deleted, to be recomputed; a published schedule is read-only; the "Publish through the stability gate" action
confirms with the report, refuses CRITICAL without force and a reason, and publishes through the same gate (channel
admin); the swap-market actions match, clear trading cycles, cancel, and recompute strategy performance through the
market services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocation.models import Schedule
from stability.gate import schedule_publish, schedule_recommended_swap_apply
from stability.market.requests import swap_request_create
from stability.models import (
    NashStabilityReport,
    PredictionCalibration,
    PriceOfAnarchyEstimate,
    PublicationRecord,
    ScheduleChange,
    StrategyPerformance,
    SwapRequest,
)
from stability.reports import stability_report_create, stability_report_for
from tests.factories import SwapRequestFactory
from tests.stability.helpers import slot

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("few_restarts")]

ACTION = "publish_through_stability_gate"
CHANGELIST = reverse("admin:allocation_schedule_changelist")
REASON = "Approved by the programme director."


@pytest.fixture
def admin_client_(client, coordinator):
    coordinator.is_superuser = True
    coordinator.save()
    client.force_login(coordinator)
    return client


def _action(client, schedules, **extra):
    data = {"action": ACTION, "_selected_action": [s.pk for s in schedules], **extra}
    return client.post(CHANGELIST, data)


def test_the_action_is_offered_on_schedules(admin_client_, critical_draft):
    html = admin_client_.get(CHANGELIST).content.decode()
    assert ACTION in html and "Publish through the stability gate" in html


def test_the_action_shows_a_confirmation_page_with_the_report(admin_client_, critical_draft):
    response = _action(admin_client_, [critical_draft])
    html = response.content.decode()
    assert response.status_code == 200
    assert "level-critical" in html and "Nash distance" in html and "0.667" in html
    assert 'name="force"' in html and 'name="reason"' in html and "refuses a CRITICAL schedule" in html
    assert Schedule.objects.get(pk=critical_draft.pk).status == Schedule.Status.DRAFT


def test_confirming_critical_without_force_is_refused_and_changes_nothing(admin_client_, critical_draft):
    response = _action(admin_client_, [critical_draft], post="yes", reason=REASON)
    assert response.status_code == 409 and "Not published: the stability gate refused." in response.content.decode()
    assert Schedule.objects.get(pk=critical_draft.pk).status == Schedule.Status.DRAFT
    assert not PublicationRecord.objects.exists()


def test_confirming_critical_with_force_but_no_reason_is_refused(admin_client_, critical_draft):
    response = _action(admin_client_, [critical_draft], post="yes", force="on", reason="")
    assert response.status_code == 400 and "needs a written reason" in response.content.decode()
    assert not PublicationRecord.objects.exists()


def test_confirming_with_force_and_a_reason_publishes_through_the_gate(admin_client_, critical_draft, coordinator):
    response = _action(admin_client_, [critical_draft], post="yes", force="on", reason=REASON)
    assert response.status_code == 302
    record = PublicationRecord.objects.get()
    assert record.channel == "admin" and record.forced and record.override_reason == REASON
    assert record.published_by == coordinator
    assert Schedule.objects.get(pk=critical_draft.pk).status == Schedule.Status.PUBLISHED
    assert "is published for" in admin_client_.get(CHANGELIST).content.decode()


def test_a_stable_draft_publishes_on_confirmation(admin_client_, stable_draft):
    html = _action(admin_client_, [stable_draft]).content.decode()
    assert 'name="force"' not in html and "Yes, publish" in html
    assert _action(admin_client_, [stable_draft], post="yes").status_code == 302
    assert PublicationRecord.objects.get().channel == "admin"


def test_the_action_takes_exactly_one_draft(admin_client_, critical_draft, stable_draft, coordinator):
    response = _action(admin_client_, [critical_draft, stable_draft])
    assert response.status_code == 302
    assert "Select exactly one draft" in admin_client_.get(CHANGELIST).content.decode()
    schedule_publish(schedule=stable_draft, actor=coordinator, channel="api")
    _action(admin_client_, [stable_draft])
    assert "only a draft can be published" in admin_client_.get(CHANGELIST).content.decode()
    assert PublicationRecord.objects.count() == 1


def test_a_published_schedule_is_read_only_in_the_admin(admin_client_, stable_draft, coordinator):
    schedule_publish(schedule=stable_draft, actor=coordinator, channel="api")
    html = admin_client_.get(reverse("admin:allocation_schedule_change", args=[stable_draft.pk])).content.decode()
    assert 'name="_save"' not in html and 'name="name"' not in html
    row = stable_draft.assignments.first()
    html = admin_client_.get(reverse("admin:allocation_assignment_change", args=[row.pk])).content.decode()
    assert 'name="_save"' not in html


def test_a_drafts_status_cannot_be_edited_around_the_gate(admin_client_, stable_draft):
    html = admin_client_.get(reverse("admin:allocation_schedule_change", args=[stable_draft.pk])).content.decode()
    assert 'name="status"' not in html and 'name="_save"' in html


def test_stability_records_are_listed_read_only(admin_client_, critical_draft, coordinator):
    report = stability_report_for(schedule=critical_draft)
    result = schedule_publish(schedule=critical_draft, actor=coordinator, force=True, reason=REASON, channel="api")
    [swap] = result.report.payload["recommended_swaps"]
    change = schedule_recommended_swap_apply(schedule=critical_draft, assignment_a=swap["assignment_a"],
                                             assignment_b=swap["assignment_b"], actor=coordinator)
    for model, obj in ((NashStabilityReport, report), (PublicationRecord, result.record), (ScheduleChange, change)):
        name = f"{model._meta.app_label}_{model._meta.model_name}"  # the audit trail lives with the schedule
        listing = admin_client_.get(reverse(f"admin:{name}_changelist"))
        assert listing.status_code == 200, name
        detail = admin_client_.get(reverse(f"admin:{name}_change", args=[obj.pk])).content.decode()
        assert 'name="_save"' not in detail, name
        assert admin_client_.get(reverse(f"admin:{name}_add")).status_code == 403, name
    assert admin_client_.get(reverse("admin:stability_publicationrecord_changelist"), {"forced__exact": "1"}).status_code == 200
    assert admin_client_.get(reverse("admin:stability_nashstabilityreport_changelist"), {"q": "Critical"}).status_code == 200


def test_the_admin_cannot_add_an_assignment_to_a_published_schedule(admin_client_, critical_draft, coordinator):
    schedule_publish(schedule=critical_draft, actor=coordinator, force=True, reason=REASON, channel="api")
    existing = critical_draft.assignments.first()
    before = critical_draft.assignments.count()
    other_week = critical_draft.year.weeks.exclude(assignments__faculty=existing.faculty).first()
    response = admin_client_.post(reverse("admin:allocation_assignment_add"), {
        "schedule": critical_draft.pk, "faculty": existing.faculty_id, "week": other_week.pk,
        "rotation": existing.rotation_id, "mechanism_data": "{}",
    })
    assert response.status_code == 200
    assert "change only through an audited swap" in response.content.decode()
    assert critical_draft.assignments.count() == before


# --- the swap market's admin ------------------------------------------------------------------------------------


def test_the_admin_lists_requests_and_strategy_performance_read_only(client_as, market, faculty, superuser):
    swap = swap_request_create(actor=faculty.user, give=slot(market, faculty, 0),
                               wanted_weeks=[market.year.weeks.get(index=1)], strategy="flexible", note="")
    client = client_as(superuser)
    changelist = client.get(reverse("admin:stability_swaprequest_changelist"))
    assert changelist.status_code == 200 and faculty.display_name in changelist.content.decode()
    assert client.get(reverse("admin:stability_swaprequest_change", args=[swap.pk])).status_code == 200
    assert client.get(reverse("admin:stability_swaprequest_add")).status_code == 403
    response = client.post(reverse("admin:stability_swaprequest_changelist"),
                           {"action": "match_requests", "_selected_action": [swap.pk]}, follow=True)
    assert response.status_code == 200
    swap.refresh_from_db()
    assert swap.status == SwapRequest.Status.MATCHED
    client.post(reverse("admin:stability_swaprequest_changelist"),
                {"action": "cancel_requests", "_selected_action": [swap.pk]}, follow=True)
    swap.refresh_from_db()
    assert swap.status == SwapRequest.Status.CANCELLED
    performance = client.get(reverse("admin:stability_strategyperformance_changelist"))
    assert performance.status_code == 200 and "A few wanted weeks" in performance.content.decode()


def _admin_url(name: str, view: str, *args) -> str:
    app = "allocation" if name == "schedulechange" else "stability"  # the audit trail lives with the schedule
    return reverse(f"admin:{app}_{name}_{view}", args=args)


def _changelist(name: str) -> str:
    return _admin_url(name, "changelist")


def _post_action(client, name: str, action: str, objects):
    return client.post(_changelist(name), {"action": action, "_selected_action": [o.pk for o in objects]}, follow=True)


def _post_request(schedule, person, give: int, wanted: list[int]) -> SwapRequest:
    weeks = {w.index: w for w in schedule.year.weeks.all()}
    return swap_request_create(actor=person.user, give=slot(schedule, person, give),
                               wanted_weeks=[weeks[k] for k in wanted], strategy="targeted", note="")


def test_the_match_action_matches_open_requests_and_says_how_many(admin_console, market, faculty, other_faculty):
    request = _post_request(market, faculty, 0, [1])
    response = _post_action(admin_console, "swaprequest", "match_requests", [request])
    assert "1 request(s) matched; the others stay open." in response.content.decode()
    request.refresh_from_db()
    assert request.status == SwapRequest.Status.MATCHED and request.counterparty == other_faculty
    assert request.take == slot(market, other_faculty, 1)


def test_the_clear_cycles_action_proposes_every_trading_cycle_on_the_selected_schedule(
    admin_console, cycle_market, faculty, other_faculty, carol, dave, erin,
):
    requests = [_post_request(cycle_market, person, give, [want]) for person, give, want in (
        (faculty, 1, 2), (other_faculty, 2, 3), (carol, 3, 1), (dave, 5, 6), (erin, 6, 5))]
    response = _post_action(admin_console, "swaprequest", "clear_cycles", requests[:1])
    assert "2 trading cycle(s) proposed." in response.content.decode()
    rows = {r.pk: r for r in SwapRequest.objects.all()}
    assert {rows[r.pk].status for r in requests} == {SwapRequest.Status.MATCHED}
    cycles = [rows[r.pk].cycle for r in requests]
    assert cycles[0] == cycles[1] == cycles[2] != cycles[3] == cycles[4] and None not in cycles
    assert not ScheduleChange.objects.exists()  # proposed, not executed: every member still confirms


def test_the_cancel_action_cancels_only_active_requests(admin_console, market, faculty, other_faculty):
    active = _post_request(market, faculty, 0, [1])
    executed = SwapRequestFactory(give=slot(market, other_faculty, 1), status=SwapRequest.Status.EXECUTED)
    response = _post_action(admin_console, "swaprequest", "cancel_requests", [active, executed])
    assert "1 request(s) cancelled." in response.content.decode()
    active.refresh_from_db()
    executed.refresh_from_db()
    assert active.status == SwapRequest.Status.CANCELLED and executed.status == SwapRequest.Status.EXECUTED


def test_the_recompute_action_runs_one_replicator_step_for_the_selected_years(admin_console, market, faculty):
    stale = StrategyPerformance.objects.create(year=market.year, strategy="targeted")
    SwapRequestFactory(give=slot(market, faculty, 0), strategy="targeted", status=SwapRequest.Status.EXECUTED)
    SwapRequestFactory(give=slot(market, faculty, 4), strategy="targeted", status=SwapRequest.Status.DECLINED)
    response = _post_action(admin_console, "strategyperformance", "recompute_performance", [stale])
    assert "Recomputed 1 year(s)." in response.content.decode()
    targeted = StrategyPerformance.objects.get(year=market.year, strategy="targeted")
    assert (targeted.attempts, targeted.successes, targeted.share) == (2, 1, 1.0)


# --- records refuse add, change and delete -----------------------------------------------------------------------


@pytest.fixture
def records(critical_draft, coordinator):
    """One row of every read-only stability model, on the worked example published over CRITICAL."""
    report = stability_report_for(schedule=critical_draft)
    result = schedule_publish(schedule=critical_draft, actor=coordinator, force=True, reason=REASON, channel="api")
    [swap] = result.report.payload["recommended_swaps"]
    change = schedule_recommended_swap_apply(schedule=critical_draft, assignment_a=swap["assignment_a"],
                                             assignment_b=swap["assignment_b"], actor=coordinator)
    give = critical_draft.assignments.order_by("week__index").first()
    return {
        "nashstabilityreport": report,
        "publicationrecord": result.record,
        "schedulechange": change,
        "predictioncalibration": PredictionCalibration.objects.create(base=0.1, pressure=0.5, r_squared=1.0, samples=4),
        "swaprequest": SwapRequestFactory(give=give, status=SwapRequest.Status.OPEN),
        "strategyperformance": StrategyPerformance.objects.create(year=critical_draft.year, strategy="targeted"),
    }


READ_ONLY = ["nashstabilityreport", "publicationrecord", "schedulechange", "predictioncalibration", "swaprequest",
             "strategyperformance"]


def _row(obj) -> dict:
    return type(obj).objects.filter(pk=obj.pk).values().get()


@pytest.mark.parametrize("name", READ_ONLY)
def test_read_only_records_cannot_be_added(records, admin_console, name):
    count = type(records[name]).objects.count()
    add = _admin_url(name, "add")
    assert admin_console.get(add).status_code == 403
    assert admin_console.post(add, {"reason": "forged"}).status_code == 403
    assert type(records[name]).objects.count() == count


@pytest.mark.parametrize("name", READ_ONLY)
def test_a_post_to_a_read_only_records_change_page_does_not_alter_it(records, admin_console, name):
    obj = records[name]
    before = _row(obj)
    response = admin_console.post(_admin_url(name, "change", obj.pk),
                                  {"reason": "tampered", "status": "executed", "base": "9", "note": "tampered"})
    assert response.status_code == 403
    assert _row(obj) == before


@pytest.mark.parametrize("name", READ_ONLY)
def test_read_only_records_cannot_be_deleted_one_by_one_or_in_bulk(records, admin_console, name):
    obj = records[name]
    response = admin_console.post(_admin_url(name, "delete", obj.pk), {"post": "yes"})
    assert response.status_code == 403
    assert "delete_selected" not in admin_console.get(_changelist(name)).content.decode()
    admin_console.post(_changelist(name), {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"})
    assert type(obj).objects.filter(pk=obj.pk).exists()


def test_a_price_of_anarchy_estimate_cannot_be_edited_but_may_be_deleted_to_be_recomputed(critical_draft,
                                                                                          admin_console):
    stability_report_for(schedule=critical_draft)
    estimate = PriceOfAnarchyEstimate.objects.get()
    before = _row(estimate)
    change = reverse("admin:stability_priceofanarchyestimate_change", args=[estimate.pk])
    assert admin_console.post(change, {"restarts": 1, "price_of_anarchy": "9"}).status_code == 403
    assert _row(estimate) == before
    response = admin_console.post(reverse("admin:stability_priceofanarchyestimate_delete", args=[estimate.pk]),
                                  {"post": "yes"})
    assert response.status_code == 302 and not PriceOfAnarchyEstimate.objects.exists()
    report = stability_report_create(schedule=critical_draft)
    recomputed = PriceOfAnarchyEstimate.objects.get()
    assert recomputed.pk != estimate.pk and report.price_of_anarchy is not None
