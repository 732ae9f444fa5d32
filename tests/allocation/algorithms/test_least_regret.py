"""Least regret: optimal against brute force and against scipy's assignment on the capacity-expanded matrix."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.algorithms import registry
from allocation.algorithms.feasibility import violations
from allocation.algorithms.least_regret import least_regret, least_regret_scipy, regret_cost
from allocation.algorithms.min_cost_flow import min_cost_flow
from allocation.algorithms.rsd import rsd
from allocation.algorithms.stats import allocation_stats
from allocation.algorithms.types import OPTIMAL
from tests.allocation.algorithms.mechanism_cases import (
    best_by_brute_force,
    ranked_problem,
    tiny_problem,
    varied_problem,
    with_preassignments,
)
from tests.allocation.algorithms.problems import make_problem
from tests.allocation.algorithms.wpi import rating_tiers, wpi_problem

RNG = np.random.default_rng(0)




# --- hand-solved ------------------------------------------------------------------------------------------------

def test_squared_and_linear_cost_choose_differently_when_spreading_regret_matters():
    # Weeks 0 and 1 have a seat each. A ranks them 1st and 3rd, B 3rd and 4th.
    # A→0, B→1: regrets (0, 3): linear 3, squared 9.   A→1, B→0: regrets (2, 2): linear 4, squared 8.
    problem = ranked_problem(rank=[[1, 3, 2, 4], [3, 4, 1, 2]], capacity=[1, 1, 0, 0])
    linear = least_regret(problem, rng=RNG, cost="linear")
    squared = least_regret(problem, rng=RNG)
    assert linear.assignments.tolist() == [[0, 0, 0], [1, 1, 0]] and linear.objective == 3
    assert squared.assignments.tolist() == [[0, 1, 0], [1, 0, 0]] and squared.objective == 8
    assert squared.details["cost"] == "squared" and squared.per_assignment["cost"].tolist() == [4, 4]


def test_everyone_gets_their_first_choice_when_the_first_choices_fit():
    problem = ranked_problem(rank=[[1, 2, 3], [2, 1, 3], [3, 2, 1]], capacity=[1, 1, 1])
    result = least_regret(problem, rng=RNG)
    assert result.status == OPTIMAL and result.objective == 0
    assert result.assignments[:, 1].tolist() == [0, 1, 2]


def test_serving_more_people_comes_before_lower_regret():
    # B can only serve week 0 (week 1 is blocked for B); A must take their last choice so B serves.
    problem = ranked_problem(rank=[[1, 2], [1, 2]], capacity=[1, 1])
    eligible = problem.eligible.copy()
    eligible[1, 1, 0] = False
    result = least_regret(dataclasses.replace(problem, eligible=eligible), rng=RNG)
    assert result.assignments.tolist() == [[0, 1, 0], [1, 0, 0]]
    assert result.unassigned.sum() == 0


def test_regret_cost_is_rank_minus_one_squared_or_plain():
    assert regret_cost(np.array([1, 2, 5]), "squared").tolist() == [0, 1, 16]
    assert regret_cost(np.array([1, 2, 5]), "linear").tolist() == [0, 1, 4]


@pytest.mark.parametrize(("options", "message"), [
    ({"cost": "cubic"}, "least_regret: option 'cost' must be one of 'squared', 'linear', got 'cubic'."),
    ({"time_limit": 3}, "least_regret: unknown option 'time_limit'; known options: cost."),
])
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError) as raised:
        least_regret(varied_problem(0), rng=RNG, **options)
    assert str(raised.value) == message


def test_the_registry_finds_least_regret():
    assert registry.strategy("least_regret") is least_regret


def test_the_scipy_reference_refuses_multi_unit_demand():
    problem = ranked_problem(rank=[[1, 2]], capacity=[1, 1], demand=[2])
    with pytest.raises(ValueError, match="unit demand"):
        least_regret_scipy(problem)


# --- optimality ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cost", ["squared", "linear"])
@pytest.mark.parametrize("seed", range(50))
def test_least_regret_equals_the_brute_force_optimum(seed, cost):
    problem = tiny_problem(seed)
    result = least_regret(problem, rng=RNG, cost=cost)
    assert violations(problem, result) == []
    assigned, best = best_by_brute_force(problem, regret_cost(problem.rank, cost))
    assert (len(result.assignments), result.objective) == (assigned, best)


@pytest.mark.parametrize("cost", ["squared", "linear"])
@pytest.mark.parametrize("seed", range(100))
def test_least_regret_equals_scipy_on_the_capacity_expanded_matrix(seed, cost):
    rng = np.random.default_rng(seed)
    problem = make_problem(
        rng, n=int(rng.integers(5, 40)), weeks=int(rng.integers(3, 15)), rotations=int(rng.integers(1, 4)),
        capacity=(0, 3), block_p=0.2, qualify_p=0.6, correlated=float(rng.random()),
    )
    problem = with_preassignments(problem, rng, int(rng.integers(0, 4)))
    ours, reference = least_regret(problem, rng=rng, cost=cost), least_regret_scipy(problem, cost=cost)
    assert violations(problem, ours) == [] and violations(problem, reference) == []
    assert len(ours.assignments) == len(reference.assignments)
    assert ours.objective == reference.objective


@pytest.mark.parametrize("seed", range(40))
def test_linear_least_regret_agrees_with_min_cost_flow_when_every_week_is_listed(seed):
    # With full ordinal lists the listed position is the rank, so the flow's cost is Σ rank = Σ (rank − 1) + count.
    problem = varied_problem(seed, n=15, weeks=8)
    assert np.array_equal(problem.listed, problem.eligible.any(axis=2) | problem.listed)
    linear = least_regret(problem, rng=RNG, cost="linear")
    flow = min_cost_flow(problem, rng=RNG, fill_unlisted=True)
    assert len(flow.assignments) == len(linear.assignments)
    assert flow.objective == linear.objective + len(linear.assignments)


@pytest.mark.parametrize("seed", range(100))
def test_every_result_is_feasible_on_varied_problems(seed):
    problem = varied_problem(seed, n=14, weeks=10)
    for cost in ("squared", "linear"):
        result = least_regret(problem, rng=RNG, cost=cost)
        assert violations(problem, result) == []
        assert result.objective == regret_cost(problem.rank[result.assignments[:, 0], result.assignments[:, 1]], cost).sum()


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12), weeks=st.integers(1, 8), rotations=st.integers(1, 3))
def test_capacities_hold_no_week_is_doubled_and_demand_adds_up(seed, n, weeks, rotations):
    rng = np.random.default_rng(seed)
    problem = make_problem(
        rng, n=n, weeks=weeks, rotations=rotations, demand=(0, 3), capacity=(0, 3), block_p=0.2, qualify_p=0.6,
    )
    result = least_regret(problem, rng=rng)
    assert violations(problem, result) == []
    assert (np.bincount(result.assignments[:, 0], minlength=n) + result.unassigned == problem.demand).all()


# --- real data -----------------------------------------------------------------------------------------------------

def test_least_regret_on_the_wpi_2017_project_centres_beats_rsd_on_regret():
    problem = wpi_problem()
    lottery = rsd(problem, rng=np.random.default_rng(2017))
    squared = least_regret(problem, rng=RNG)
    linear = least_regret(problem, rng=RNG, cost="linear")
    for result in (lottery, squared, linear):
        assert violations(problem, result) == []
        assert result.unassigned.sum() == 0  # capacity is exactly the 928 students
        stats = allocation_stats(problem, result)
        print(f"\nWPI 2017 {result.mechanism} {result.details.get('cost', '')}:",
              {k: stats[k] for k in ("welfare", "total_regret", "max_regret", "envy")},
              rating_tiers(problem, result.assignments), stats["rank_distribution"])

    def squared_regret(result):
        return regret_cost(problem.rank[result.assignments[:, 0], result.assignments[:, 1]], "squared").sum()

    assert allocation_stats(problem, linear)["total_regret"] <= allocation_stats(problem, lottery)["total_regret"]
    assert squared_regret(squared) <= min(squared_regret(linear), squared_regret(lottery))
    assert allocation_stats(problem, squared)["max_regret"] <= allocation_stats(problem, lottery)["max_regret"]
    assert squared.objective == least_regret_scipy(problem).objective
