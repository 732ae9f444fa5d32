"""Min-cost flow over listed weeks: listed positions, fill_unlisted, allow_unassigned, optimality by brute force and scipy."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from allocation.algorithms import registry
from allocation.algorithms.feasibility import violations
from allocation.algorithms.min_cost_flow import listed_positions, min_cost_flow
from allocation.algorithms.stats import allocation_stats
from allocation.algorithms.types import INFEASIBLE, OPTIMAL, Problem
from preferences.algorithms.utility import CARDINAL, build_utility_model
from tests.allocation.algorithms.mechanism_cases import best_by_brute_force, tiny_problem, varied_problem
from tests.allocation.algorithms.problems import make_problem
from tests.allocation.algorithms.wpi import rating_tiers, wpi_problem

RNG = np.random.default_rng(0)


def flow(problem: Problem, **options):
    return min_cost_flow(problem, rng=RNG, **options)


def literal(listed, capacity, demand=None) -> Problem:
    """Each row lists its weeks best first by index order among the listed ones; unlisted weeks come after."""
    listed = np.array(listed, dtype=bool)
    n, n_weeks = listed.shape
    rank = np.argsort(np.argsort(~listed, axis=1, kind="stable"), axis=1) + 1
    return Problem(
        utility=np.zeros((n, n_weeks)), rank=rank, listed=listed, value=np.zeros((n, n_weeks)),
        eligible=np.ones((n, n_weeks, 1), bool), demand=np.ones(n, np.int64) if demand is None else np.array(demand),
        capacity=np.array(capacity).reshape(n_weeks, 1), is_holiday=np.zeros(n_weeks, bool),
    )


def position_matrix(problem: Problem) -> np.ndarray:
    """Arc cost per (faculty, week): listed position, or max_rank + 2 for an unlisted week."""
    faculty, week, position = listed_positions(problem)
    cost = np.full(problem.rank.shape, int(position.max(initial=0)) + 2)
    cost[faculty, week] = position
    return cost


# --- hand-solved -------------------------------------------------------------------------------------------------

def test_a_faculty_member_whose_listed_weeks_are_taken_gets_nothing_without_fill_unlisted():
    # Both list only week 0 (one seat); week 1 has a seat nobody listed.
    problem = literal([[1, 0], [1, 0]], capacity=[1, 1])
    result = flow(problem)
    assert result.status == OPTIMAL and len(result.assignments) == 1 and result.unassigned.sum() == 1
    assert result.assignments[0, 1] == 0 and result.objective == 1


def test_with_fill_unlisted_they_get_the_unlisted_week_at_max_rank_plus_two():
    problem = literal([[1, 0], [1, 0]], capacity=[1, 1])
    result = flow(problem, fill_unlisted=True)
    assert result.unassigned.sum() == 0
    assert sorted(result.assignments[:, 1].tolist()) == [0, 1]
    assert result.details["max_rank"] == 1 and result.details["fill_cost"] == 3
    assert sorted(result.per_assignment["cost"].tolist()) == [1, 3] and result.objective == 4
    assert sorted(result.per_assignment["listed_rank"].tolist()) == [0, 1]


def test_without_allow_unassigned_demand_that_cannot_be_met_is_infeasible():
    problem = literal([[1, 0], [1, 0]], capacity=[1, 1])
    result = flow(problem, allow_unassigned=False)
    assert result.status == INFEASIBLE and result.assignments.shape == (0, 3) and result.objective is None
    assert result.unassigned.tolist() == [1, 1]
    assert violations(problem, result) == []
    assert flow(problem, allow_unassigned=False, fill_unlisted=True).status == OPTIMAL


def test_the_cost_is_the_position_in_the_list_so_shorter_lists_are_not_penalised():
    # A lists weeks (0, 1); B lists (1, 0). Each gets their first listed week at cost 1.
    problem = literal([[1, 1], [1, 1]], capacity=[1, 1])
    problem = dataclasses.replace(problem, rank=np.array([[1, 2], [2, 1]]))
    result = flow(problem)
    assert result.assignments[:, 1].tolist() == [0, 1] and result.objective == 2


def test_a_listed_cardinal_week_below_neutral_costs_its_list_position_not_its_rank():
    # Values 30 (week 0) and 80 (week 2); week 1 unlisted (neutral 0.5) so it ranks between them.
    model = build_utility_model(
        preference_type=np.array([CARDINAL]), reported=np.array([[30.0, np.nan, 80.0]]),
        blocked=np.zeros((1, 3), bool), qualified=np.ones((1, 1), bool), rng=np.random.default_rng(0),
    )
    assert model.rank[0].tolist() == [3, 2, 1]
    problem = Problem(
        utility=model.utility, rank=model.rank, listed=model.listed, value=100 * model.score, eligible=model.eligible,
        demand=np.array([1]), capacity=np.array([[1], [1], [0]]), is_holiday=np.zeros(3, bool),
    )
    assert listed_positions(problem)[2].tolist() == [2, 1]  # weeks 0 and 2
    result = flow(problem)
    assert result.assignments.tolist() == [[0, 0, 0]]
    assert result.per_assignment["listed_rank"].tolist() == [2] and result.objective == 2


def test_pre_assignments_are_kept_and_costed_even_when_unlisted():
    problem = dataclasses.replace(literal([[1, 0, 1]], capacity=[1, 1, 1], demand=[2]), preassigned=np.array([[0, 1, 0]]))
    result = flow(problem)
    assert result.assignments.tolist() == [[0, 0, 0], [0, 1, 0]]
    assert result.per_assignment["cost"].tolist() == [1, 4] and result.objective == 5


@pytest.mark.parametrize(("options", "message"), [
    ({"fill_unlisted": "yes"}, "min_cost_flow: option 'fill_unlisted' must be one of True, False, got 'yes'."),
    ({"allow_unassigned": 0}, "min_cost_flow: option 'allow_unassigned' must be one of True, False, got 0."),
    ({"cost": "linear"}, "min_cost_flow: unknown option 'cost'; known options: allow_unassigned, fill_unlisted."),
])
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError) as raised:
        flow(varied_problem(0), **options)
    assert str(raised.value) == message


def test_the_registry_finds_min_cost_flow():
    assert registry.strategy("min_cost_flow") is min_cost_flow


# --- listed positions ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(40))
def test_ordinal_lists_come_first_in_the_strict_order_so_the_position_is_the_rank(seed):
    problem = varied_problem(seed, n=20, weeks=12, listed=(0, 8))
    faculty, week, position = listed_positions(problem)
    assert np.array_equal(position, problem.rank[faculty, week])
    listed_faculty, listed_week = np.nonzero(problem.listed)
    assert np.array_equal(faculty, listed_faculty) and np.array_equal(week, listed_week)


@pytest.mark.parametrize("seed", range(20))
def test_listed_positions_run_one_to_m_in_rank_order_for_any_list(seed):
    rng = np.random.default_rng(seed)
    problem = varied_problem(seed, n=20, weeks=12)
    problem = dataclasses.replace(problem, listed=problem.listed & (rng.random(problem.listed.shape) < 0.5))
    faculty, week, position = listed_positions(problem)
    for i in range(problem.n_faculty):
        mine = faculty == i
        by_rank = week[mine][np.argsort(problem.rank[i, week[mine]])]
        assert position[mine][np.argsort(problem.rank[i, week[mine]])].tolist() == list(range(1, mine.sum() + 1))
        assert set(by_rank.tolist()) == set(np.flatnonzero(problem.listed[i]).tolist())


# --- optimality -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fill_unlisted", [False, True])
@pytest.mark.parametrize("seed", range(60))
def test_min_cost_flow_equals_the_brute_force_optimum_over_its_arcs(seed, fill_unlisted):
    problem = tiny_problem(seed, listed=(0, 2))
    cost = position_matrix(problem)
    allowed = problem.eligible & (True if fill_unlisted else problem.listed[:, :, None])
    assigned, best = best_by_brute_force(problem, cost, allowed=allowed)
    result = flow(problem, fill_unlisted=fill_unlisted)
    assert violations(problem, result) == []
    assert (len(result.assignments), result.objective) == (assigned, best)
    strict = flow(problem, fill_unlisted=fill_unlisted, allow_unassigned=False)
    if assigned == problem.demand.sum():
        assert strict.status == OPTIMAL and strict.objective == best
    else:
        assert strict.status == INFEASIBLE


def scipy_reference(problem: Problem, *, fill_unlisted: bool) -> tuple[int, int]:
    """(assignments, cost) via linear_sum_assignment on faculty × seat, for unit demand without pre-assignments."""
    assert (problem.demand == 1).all() and len(problem.preassigned) == 0
    n, n_weeks, n_rot = problem.eligible.shape
    seat_slot = np.repeat(np.arange(n_weeks * n_rot), problem.capacity.ravel())
    seat_week, seat_rot = np.divmod(seat_slot, n_rot)
    cost = position_matrix(problem)[:, seat_week]
    allowed = problem.eligible[:, seat_week, seat_rot] & (True if fill_unlisted else problem.listed[:, seat_week])
    forbidden = int(cost.max(initial=0)) * n + 1
    rows, cols = linear_sum_assignment(np.where(allowed, cost, forbidden))
    real = allowed[rows, cols]
    return int(real.sum()), int(cost[rows[real], cols[real]].sum())


@pytest.mark.parametrize("fill_unlisted", [False, True])
@pytest.mark.parametrize("seed", range(60))
def test_min_cost_flow_equals_scipy_on_the_capacity_expanded_matrix(seed, fill_unlisted):
    rng = np.random.default_rng(seed)
    problem = make_problem(
        rng, n=int(rng.integers(5, 60)), weeks=int(rng.integers(3, 20)), rotations=int(rng.integers(1, 3)),
        capacity=(0, 3), block_p=0.1, qualify_p=0.7, listed=(1, 6), correlated=float(rng.random()),
    )
    result = flow(problem, fill_unlisted=fill_unlisted)
    assert (len(result.assignments), result.objective) == scipy_reference(problem, fill_unlisted=fill_unlisted)


@pytest.mark.parametrize("seed", range(100))
def test_every_result_is_feasible_on_varied_problems(seed):
    problem = varied_problem(seed, n=14, weeks=10, listed=(0, 6))
    for fill_unlisted in (False, True):
        for allow_unassigned in (False, True):
            result = flow(problem, fill_unlisted=fill_unlisted, allow_unassigned=allow_unassigned)
            if result.status == INFEASIBLE:
                assert result.assignments.shape == (0, 3) and (result.unassigned == problem.demand).all()
                continue
            assert violations(problem, result, allow_unassigned=allow_unassigned) == []
            chosen = ~np.isin(
                result.assignments[:, 0] * problem.n_weeks + result.assignments[:, 1],
                problem.preassigned[:, 0] * problem.n_weeks + problem.preassigned[:, 1],
            )
            if not fill_unlisted:
                assert problem.listed[result.assignments[chosen, 0], result.assignments[chosen, 1]].all()


@settings(max_examples=120, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12), weeks=st.integers(1, 8), rotations=st.integers(1, 3),
    fill_unlisted=st.booleans(), allow_unassigned=st.booleans(),
)
def test_capacities_hold_no_week_is_doubled_and_demand_adds_up(seed, n, weeks, rotations, fill_unlisted, allow_unassigned):
    rng = np.random.default_rng(seed)
    problem = make_problem(
        rng, n=n, weeks=weeks, rotations=rotations, demand=(0, 3), capacity=(0, 3), block_p=0.2, qualify_p=0.6,
        listed=(0, 4),
    )
    result = flow(problem, fill_unlisted=fill_unlisted, allow_unassigned=allow_unassigned)
    assert violations(problem, result) == []
    assert (np.bincount(result.assignments[:, 0], minlength=n) + result.unassigned == problem.demand).all()
    if result.status == INFEASIBLE:
        assert not allow_unassigned and result.assignments.shape == (0, 3)
    elif not allow_unassigned:
        assert result.unassigned.sum() == 0


# --- real data ------------------------------------------------------------------------------------------------------

def test_min_cost_flow_places_every_wpi_2017_student_at_a_centre_they_rated_matching_scipy():
    problem = wpi_problem()
    result = flow(problem)
    assert violations(problem, result) == []
    stats = allocation_stats(problem, result)
    tiers = rating_tiers(problem, result.assignments)
    print("\nWPI 2017 min_cost_flow:", {k: stats[k] for k in ("welfare", "total_regret", "max_regret", "unassigned", "envy")},
          tiers, stats["rank_distribution"])
    # Capacity is exactly the 928 students: everyone is placed, and only at centres they rated 0.5 or 1.
    assert stats["unassigned"] == 0 and tiers["not_interested"] == 0
    assert (len(result.assignments), result.objective) == scipy_reference(problem, fill_unlisted=False)


def test_min_cost_flow_reports_the_shortfall_when_wpi_capacity_is_cut():
    problem = wpi_problem()
    capacity = problem.capacity.copy()
    capacity[:, 0] = np.maximum(capacity[:, 0] - 2, 0)
    short = dataclasses.replace(problem, capacity=capacity)
    missing = problem.n_faculty - int(capacity.sum())
    filled = flow(short, fill_unlisted=True)
    assert filled.status == OPTIMAL and filled.unassigned.sum() == missing
    listed_only = flow(short)
    assert listed_only.unassigned.sum() >= missing and violations(short, listed_only) == []
    assert flow(short, fill_unlisted=True, allow_unassigned=False).status == INFEASIBLE
    assert math.isclose(filled.objective, float(filled.per_assignment["cost"].sum()))
