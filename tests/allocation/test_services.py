"""Allocation services end to end on small years: runs, determinism, idempotency, failures, pre-assignments, explanations."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from allocation.algorithms import registry
from allocation.algorithms.types import INFEASIBLE, Allocation, empty_assignments
from allocation.models import AllocationRun, Assignment, Comparison, PreAssignment, Schedule
from allocation.services import (
    allocation_run_cancel,
    allocation_run_execute,
    allocation_run_start,
    assignment_explain,
    comparison_start,
    preassignment_add,
    year_problem,
)
from allocation.services.results import schedule_name
from preferences.models import AcademicYear
from preferences.services import preferences_submit
from tests.allocation.helpers import run_now, submit, week
from tests.factories import CoordinatorFactory, FacultyFactory, RotationFactory, make_year

# `tiny` (tests/allocation/conftest.py): a 4-week, one-rotation year, one seat a week, three faculty who need one week
# each and rank every week. Least regret has one optimum: T0→w0 (1st), T1→w2 (2nd), T2→w1 (1st).


def schedule_rows(run: AllocationRun) -> list[tuple[str, str, str, int, float]]:
    return list(
        Schedule.objects.get(run=run).assignments.order_by("faculty__external_id", "week__index").values_list(
            "faculty__external_id", "week__start_date", "rotation__name", "rank", "utility"
        )
    )


def held(run: AllocationRun) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for ext, index in Schedule.objects.get(run=run).assignments.values_list("faculty__external_id", "week__index"):
        out.setdefault(ext, []).append(index)
    return {k: sorted(v) for k, v in out.items()}


# --- the year as a problem ---------------------------------------------------------------------------------------


def test_year_problem_maps_indices_and_fingerprints_inputs(tiny):
    year, people = tiny
    built = year_problem(year=year, seed=5)
    p = built.problem
    assert p.eligible.shape == (3, 4, 1)
    assert [people_pk for people_pk in built.faculty_ids.tolist()] == [people[e].pk for e in ("T0", "T1", "T2")]
    assert built.week_ids.tolist() == list(year.weeks.order_by("index").values_list("pk", flat=True))
    assert p.rank[1].tolist() == [1, 3, 2, 4]  # T1 ranks w0, w2, w1, w3
    np.testing.assert_allclose(p.value[0], [100.0, 87.5, 75.0, 62.5])
    assert p.demand.tolist() == [1, 1, 1] and p.capacity.tolist() == [[1], [1], [1], [1]]
    assert built.fingerprint == year_problem(year=year, seed=5).fingerprint
    assert built.inputs_digest == year_problem(year=year, seed=6).inputs_digest


def test_year_problem_refuses_an_unknown_non_respondent_policy(tiny):
    with pytest.raises(ValidationError) as exc:
        year_problem(year=tiny[0], seed=1, non_respondents="maybe")
    assert "non_respondents" in exc.value.message_dict


# --- runs -------------------------------------------------------------------------------------------------------


def test_a_completed_run_saves_a_draft_schedule_with_ranks_utilities_and_stats(tiny):
    year, _ = tiny
    run = run_now(year, "least_regret")
    assert run.status == AllocationRun.Status.COMPLETED, run.error
    assert run.progress == 100 and run.started_at and run.finished_at and run.duration_ms is not None
    schedule = Schedule.objects.get(run=run)
    assert schedule.status == Schedule.Status.DRAFT and schedule.source == Schedule.Source.RUN
    assert schedule.name == f"{year} · Least regret · {timezone.localdate(run.created_at):%-d %b %Y}"
    assert held(run) == {"T0": [0], "T1": [2], "T2": [1]}
    assert {ext: rank for ext, _, _, rank, _ in schedule_rows(run)} == {"T0": 1, "T1": 2, "T2": 1}
    assert set(run.timings) == {"load_ms", "solve_ms", "save_ms"}
    assert run.details["problem_fingerprint"] and len(run.input_fingerprint) == 64


def test_a_runs_draft_is_named_by_year_mechanism_in_words_and_date():
    run = AllocationRun(year=AcademicYear(label=2026), mechanism="min_cost_flow",
                        created_at=dt.datetime(2026, 12, 3, 9, 30, tzinfo=dt.UTC))
    assert schedule_name(run) == "2026–27 · Min-cost flow · 3 Dec 2026"


def test_stats_match_a_hand_computation(tiny):
    run = run_now(tiny[0], "least_regret")
    s = run.stats
    # u = 0.6·s + 0.2 (three neutral factors at 0.5); s = 1 − 0.5·(r − 1)/4 → rank 1: 0.8, rank 2: 0.725.
    assert s["total_regret"] == 1
    assert s["average_regret"] == pytest.approx(1 / 3)
    assert s["max_regret"] == 1
    assert s["rank_distribution"] == {"1": 2, "2": 1}
    assert s["welfare"] == pytest.approx(0.8 + 0.725 + 0.8)
    assert s["unassigned"] == 0
    assert s["uncovered"] == 1  # four seats, three faculty-weeks
    assert s["compute_ms"] >= 0
    utilities = {ext: u for ext, _, _, _, u in schedule_rows(run)}
    assert utilities == pytest.approx({"T0": 0.8, "T1": 0.725, "T2": 0.8})


def test_same_inputs_and_seed_give_the_same_schedule_always(contested):
    year, _ = contested
    for mechanism in ("rsd", "least_regret"):
        first = run_now(year, mechanism, seed=42)
        second = run_now(year, mechanism, seed=42)
        assert first.pk != second.pk
        assert schedule_rows(first) == schedule_rows(second)
        assert first.input_fingerprint == second.input_fingerprint
        assert first.details.get("lottery_order") == second.details.get("lottery_order")


def test_a_different_seed_draws_a_different_rsd_lottery(contested):
    year, _ = contested
    base = run_now(year, "rsd", seed=0)
    others = [run_now(year, "rsd", seed=s) for s in range(1, 6)]
    assert any(o.details["lottery_order"] != base.details["lottery_order"] for o in others)
    assert any(held(o) != held(base) for o in others)
    # In a contested year the lottery decides: position k gets week k−1.
    for run in [base, *others]:
        assert {ext: weeks[0] for ext, weeks in held(run).items()} == {
            ext: k for k, ext in enumerate(run.details["lottery_order"])
        }
    data = Schedule.objects.get(run=base).assignments.values_list("faculty__external_id", "mechanism_data")
    assert {ext: d["lottery_position"] for ext, d in data} == {
        ext: k for k, ext in enumerate(base.details["lottery_order"], start=1)
    }


def test_a_second_start_on_the_same_inputs_returns_the_pending_run(tiny):
    year, _ = tiny
    first, created = allocation_run_start(year=year, mechanism="rsd", options={}, seed=9, actor=None, enqueue=False)
    again, created_again = allocation_run_start(year=year, mechanism="rsd", options={}, seed=9, actor=None, enqueue=False)
    assert created and not created_again and again.pk == first.pk
    assert AllocationRun.objects.count() == 1


def test_a_repeated_click_without_a_seed_returns_the_pending_run(tiny):
    year, _ = tiny
    first, _ = allocation_run_start(year=year, mechanism="rsd", options={}, seed=None, actor=None, enqueue=False)
    again, created = allocation_run_start(year=year, mechanism="rsd", options={}, seed=None, actor=None, enqueue=False)
    assert not created and again.pk == first.pk and first.seed_drawn
    assert 0 <= first.seed < 2**31
    other, created = allocation_run_start(year=year, mechanism="rsd", options={}, seed=first.seed + 1, actor=None,
                                          enqueue=False)
    assert created and other.pk != first.pk


def test_a_finished_run_does_not_block_a_new_one(tiny):
    year, _ = tiny
    first = run_now(year, "rsd", seed=3)
    second = run_now(year, "rsd", seed=3)
    assert first.pk != second.pk and AllocationRun.objects.count() == 2


def test_the_database_allows_one_active_run_per_inputs(tiny):
    from django.db import IntegrityError, transaction

    year, _ = tiny
    run, _ = allocation_run_start(year=year, mechanism="rsd", options={}, seed=9, actor=None, enqueue=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        AllocationRun.objects.create(year=year, mechanism="rsd", seed=9, input_fingerprint=run.input_fingerprint)


def test_execute_is_idempotent_by_run_id(tiny):
    year, _ = tiny
    run, _ = allocation_run_start(year=year, mechanism="least_regret", options={}, seed=1, actor=None, enqueue=False)
    allocation_run_execute(run_id=run.pk)
    again = allocation_run_execute(run_id=run.pk)
    assert again.status == AllocationRun.Status.COMPLETED
    assert Schedule.objects.filter(run=run).count() == 1
    assert Assignment.objects.filter(schedule__run=run).count() == 3


def test_cancel_before_execute_writes_no_schedule(tiny):
    year, _ = tiny
    coordinator = CoordinatorFactory()
    run, _ = allocation_run_start(year=year, mechanism="rsd", options={}, seed=1, actor=coordinator, enqueue=False)
    cancelled = allocation_run_cancel(run=run, actor=coordinator)
    assert cancelled.status == AllocationRun.Status.CANCELLED and cancelled.finished_at
    assert coordinator.username in cancelled.progress_message
    assert allocation_run_execute(run_id=run.pk).status == AllocationRun.Status.CANCELLED
    assert not Schedule.objects.filter(run=run).exists()
    with pytest.raises(ValidationError):
        allocation_run_cancel(run=run, actor=coordinator)


def test_cancel_while_solving_stops_before_saving(tiny, monkeypatch):
    year, _ = tiny
    real = registry.strategy("least_regret")
    run, _ = allocation_run_start(year=year, mechanism="least_regret", options={}, seed=1, actor=None, enqueue=False)

    def cancelled_midway(problem, **kwargs):
        allocation_run_cancel(run=AllocationRun.objects.get(pk=run.pk), actor=None)
        return real(problem, **kwargs)

    monkeypatch.setattr("allocation.algorithms.least_regret.least_regret", cancelled_midway)
    assert allocation_run_execute(run_id=run.pk).status == AllocationRun.Status.CANCELLED
    assert not Schedule.objects.filter(run=run).exists()


def test_a_finished_run_cannot_be_cancelled(tiny):
    run = run_now(tiny[0], "rsd")
    with pytest.raises(ValidationError, match="already completed"):
        allocation_run_cancel(run=run, actor=None)


def test_an_exception_in_the_mechanism_fails_the_run_with_its_text(tiny, monkeypatch):
    def broken(problem, **kwargs):
        raise RuntimeError("solver exploded")

    year, _ = tiny
    run, _ = allocation_run_start(year=year, mechanism="least_regret", options={}, seed=1, actor=None, enqueue=False)
    monkeypatch.setattr("allocation.algorithms.least_regret.least_regret", broken)
    run = allocation_run_execute(run_id=run.pk)
    assert run.status == AllocationRun.Status.FAILED
    assert "RuntimeError: solver exploded" in run.error and run.finished_at
    assert not Schedule.objects.filter(run=run).exists()


def test_an_infeasible_year_fails_in_plain_words(tiny, inpatient):
    year, people = tiny
    type(people["T0"]).objects.filter(pk__in=[p.pk for p in people.values()]).update(target_load=2)  # 6 weeks, 4 seats
    run = run_now(year, "min_cost_flow", options={"allow_unassigned": False})
    assert run.status == AllocationRun.Status.FAILED
    assert run.error.startswith("Min-cost flow found no schedule that meets every hard constraint")
    assert "4 seats in total for 6 weeks of target load" in run.error
    assert not Schedule.objects.filter(run=run).exists()


def test_an_infeasible_status_from_any_mechanism_saves_nothing(tiny, monkeypatch):
    def nothing_fits(problem, **kwargs):
        return Allocation(status=INFEASIBLE, mechanism="cp_sat", assignments=empty_assignments(),
                          unassigned=problem.demand.copy(), details={"reason": "the pairs cannot serve together"})

    monkeypatch.setattr("allocation.algorithms.cpsat.cp_sat", nothing_fits)
    run = run_now(tiny[0], "cp_sat")
    assert run.status == AllocationRun.Status.FAILED
    assert run.error == "CP-SAT found no schedule that meets every hard constraint: the pairs cannot serve together"


def test_a_result_breaking_a_hard_constraint_is_not_saved(tiny, monkeypatch):
    def double_booked(problem, **kwargs):
        rows = np.array([[0, 0, 0], [1, 0, 0], [2, 1, 0]])
        return Allocation(status="optimal", mechanism="least_regret", assignments=rows, unassigned=np.zeros(3, int))

    monkeypatch.setattr("allocation.algorithms.least_regret.least_regret", double_booked)
    run = run_now(tiny[0], "least_regret")
    assert run.status == AllocationRun.Status.FAILED and "more faculty than its capacity" in run.error
    assert not Schedule.objects.exists()


# --- validation -------------------------------------------------------------------------------------------------


def test_an_unknown_mechanism_is_refused_by_field(tiny):
    with pytest.raises(ValidationError) as exc:
        allocation_run_start(year=tiny[0], mechanism="dictator", options={}, seed=1, actor=None)
    assert "mechanism" in exc.value.message_dict
    assert not AllocationRun.objects.exists()


@pytest.mark.parametrize(
    ("mechanism", "options", "field"),
    [
        ("least_regret", {"cost": "cubic"}, "options.cost"),
        ("least_regret", {"speed": 3}, "options.speed"),
        ("min_cost_flow", {"fill_unlisted": "yes"}, "options.fill_unlisted"),
        ("rsd", {"non_respondents": "ignore"}, "options.non_respondents"),
        ("rsd", {"seed": 4}, "options.seed"),
        ("cp_sat", {"time_limit_s": -1}, "options.time_limit_s"),
        ("cp_sat", {"time_limit_s": 601}, "options.time_limit_s"),
        ("cp_sat", {"workers": 17}, "options.workers"),
        ("cp_sat", {"back_to_back_penalty": 10**30}, "options.back_to_back_penalty"),
        ("cp_sat", {"max_holidays": 10**30}, "options.max_holidays"),
        ("cp_sat", {"rotation_quotas": [{"faculty": 0, "rotation": 0, "max": 10**30}]}, "options.rotation_quotas"),
        ("cp_sat", {"pairs": [[0, 7]]}, "options.pairs"),
    ],
)
def test_bad_options_are_refused_naming_the_option(tiny, mechanism, options, field):
    with pytest.raises(ValidationError) as exc:
        allocation_run_start(year=tiny[0], mechanism=mechanism, options=options, seed=1, actor=None)
    assert field in exc.value.message_dict, exc.value.message_dict
    assert not AllocationRun.objects.exists()


def test_the_time_limit_is_bounded_by_its_documented_maximum(tiny):
    with pytest.raises(ValidationError) as exc:
        allocation_run_start(year=tiny[0], mechanism="cp_sat", options={"time_limit_s": 1e9}, seed=1, actor=None)
    assert exc.value.message_dict == {"options.time_limit_s": ["Must be at most 600 seconds, got 1000000000.0."]}
    assert not AllocationRun.objects.exists()
    run, _ = allocation_run_start(year=tiny[0], mechanism="cp_sat", options={"time_limit_s": 600}, seed=1, actor=None,
                                  enqueue=False)
    assert run.parameters["time_limit_s"] == 600


def test_a_bad_seed_is_refused(tiny):
    with pytest.raises(ValidationError) as exc:
        allocation_run_start(year=tiny[0], mechanism="rsd", options={}, seed=-1, actor=None)
    assert "seed" in exc.value.message_dict


def test_options_are_stored_and_passed_to_the_mechanism(tiny):
    run = run_now(tiny[0], "least_regret", options={"cost": "linear", "non_respondents": "exclude"})
    assert run.parameters == {"cost": "linear", "non_respondents": "exclude"}
    assert run.details["cost"] == "linear"


# --- non-respondents ---------------------------------------------------------------------------------------------


def test_non_respondents_are_neutral_by_default_and_can_be_left_out(tiny, inpatient):
    year, people = tiny
    silent = FacultyFactory(external_id="T9", display_name="Dr. Silent", rotations=[inpatient], target_load=1)
    year.roster.add(silent)
    assert year_problem(year=year, seed=1).problem.n_faculty == 4
    assert year_problem(year=year, seed=1, non_respondents="exclude").problem.n_faculty == 3
    included = run_now(year, "least_regret")
    excluded = run_now(year, "least_regret", options={"non_respondents": "exclude"})
    assert "T9" in held(included)
    assert "T9" not in held(excluded) and set(held(excluded)) == {"T0", "T1", "T2"}


# --- pre-assignments ---------------------------------------------------------------------------------------------


def test_preassignments_are_honoured_by_every_run(tiny, inpatient):
    year, people = tiny
    coordinator = CoordinatorFactory()
    pre = preassignment_add(year=year, faculty=people["T1"], week=week(year, 3), rotation=inpatient,
                            reason="Teaching block", actor=coordinator)
    assert pre.created_by == coordinator
    built = year_problem(year=year, seed=1)
    assert built.problem.preassigned.tolist() == [[1, 3, 0]]
    for mechanism in ("rsd", "least_regret"):
        run = run_now(year, mechanism)
        assert run.status == AllocationRun.Status.COMPLETED, run.error
        assert held(run)["T1"] == [3]
        row = Schedule.objects.get(run=run).assignments.get(faculty=people["T1"])
        assert row.mechanism_data["preassigned"] is True


def test_a_preassignment_needs_a_reason(tiny, inpatient):
    year, people = tiny
    with pytest.raises(ValidationError) as exc:
        preassignment_add(year=year, faculty=people["T0"], week=week(year, 0), rotation=inpatient, reason="  ", actor=None)
    assert "reason" in exc.value.message_dict
    assert not PreAssignment.objects.exists()


def test_a_preassignment_refuses_a_blocked_week(db, inpatient):
    year = make_year(label=2032, num_weeks=4, rotations=[inpatient])
    person = FacultyFactory(external_id="B0", rotations=[inpatient], target_load=1)
    submit(person, year, [0, 1], blocked=[2])
    with pytest.raises(ValidationError) as exc:
        preassignment_add(year=year, faculty=person, week=week(year, 2), rotation=inpatient, reason="x", actor=None)
    assert "blocked" in exc.value.message_dict["week"][0]


def test_a_preassignment_refuses_a_rotation_the_faculty_does_not_serve(tiny):
    year, people = tiny
    clinic = RotationFactory(name="clinic")
    with pytest.raises(ValidationError) as exc:
        preassignment_add(year=year, faculty=people["T0"], week=week(year, 0), rotation=clinic, reason="x", actor=None)
    assert "rotation" in exc.value.message_dict


def test_a_preassignment_respects_capacity_and_one_slot_a_week(tiny, inpatient):
    year, people = tiny
    preassignment_add(year=year, faculty=people["T0"], week=week(year, 0), rotation=inpatient, reason="x", actor=None)
    with pytest.raises(ValidationError) as full:
        preassignment_add(year=year, faculty=people["T1"], week=week(year, 0), rotation=inpatient, reason="x", actor=None)
    assert "full" in full.value.message_dict["rotation"][0]
    with pytest.raises(ValidationError) as twice:
        preassignment_add(year=year, faculty=people["T0"], week=week(year, 0), rotation=inpatient, reason="y", actor=None)
    assert "already pre-assigned" in twice.value.message_dict["week"][0]
    with pytest.raises(ValidationError) as load:
        preassignment_add(year=year, faculty=people["T0"], week=week(year, 1), rotation=inpatient, reason="y", actor=None)
    assert "target load" in load.value.message_dict["faculty"][0]
    assert PreAssignment.objects.count() == 1


def test_a_preassignment_refuses_a_week_of_another_year(tiny, inpatient):
    year, people = tiny
    other = make_year(label=2033, num_weeks=2, rotations=[inpatient])
    with pytest.raises(ValidationError) as exc:
        preassignment_add(year=year, faculty=people["T0"], week=week(other, 0), rotation=inpatient, reason="x", actor=None)
    assert "week" in exc.value.message_dict


# --- comparisons -------------------------------------------------------------------------------------------------


def test_a_comparison_runs_each_mechanism_on_the_same_inputs(tiny, django_capture_on_commit_callbacks):
    year, _ = tiny
    coordinator = CoordinatorFactory()
    with django_capture_on_commit_callbacks(execute=True):
        comparison = comparison_start(year=year, mechanisms=["rsd", "least_regret", "min_cost_flow"], seed=11,
                                      options_by_mechanism={"least_regret": {"cost": "linear"}}, actor=coordinator)
    runs = list(comparison.runs.order_by("pk"))
    assert [r.mechanism for r in runs] == ["rsd", "least_regret", "min_cost_flow"]
    assert {r.seed for r in runs} == {11} and comparison.seed == 11 and comparison.created_by == coordinator
    assert all(r.status == AllocationRun.Status.COMPLETED for r in runs), [r.error for r in runs]
    assert runs[1].parameters == {"cost": "linear"}
    assert len({r.details["problem_fingerprint"] for r in runs}) == 1


def test_a_repeated_comparison_returns_the_one_under_way(tiny):
    year, _ = tiny
    first = comparison_start(year=year, mechanisms=["rsd", "least_regret"], seed=5, options_by_mechanism=None, actor=None)
    again = comparison_start(year=year, mechanisms=["rsd", "least_regret"], seed=5, options_by_mechanism=None, actor=None)
    assert again.pk == first.pk and Comparison.objects.count() == 1 and AllocationRun.objects.count() == 2


def test_a_comparison_names_bad_options_by_mechanism(tiny):
    with pytest.raises(ValidationError) as exc:
        comparison_start(year=tiny[0], mechanisms=["rsd", "least_regret"], seed=None,
                         options_by_mechanism={"least_regret": {"cost": "cubic"}}, actor=None)
    assert "options_by_mechanism.least_regret.cost" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        comparison_start(year=tiny[0], mechanisms=["rsd", "nope"], seed=None, options_by_mechanism=None, actor=None)
    assert "mechanisms" in exc.value.message_dict
    assert not Comparison.objects.exists() and not AllocationRun.objects.exists()


# --- explanations ------------------------------------------------------------------------------------------------


def test_rsd_explanation_names_the_earlier_picks(contested):
    year, people = contested
    run = run_now(year, "rsd", seed=7)
    first, second, last = run.details["lottery_order"]
    assignment = Assignment.objects.get(schedule__run=run, faculty__external_id=last)
    explanation = assignment_explain(assignment=assignment)
    assert "lottery position 3 of 3" in explanation["summary"]
    assert "3rd choice" in explanation["summary"]
    points = explanation["points"]
    assert len(points) == 2
    assert f"Dr. {first} (lottery position 1)" in points[0] and "1st choice" in points[0]
    assert f"Dr. {second} (lottery position 2)" in points[1] and "2nd choice" in points[1]


def test_rsd_explains_a_first_choice_by_the_lottery_position(contested):
    run = run_now(contested[0], "rsd", seed=7)
    winner = run.details["lottery_order"][0]
    explanation = assignment_explain(assignment=Assignment.objects.get(schedule__run=run, faculty__external_id=winner))
    assert "lottery position 1 of 3" in explanation["summary"] and "first choice" in explanation["summary"]
    assert explanation["points"] == []


def test_least_regret_explanation_reports_who_would_be_displaced(tiny):
    run = run_now(tiny[0], "least_regret")
    assignment = Assignment.objects.get(schedule__run=run, faculty__external_id="T1")  # week 2, their 2nd choice
    explanation = assignment_explain(assignment=assignment)
    assert "2nd choice" in explanation["summary"]
    [point] = explanation["points"]
    assert point.startswith("Your 1st choice, the week of")
    assert "displace Dr. T0" in point
    assert "would rise from 1 to 4 (+3)" in point


@pytest.mark.parametrize("mechanism", ["least_regret", "min_cost_flow", "cp_sat", "vcg"])
def test_a_faculty_explanation_has_no_solver_jargon_and_says_a_vcg_payment_is_not_paid(tiny, mechanism):
    run = run_now(tiny[0], mechanism)
    for assignment in Assignment.objects.filter(schedule__run=run):
        explanation = assignment_explain(assignment=assignment)
        text = " ".join([explanation["summary"], *explanation["points"]])
        for jargon in ("OPTIMAL", "FEASIBLE", "VCG payment", "Σ", "of the flow", "objective", "fitness"):
            assert jargon not in text, (jargon, text)
        if mechanism == "vcg":
            assert "Nobody pays anything" in text


def test_explanation_of_a_preassigned_week_names_the_reason(tiny, inpatient):
    year, people = tiny
    preassignment_add(year=year, faculty=people["T2"], week=week(year, 3), rotation=inpatient, reason="Conference cover",
                      actor=None)
    run = run_now(year, "least_regret")
    explanation = assignment_explain(assignment=Assignment.objects.get(schedule__run=run, faculty=people["T2"]))
    assert "fixed by a coordinator" in explanation["summary"]
    assert "Conference cover" in explanation["points"][0]


def test_an_imported_schedules_explanation_says_it_was_made_by_hand(tiny, inpatient):
    year, people = tiny
    schedule = Schedule.objects.create(year=year, name="hand-made", source=Schedule.Source.MANUAL)
    assignment = Assignment.objects.create(schedule=schedule, faculty=people["T0"], week=week(year, 1),
                                           rotation=inpatient, rank=2)
    explanation = assignment_explain(assignment=assignment)
    assert "made by hand" in explanation["summary"] and explanation["points"] == ["This week is your 2nd choice."]




@pytest.mark.django_db(transaction=True)
def test_concurrent_clicks_start_one_run(tiny):
    """Four requests at once on PostgreSQL: the year-row lock and the partial unique index leave one run."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("needs a database with row locks and concurrent connections")
    year, _ = tiny
    barrier = threading.Barrier(4)
    results: list[tuple[int, bool]] = []

    def click() -> None:
        try:
            barrier.wait()
            run, created = allocation_run_start(year=AcademicYear.objects.get(pk=year.pk), mechanism="rsd", options={},
                                                seed=None, actor=None, enqueue=False)
            results.append((run.pk, created))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1 and AllocationRun.objects.count() == 1


def test_explanations_never_call_an_unlisted_week_a_choice_or_a_better_one(db, inpatient):
    """Ordinal, cardinal and binary lists of one week for two weeks of service: the second is unlisted in each."""
    year = make_year(label=2032, num_weeks=4, rotations=[inpatient], demand=3)
    people = {k: FacultyFactory(external_id=k, display_name=f"Dr. {k}", rotations=[inpatient], target_load=2)
              for k in ("O", "C", "B")}
    year.roster.set(people.values())
    weeks = {w.index: w.start_date.isoformat() for w in year.weeks.all()}
    submit(people["O"], year, [0])
    for key, kind, entry in (("C", "cardinal", {"value": 90}), ("B", "binary", {"accept": True})):
        preferences_submit(faculty=people[key], year=year, preference_type=kind, entries=[{"week": weeks[0], **entry}],
                           blocked_weeks=[], method="web_form")
    unlisted = {"O": "a week you did not rank", "C": "a week you did not value", "B": "a week you did not accept"}
    for mechanism in ("rsd", "least_regret"):
        run = run_now(year, mechanism, seed=3)
        for key, phrase in unlisted.items():
            rows = list(Assignment.objects.filter(schedule__run=run, faculty=people[key]).select_related("week"))
            assert {a.week.index for a in rows} >= {0} and len(rows) == 2
            listed = next(a for a in rows if a.week.index == 0)
            other = next(a for a in rows if a.week.index != 0)
            text = assignment_explain(assignment=other)
            words = " ".join([text["summary"], *text["points"]])
            assert phrase in text["summary"], (mechanism, key, text)
            assert "choice" not in words.replace("first choice", ""), (mechanism, key, text)
            text = assignment_explain(assignment=listed)
            expected = "a week you accepted" if key == "B" else "first choice"
            assert expected in text["summary"], (mechanism, key, text)
