"""Welfare (DESIGN §9): the exact optimum by brute force and scipy, blocking-swap dynamics, price of anarchy."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment, linprog

from stability.algorithms import _batch, _state, _validate
from stability.algorithms.swaps import swap_analysis, swap_gains
from stability.algorithms.types import CONVERGED, EPSILON, OPTIMAL, STEP_LIMIT
from stability.algorithms.welfare import (
    blocking_swap_dynamics,
    optimal_welfare,
    price_of_anarchy,
    problem_key,
    random_feasible_schedule,
    ratio,
    welfare,
)
from tests.stability.algorithms.cases import (
    brute_force,
    brute_optimal,
    literal,
    random_problem,
    respects,
    welfare_of,
    worked_example,
)


def small(seed: int, **overrides):
    rng = np.random.default_rng(seed)
    options = dict(n=int(rng.integers(2, 5)), weeks=int(rng.integers(2, 5)), rotations=int(rng.integers(1, 3)),
                   per_faculty=(1, 2), discrete=seed % 2 == 0, lock_p=0.25 if seed % 3 == 0 else 0.0)
    options.update(overrides)
    return random_problem(rng, **options)


# --- optimal welfare ------------------------------------------------------------------------------------------------


def test_the_worked_example_optimum_gives_everyone_their_best_week():
    result = optimal_welfare(worked_example())
    assert result.status == OPTIMAL
    assert result.welfare == pytest.approx(1.0 + 1.0 + 1.0)
    assert result.assignments[:, 0].tolist() == [0, 1, 2]
    assert result.assignments[:, 1].tolist() == [1, 0, 2]


@pytest.mark.parametrize("seed", range(40))
def test_optimal_welfare_equals_the_brute_force_on_tiny_problems(seed):
    problem = small(seed)
    result = optimal_welfare(problem)
    assert result.welfare == pytest.approx(brute_optimal(problem), abs=1e-9)
    assert result.welfare == pytest.approx(welfare_of(problem, result.assignments))
    assert respects(problem, result.assignments) == []


def lp_optimum(problem) -> float:
    """The flow problem as an LP over x[i, w, r] ∈ [0, 1] (totally unimodular: the LP optimum is integral)."""
    n, n_weeks, n_rot = problem.eligible.shape
    rows = problem.assignments
    allowed = problem.eligible.copy()
    allowed[rows[:, 0], rows[:, 1], rows[:, 2]] = True
    occupancy = np.zeros((n_weeks, n_rot), int)
    np.add.at(occupancy, (rows[:, 1], rows[:, 2]), 1)
    capacity = np.maximum(problem.capacity, occupancy)
    var = np.argwhere(allowed)
    demand = np.bincount(rows[:, 0], minlength=n)
    a_eq = np.zeros((n, len(var)))
    a_eq[var[:, 0], np.arange(len(var))] = 1
    week_rows = {(i, w): k for k, (i, w) in enumerate({(int(i), int(w)) for i, w, _ in var})}
    slot_rows = {(w, r): k for k, (w, r) in enumerate({(int(w), int(r)) for _, w, r in var})}
    a_ub = np.zeros((len(week_rows) + len(slot_rows), len(var)))
    b_ub = np.zeros(len(week_rows) + len(slot_rows))
    for k, (i, w, r) in enumerate(var):
        a_ub[week_rows[(int(i), int(w))], k] = 1
        a_ub[len(week_rows) + slot_rows[(int(w), int(r))], k] = 1
    b_ub[: len(week_rows)] = 1
    for (w, r), k in slot_rows.items():
        b_ub[len(week_rows) + k] = capacity[w, r]
    result = linprog(-problem.utility[var[:, 0], var[:, 1]], A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=demand,
                     bounds=(0, 1), method="highs")
    assert result.status == 0
    return -result.fun


@pytest.mark.parametrize("seed", range(15))
def test_optimal_welfare_equals_scipy_linprog_on_small_problems(seed):
    rng = np.random.default_rng(200 + seed)
    problem = random_problem(rng, n=12, weeks=10, rotations=3, per_faculty=(2, 6), capacity=(1, 3),
                             discrete=seed % 2 == 0)
    assert optimal_welfare(problem).welfare == pytest.approx(lp_optimum(problem), abs=1e-7)


@pytest.mark.parametrize("seed", range(10))
def test_optimal_welfare_equals_scipy_linear_sum_assignment_with_unit_demand(seed):
    rng = np.random.default_rng(300 + seed)
    problem = random_problem(rng, n=15, weeks=8, rotations=2, per_faculty=(1, 1), capacity=(1, 3))
    rows = problem.assignments
    occupancy = np.zeros(problem.capacity.shape, int)
    np.add.at(occupancy, (rows[:, 1], rows[:, 2]), 1)
    seats = [(w, r) for (w, r), c in np.ndenumerate(np.maximum(problem.capacity, occupancy)) for _ in range(c)]
    cost = np.full((len(rows), len(seats)), 1e6)
    for k, (i, w0, r0) in enumerate(rows):
        for s, (w, r) in enumerate(seats):
            if problem.eligible[i, w, r] or (w, r) == (w0, r0):
                cost[k, s] = -problem.utility[i, w]
    row, col = linear_sum_assignment(cost)
    assert optimal_welfare(problem).welfare == pytest.approx(-cost[row, col].sum(), abs=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_a_welfare_maximising_schedule_has_no_blocking_swap(seed):
    problem = random_problem(np.random.default_rng(400 + seed), n=10, weeks=8, rotations=2, per_faculty=(2, 5),
                             discrete=seed % 2 == 0, lock_p=0.1)
    best = optimal_welfare(problem)
    assert swap_analysis(dataclasses.replace(problem, assignments=best.assignments)).is_nash_equilibrium


def test_locked_rows_stay_in_place_in_the_optimum():
    problem = dataclasses.replace(worked_example(), locked=np.array([True, False, False]))
    result = optimal_welfare(problem)
    assert result.assignments[0].tolist() == [0, 0, 0]
    assert result.welfare == pytest.approx(0.0 + 0.5 + 1.0)


def test_an_over_full_imported_slot_stays_feasible():
    # Two faculty in a one-seat slot: the optimum may keep both there (capacity = max(capacity, occupancy)).
    problem = literal([[1.0, 0.0], [1.0, 0.0]], [[0, 0, 0], [1, 0, 0]])
    result = optimal_welfare(problem)
    assert result.welfare == pytest.approx(2.0)


def test_the_optimum_may_keep_a_current_slot_the_faculty_member_is_no_longer_eligible_for():
    eligible = np.ones((1, 2, 1), bool)
    eligible[0, 0, 0] = False
    problem = literal([[1.0, 0.2]], [[0, 0, 0]], eligible=eligible)
    assert optimal_welfare(problem).welfare == pytest.approx(1.0)


# --- random feasible schedules ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_random_schedules_keep_counts_capacities_eligibility_and_locks(seed):
    problem = small(seed, n=8, weeks=6, per_faculty=(1, 4))
    rows = random_feasible_schedule(problem, np.random.default_rng(seed))
    assert respects(problem, rows) == []


def test_random_schedules_are_reproducible_and_vary_with_the_seed():
    problem = random_problem(np.random.default_rng(9), n=10, weeks=10, rotations=2, per_faculty=(3, 5))
    one = random_feasible_schedule(problem, np.random.default_rng(1))
    assert np.array_equal(one, random_feasible_schedule(problem, np.random.default_rng(1)))
    others = {random_feasible_schedule(problem, np.random.default_rng(s)).tobytes() for s in range(2, 8)}
    assert len(others | {one.tobytes()}) > 3


# --- blocking-swap dynamics -------------------------------------------------------------------------------------


def test_dynamics_on_the_worked_example_execute_the_one_blocking_swap():
    result = blocking_swap_dynamics(worked_example())
    assert result.status == CONVERGED and result.steps == 1
    assert result.swaps.tolist() == [[0, 1]]
    assert result.welfare_path.tolist() == [1.5, 3.0] and result.welfare == 3.0


@pytest.mark.parametrize("seed", range(30))
def test_dynamics_terminate_in_a_nash_equilibrium_raising_welfare_at_every_step(seed):
    problem = random_problem(np.random.default_rng(500 + seed), n=10, weeks=8, rotations=2, per_faculty=(2, 5),
                             discrete=seed % 2 == 0, lock_p=0.1 if seed % 3 == 0 else 0.0)
    result = blocking_swap_dynamics(problem)
    assert result.status == CONVERGED
    assert (np.diff(result.welfare_path) > 2e-9).all()
    assert result.welfare == pytest.approx(result.welfare_path[-1])
    assert result.welfare == pytest.approx(welfare_of(problem, result.assignments))
    assert respects(problem, result.assignments) == []
    end = dataclasses.replace(problem, assignments=result.assignments)
    assert swap_analysis(end).is_nash_equilibrium


def _variant(seed: int, problem):
    """Every fourth problem with hard back-to-back, every fourth with a holiday cap, the rest plain."""
    if seed % 4 == 1:
        return dataclasses.replace(problem, no_back_to_back=True)
    if seed % 4 == 2:
        return dataclasses.replace(problem, is_holiday=np.arange(problem.n_weeks) % 3 == 0, max_holidays=1)
    return problem


@pytest.mark.parametrize("seed", range(40))
def test_every_step_executes_a_best_blocking_swap_of_the_schedule_at_that_time(seed):
    problem = _variant(seed, random_problem(np.random.default_rng(600 + seed), n=8, weeks=6, rotations=2,
                                            per_faculty=(2, 4), discrete=seed % 2 == 0,
                                            lock_p=0.15 if seed % 3 == 0 else 0.0))
    result = blocking_swap_dynamics(problem)
    rows = problem.assignments.copy()
    for a, b in result.swaps:
        now = dataclasses.replace(problem, assignments=rows)
        ok, gain_a, gain_b = swap_gains(now, a, b)
        assert ok and gain_a > 1e-9 and gain_b > 1e-9
        assert gain_a + gain_b == pytest.approx(brute_force(now).max_gain)     # the pair loop's best swap
        rows[[a, b], 1:] = rows[[b, a], 1:]
    assert np.array_equal(rows, result.assignments)


@pytest.mark.parametrize("seed", range(30))
def test_copies_stepping_together_follow_exactly_the_trajectories_they_follow_alone(seed):
    """The batch shares numpy calls, never state: each copy's swaps and final rows are what it does alone."""
    problem = _validate.swap_problem(_variant(seed, random_problem(
        np.random.default_rng(900 + seed), n=int(3 + seed % 6), weeks=int(3 + seed % 5), rotations=1 + seed % 3,
        per_faculty=(1, 4), discrete=seed % 2 == 0, lock_p=0.2 if seed % 3 == 0 else 0.0)))
    rng = np.random.default_rng(seed)
    starts = [problem.assignments] + [random_feasible_schedule(problem, rng) for _ in range(4)]

    def state(rows):
        return _state.SwapState(dataclasses.replace(problem, assignments=rows), EPSILON)

    together = _batch.Batch([state(rows) for rows in starts])
    converged, steps, log = _batch.run(together, 10**6)
    for c, rows in enumerate(starts):
        alone = blocking_swap_dynamics(problem, assignments=rows)
        mine = [(int(a[q == c][0]), int(b[q == c][0])) for q, a, b, _ in log if (q == c).any()]
        assert mine == [tuple(x) for x in alone.swaps.tolist()]
        assert np.array_equal(together.rows(c), alone.assignments)
        assert converged[c] == (alone.status == CONVERGED) and steps[c] == alone.steps


@pytest.mark.parametrize("seed", range(40))
def test_after_every_step_the_batch_tables_equal_a_scan_from_scratch(seed):
    """The incremental repair is exact: Bmax and the best total of every slot row match a full rescan of each copy's
    current schedule, with shared slots (capacity up to 4), ties, locks, a holiday cap or back-to-back."""
    rng = np.random.default_rng(1200 + seed)
    problem = _validate.swap_problem(_variant(seed, random_problem(
        rng, n=int(rng.integers(3, 8)), weeks=int(rng.integers(4, 8)), rotations=int(rng.integers(1, 3)),
        per_faculty=(2, 4), discrete=seed % 2 == 0, capacity=(2, 4), lock_p=0.1 if seed % 5 == 0 else 0.0)))
    starts = [problem.assignments, random_feasible_schedule(problem, rng)]
    batch = _batch.Batch([_state.SwapState(dataclasses.replace(problem, assignments=rows), EPSILON)
                          for rows in starts])
    live = np.arange(2)
    while len(live):
        for c in live:
            state = _state.SwapState(dataclasses.replace(problem, assignments=batch.rows(int(c))), EPSILON)
            fresh, _ = _state.tables(state, full=False)
            assert np.array_equal(batch.bmax[c], fresh.bmax)
            total = _state._pair_total(fresh.bmax, fresh.bmax.T)
            assert np.array_equal(batch.rowmax[c], total.max(axis=1))
            s, t = np.nonzero(fresh.bmax > 0)          # each recorded best row sits in its slot and reaches Bmax
            best = batch.barg[c, s, t]
            assert np.array_equal(state.slot[best], s)
            assert np.array_equal(state.masked(best, t), fresh.bmax[s, t])
        a, b, value = batch.best(live)
        keep = value > 0
        live, a, b = live[keep], a[keep], b[keep]
        if len(live):
            batch.swap(live, a, b)


def test_the_restarts_give_the_same_estimate_whatever_the_batch_size(monkeypatch):
    problem = random_problem(np.random.default_rng(12), n=9, weeks=8, rotations=2, per_faculty=(2, 4))
    whole = price_of_anarchy(problem, rng=np.random.default_rng(5), restarts=7)
    monkeypatch.setattr(_batch, "BATCH_BYTES", 1)           # one copy per batch
    assert _batch.copies_per_batch(len(problem.assignments), problem.n_weeks * problem.n_rotations) == 1
    single = price_of_anarchy(problem, rng=np.random.default_rng(5), restarts=7)
    assert np.array_equal(single.stable_welfare, whole.stable_welfare)
    assert np.array_equal(single.steps, whole.steps) and single.key == whole.key


def test_dynamics_report_the_step_limit():
    problem = random_problem(np.random.default_rng(7), n=10, weeks=8, rotations=1, per_faculty=(3, 5), block_p=0.0)
    full = blocking_swap_dynamics(problem)
    assert full.steps >= 2
    cut = blocking_swap_dynamics(problem, max_steps=1)
    assert cut.status == STEP_LIMIT and cut.steps == 1 and len(cut.welfare_path) == 2
    assert blocking_swap_dynamics(problem, max_steps=0).steps == 0


def test_dynamics_start_from_given_assignments():
    problem = worked_example()
    start = problem.assignments.copy()
    start[[0, 1], 1] = [1, 0]  # already the stable schedule
    result = blocking_swap_dynamics(problem, assignments=start)
    assert result.steps == 0 and result.status == CONVERGED and np.array_equal(result.assignments, start)


# --- price of anarchy -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
def test_price_of_anarchy_is_at_least_price_of_stability_is_at_least_one(seed):
    problem = random_problem(np.random.default_rng(700 + seed), n=8, weeks=8, rotations=2, per_faculty=(2, 4),
                             discrete=seed % 2 == 0, lock_p=0.1 if seed % 2 else 0.0)
    result = price_of_anarchy(problem, rng=np.random.default_rng(seed), restarts=6)
    assert result.status == CONVERGED and result.restarts == 6 and result.converged == 6
    assert result.price_of_anarchy >= result.price_of_stability >= 1.0
    assert result.worst_stable_welfare <= result.best_stable_welfare <= result.optimal_welfare + 1e-6
    assert result.optimal_welfare == pytest.approx(optimal_welfare(problem).welfare)
    assert result.is_acceptable == (result.price_of_anarchy < 1.5)
    assert len(result.stable_welfare) == 6


def test_price_of_anarchy_is_reproducible_with_the_same_seed():
    problem = random_problem(np.random.default_rng(3), n=8, weeks=8, rotations=2, per_faculty=(2, 4))
    one = price_of_anarchy(problem, rng=np.random.default_rng(42), restarts=4)
    two = price_of_anarchy(problem, rng=np.random.default_rng(42), restarts=4)
    assert np.array_equal(one.stable_welfare, two.stable_welfare)


def test_zero_welfare_gives_ratios_of_one():
    problem = literal(np.zeros((2, 2)), [[0, 0, 0], [1, 1, 0]])
    result = price_of_anarchy(problem, rng=np.random.default_rng(0), restarts=3)
    assert result.price_of_anarchy == 1.0 and result.price_of_stability == 1.0 and result.is_acceptable


def test_welfare_ratios_handle_zero_welfare_and_rounding_error():
    assert ratio(0.0, 0.0) == 1.0
    assert ratio(2.0, 1.0) == 2.0
    assert ratio(1.0, 0.0) == math.inf
    assert ratio(1.0, 1.0 + 1e-12) == 1.0  # within the rounding of the integer optimum


def test_a_dynamics_run_that_hits_the_step_limit_does_not_count_as_stable():
    problem = random_problem(np.random.default_rng(7), n=10, weeks=8, rotations=1, per_faculty=(3, 5), block_p=0.0)
    result = price_of_anarchy(problem, rng=np.random.default_rng(0), restarts=3, max_steps=0)
    assert result.converged + int(np.isnan(result.stable_welfare).sum()) == 3
    if result.converged == 0:
        assert result.status == STEP_LIMIT and result.price_of_anarchy is None and not result.is_acceptable


def test_welfare_is_the_sum_of_utilities_of_the_rows():
    assert welfare(worked_example()) == 1.5


def test_the_worked_example_has_two_equilibria_so_the_price_of_anarchy_is_two_and_of_stability_one():
    """By hand: of the 3! schedules only (A W2, B W1, C W3) with welfare 3.0 and (A W3, B W2, C W1) with welfare
    1.5 have no blocking swap; dynamics from any other start reach the optimum. So over enough random starts
    PoA = 3.0 / 1.5 = 2 (not acceptable) and PoS = 3.0 / 3.0 = 1."""
    from tests.stability.algorithms.cases import worked_example

    result = price_of_anarchy(worked_example(), rng=np.random.default_rng(11), restarts=60)
    assert result.restarts == 60
    assert result.optimal_welfare == pytest.approx(3.0)
    assert result.worst_stable_welfare == pytest.approx(1.5) and result.best_stable_welfare == pytest.approx(3.0)
    assert result.price_of_anarchy == pytest.approx(2.0) and result.price_of_stability == pytest.approx(1.0)
    assert not result.is_acceptable


# --- the problem key: one price of anarchy for every state with the same feasible set ----------------------------


@pytest.mark.parametrize("seed", range(12))
def test_the_key_is_the_same_for_every_arrangement_of_the_free_rows_and_after_swaps(seed):
    problem = small(seed, n=6, weeks=6, per_faculty=(1, 3))
    # Every current row eligible and no slot over-full: then nothing about the arrangement enters the key.
    rows = problem.assignments
    eligible = problem.eligible.copy()
    eligible[rows[:, 0], rows[:, 1], rows[:, 2]] = True
    occupancy = np.zeros_like(problem.capacity)
    np.add.at(occupancy, (rows[:, 1], rows[:, 2]), 1)
    problem = dataclasses.replace(problem, eligible=eligible, capacity=np.maximum(problem.capacity, occupancy))
    key = problem_key(problem)
    for s in range(4):
        moved = random_feasible_schedule(problem, np.random.default_rng(s))
        assert problem_key(dataclasses.replace(problem, assignments=moved)) == key
    after = blocking_swap_dynamics(problem)
    assert problem_key(dataclasses.replace(problem, assignments=after.assignments)) == key


def test_leaving_an_ineligible_slot_changes_the_key():
    eligible = np.ones((2, 2, 1), bool)
    eligible[0, 0, 0] = False                   # faculty 0 holds week 0 without being eligible for it
    problem = literal([[0.0, 1.0], [1.0, 0.0]], [[0, 0, 0], [1, 1, 0]], eligible=eligible)
    assert problem_key(dataclasses.replace(problem, assignments=np.array([[0, 1, 0], [1, 0, 0]]))) \
        != problem_key(problem)


def test_the_key_changes_with_everything_the_price_of_anarchy_depends_on():
    problem = random_problem(np.random.default_rng(4), n=6, weeks=6, rotations=2, per_faculty=(2, 3), block_p=0.0)
    key = problem_key(problem)
    utility = problem.utility.copy()
    utility[0, 0] += 0.25
    eligible = problem.eligible.copy()
    eligible[1, 2, :] = ~eligible[1, 2, :]
    capacity = problem.capacity + 1
    locked = np.zeros(len(problem.assignments), bool)
    locked[0] = True
    fewer = problem.assignments[1:]
    variants = {
        "utility": dataclasses.replace(problem, utility=utility),
        "eligibility": dataclasses.replace(problem, eligible=eligible),
        "capacity": dataclasses.replace(problem, capacity=capacity),
        "locked rows": dataclasses.replace(problem, locked=locked),
        "demand": dataclasses.replace(problem, assignments=fewer),
        "holiday cap": dataclasses.replace(problem, is_holiday=np.arange(6) < 2, max_holidays=1),
        "back-to-back": dataclasses.replace(problem, no_back_to_back=True),
    }
    for name, variant in variants.items():
        assert problem_key(variant) != key, name
    assert problem_key(problem, epsilon=1e-6) != key
    assert problem_key(problem, max_steps=5) != key
    assert problem_key(problem) == key


def test_the_price_of_anarchy_carries_the_key_of_its_problem():
    problem = random_problem(np.random.default_rng(5), n=6, weeks=6, rotations=2, per_faculty=(2, 3))
    assert price_of_anarchy(problem, rng=np.random.default_rng(0), restarts=2).key == problem_key(problem)
    limited = price_of_anarchy(problem, rng=np.random.default_rng(0), restarts=2, max_steps=3)
    assert limited.key == problem_key(problem, max_steps=3)
