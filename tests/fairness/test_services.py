"""Shapley services: the game read from a year as allocation reads it, exact and Monte Carlo values stored as the
core computes them (through the Celery chord too), freshness lost on every kind of input change, refusals that store
nothing, and the report's numbers against the core."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from allocation.problem import year_problem
from fairness.algorithms.shapley import exact_shapley, sample_sums
from fairness.algorithms.workload import workload
from fairness.inputs import shapley_inputs
from fairness.models import ShapleyComputation
from fairness.reports import shapley_report
from fairness.services import shapley_current, shapley_execute, shapley_request
from preferences.models import CoverageDemand
from preferences.services import spread_demand
from tests.allocation.helpers import submit
from tests.factories import FacultyFactory, ScheduleFactory, make_year
from tests.fairness.conftest import compute

# --- inputs ----------------------------------------------------------------------------------------------------


def test_the_game_is_the_allocation_problems_eligibility_loads_and_demand(ward):
    year, people, (inpatient, clinic) = ward
    submit(people["A"], year, [0, 1], blocked=[3])
    inputs = shapley_inputs(year=year)
    built = year_problem(year=year, seed=0)
    assert [people[e].pk for e in "ABCD"] == inputs.faculty_ids.tolist()
    assert np.array_equal(inputs.game.eligible, built.problem.eligible)
    assert inputs.game.load.tolist() == [3, 2, 2, 1]
    assert inputs.game.capacity.tolist() == [[1, 1]] * 4
    assert not inputs.game.eligible[0, 3].any() and inputs.game.eligible[0, 2].all()  # A blocked week 3
    # rotations by name: clinic (0), inpatient (1); B serves inpatient only
    assert inputs.game.eligible[1, :, 1].all() and not inputs.game.eligible[1, :, 0].any()


def test_a_year_without_demand_spreads_the_total_load(db, rotations):
    year = make_year(label=2052, num_weeks=3, rotations=rotations, demand=None)
    people = [FacultyFactory(rotations=rotations, target_load=load) for load in (2, 3)]
    year.roster.set(people)
    assert shapley_inputs(year=year).game.capacity.tolist() == spread_demand(5, 3, 2).tolist()


def test_inactive_faculty_are_not_players(ward):
    year, people, _ = ward
    people["D"].active = False
    people["D"].save()
    assert shapley_inputs(year=year).faculty_ids.tolist() == [people[e].pk for e in "ABC"]


# --- computing ---------------------------------------------------------------------------------------------------


def test_an_exact_computation_stores_the_cores_values(ward, django_capture_on_commit_callbacks):
    year, people, _ = ward
    with django_capture_on_commit_callbacks(execute=True):
        computation, created = shapley_request(year=year)
    computation.refresh_from_db()
    core = exact_shapley(shapley_inputs(year=year).game)
    assert created and computation.status == "completed" and computation.method == "exact"
    assert computation.samples == 0 and computation.progress == 100
    rows = list(computation.values.order_by("position"))
    assert [r.faculty_id for r in rows] == [people[e].pk for e in "ABCD"]
    assert np.allclose([r.shapley_value for r in rows], core.phi)
    assert [r.ci_low for r in rows] == [r.shapley_value for r in rows] == [r.ci_high for r in rows]
    assert sum(r.shapley_value for r in rows) == pytest.approx(computation.grand_value) == core.grand_value
    assert sum(r.expected_weeks for r in rows) == computation.total_demand == 8
    assert [r.coverage_capacity for r in rows] == [8, 4, 4, 8]
    assert rows[1].qualifications == ["inpatient"] and rows[0].qualifications == ["clinic", "inpatient"]
    assert len(rows[0].marginal_by_size) == 4


def test_monte_carlo_through_the_celery_chord_equals_one_process(ward, settings, django_capture_on_commit_callbacks):
    settings.GTSCHED_SHAPLEY = {"chunks": 3}
    year, _, _ = ward
    with django_capture_on_commit_callbacks(execute=True):
        chunked, _ = shapley_request(year=year, method="monte_carlo", samples=1000, seed=11)
    chunked.refresh_from_db()
    single = sample_sums(shapley_inputs(year=year).game, seed=11, start=0, stop=500).result()
    assert chunked.status == "completed" and chunked.chunks == 3 and chunked.chunks_done == 3
    assert chunked.method == "monte_carlo" and chunked.samples == 1000 and chunked.seed == 11
    rows = list(chunked.values.order_by("position"))
    assert [r.shapley_value for r in rows] == single.phi.tolist()  # exactly: integer sums merged
    assert [r.ci_low for r in rows] == single.ci_low.tolist()
    assert [r.ci_high for r in rows] == single.ci_high.tolist()
    inline = compute(year, method="monte_carlo", samples=1000, seed=11)
    assert [r.shapley_value for r in inline.values.order_by("position")] == single.phi.tolist()


def test_monte_carlo_is_the_default_beyond_fifteen_faculty(db, rotations, settings):
    settings.GTSCHED_SHAPLEY = {"samples": 1000, "seed": 3}
    year = make_year(label=2053, num_weeks=4, rotations=rotations, demand=2)
    year.roster.set([FacultyFactory(rotations=rotations[:1 + k % 2], target_load=1) for k in range(16)])
    computation = compute(year)
    assert (computation.method, computation.samples, computation.seed) == ("monte_carlo", 1000, 3)
    with pytest.raises(ValidationError) as refused:
        shapley_request(year=year, method="exact", enqueue=False)
    assert "method" in refused.value.message_dict and "at most 15" in refused.value.message_dict["method"][0]
    assert ShapleyComputation.objects.count() == 1


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"samples": 999}, "samples"), ({"samples": 100_001}, "samples"), ({"samples": "lots"}, "samples"),
    ({"method": "guess"}, "method"), ({"seed": -1}, "seed"),
])
def test_bad_parameters_are_refused_and_nothing_is_stored(ward, kwargs, field):
    year, _, _ = ward
    with pytest.raises(ValidationError) as refused:
        shapley_request(year=year, enqueue=False, **kwargs)
    assert field in refused.value.message_dict
    assert not ShapleyComputation.objects.exists()


def test_a_repeated_request_returns_the_pending_computation(ward):
    year, _, _ = ward
    first, created = shapley_request(year=year, enqueue=False)
    again, created_again = shapley_request(year=year, enqueue=False)
    assert created and not created_again and again.pk == first.pk
    assert shapley_execute(computation_id=first.pk).status == "completed"
    assert shapley_execute(computation_id=first.pk).status == "completed"  # idempotent
    assert first.values.count() == 4


def test_inputs_changed_between_request_and_run_fail_the_computation(ward):
    year, people, _ = ward
    computation, _ = shapley_request(year=year, enqueue=False)
    people["B"].target_load = 4
    people["B"].save()
    computation = shapley_execute(computation_id=computation.pk)
    assert computation.status == "failed" and "changed" in computation.error
    assert not computation.values.exists()


# --- freshness: any change to the four inputs invalidates ---------------------------------------------------------


def _drop_qualification(year, people, rotations):
    people["A"].rotations.remove(rotations[1])


def _change_load(year, people, rotations):
    people["C"].target_load = 1
    people["C"].save()


def _block_a_week(year, people, rotations):
    submit(people["D"], year, [0], blocked=[2])


def _change_demand(year, people, rotations):
    CoverageDemand.objects.filter(week__year=year, week__index=1, rotation=rotations[0]).update(count=2)


@pytest.mark.parametrize("change", [_drop_qualification, _change_load, _block_a_week, _change_demand])
def test_any_change_to_the_inputs_makes_the_stored_values_stale(ward, change):
    year, people, rotations = ward
    computation = compute(year)
    assert shapley_current(year=year) == (computation, True)
    assert shapley_report(year=year).fresh
    change(year, people, rotations)
    stored, fresh = shapley_current(year=year)
    assert stored == computation and not fresh
    report = shapley_report(year=year)
    assert not report.fresh and report.recommendations == ()
    newer = compute(year)
    assert shapley_current(year=year) == (newer, True)


def test_a_preference_change_that_blocks_nothing_keeps_the_values_current(ward):
    year, people, _ = ward
    computation = compute(year)
    submit(people["A"], year, [3, 2, 1, 0])
    assert shapley_current(year=year) == (computation, True)


def test_nothing_computed_means_no_current_values_and_no_report(ward):
    year, _, _ = ward
    assert shapley_current(year=year) == (None, False)
    assert shapley_report(year=year) is None


# --- the report --------------------------------------------------------------------------------------------------


def test_the_report_compares_with_the_published_schedule_and_matches_the_core(ward):
    year, people, _ = ward
    ScheduleFactory(year=year, rows=[(people["A"], 0, "inpatient")])  # an older draft
    published = ScheduleFactory(year=year, status="published", rows=[
        (people["A"], 0, "inpatient"), (people["A"], 1, "inpatient"), (people["A"], 2, "clinic"),
        (people["A"], 3, "clinic"), (people["B"], 2, "inpatient"), (people["C"], 0, "clinic"),
    ])
    computation = compute(year)
    report = shapley_report(year=year)
    assert report.schedule_id == published.pk and report.schedule_status == "published"
    phi = np.array([r.shapley_value for r in report.faculty])
    core = workload(phi, grand_value=computation.grand_value, total_demand=8, actual=[4, 1, 1, 0])
    assert [r.actual_workload for r in report.faculty] == [4, 1, 1, 0]
    assert [r.expected_workload for r in report.faculty] == pytest.approx(core.expected.tolist())
    assert [r.is_overloaded for r in report.faculty] == core.over.tolist()
    assert [r.is_underloaded for r in report.faculty] == core.under.tolist()
    assert report.fairness_score == pytest.approx(core.fairness_score)
    assert report.total_workload == 6 and report.method == "exact" and report.fresh
    assert computation.schedule_id == published.pk
    assert computation.fairness_score == pytest.approx(core.fairness_score)


def test_the_report_recommends_feasible_moves_by_name_week_and_rotation(pair):
    year, people, inpatient = pair
    schedule = ScheduleFactory(year=year, rows=[(people["P"], k, "inpatient") for k in range(4)])
    compute(year)
    report = shapley_report(year=year)
    assert report.schedule_id == schedule.pk and report.schedule_status == "draft"
    assert [r.shapley_value for r in report.faculty] == [2.0, 2.0]
    assert [r.expected_weeks for r in report.faculty] == [2, 2]
    assert [(r.is_overloaded, r.is_underloaded) for r in report.faculty] == [(True, False), (False, True)]
    assert report.fairness_score == pytest.approx(0.5)
    assert [r.faculty_name for r in report.overloaded] == ["Dr. P"]
    assert [r.faculty_name for r in report.underloaded] == ["Dr. Q"]
    (move,) = report.recommendations
    weeks = {w.index: w.start_date for w in year.weeks.all()}
    assert (move.from_faculty_name, move.to_faculty_name, move.amount) == ("Dr. P", "Dr. Q", 2)
    assert [(s.week, s.rotation) for s in move.slots] == [(weeks[0], "inpatient"), (weeks[1], "inpatient")]


def test_a_new_schedule_shows_in_the_report_without_recomputing(pair):
    year, people, _ = pair
    computation = compute(year)
    assert shapley_report(year=year).schedule_id is None
    assert shapley_report(year=year).fairness_score is None
    ScheduleFactory(year=year, rows=[(people["P"], 0, "inpatient"), (people["Q"], 1, "inpatient")])
    report = shapley_report(year=year)
    assert report.computation_id == computation.pk and report.fairness_score == pytest.approx(1.0)
    assert ShapleyComputation.objects.count() == 1


def test_the_report_says_when_every_load_fits_and_shapley_values_are_the_loads(pair):
    """A part of a flow serving everyone is a flow, so when v(N) = Σ loads every φ_i is i's load; with more load
    offered than seats, the values fall below the loads and the report says the loads no longer all fit."""
    year, people, inpatient = pair
    compute(year)
    report = shapley_report(year=year)
    assert report.every_load_fits and [r.shapley_value for r in report.faculty] == [2.0, 2.0]

    for person in people.values():
        person.target_load = 3
        person.save()
    compute(year)
    report = shapley_report(year=year)
    assert report.fresh and report.grand_value == 4 and not report.every_load_fits
    assert [r.shapley_value for r in report.faculty] == [2.0, 2.0]  # below the loads of 3
