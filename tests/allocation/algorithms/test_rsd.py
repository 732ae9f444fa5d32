"""Random serial dictatorship: lottery record, re-simulated picks, Pareto efficiency and strategyproofness by brute force."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.algorithms import registry
from allocation.algorithms.feasibility import violations
from allocation.algorithms.rsd import rsd
from allocation.algorithms.stats import allocation_stats
from allocation.algorithms.types import FEASIBLE, Allocation, Problem
from tests.allocation.algorithms.mechanism_cases import contains_preassigned, tiny_problem, varied_problem
from tests.allocation.algorithms.problems import feasible_allocations, make_problem
from tests.allocation.algorithms.wpi import wpi_problem


def run(problem: Problem, seed: int = 0) -> Allocation:
    return rsd(problem, rng=np.random.default_rng(seed))


def weeks_of(rows, n: int) -> list[set[int]]:
    held: list[set[int]] = [set() for _ in range(n)]
    for i, w, *_ in rows:
        held[int(i)].add(int(w))
    return held


def utilities(problem: Problem, rows) -> np.ndarray:
    """Additive utility Σ (W + 1 − rank) of each faculty member's weeks: strict, and more weeks is better."""
    n, n_weeks = problem.rank.shape
    u = np.zeros(n, dtype=np.int64)
    for i, w, *_ in rows:
        u[int(i)] += n_weeks + 1 - int(problem.rank[int(i), int(w)])
    return u


def literal(rank, eligible, demand, capacity) -> Problem:
    rank = np.array(rank)
    n, n_weeks = rank.shape
    return Problem(
        utility=(n_weeks + 1 - rank) / n_weeks, rank=rank, listed=np.ones((n, n_weeks), bool),
        value=np.zeros((n, n_weeks)), eligible=np.array(eligible, dtype=bool), demand=np.array(demand),
        capacity=np.array(capacity), is_holiday=np.zeros(n_weeks, bool),
    )


# --- the lottery record -----------------------------------------------------------------------------------------

def test_the_lottery_order_is_the_generators_permutation_and_positions_follow_it():
    problem = varied_problem(3)
    result = run(problem, seed=42)
    order = result.lottery_order
    assert order.tolist() == np.random.default_rng(42).permutation(problem.n_faculty).tolist()
    assert sorted(order.tolist()) == list(range(problem.n_faculty))
    position = {int(i): p for p, i in enumerate(order, start=1)}
    assert result.per_assignment["lottery_position"].tolist() == [position[int(i)] for i in result.assignments[:, 0]]


def test_picks_number_the_draws_in_lottery_order_and_pre_assignments_are_pick_zero():
    for seed in range(30):
        problem = varied_problem(seed)
        result = run(problem, seed)
        pick = result.per_assignment["pick"]
        pre = result.per_assignment["preassigned"]
        rows = result.assignments
        assert (pick[pre] == 0).all()
        assert {tuple(r) for r in rows[pre].tolist()} == {tuple(r) for r in problem.preassigned.tolist()}
        assert sorted(pick[~pre].tolist()) == list(range(1, int((~pre).sum()) + 1))
        # Picks go in lottery order, and within one faculty member's turn from their best week down.
        by_pick = np.argsort(np.where(pre, 0, pick))[int(pre.sum()):]
        positions = result.per_assignment["lottery_position"][by_pick]
        assert (np.diff(positions) >= 0).all()
        ranks = problem.rank[rows[by_pick, 0], rows[by_pick, 1]]
        same_turn = np.diff(positions) == 0
        assert (np.diff(ranks)[same_turn] > 0).all()


def test_the_same_seed_gives_the_same_schedule_and_other_seeds_other_orders():
    problem = varied_problem(7, n=15)
    first, again = run(problem, seed=5), run(problem, seed=5)
    assert np.array_equal(first.assignments, again.assignments)
    assert np.array_equal(first.lottery_order, again.lottery_order)
    orders = {tuple(run(problem, seed=s).lottery_order.tolist()) for s in range(10)}
    assert len(orders) == 10


def test_results_are_frozen_and_status_is_feasible():
    result = run(varied_problem(1))
    assert result.status == FEASIBLE and result.objective is None and result.mechanism == "rsd"
    for array in (result.assignments, result.unassigned, result.lottery_order, *result.per_assignment.values()):
        with pytest.raises(ValueError):
            array[...] = 0


def test_unknown_options_are_refused_by_name():
    with pytest.raises(ValueError, match="rsd: unknown option 'rounds'"):
        rsd(varied_problem(0), rng=np.random.default_rng(0), rounds=2)


def test_the_registry_finds_rsd():
    assert registry.strategy("rsd") is rsd


# --- what each faculty member gets -----------------------------------------------------------------------------

def week_has_room(holder_sets: list[np.ndarray], capacity: np.ndarray) -> bool:
    """Brute force: can every holder (given as eligible-rotation masks) get a rotation within capacity?"""
    choices = [np.flatnonzero(mask).tolist() for mask in holder_sets]
    for pick in itertools.product(*choices):
        if (np.bincount(np.array(pick, dtype=int), minlength=len(capacity)) <= capacity).all():
            return True
    return False


def reference_rsd(problem: Problem, order: np.ndarray) -> list[set[int]]:
    """Serial dictatorship re-simulated by brute force: each in turn takes their best weeks with room."""
    n, n_weeks, n_rot = problem.eligible.shape
    holders: list[list[np.ndarray]] = [[] for _ in range(n_weeks)]
    held = weeks_of(problem.preassigned.tolist(), n)
    for _, w, r in problem.preassigned.tolist():
        holders[w].append(np.arange(n_rot) == r)  # a pre-assignment fixes the rotation
    for i in order.tolist():
        wanted = int(problem.demand[i]) - len(held[i])
        for w in np.argsort(problem.rank[i]).tolist():
            if wanted == 0:
                break
            if w in held[i] or not problem.eligible[i, w].any():
                continue
            if week_has_room([*holders[w], problem.eligible[i, w]], problem.capacity[w]):
                holders[w].append(problem.eligible[i, w])
                held[i].add(w)
                wanted -= 1
    return held


@pytest.mark.parametrize("seed", range(150))
def test_each_faculty_member_gets_their_best_weeks_still_free_at_their_turn(seed):
    problem = varied_problem(seed, n=7, weeks=6)
    result = run(problem, seed)
    assert violations(problem, result) == []
    assert weeks_of(result.assignments.tolist(), problem.n_faculty) == reference_rsd(problem, result.lottery_order)


def test_rotations_stay_open_for_those_qualified_for_fewer():
    # A (both rotations) draws first; B serves only rotation 0; both want week 0 most. Putting A on the emptiest
    # rotation with the lower index (rotation 0) would push B out of week 0; RSD keeps room for both.
    problem = literal(
        rank=[[1, 2], [1, 2]], eligible=[[[1, 1], [1, 1]], [[1, 0], [1, 0]]], demand=[1, 1], capacity=[[1, 1], [1, 1]]
    )
    for seed in range(10):
        result = run(problem, seed)
        assert result.assignments.tolist() == [[0, 0, 1], [1, 0, 0]]


@pytest.mark.parametrize("seed", range(100))
def test_every_result_is_feasible_on_varied_problems(seed):
    problem = varied_problem(seed, n=14, weeks=10)
    assert violations(problem, run(problem, seed)) == []


# --- Pareto efficiency ---------------------------------------------------------------------------------------

def pareto_improvement(problem: Problem, rows) -> tuple | None:
    """A feasible allocation (keeping the pre-assignments) no one likes less and someone likes more, if any."""
    mine = utilities(problem, rows)
    for other in feasible_allocations(problem):
        if not contains_preassigned(problem, other):
            continue
        theirs = utilities(problem, other)
        if (theirs >= mine).all() and (theirs > mine).any():
            return other
    return None


@pytest.mark.parametrize("seed", range(80))
def test_no_feasible_reallocation_pareto_improves_on_rsd_with_unit_demand(seed):
    problem = tiny_problem(seed, unit=True)
    result = run(problem, seed)
    assert pareto_improvement(problem, result.assignments.tolist()) is None


@pytest.mark.parametrize("seed", range(80))
def test_no_feasible_reallocation_pareto_improves_on_rsd_with_additive_multi_unit_utility(seed):
    problem = tiny_problem(seed)
    result = run(problem, seed)
    assert pareto_improvement(problem, result.assignments.tolist()) is None


# --- strategyproofness ------------------------------------------------------------------------------------------

def misreport(problem: Problem, i: int, order: tuple[int, ...], blocked: tuple[int, ...] = ()) -> Problem:
    """Faculty i reports `order` (best first) and blocks the weeks in `blocked` (never a pre-assigned one)."""
    blocked = tuple(set(blocked) - {w for f, w, _ in problem.preassigned.tolist() if f == i})
    rank = problem.rank.copy()
    rank[i, list(order)] = np.arange(1, problem.n_weeks + 1)
    eligible = problem.eligible.copy()
    eligible[i, list(blocked)] = False
    return dataclasses.replace(problem, rank=rank, eligible=eligible)


def true_utility(problem: Problem, rows: np.ndarray, i: int) -> int:
    return int(utilities(problem, rows[rows[:, 0] == i].tolist())[i])


def small_problem(seed: int, *, demand: tuple[int, int]) -> Problem:
    rng = np.random.default_rng(seed)
    return make_problem(
        rng, n=3, weeks=4, rotations=int(rng.integers(1, 3)), demand=demand, capacity=(0, 2), block_p=0.1,
        qualify_p=0.7, correlated=float(rng.random()),
    )


@pytest.mark.parametrize("seed", range(12))
def test_no_reported_order_or_blocking_improves_any_faculty_members_outcome(seed):
    problem = small_problem(seed, demand=(1, 1))
    truthful = run(problem, seed).assignments
    for i in range(problem.n_faculty):
        honest = true_utility(problem, truthful, i)
        open_weeks = np.flatnonzero(problem.eligible[i].any(axis=1)).tolist()
        for order in itertools.permutations(range(problem.n_weeks)):
            for k in range(len(open_weeks) + 1):
                for blocked in itertools.combinations(open_weeks, k):
                    lie = run(misreport(problem, i, order, blocked), seed).assignments
                    assert true_utility(problem, lie, i) <= honest, (i, order, blocked)


@pytest.mark.parametrize("seed", range(12))
def test_no_reported_order_improves_additive_utility_with_multi_unit_demand(seed):
    problem = small_problem(seed, demand=(1, 3))
    truthful = run(problem, seed).assignments
    for i in range(problem.n_faculty):
        honest = true_utility(problem, truthful, i)
        for order in itertools.permutations(range(problem.n_weeks)):
            lie = run(misreport(problem, i, order), seed).assignments
            assert true_utility(problem, lie, i) <= honest, (i, order)


@pytest.mark.parametrize("seed", range(25))
def test_random_misreports_on_larger_problems_never_help(seed):
    problem = varied_problem(seed, n=20, weeks=12)
    rng = np.random.default_rng(1000 + seed)
    truthful = run(problem, seed).assignments
    for _ in range(20):
        i = int(rng.integers(problem.n_faculty))
        blocked = tuple(np.flatnonzero(rng.random(problem.n_weeks) < 0.2).tolist())
        lie = run(misreport(problem, i, tuple(rng.permutation(problem.n_weeks).tolist()), blocked), seed).assignments
        assert true_utility(problem, lie, i) <= true_utility(problem, truthful, i)


# --- properties and real data -----------------------------------------------------------------------------------

@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 10), weeks=st.integers(1, 8), rotations=st.integers(1, 3))
def test_capacities_hold_no_week_is_doubled_and_demand_adds_up(seed, n, weeks, rotations):
    rng = np.random.default_rng(seed)
    problem = make_problem(
        rng, n=n, weeks=weeks, rotations=rotations, demand=(0, 3), capacity=(0, 3), block_p=0.2, qualify_p=0.6,
    )
    result = run(problem, seed)
    assert violations(problem, result) == []
    served = np.bincount(result.assignments[:, 0], minlength=n)
    assert (served + result.unassigned == problem.demand).all()


def test_rsd_places_all_928_students_on_the_wpi_2017_project_centres():
    problem = wpi_problem()
    result = run(problem, seed=2017)
    assert violations(problem, result) == []
    stats = allocation_stats(problem, result)
    print("\nWPI 2017 rsd:", {k: stats[k] for k in ("welfare", "total_regret", "max_regret", "unassigned", "envy")},
          stats["rank_distribution"])
    # Capacity equals the 928 students and every centre is open to everyone: nobody is left out.
    assert stats["assignments"] == 928 and stats["unassigned"] == 0
    # The first draw always gets their first choice.
    first = int(result.lottery_order[0])
    assert problem.rank[first, result.assignments[result.assignments[:, 0] == first, 1]].tolist() == [1]
