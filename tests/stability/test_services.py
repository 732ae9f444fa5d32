"""Stability services: the DESIGN §9 worked example end to end through the ORM, report reuse and recomputation,
the publish gate (CRITICAL refused without force and without reason, overrides recorded, MARGINAL/UNSTABLE warned,
one published schedule per year), the immutability of published schedules except through audited swaps,
recommended swaps on drafts, calibration from synthetic history, and analytics."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from allocation.changes import schedule_swaps_apply
from allocation.models import Assignment, PublishedScheduleIsImmutable, Schedule
from allocation.querysets import current_schedule
from preferences.models import AcademicYear
from stability.algorithms.report import stability_level as stability_level_for
from stability.calibration import prediction_calibrate
from stability.gate import (
    PublishRefused,
    schedule_publish,
    schedule_recommended_swap_apply,
    schedule_recommended_swaps_apply_all,
)
from stability.models import (
    NashStabilityReport,
    PredictionCalibration,
    PriceOfAnarchyEstimate,
    PublicationRecord,
    ScheduleChange,
    StabilityLevel,
)
from stability.reports import stability_report_create, stability_report_for
from stability.summaries import FAIRNESS_PENDING, schedule_analytics
from tests.factories import AllocationRunFactory, ScheduleFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("few_restarts")]

REASON = "Programme director approved; the two swaps will be handled in the first week."


def _nothing_published(schedule: Schedule) -> None:
    schedule.refresh_from_db()
    assert schedule.status == Schedule.Status.DRAFT and schedule.published_at is None and schedule.published_by is None
    assert not PublicationRecord.objects.exists()
    assert schedule.year.status != AcademicYear.Status.PUBLISHED


# --- the worked example --------------------------------------------------------------------------------------


def test_the_worked_example_has_one_blocking_swap_and_is_critical(critical_draft, people, coordinator):
    report = stability_report_create(schedule=critical_draft, actor=coordinator, seed=1)
    assert report.num_blocking_swaps == 1
    assert report.nash_distance == pytest.approx(2 / 3)
    assert report.stability_level == StabilityLevel.CRITICAL and not report.is_nash_equilibrium
    assert report.total_assignments == 3
    assert report.num_beneficial_deviations == 3  # A wants B's and C's weeks, B wants A's
    assert report.current_welfare == pytest.approx(1.5) and report.optimal_welfare == pytest.approx(3.0)
    assert report.efficiency_ratio == pytest.approx(0.5)
    assert report.predicted_swap_requests == round(3 * (0.10 + 0.50 * 2 / 3))
    assert report.created_by == coordinator and report.compute_ms > 0 and report.restarts == 5
    assert report.parameters["seed"] == 1 and report.parameters["thresholds"] == [0.05, 0.15, 0.30]


def test_the_report_names_faculty_weeks_rotations_and_assignments(critical_draft, people):
    report = stability_report_create(schedule=critical_draft)
    a_row = critical_draft.assignments.get(faculty=people["A"])
    b_row = critical_draft.assignments.get(faculty=people["B"])
    [swap] = report.payload["recommended_swaps"]
    assert {swap["assignment_a"], swap["assignment_b"]} == {a_row.pk, b_row.pk}
    assert {swap["a_faculty_name"], swap["b_faculty_name"]} == {"Dr. Alice Owner", "Dr. Bob Outsider"}
    assert {swap["a_week"], swap["b_week"]} == {"2031-06-30", "2031-07-07"}
    assert swap["a_rotation"] == swap["b_rotation"] == "inpatient"
    assert sorted([swap["gain_a"], swap["gain_b"]]) == pytest.approx([0.5, 1.0])
    top = {row["faculty"]: row for row in report.payload["top_instabilities"]}
    assert set(top) == {"F001", "F002"}
    alice = top["F001"]
    assert (alice["assignment"], alice["partner_assignment"]) == (a_row.pk, b_row.pk)
    assert (alice["week"], alice["wanted_week"], alice["week_index"], alice["wanted_week_index"]) == (
        "2031-06-30", "2031-07-07", 0, 1)
    assert alice["faculty_id"] == people["A"].pk and alice["partner_faculty_name"] == "Dr. Bob Outsider"
    assert (alice["gain_self"], alice["gain_partner"], alice["is_blocking"]) == (pytest.approx(1.0), pytest.approx(0.5), True)
    assert report.payload["warnings"] and report.payload["recommendations"]
    advice = " ".join(report.payload["recommendations"])
    assert "(faculty 0" not in advice and "Dr. Alice Owner (week 1, 2031-06-30, inpatient)" in advice


def test_a_stable_schedule_is_a_nash_equilibrium(stable_draft):
    report = stability_report_create(schedule=stable_draft)
    assert report.is_nash_equilibrium and report.nash_distance == 0 and report.stability_level == StabilityLevel.STABLE
    assert report.num_blocking_swaps == 0 and report.payload["recommended_swaps"] == []
    assert report.efficiency_ratio == pytest.approx(1.0)


@pytest.mark.parametrize(("distance", "level"), [
    (0.0, "STABLE"), (0.0499, "STABLE"), (0.05, "MARGINAL"), (0.1499, "MARGINAL"), (0.15, "UNSTABLE"),
    (0.2999, "UNSTABLE"), (0.30, "CRITICAL"), (1.0, "CRITICAL"),
])
def test_levels_follow_the_design_thresholds(distance, level):
    assert stability_level_for(distance, (0.05, 0.15, 0.30)) == level


def test_bad_restarts_and_seeds_are_refused_by_field(critical_draft):
    with pytest.raises(ValidationError) as exc:
        stability_report_create(schedule=critical_draft, restarts=0)
    assert "restarts" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        stability_report_create(schedule=critical_draft, seed=-1)
    assert "seed" in exc.value.message_dict
    assert not NashStabilityReport.objects.exists()


# --- reuse ---------------------------------------------------------------------------------------------------


def test_a_fresh_report_is_reused(critical_draft):
    first = stability_report_for(schedule=critical_draft)
    assert stability_report_for(schedule=critical_draft).pk == first.pk
    assert NashStabilityReport.objects.count() == 1


def test_refresh_computes_a_new_report(critical_draft):
    first = stability_report_for(schedule=critical_draft)
    assert stability_report_for(schedule=critical_draft, refresh=True).pk != first.pk


def test_a_report_older_than_the_maximum_age_is_recomputed(critical_draft, settings):
    first = stability_report_for(schedule=critical_draft)
    age = settings.GTSCHED_STABILITY["report_max_age_s"] + 1
    NashStabilityReport.objects.filter(pk=first.pk).update(created_at=timezone.now() - dt.timedelta(seconds=age))
    assert stability_report_for(schedule=critical_draft).pk != first.pk


def test_the_report_is_recomputed_after_the_schedule_changes(critical_draft, people, coordinator):
    first = stability_report_for(schedule=critical_draft)
    [swap] = first.payload["recommended_swaps"]
    schedule_recommended_swap_apply(schedule=critical_draft, assignment_a=swap["assignment_a"],
                                    assignment_b=swap["assignment_b"], actor=coordinator)
    second = stability_report_for(schedule=critical_draft)
    assert second.pk != first.pk and second.assignments_hash != first.assignments_hash
    assert second.stability_level == StabilityLevel.STABLE and second.is_nash_equilibrium


def test_the_report_is_recomputed_after_preferences_change(critical_draft, example_carol, example_year):
    from preferences.services import preferences_submit

    first = stability_report_for(schedule=critical_draft)
    weeks = list(example_year.weeks.order_by("index"))
    preferences_submit(faculty=example_carol, year=example_year, preference_type="cardinal",
                       entries=[{"week": w, "value": v} for w, v in zip(weeks, (90, 10, 60), strict=True)],
                       blocked_weeks=[], method="web_form", actor=example_carol.user)
    assert stability_report_for(schedule=critical_draft).pk != first.pk


def test_a_new_calibration_makes_older_reports_stale(critical_draft):
    first = stability_report_for(schedule=critical_draft)
    PredictionCalibration.objects.create(base=0.2, pressure=0.9, r_squared=0.8, samples=3)
    second = stability_report_for(schedule=critical_draft)
    assert second.pk != first.pk
    assert (second.parameters["base"], second.parameters["pressure"]) == (0.2, 0.9)
    assert second.predicted_swap_requests == round(3 * (0.2 + 0.9 * 2 / 3))


# --- the publish gate ----------------------------------------------------------------------------------------


def test_publish_is_refused_when_critical_without_force(critical_draft, coordinator):
    with pytest.raises(PublishRefused) as exc:
        schedule_publish(schedule=critical_draft, actor=coordinator, force=False, reason=REASON, channel="api")
    assert exc.value.conflict and set(exc.value.message_dict) == {"force"}
    assert "CRITICAL" in exc.value.message_dict["force"][0]
    _nothing_published(critical_draft)


def test_publish_is_refused_when_critical_and_forced_without_a_reason(critical_draft, coordinator):
    for blank in ("", "   \n"):
        with pytest.raises(PublishRefused) as exc:
            schedule_publish(schedule=critical_draft, actor=coordinator, force=True, reason=blank, channel="api")
        assert not exc.value.conflict and set(exc.value.message_dict) == {"reason"}
    _nothing_published(critical_draft)


def test_a_forced_publication_records_the_override(critical_draft, coordinator):
    result = schedule_publish(schedule=critical_draft, actor=coordinator, force=True, reason=f"  {REASON} ", channel="page")
    critical_draft.refresh_from_db()
    assert critical_draft.status == Schedule.Status.PUBLISHED
    assert critical_draft.published_by == coordinator and critical_draft.published_at is not None
    record = PublicationRecord.objects.get(schedule=critical_draft)
    assert record == result.record and result.forced
    assert record.forced and record.override_reason == REASON and record.channel == "page"
    assert record.stability_level == StabilityLevel.CRITICAL and record.nash_distance == pytest.approx(2 / 3)
    assert record.predicted_swap_requests == result.report.predicted_swap_requests
    assert record.published_by == coordinator and record.report == result.report
    assert any("CRITICAL" in w and REASON in w for w in record.warnings)
    assert AcademicYear.objects.get(pk=critical_draft.year_id).status == AcademicYear.Status.PUBLISHED


def test_the_gate_reuses_the_fresh_report(critical_draft, coordinator):
    report = stability_report_for(schedule=critical_draft)
    result = schedule_publish(schedule=critical_draft, actor=coordinator, force=True, reason=REASON, channel="api")
    assert result.report.pk == report.pk and NashStabilityReport.objects.count() == 1


@pytest.mark.parametrize(("bands", "level"), [((0.5, 0.7, 0.9), "MARGINAL"), ((0.1, 0.5, 0.9), "UNSTABLE")])
def test_marginal_and_unstable_publish_with_a_warning(critical_draft, coordinator, thresholds, bands, level):
    thresholds(*bands)
    result = schedule_publish(schedule=critical_draft, actor=coordinator, channel="api")
    assert result.report.stability_level == level
    assert not result.forced and result.record.override_reason == ""
    assert any(level in w for w in result.warnings) and result.record.warnings == result.warnings
    assert Schedule.objects.get(pk=critical_draft.pk).status == Schedule.Status.PUBLISHED


def test_a_stable_schedule_publishes_without_warnings(stable_draft, coordinator):
    result = schedule_publish(schedule=stable_draft, actor=coordinator, channel="admin")
    assert result.warnings == [] and result.record.stability_level == "STABLE" and result.record.channel == "admin"


def test_force_on_a_schedule_that_is_not_critical_records_no_override(stable_draft, coordinator):
    result = schedule_publish(schedule=stable_draft, actor=coordinator, force=True, reason="just in case", channel="api")
    assert not result.record.forced and result.record.override_reason == "just in case"


def test_publishing_archives_the_years_previous_schedule(stable_draft, example_year, people, coordinator):
    first = schedule_publish(schedule=stable_draft, actor=coordinator, channel="api").schedule
    second = ScheduleFactory(year=example_year, name="Second", rows=[
        (people["A"], 1, "inpatient"), (people["B"], 0, "inpatient"), (people["C"], 2, "inpatient")])
    result = schedule_publish(schedule=second, actor=coordinator, channel="api")
    first.refresh_from_db()
    assert first.status == Schedule.Status.ARCHIVED and [s.pk for s in result.archived] == [first.pk]
    assert Schedule.objects.filter(year=example_year, status=Schedule.Status.PUBLISHED).get() == second
    assert PublicationRecord.objects.count() == 2
    assert current_schedule(year=example_year, include_drafts=True) == second



def test_the_year_remembers_its_first_publication_for_the_preference_window(stable_draft, example_year, people,
                                                                            coordinator):
    first = schedule_publish(schedule=stable_draft, actor=coordinator, channel="api").schedule
    example_year.refresh_from_db()
    assert example_year.first_published_at == first.published_at
    second = ScheduleFactory(year=example_year, name="Second", rows=[
        (people["A"], 1, "inpatient"), (people["B"], 0, "inpatient"), (people["C"], 2, "inpatient")])
    schedule_publish(schedule=second, actor=coordinator, channel="api")
    example_year.refresh_from_db()
    assert example_year.first_published_at == first.published_at  # a later publication keeps the first date
    assert not example_year.window().is_open


def test_an_already_published_or_archived_schedule_is_refused(stable_draft, example_year, people, coordinator):
    schedule_publish(schedule=stable_draft, actor=coordinator, channel="api")
    with pytest.raises(PublishRefused) as exc:
        schedule_publish(schedule=stable_draft, actor=coordinator, channel="api")
    assert exc.value.conflict and "status" in exc.value.message_dict
    second = ScheduleFactory(year=example_year, name="Second", rows=[
        (people["A"], 1, "inpatient"), (people["B"], 0, "inpatient"), (people["C"], 2, "inpatient")])
    schedule_publish(schedule=second, actor=coordinator, channel="api")
    with pytest.raises(PublishRefused) as exc:
        schedule_publish(schedule=stable_draft, actor=coordinator, channel="api")
    assert "archived" in exc.value.message_dict["status"][0]
    assert PublicationRecord.objects.count() == 2


def test_an_empty_schedule_is_not_published(example_year, coordinator):
    empty = Schedule.objects.create(year=example_year, name="Empty")
    with pytest.raises(PublishRefused) as exc:
        schedule_publish(schedule=empty, actor=coordinator, channel="api")
    assert "schedule" in exc.value.message_dict
    _nothing_published(empty)


def test_an_unknown_channel_is_refused(stable_draft, coordinator):
    with pytest.raises(ValidationError) as exc:
        schedule_publish(schedule=stable_draft, actor=coordinator, channel="email")
    assert "channel" in exc.value.message_dict
    _nothing_published(stable_draft)


# --- published schedules are immutable except through audited swaps -----------------------------------------


def test_a_published_schedule_cannot_be_edited_directly(critical_draft, example_year, coordinator):
    schedule_publish(schedule=critical_draft, actor=coordinator, force=True, reason=REASON, channel="api")
    row = critical_draft.assignments.first()
    row.week = example_year.weeks.get(index=2)
    with pytest.raises(PublishedScheduleIsImmutable):
        row.save()
    with pytest.raises(PublishedScheduleIsImmutable):
        row.delete()
    assert not ScheduleChange.objects.exists()


def test_an_audited_swap_changes_a_published_schedule_and_is_recorded(critical_draft, people, coordinator):
    result = schedule_publish(schedule=critical_draft, actor=coordinator, force=True, reason=REASON, channel="api")
    [swap] = result.report.payload["recommended_swaps"]
    change = schedule_recommended_swap_apply(schedule=critical_draft, assignment_a=swap["assignment_a"],
                                             assignment_b=swap["assignment_b"], actor=coordinator)
    assert change.kind == ScheduleChange.Kind.RECOMMENDED and change.actor == coordinator
    assert change.nash_distance_before == pytest.approx(2 / 3) and change.nash_distance_after == 0
    weeks = dict(critical_draft.assignments.values_list("faculty_id", "week__index"))
    assert weeks == {people["A"].pk: 1, people["B"].pk: 0, people["C"].pk: 2}
    assert Schedule.objects.get(pk=critical_draft.pk).status == Schedule.Status.PUBLISHED
    with pytest.raises(ValueError):
        change.save()


def test_schedule_swaps_apply_refuses_a_swap_that_helps_nobody(stable_draft, people, coordinator):
    schedule_publish(schedule=stable_draft, actor=coordinator, channel="api")
    a = stable_draft.assignments.get(faculty=people["A"]).pk
    c = stable_draft.assignments.get(faculty=people["C"]).pk
    with pytest.raises(ValidationError):
        schedule_swaps_apply(schedule=stable_draft, pairs=[(a, c)], actor=coordinator, require_gain=True)
    assert not ScheduleChange.objects.exists()


def test_a_recommended_swap_edits_a_draft_with_an_audit_record(critical_draft, people, coordinator):
    a = critical_draft.assignments.get(faculty=people["A"])
    b = critical_draft.assignments.get(faculty=people["B"])
    change = schedule_recommended_swap_apply(schedule=critical_draft, assignment_a=a.pk, assignment_b=b.pk, actor=coordinator)
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.week.index, b.week.index) == (1, 0)
    assert a.utility == pytest.approx(1.0) and b.utility == pytest.approx(1.0)
    assert change.schedule == critical_draft and change.kind == ScheduleChange.Kind.RECOMMENDED
    assert {row["assignment"] for row in change.before} == {a.pk, b.pk}
    assert change.nash_distance_after == 0


def test_a_recommended_swap_that_no_longer_helps_both_is_refused(stable_draft, people, coordinator):
    a = stable_draft.assignments.get(faculty=people["A"]).pk
    b = stable_draft.assignments.get(faculty=people["B"]).pk
    before = list(stable_draft.assignments.values_list("pk", "week_id"))
    with pytest.raises(ValidationError):
        schedule_recommended_swap_apply(schedule=stable_draft, assignment_a=a, assignment_b=b, actor=coordinator)
    with pytest.raises(ValidationError) as exc:
        schedule_recommended_swap_apply(schedule=stable_draft, assignment_a="x", assignment_b=b, actor=coordinator)
    assert "assignment_a" in exc.value.message_dict
    with pytest.raises(ValidationError):
        schedule_recommended_swap_apply(schedule=stable_draft, assignment_a=a, assignment_b=10**9, actor=coordinator)
    assert list(stable_draft.assignments.values_list("pk", "week_id")) == before
    assert not ScheduleChange.objects.exists()


def test_an_archived_schedule_takes_no_swaps(critical_draft, people, coordinator):
    Schedule.objects.filter(pk=critical_draft.pk).update(status=Schedule.Status.ARCHIVED)
    a = critical_draft.assignments.get(faculty=people["A"]).pk
    b = critical_draft.assignments.get(faculty=people["B"]).pk
    with pytest.raises(ValidationError) as exc:
        schedule_recommended_swap_apply(schedule=critical_draft, assignment_a=a, assignment_b=b, actor=coordinator)
    assert "archived" in exc.value.messages[0]


# --- calibration (history in the `linear_history` fixture, tests/stability/conftest.py) ------------------------


def test_calibration_recovers_the_coefficients_of_synthetic_history(linear_history, coordinator):
    calibration = prediction_calibrate(actor=coordinator)
    assert calibration.base == pytest.approx(0.1) and calibration.pressure == pytest.approx(0.5)
    assert calibration.r_squared == pytest.approx(1.0) and calibration.samples == 4
    assert calibration.created_by == coordinator and PredictionCalibration.objects.get() == calibration


def test_calibration_needs_two_distinct_distances(critical_draft, coordinator):
    with pytest.raises(ValidationError) as exc:
        prediction_calibrate(actor=coordinator)
    assert "history" in exc.value.message_dict
    schedule_publish(schedule=critical_draft, actor=coordinator, force=True, reason=REASON, channel="api")
    with pytest.raises(ValidationError) as exc:
        prediction_calibrate(actor=coordinator)
    assert "two or more" in exc.value.message_dict["history"][0]
    assert not PredictionCalibration.objects.exists()


# --- analytics -----------------------------------------------------------------------------------------------


def test_analytics_summarise_stability_and_regret_and_label_fairness_as_pending(critical_draft):
    Assignment.objects.filter(schedule=critical_draft).update(rank=2)
    critical_draft.assignments.filter(week__index=2).update(rank=1)
    analytics = schedule_analytics(schedule=critical_draft)
    assert analytics["stability"]["stability_level"] == "CRITICAL"
    assert analytics["stability"]["nash_distance"] == pytest.approx(2 / 3)
    regret = analytics["regret"]
    assert (regret["total_regret"], regret["max_regret"], regret["rank_distribution"]) == (2, 1, {"1": 1, "2": 2})
    assert regret["average_regret"] == pytest.approx(2 / 3)
    assert analytics["fairness"] is None and analytics["fairness_status"] == FAIRNESS_PENDING
    assert "not yet computed" in analytics["fairness_status"].lower()
    assert analytics["publication"] is None


def test_an_empty_schedule_has_a_stable_report(example_year):
    empty = Schedule.objects.create(year=example_year, name="Empty")
    report = stability_report_create(schedule=empty)
    assert report.total_assignments == 0 and report.nash_distance == 0 and report.stability_level == "STABLE"


def test_assignments_of_faculty_off_the_roster_are_left_out_with_a_warning(critical_draft, example_carol, example_year):
    example_year.roster.set([p for p in critical_draft.assignments.values_list("faculty", flat=True) if p != example_carol.pk])
    report = stability_report_create(schedule=critical_draft)
    assert report.total_assignments == 2 and len(report.payload["left_out"]) == 1
    assert any("left out" in w for w in report.payload["warnings"])


# --- the side constraints of the run that made the schedule ---------------------------------------------------------

def _made_by_cp_sat(schedule, example_year, **parameters):
    from allocation.models import AllocationRun

    run = AllocationRunFactory(year=example_year, mechanism="cp_sat", parameters=parameters,
                               status=AllocationRun.Status.COMPLETED)
    Schedule.objects.filter(pk=schedule.pk).update(run=run)
    schedule.refresh_from_db()
    return schedule


def test_a_holiday_cap_of_the_cp_sat_run_removes_the_swap_that_would_break_it(critical_draft, example_year, people,
                                                                              coordinator):
    # A↔B is the worked example's only blocking swap; it moves A into week 2 — here a holiday, with a cap of 0.
    example_year.weeks.filter(index=1).update(is_holiday=True, holiday_name="Thanksgiving")
    plain = stability_report_create(schedule=critical_draft)
    assert plain.num_blocking_swaps == 1
    _made_by_cp_sat(critical_draft, example_year, max_holidays=0, back_to_back="off")
    report = stability_report_create(schedule=critical_draft)
    assert report.num_blocking_swaps == 0 and report.nash_distance == 0
    a = critical_draft.assignments.get(faculty=people["A"]).pk
    b = critical_draft.assignments.get(faculty=people["B"]).pk
    with pytest.raises(ValidationError, match="more than 0 holiday weeks"):
        schedule_swaps_apply(schedule=critical_draft, pairs=[(a, b)], actor=coordinator, require_gain=True)
    assert not ScheduleChange.objects.exists()
    # A cap of 1 leaves the swap in place.
    critical_draft.run.parameters = {"max_holidays": 1}
    critical_draft.run.save(update_fields=["parameters"])
    assert stability_report_create(schedule=critical_draft).num_blocking_swaps == 1


def test_hard_back_to_back_of_the_cp_sat_run_refuses_a_swap_into_a_neighbouring_week(example_year, people, coordinator):
    # A holds weeks 1 and 3 and wants week 2, which B holds and would give for week 1: A would serve 2 and 3.
    schedule = ScheduleFactory(year=example_year, name="Two each", rows=[
        (people["A"], 0, "inpatient"), (people["A"], 2, "inpatient"), (people["B"], 1, "inpatient")])
    a = schedule.assignments.get(faculty=people["A"], week__index=0).pk
    b = schedule.assignments.get(faculty=people["B"]).pk
    assert stability_report_create(schedule=schedule).num_blocking_swaps == 1
    _made_by_cp_sat(schedule, example_year, back_to_back="hard")
    assert stability_report_create(schedule=schedule).num_blocking_swaps == 0
    with pytest.raises(ValidationError, match="two weeks in a row"):
        schedule_swaps_apply(schedule=schedule, pairs=[(a, b)], actor=coordinator, require_gain=True)
    _made_by_cp_sat(schedule, example_year, back_to_back="soft")  # a cost, not a constraint
    assert stability_report_create(schedule=schedule).num_blocking_swaps == 1


# --- one price-of-anarchy estimate per feasible set ------------------------------------------------------------


def test_the_first_report_stores_an_estimate_that_later_states_and_schedules_reuse(
    critical_draft, stable_draft, people, coordinator
):
    first = stability_report_for(schedule=critical_draft)
    [estimate] = PriceOfAnarchyEstimate.objects.all()
    assert estimate.restarts == 5 and estimate.year_id == critical_draft.year_id
    assert first.payload["price_of_anarchy_status"] == "computed"
    assert first.parameters["price_of_anarchy_estimate"] == estimate.pk
    assert first.price_of_anarchy == pytest.approx(estimate.price_of_anarchy)
    assert first.optimal_welfare == pytest.approx(estimate.optimal_welfare) == pytest.approx(3.0)
    # The audited swap keeps the feasible set: the next report reuses the estimate.
    [swap] = first.payload["recommended_swaps"]
    schedule_recommended_swap_apply(schedule=critical_draft, assignment_a=swap["assignment_a"],
                                    assignment_b=swap["assignment_b"], actor=coordinator)
    second = stability_report_for(schedule=critical_draft)
    assert second.pk != first.pk and second.payload["price_of_anarchy_status"].startswith("reused")
    assert second.price_of_anarchy == first.price_of_anarchy and second.restarts == 5
    assert second.parameters["seed"] == estimate.seed
    # So does another schedule of the same year with the same demands.
    other = stability_report_for(schedule=stable_draft)
    assert other.payload["price_of_anarchy_status"].startswith("reused")
    assert PriceOfAnarchyEstimate.objects.count() == 1


def test_new_preferences_give_a_new_estimate(critical_draft, example_carol, example_year):
    from preferences.services import preferences_submit

    stability_report_for(schedule=critical_draft)
    weeks = list(example_year.weeks.order_by("index"))
    preferences_submit(faculty=example_carol, year=example_year, preference_type="cardinal",
                       entries=[{"week": w, "value": v} for w, v in zip(weeks, (90, 10, 60), strict=True)],
                       blocked_weeks=[], method="web_form", actor=example_carol.user)
    report = stability_report_for(schedule=critical_draft)
    assert report.payload["price_of_anarchy_status"] == "computed"
    assert PriceOfAnarchyEstimate.objects.count() == 2


def test_a_seed_given_reruns_the_dynamics_and_replaces_the_estimate(critical_draft):
    stability_report_for(schedule=critical_draft)
    report = stability_report_create(schedule=critical_draft, seed=7)
    [estimate] = PriceOfAnarchyEstimate.objects.all()
    assert estimate.seed == 7 and report.parameters["seed"] == 7
    assert report.payload["price_of_anarchy_status"] == "computed"


def test_a_schedule_above_the_inline_limit_gets_the_stored_estimate_without_a_job(
    critical_draft, settings, django_capture_on_commit_callbacks
):
    from stability.price_requests import price_of_anarchy_request

    stability_report_for(schedule=critical_draft)          # stores the estimate (3 assignments: inline)
    settings.GTSCHED_STABILITY = {**settings.GTSCHED_STABILITY, "poa_inline_max_assignments": 1}
    fresh = stability_report_for(schedule=critical_draft, refresh=True)
    assert fresh.price_of_anarchy is not None and fresh.payload["price_of_anarchy_status"].startswith("reused")
    PriceOfAnarchyEstimate.objects.all().delete()
    without = stability_report_for(schedule=critical_draft, refresh=True)
    assert without.price_of_anarchy is None and without.restarts is None
    assert without.payload["price_of_anarchy_status"].startswith("not computed inline")
    # Asking for it runs the job (eagerly in tests), which stores a new estimate.
    with django_capture_on_commit_callbacks(execute=True) as jobs:
        assert price_of_anarchy_request(schedule=critical_draft, actor=None, restarts=5) is None
    assert len(jobs) == 1
    asked = price_of_anarchy_request(schedule=critical_draft, actor=None, restarts=5)
    assert asked is not None and asked.price_of_anarchy is not None and len(jobs) == 1
    assert PriceOfAnarchyEstimate.objects.count() == 1


def test_the_stored_estimate_round_trips_to_the_algorithms_result(critical_draft):
    import numpy as np

    from allocation.problem import schedule_problem
    from stability.algorithms.welfare import price_of_anarchy

    stability_report_create(schedule=critical_draft, seed=3)
    estimate = PriceOfAnarchyEstimate.objects.get()
    computed = price_of_anarchy(schedule_problem(schedule=critical_draft).problem, rng=np.random.default_rng(3),
                                restarts=5)
    stored = estimate.as_result()
    assert stored.key == computed.key and stored.status == computed.status
    assert stored.price_of_anarchy == pytest.approx(computed.price_of_anarchy)
    assert np.allclose(stored.stable_welfare, computed.stable_welfare) and np.array_equal(stored.steps, computed.steps)


# --- all recommended swaps at once -------------------------------------------------------------------------------


@pytest.fixture
def cycle_draft(cycle_market, faculty, other_faculty, carol, dave, erin):
    """A draft of the 2027 cycle market's rows: two recommended swaps, dave↔erin then alice↔carol."""
    return ScheduleFactory(year=cycle_market.year, name="2027 draft", rows=[
        (faculty, 1, "inpatient"), (other_faculty, 2, "inpatient"), (carol, 3, "inpatient"),
        (dave, 5, "inpatient"), (erin, 6, "inpatient"),
    ])


def _weeks(schedule) -> dict[int, int]:
    return dict(schedule.assignments.values_list("faculty_id", "week__index"))


def test_all_recommended_swaps_edit_a_draft_pair_by_pair(cycle_draft, coordinator, faculty, carol, dave, erin):
    report = stability_report_for(schedule=cycle_draft)
    applied = schedule_recommended_swaps_apply_all(schedule=cycle_draft, report=report, actor=coordinator)
    assert applied.swaps == 2 and len(applied.changes) == 2
    assert applied.distance_before == pytest.approx(1.0) and applied.distance_after == pytest.approx(0.4)
    assert all(c.kind == ScheduleChange.Kind.RECOMMENDED and f"report #{report.pk}" in c.reason for c in applied.changes)
    weeks = _weeks(cycle_draft)
    assert (weeks[dave.pk], weeks[erin.pk], weeks[faculty.pk], weeks[carol.pk]) == (6, 5, 3, 1)


def test_one_stale_swap_refuses_them_all_and_rolls_back_the_earlier_ones(cycle_draft, coordinator, faculty, carol):
    report = stability_report_for(schedule=cycle_draft)
    alice_carol = report.payload["recommended_swaps"][-1]
    assert {alice_carol["a_faculty_name"], alice_carol["b_faculty_name"]} == {"Dr. Alice Owner", "Dr. Carol Third"}
    schedule_recommended_swap_apply(schedule=cycle_draft, assignment_a=alice_carol["assignment_a"],
                                    assignment_b=alice_carol["assignment_b"], actor=coordinator)
    before = _weeks(cycle_draft)
    with pytest.raises(ValidationError, match="Swap 2 of 2: This swap no longer benefits both"):
        schedule_recommended_swaps_apply_all(schedule=cycle_draft, report=report, actor=coordinator)
    assert _weeks(cycle_draft) == before  # dave↔erin, the first pair, was rolled back too
    assert ScheduleChange.objects.filter(schedule=cycle_draft).count() == 1


def test_all_recommended_swaps_need_a_report_of_the_schedule_with_swaps_in_it(critical_draft, stable_draft, coordinator):
    stable_report = stability_report_for(schedule=stable_draft)
    with pytest.raises(ValidationError, match="not a report of"):
        schedule_recommended_swaps_apply_all(schedule=critical_draft, report=stable_report, actor=coordinator)
    with pytest.raises(ValidationError, match="nothing to apply"):
        schedule_recommended_swaps_apply_all(schedule=stable_draft, report=stable_report, actor=coordinator)
    assert not ScheduleChange.objects.exists()


def test_an_archived_schedule_takes_none_of_its_recommended_swaps(critical_draft, coordinator):
    report = stability_report_for(schedule=critical_draft)
    Schedule.objects.filter(pk=critical_draft.pk).update(status=Schedule.Status.ARCHIVED)
    with pytest.raises(ValidationError, match="archived"):
        schedule_recommended_swaps_apply_all(schedule=critical_draft, report=report, actor=coordinator)
    assert not ScheduleChange.objects.exists()
