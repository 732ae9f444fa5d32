"""The shared min-cost-flow network (_flow.assign): hand-solved networks, brute-force optimality, invariants."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.algorithms import _flow
from allocation.algorithms.feasibility import violations
from allocation.algorithms.types import INFEASIBLE, OPTIMAL, Allocation, Problem
from tests.allocation.algorithms.mechanism_cases import best_by_brute_force, tiny_problem, varied_problem
from tests.allocation.algorithms.problems import feasible_allocations


def solve(problem: Problem, mask: np.ndarray, cost: np.ndarray, **kwargs) -> _flow.FlowResult:
    """assign() over the (faculty, week) pairs in mask with cost[i, w]."""
    faculty, week = np.nonzero(mask)
    return _flow.assign(
        problem.eligible, problem.demand, problem.capacity, faculty=faculty, week=week,
        cost=cost[faculty, week].astype(np.int64), preassigned=problem.preassigned, **kwargs,
    )


def as_allocation(result: _flow.FlowResult) -> Allocation:
    return Allocation(status=result.status, mechanism="flow", assignments=result.assignments, unassigned=result.unassigned)


def literal(eligible, demand, capacity, preassigned=None) -> Problem:
    """A hand-made problem; only the fields the network reads matter."""
    eligible = np.array(eligible, dtype=bool)
    n, n_weeks, _ = eligible.shape
    rank = np.tile(np.arange(1, n_weeks + 1), (n, 1))
    return Problem(
        utility=np.zeros((n, n_weeks)), rank=rank, listed=np.ones((n, n_weeks), dtype=bool),
        value=np.zeros((n, n_weeks)), eligible=eligible, demand=np.array(demand), capacity=np.array(capacity),
        is_holiday=np.zeros(n_weeks, dtype=bool),
        preassigned=np.zeros((0, 3), dtype=np.int64) if preassigned is None else np.array(preassigned),
    )


# --- hand-solved networks ------------------------------------------------------------------------------------

def test_a_faculty_member_eligible_for_two_rotations_still_gets_one_slot_per_week():
    # One week, two rotations with a seat each; the faculty member wants two weeks' service.
    problem = literal([[[True, True]]], demand=[2], capacity=[[1, 1]])
    result = solve(problem, np.ones((1, 1), bool), np.zeros((1, 1)))
    assert len(result.assignments) == 1
    assert result.unassigned.tolist() == [1]
    assert result.nodes == 1 + 1 + 2 + 1  # sink, faculty, two slots, and one (faculty, week) node


def test_a_single_open_rotation_needs_no_faculty_week_node():
    problem = literal([[[True, False], [True, True]]] * 2, demand=[2, 2], capacity=[[1, 0], [1, 1]])
    result = solve(problem, np.ones((2, 2), bool), np.zeros((2, 2)))
    # Week 0 has one open eligible rotation (direct arc); week 1 has two (a node per faculty).
    assert result.nodes == 1 + 2 + 4 + 2
    assert not violations(problem, as_allocation(result))


def test_unassigned_demand_is_minimised_before_cost():
    # Alone, A would take week 0 at cost 0; then B (week 0 only) is left out. Least cost among max assignments:
    # A takes week 1 at cost 100 so that B can serve.
    problem = literal([[[True], [True]], [[True], [False]]], demand=[1, 1], capacity=[[1], [1]])
    cost = np.array([[0, 100], [0, 0]])
    result = solve(problem, problem.eligible[:, :, 0], cost)
    assert result.assignments.tolist() == [[0, 1, 0], [1, 0, 0]]
    assert result.cost == 100
    assert result.unassigned.tolist() == [0, 0]


def test_a_long_displacement_chain_is_found_whatever_the_costs():
    # Faculty k may serve weeks k and k+1; week k+1 costs a lot. Serving everyone needs each k to take
    # week k+1 — a chain through every faculty member — which a too-small unassigned penalty would not pay for.
    n = 6
    eligible = np.zeros((n + 1, n + 1, 1), dtype=bool)
    for k in range(n):
        eligible[k, k, 0] = eligible[k, k + 1, 0] = True
    eligible[n, 0, 0] = True  # the last faculty member can only take week 0
    problem = literal(eligible, demand=[1] * (n + 1), capacity=[[1]] * (n + 1))
    cost = np.where(np.arange(n + 1)[None, :] > np.arange(n + 1)[:, None], 1000, 0)
    result = solve(problem, eligible[:, :, 0], cost)
    assert result.unassigned.sum() == 0
    assert result.cost == 1000 * n


def test_negative_costs_still_assign_as_many_as_possible_first():
    problem = literal([[[True], [True]], [[True], [False]]], demand=[1, 1], capacity=[[1], [1]])
    cost = np.array([[-50, -1], [-1, 0]])
    result = solve(problem, problem.eligible[:, :, 0], cost)
    assert result.unassigned.sum() == 0
    assert result.cost == -2


def test_pre_assignments_are_forced_and_other_candidates_of_that_faculty_week_dropped():
    # Faculty 0 is pre-assigned to (week 0, rotation 1) although rotation 0 of week 0 would be cheaper.
    problem = literal([[[True, True], [True, False]]], demand=[2], capacity=[[1, 1], [1, 0]], preassigned=[[0, 0, 1]])
    result = solve(problem, np.ones((1, 2), bool), np.array([[0, 5]]))
    assert result.assignments.tolist() == [[0, 0, 1], [0, 1, 0]]
    assert result.pair_index.tolist() == [-1, 1]
    assert result.cost == 5  # the pre-assigned row is not part of the flow's cost


def test_a_pre_assignment_uses_up_the_seat_it_takes():
    problem = literal([[[True]], [[True]]], demand=[1, 1], capacity=[[1]], preassigned=[[1, 0, 0]])
    result = solve(problem, np.ones((2, 1), bool), np.zeros((2, 1)))
    assert result.assignments.tolist() == [[1, 0, 0]]
    assert result.unassigned.tolist() == [1, 0]


def test_without_unassigned_demand_a_short_network_is_infeasible():
    problem = literal([[[True]], [[True]]], demand=[1, 1], capacity=[[1]])
    result = solve(problem, np.ones((2, 1), bool), np.zeros((2, 1)), allow_unassigned=False)
    assert result.status == INFEASIBLE
    assert result.assignments.shape == (0, 3)
    assert result.unassigned.tolist() == [1, 1]


def test_without_unassigned_demand_a_network_that_fits_is_solved():
    problem = literal([[[True], [True]], [[True], [False]]], demand=[1, 1], capacity=[[1], [1]])
    result = solve(problem, np.ones((2, 2), bool), np.zeros((2, 2)), allow_unassigned=False)
    assert result.status == OPTIMAL
    assert result.unassigned.sum() == 0


def test_no_demand_means_no_solve_and_no_rows():
    problem = literal([[[True]]], demand=[0], capacity=[[3]])
    result = solve(problem, np.ones((1, 1), bool), np.zeros((1, 1)))
    assert result.status == OPTIMAL and result.assignments.shape == (0, 3)


def test_repeated_candidate_pairs_are_refused():
    problem = literal([[[True]]], demand=[1], capacity=[[1]])
    with pytest.raises(ValueError, match="must be distinct"):
        _flow.assign(problem.eligible, problem.demand, problem.capacity, faculty=[0, 0], week=[0, 0], cost=[1, 2])


def test_fractional_costs_are_refused():
    problem = literal([[[True]]], demand=[1], capacity=[[1]])
    with pytest.raises(ValueError, match="cost must be integers"):
        _flow.assign(problem.eligible, problem.demand, problem.capacity, faculty=[0], week=[0], cost=[0.5])


def test_results_are_read_only():
    problem = literal([[[True]]], demand=[1], capacity=[[1]])
    result = solve(problem, np.ones((1, 1), bool), np.zeros((1, 1)))
    for array in (result.assignments, result.unassigned, result.pair_index):
        with pytest.raises(ValueError):
            array[...] = 0


# --- optimality and invariants ---------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(60))
def test_the_network_is_lexicographically_optimal_against_brute_force(seed):
    problem = tiny_problem(seed)
    rng = np.random.default_rng(seed)
    mask = problem.eligible.any(axis=2) & (rng.random(problem.rank.shape) < 0.8)
    cost = rng.integers(-3, 10, size=problem.rank.shape)
    result = solve(problem, mask, cost)
    assert not violations(problem, as_allocation(result))
    assigned, best_cost = best_by_brute_force(problem, cost, allowed=problem.eligible & mask[:, :, None])
    flow_cost = int(cost[result.assignments[:, 0], result.assignments[:, 1]].sum())
    assert (len(result.assignments), flow_cost) == (assigned, best_cost)


@pytest.mark.parametrize("seed", range(80))
def test_further_cost_vectors_are_minimised_lexicographically_as_brute_force_says(seed):
    # Three random cost vectors (negative costs too, many ties so that later stages matter), multi-unit demand,
    # several rotations and pre-assignments: (most assignments, Σ c1, Σ c2, Σ c3) against every allocation.
    problem = tiny_problem(seed)
    rng = np.random.default_rng(seed)
    mask = problem.eligible.any(axis=2) & (rng.random(problem.rank.shape) < 0.9)
    costs = [rng.integers(-1, 2, size=problem.rank.shape) for _ in range(3)]
    faculty, week = np.nonzero(mask)
    result = _flow.assign(problem.eligible, problem.demand, problem.capacity, faculty=faculty, week=week,
                          cost=costs[0][faculty, week], then=[c[faculty, week] for c in costs[1:]],
                          preassigned=problem.preassigned)
    assert not violations(problem, as_allocation(result))

    def key(rows) -> tuple:
        return (-len(rows), *(int(sum(c[i, w] for i, w, _ in rows if (i, w, _) not in pre)) for c in costs))

    pre = {tuple(row) for row in problem.preassigned.tolist()}
    allowed = problem.eligible & mask[:, :, None]
    allowed[tuple(problem.preassigned.T)] = True
    best = min(key(rows) for rows in feasible_allocations(problem, allowed=allowed) if pre <= set(rows))
    assert key([tuple(r) for r in result.assignments.tolist()]) == best
    assert result.cost == best[1]


def test_a_later_cost_decides_between_optima_of_the_first():
    # Two faculty, two weeks with a seat each; both cost 0 under c1 either way, c2 prefers the crossed assignment.
    problem = literal([[[True], [True]], [[True], [True]]], demand=[1, 1], capacity=[[1], [1]])
    faculty, week = np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1])
    zero = np.zeros(4, dtype=np.int64)
    crossed = _flow.assign(problem.eligible, problem.demand, problem.capacity, faculty=faculty, week=week, cost=zero,
                           then=[np.array([5, 0, 0, 5])])
    assert crossed.assignments.tolist() == [[0, 1, 0], [1, 0, 0]]
    straight = _flow.assign(problem.eligible, problem.demand, problem.capacity, faculty=faculty, week=week, cost=zero,
                            then=[np.array([0, 5, 5, 0]), np.array([0, 0, 0, 0])])
    assert straight.assignments.tolist() == [[0, 0, 0], [1, 1, 0]]


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), weeks=st.integers(1, 10), rotations=st.integers(1, 3),
       stages=st.integers(1, 6))
def test_each_stage_is_optimal_among_the_optima_of_the_stages_before(seed, n, weeks, rotations, stages):
    # Larger than brute force allows: stage by stage, the lexicographic result is checked against one weighted
    # solve whose weights make the order strict (base above any possible change of a later stage).
    rng = np.random.default_rng(seed)
    problem = literal(rng.random((n, weeks, rotations)) < 0.6, demand=rng.integers(0, 3, size=n),
                      capacity=rng.integers(0, 4, size=(weeks, rotations)))
    faculty, week = np.nonzero(problem.eligible.any(axis=2))
    costs = [rng.integers(0, 3, size=len(faculty)) for _ in range(stages)]
    result = _flow.assign(problem.eligible, problem.demand, problem.capacity, faculty=faculty, week=week,
                          cost=costs[0], then=costs[1:])
    base = 2 * int(problem.demand.sum()) + 1  # |Σ over any allocation| ≤ 2·Σd for costs in 0..2
    weighted = sum(c * base ** (stages - 1 - k) for k, c in enumerate(costs))
    reference = _flow.assign(problem.eligible, problem.demand, problem.capacity, faculty=faculty, week=week,
                             cost=weighted)
    assert len(result.assignments) == len(reference.assignments)
    sums = [int(c[result.pair_index].sum()) for c in costs]
    reference_sums = [int(c[reference.pair_index].sum()) for c in costs]
    assert sums == reference_sums


@pytest.mark.parametrize("seed", range(100))
def test_every_result_is_feasible_on_varied_problems(seed):
    problem = varied_problem(seed, n=12, weeks=8)
    rng = np.random.default_rng(seed)
    cost = rng.integers(0, 50, size=problem.rank.shape)
    result = solve(problem, problem.eligible.any(axis=2), cost)
    assert violations(problem, as_allocation(result)) == []
    rows = result.assignments
    assert (np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0])) == np.arange(len(rows))).all()
    used = result.pair_index >= 0
    faculty, week = np.nonzero(problem.eligible.any(axis=2))
    assert (faculty[result.pair_index[used]] == rows[used, 0]).all()
    assert (week[result.pair_index[used]] == rows[used, 1]).all()


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1), n=st.integers(1, 9), weeks=st.integers(1, 7), rotations=st.integers(1, 3),
    max_demand=st.integers(0, 4), max_capacity=st.integers(0, 4), allow_unassigned=st.booleans(),
)
def test_capacities_hold_no_week_is_doubled_and_demand_adds_up(
    seed, n, weeks, rotations, max_demand, max_capacity, allow_unassigned
):
    rng = np.random.default_rng(seed)
    eligible = rng.random((n, weeks, rotations)) < 0.6
    demand = rng.integers(0, max_demand + 1, size=n)
    capacity = rng.integers(0, max_capacity + 1, size=(weeks, rotations))
    problem = literal(eligible, demand=demand, capacity=capacity)
    mask = rng.random((n, weeks)) < 0.7
    result = solve(problem, mask, rng.integers(0, 20, size=(n, weeks)), allow_unassigned=allow_unassigned)
    rows = result.assignments
    assert violations(problem, as_allocation(result)) == []
    assert mask[rows[:, 0], rows[:, 1]].all()
    if result.status == INFEASIBLE:
        assert not allow_unassigned and rows.shape == (0, 3) and (result.unassigned == demand).all()
    elif not allow_unassigned:
        assert result.unassigned.sum() == 0
