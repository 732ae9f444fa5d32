"""VCG with Clarke payments (DESIGN §5), without the database.

Hand-solved markets, welfare optimality against brute force and scipy's assignment solver, Clarke payments
against brute force, the one-solve price method against n + 1 re-solves, strategyproofness (exhaustive and
random misreports), individual rationality and Hypothesis properties. Every comparison is exact on the
integer values the mechanism works with (thousandths of a point).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from allocation.algorithms.feasibility import violations
from allocation.algorithms.registry import strategy
from allocation.algorithms.types import OPTIMAL, Problem
from allocation.algorithms.vcg import SCALE, vcg
from tests.allocation.algorithms.problems import feasible_allocations, make_problem

GRID = (0, 25, 50, 75, 100)


# --- helpers --------------------------------------------------------------------------------------

def valued(values, *, eligible=None, demand=None, capacity=None, rotations: int = 1, preassigned=None) -> Problem:
    """A problem straight from a (faculty, week) table of 0–100 values; everyone eligible unless told."""
    value = np.asarray(values, dtype=float)
    n, n_weeks = value.shape
    eligible = np.ones((n, n_weeks, rotations), dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    if eligible.ndim == 2:
        eligible = eligible[:, :, None]
    order = np.argsort(-value, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(1, n_weeks + 1)[None, :], axis=1)
    return Problem(
        utility=value / 100,
        rank=rank,
        listed=np.ones((n, n_weeks), dtype=bool),
        value=value,
        eligible=eligible,
        demand=np.ones(n, dtype=np.int64) if demand is None else np.asarray(demand, dtype=np.int64),
        capacity=(np.ones((n_weeks, eligible.shape[2]), dtype=np.int64) if capacity is None
                  else np.asarray(capacity, dtype=np.int64).reshape(n_weeks, -1)),
        is_holiday=np.zeros(n_weeks, dtype=bool),
        preassigned=np.zeros((0, 3), dtype=np.int64) if preassigned is None else np.asarray(preassigned, np.int64),
    )


def scaled(problem: Problem) -> np.ndarray:
    return np.rint(problem.value * SCALE).astype(np.int64)


def payments(result) -> np.ndarray:
    """Payments back in integer value units (exact: the mechanism computes them as integers)."""
    return np.rint(result.payments.vcg_payment * SCALE).astype(np.int64)


def welfare_units(result) -> int:
    return int(round(result.objective * SCALE))


def brute_best(problem: Problem, *, only_preassigned: int | None = None) -> tuple[int, int]:
    """(max welfare, most weeks filled among the welfare maximisers) over every feasible assignment.

    only_preassigned=i: faculty i gets exactly their pre-assigned weeks — the Clarke "without i" problem
    (pre-assignments are coordinators' decisions and stay in every counterfactual).
    """
    values = scaled(problem)
    must = {tuple(row) for row in problem.preassigned.tolist()}
    allowed = None
    if only_preassigned is not None:
        allowed = np.ones_like(problem.eligible)
        allowed[only_preassigned] = False
        mine = problem.preassigned[problem.preassigned[:, 0] == only_preassigned]
        allowed[mine[:, 0], mine[:, 1], mine[:, 2]] = True
    best = (-1, -1)
    for rows in feasible_allocations(problem, allowed=allowed):
        if must <= set(rows):
            best = max(best, (sum(int(values[i, w]) for i, w, _ in rows), len(rows)))
    return best


def brute_payments(problem: Problem, result) -> np.ndarray:
    """Clarke payments by definition: the others' best welfare without i minus their welfare in the result."""
    values = scaled(problem)
    rows = result.assignments
    own = np.zeros(problem.n_faculty, dtype=np.int64)
    np.add.at(own, rows[:, 0], values[rows[:, 0], rows[:, 1]])
    total = int(own.sum())
    pre = problem.preassigned
    fixed_own = np.zeros(problem.n_faculty, dtype=np.int64)
    np.add.at(fixed_own, pre[:, 0], values[pre[:, 0], pre[:, 1]])
    return np.array([
        brute_best(problem, only_preassigned=i)[0] - fixed_own[i] - (total - own[i])
        for i in range(problem.n_faculty)
    ])


def true_utility(true_values: np.ndarray, result, i: int) -> int:
    """Faculty i's quasi-linear utility in value units: true value of what they get minus what they pay."""
    rows = result.assignments[result.assignments[:, 0] == i]
    return int(true_values[i, rows[:, 1]].sum()) - int(payments(result)[i])


def misreport(problem: Problem, i: int, row) -> Problem:
    value = problem.value.copy()
    value[i] = row
    return replace(problem, value=value)


def with_preassignments(problem: Problem, rng: np.random.Generator, k: int) -> Problem:
    """Add up to k feasible pre-assignments (eligible, within demand and capacity, one per faculty-week)."""
    load = np.zeros_like(problem.capacity)
    count = np.zeros(problem.n_faculty, dtype=np.int64)
    taken: set[tuple[int, int]] = set()
    rows = []
    for _ in range(k):
        i = int(rng.integers(problem.n_faculty))
        options = np.argwhere(problem.eligible[i] & (load < problem.capacity))
        options = [(w, r) for w, r in options.tolist() if (i, w) not in taken]
        if count[i] >= problem.demand[i] or not options:
            continue
        w, r = options[int(rng.integers(len(options)))]
        rows.append((i, w, r))
        load[w, r] += 1
        count[i] += 1
        taken.add((i, w))
    return replace(problem, preassigned=np.array(rows, dtype=np.int64).reshape(-1, 3))


def tiny(seed: int, *, demand=(1, 2), preassign: bool = True) -> Problem:
    """A random contested problem small enough for brute force: usually fewer seats than faculty want."""
    rng = np.random.default_rng(seed)
    rotations = 1 if rng.random() < 0.7 else 2
    n = int(rng.integers(2, 4 if rotations == 2 else 5))
    problem = make_problem(rng, n=n, weeks=int(rng.integers(1, n)), rotations=rotations, demand=demand,
                           capacity=(1, 1) if rng.random() < 0.7 else (0, 2), block_p=0.15, qualify_p=0.7,
                           correlated=float(rng.random()))
    if rng.random() < 0.5:  # grid values make many ties
        problem = replace(problem, value=rng.choice(GRID, size=problem.value.shape).astype(float))
    return with_preassignments(problem, rng, int(rng.integers(0, 2))) if preassign else problem


def unit_demand(seed: int, *, n: tuple[int, int] = (2, 13), weeks: tuple[int, int] = (1, 6)) -> Problem:
    """A random unit-demand market, usually with more faculty than seats."""
    rng = np.random.default_rng(seed)
    problem = make_problem(rng, n=int(rng.integers(*n)), weeks=int(rng.integers(*weeks)),
                           rotations=int(rng.integers(1, 3)), demand=(0, 1) if rng.random() < 0.2 else (1, 1),
                           capacity=(0, 2), block_p=0.25, qualify_p=0.7, correlated=float(rng.random()))
    if rng.random() < 0.5:  # grid values make many ties, the hard case for prices
        problem = replace(problem, value=rng.choice(GRID, size=problem.value.shape).astype(float))
    return with_preassignments(problem, rng, int(rng.integers(0, 4)))


def assert_consistent(problem: Problem, result) -> None:
    """Feasible, payments ≥ 0, and the report's columns agree with each other and with the assignment."""
    assert result.status == OPTIMAL
    assert violations(problem, result) == []
    report = result.payments
    n = problem.n_faculty
    assert all(len(column) == n for column in (report.reported_value, report.vcg_payment, report.others_welfare_with,
                                               report.others_welfare_without))
    assert (report.vcg_payment >= 0).all()
    rows = result.assignments
    held_value = np.bincount(rows[:, 0], weights=np.rint(problem.value[rows[:, 0], rows[:, 1]] * SCALE), minlength=n)
    np.testing.assert_array_equal(np.rint(report.reported_value * SCALE), held_value)
    np.testing.assert_allclose(report.reported_value + report.others_welfare_with, result.objective)
    np.testing.assert_allclose(report.others_welfare_without - report.others_welfare_with,
                               report.vcg_payment)
    assert result.details["total_social_welfare"] == result.objective


# --- hand-solved markets --------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["prices", "resolve"])
def test_two_bidders_for_one_week_the_winner_pays_the_second_price(method):
    result = vcg(valued([[80], [60]]), method=method)
    np.testing.assert_array_equal(result.assignments, [[0, 0, 0]])
    report = result.payments
    np.testing.assert_array_equal(report.vcg_payment, [60, 0])
    np.testing.assert_array_equal(report.others_welfare_with, [0, 80])
    np.testing.assert_array_equal(report.others_welfare_without, [60, 80])
    assert result.objective == 80


@pytest.mark.parametrize("method", ["prices", "resolve"])
def test_three_faculty_two_weeks_pay_the_minimum_walrasian_prices(method):
    # A takes week 1, B week 0 (welfare 14). Without A the best is B→0, C→1 = 9 (B had 8): A pays 1.
    # Without B the best is 11 (A→0, C→1 or A→1, C→0), A had 6: B pays 5. C gets nothing and pays 0.
    # The minimum competitive prices are 5 for week 0 and 1 for week 1.
    result = vcg(valued([[10, 6], [8, 2], [5, 1]]), method=method)
    np.testing.assert_array_equal(result.assignments, [[0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(result.payments.vcg_payment, [1, 5, 0])
    assert result.objective == 14


def test_a_week_two_faculty_each_want_with_two_seats_costs_nothing():
    result = vcg(valued([[90, 10], [80, 20]], capacity=[2, 1]))
    np.testing.assert_array_equal(result.assignments[:, 1], [0, 0])
    np.testing.assert_array_equal(result.payments.vcg_payment, [0, 0])


def test_a_faculty_member_no_one_else_can_serve_with_pays_nothing():
    # Faculty 0 alone may serve week 0; the others compete for week 1 only.
    eligible = [[True, False], [False, True], [False, True]]
    result = vcg(valued([[40, 0], [0, 70], [0, 50]], eligible=eligible))
    np.testing.assert_array_equal(result.payments.vcg_payment, [0, 50, 0])


def test_faculty_who_get_nothing_pay_nothing():
    for seed in range(30):
        problem = unit_demand(seed)
        result = vcg(problem)
        holds = np.bincount(result.assignments[:, 0], minlength=problem.n_faculty) > 0
        assert (payments(result)[~holds] == 0).all()


def test_with_a_seat_for_everyone_nobody_pays():
    rng = np.random.default_rng(5)
    problem = make_problem(rng, n=8, weeks=4, rotations=2, demand=(1, 3), capacity=(8, 8))
    for method in ("auto", "resolve"):
        assert (payments(vcg(problem, method=method)) == 0).all()


@pytest.mark.parametrize("method", ["prices", "resolve"])
def test_nobody_pays_for_a_week_a_coordinator_pre_assigned(method):
    # Faculty 0 is pre-assigned to the only seat of week 0, which faculty 1 values at 90: a coordinator's
    # decision, not faculty 0's bid, so it stays in the counterfactual and costs faculty 0 nothing.
    problem = valued([[10, 0], [90, 30]], preassigned=[[0, 0, 0]])
    result = vcg(problem, method=method)
    np.testing.assert_array_equal(result.assignments, [[0, 0, 0], [1, 1, 0]])
    np.testing.assert_array_equal(result.payments.vcg_payment, [0, 0])
    np.testing.assert_array_equal(result.payments.others_welfare_without, [30, 10])


def test_a_partly_pre_assigned_faculty_member_pays_only_for_the_weeks_they_bid_away():
    # Faculty 0 (demand 2) is pre-assigned week 0 and outbids faculty 1 (60) for week 1.
    problem = valued([[0, 100], [50, 60]], demand=[2, 1], preassigned=[[0, 0, 0]])
    result = vcg(problem)
    np.testing.assert_array_equal(result.assignments, [[0, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(result.payments.vcg_payment, [60, 0])


def test_multi_unit_demand_pays_for_each_week_taken_from_others():
    # Faculty 0 wants two weeks and takes both; faculty 1 would have valued them 30 and 50 (takes one).
    problem = valued([[100, 90], [30, 50]], demand=[2, 1])
    result = vcg(problem)
    np.testing.assert_array_equal(result.assignments, [[0, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(result.payments.vcg_payment, [50, 0])
    assert result.details["method"] == "resolve"


def test_a_value_zero_week_is_still_served_when_it_costs_no_one_anything():
    result = vcg(valued([[0, 0], [60, 0]], capacity=[1, 1]))
    np.testing.assert_array_equal(result.unassigned, [0, 0])
    np.testing.assert_array_equal(result.assignments, [[0, 1, 0], [1, 0, 0]])


def test_one_slot_per_week_holds_across_rotations():
    # Two rotations of one week with a seat each: faculty 0 (demand 2) still serves that week only once.
    result = vcg(valued([[100, 10]], demand=[2], rotations=2, capacity=[[1, 1], [1, 1]]))
    assert sorted(result.assignments[:, 1].tolist()) == [0, 1]


def test_fractional_values_are_rounded_to_thousandths_and_payments_are_exact_there():
    third = 100 * (1 - 0.5 / 3)  # an ordinal rank-2-of-3 value: 83.333…
    result = vcg(valued([[third], [2 * third / 3]]))
    assert result.details["value_scale"] == SCALE
    assert result.objective == 83.333
    assert result.payments.vcg_payment[0] == 55.556


# --- optimality -----------------------------------------------------------------------------------

def test_welfare_equals_brute_force_and_fills_the_most_weeks_among_optima():
    for seed in range(60):
        problem = tiny(seed)
        result = vcg(problem)
        assert_consistent(problem, result)
        assert (welfare_units(result), len(result.assignments)) == brute_best(problem), seed


def test_unit_demand_welfare_equals_linear_sum_assignment_on_the_capacity_expanded_matrix():
    for seed in range(40):
        rng = np.random.default_rng(seed)
        problem = make_problem(rng, n=int(rng.integers(2, 40)), weeks=int(rng.integers(1, 12)),
                               rotations=int(rng.integers(1, 3)), demand=(0, 1), capacity=(0, 4),
                               block_p=0.2, qualify_p=0.7, correlated=float(rng.random()))
        n, n_weeks, n_rot = problem.eligible.shape
        seats = np.repeat(np.arange(n_weeks * n_rot), problem.capacity.ravel())
        # An ineligible pair worth 0 is the same as leaving both the faculty member and the seat free.
        value = np.where(problem.eligible, scaled(problem)[:, :, None], 0).reshape(n, -1)[:, seats]
        value = value[problem.demand == 1]
        rows, cols = linear_sum_assignment(value, maximize=True)
        result = vcg(problem)
        assert welfare_units(result) == int(value[rows, cols].sum()), seed


# --- payments -------------------------------------------------------------------------------------

@pytest.mark.parametrize("demand", [(1, 1), (1, 2)], ids=["unit", "multi-unit"])
def test_payments_equal_brute_force_clarke_payments(demand):
    for seed in range(80):
        problem = tiny(seed, demand=demand)
        result = vcg(problem)
        np.testing.assert_array_equal(payments(result), brute_payments(problem, result), err_msg=f"seed {seed}")


def test_prices_from_one_solve_equal_n_plus_one_resolves():
    for seed in range(300):
        problem = unit_demand(seed)
        by_prices = vcg(problem, method="prices")
        by_resolves = vcg(problem, method="resolve")
        assert by_prices.details["method"] == "prices"
        np.testing.assert_array_equal(by_prices.assignments, by_resolves.assignments)
        np.testing.assert_array_equal(payments(by_prices), payments(by_resolves), err_msg=f"seed {seed}")


def test_prices_equal_resolves_on_larger_contested_markets():
    for seed in range(6):
        rng = np.random.default_rng(1000 + seed)
        problem = make_problem(rng, n=80, weeks=12, rotations=2, demand=(0, 1), capacity=(1, 4),
                               qualify_p=0.7, correlated=0.8)
        problem = with_preassignments(problem, rng, 5)
        by_prices, by_resolves = vcg(problem, method="prices"), vcg(problem, method="resolve")
        assert_consistent(problem, by_prices)
        np.testing.assert_array_equal(payments(by_prices), payments(by_resolves))


def test_prices_equal_resolves_at_the_benchmark_size():
    rng = np.random.default_rng(300)
    problem = make_problem(rng, n=300, weeks=30, demand=(1, 1), capacity=(8, 12), correlated=0.7)
    by_prices, by_resolves = vcg(problem), vcg(problem, method="resolve")
    assert by_prices.details["method"] == "prices"
    assert_consistent(problem, by_prices)
    assert (payments(by_prices) > 0).sum() > 100
    np.testing.assert_array_equal(payments(by_prices), payments(by_resolves))


def test_multi_unit_payments_are_non_negative_and_results_feasible():
    for seed in range(15):
        rng = np.random.default_rng(2000 + seed)
        problem = make_problem(rng, n=25, weeks=10, rotations=2, demand=(1, 4), capacity=(1, 4), qualify_p=0.7,
                               correlated=0.6)
        assert_consistent(problem, vcg(with_preassignments(problem, rng, 6)))


def test_the_same_inputs_give_the_same_result():
    problem = make_problem(np.random.default_rng(9), n=30, weeks=8, rotations=2, demand=(1, 2), capacity=(1, 3))
    first, second = vcg(problem, rng=np.random.default_rng(1)), vcg(problem, rng=np.random.default_rng(2))
    np.testing.assert_array_equal(first.assignments, second.assignments)
    np.testing.assert_array_equal(payments(first), payments(second))


# --- incentives -----------------------------------------------------------------------------------

def test_truthful_reporting_is_individually_rational():
    for seed in range(60):
        problem = tiny(seed, preassign=False) if seed % 2 else unit_demand(seed)
        result = vcg(problem)
        values = scaled(problem)
        for i in range(problem.n_faculty):
            assert true_utility(values, result, i) >= 0, (seed, i)


@pytest.mark.parametrize("seed", range(12))
def test_no_misreport_on_the_value_grid_beats_the_truth_exhaustively(seed):
    # Unit demand, one rotation, one or two seats a week; every agent tries every report in GRID^weeks.
    rng = np.random.default_rng(seed)
    n, n_weeks = (3, 3) if seed % 2 else (4, 2)
    truth = valued(rng.choice(GRID, size=(n, n_weeks)), capacity=rng.integers(1, 3, size=n_weeks))
    values = scaled(truth)
    honest = vcg(truth)
    for i in range(n):
        best = true_utility(values, honest, i)
        for row in itertools.product(GRID, repeat=n_weeks):
            assert true_utility(values, vcg(misreport(truth, i, row)), i) <= best, (i, row)


@pytest.mark.parametrize("seed", range(6))
def test_no_misreport_beats_the_truth_exhaustively_with_rotations_multi_unit_demand_and_pre_assignments(seed):
    truth = tiny(100 + seed, demand=(1, 2))
    values = scaled(truth)
    honest = vcg(truth)
    for i in range(truth.n_faculty):
        best = true_utility(values, honest, i)
        assert best >= 0
        for row in itertools.product(GRID, repeat=truth.n_weeks):
            assert true_utility(values, vcg(misreport(truth, i, row)), i) <= best, (i, row)


def test_no_random_misreport_beats_the_truth_on_larger_markets():
    rng = np.random.default_rng(77)
    for trial in range(16):
        problem = make_problem(rng, n=15, weeks=6, rotations=2, demand=(1, 1) if trial % 2 else (1, 3),
                               capacity=(1, 2), qualify_p=0.7, correlated=0.7)
        values = scaled(problem)
        honest = vcg(problem)
        for _ in range(40):
            i = int(rng.integers(problem.n_faculty))
            lie = problem.value[i].copy()
            kind = rng.integers(3)
            if kind == 0:
                lie = rng.uniform(0, 100, size=lie.shape)
            elif kind == 1:  # shade everything down, or inflate everything
                lie = np.clip(lie * rng.uniform(0, 2), 0, 100)
            else:  # claim indifference except for one week
                lie[:] = 0
                lie[rng.integers(len(lie))] = 100
            assert true_utility(values, vcg(misreport(problem, i, lie)), i) <= true_utility(values, honest, i)


# --- properties -----------------------------------------------------------------------------------

@st.composite
def small_markets(draw) -> Problem:
    n = draw(st.integers(1, 3))
    n_weeks = draw(st.integers(1, 3))
    rotations = draw(st.integers(1, 2))
    value = draw(st.lists(st.lists(st.sampled_from(GRID) | st.floats(0, 100), min_size=n_weeks,
                                   max_size=n_weeks), min_size=n, max_size=n))
    eligible = np.array(draw(st.lists(st.booleans(), min_size=n * n_weeks * rotations,
                                      max_size=n * n_weeks * rotations))).reshape(n, n_weeks, rotations)
    demand = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    capacity = np.array(draw(st.lists(st.integers(0, 2), min_size=n_weeks * rotations,
                                      max_size=n_weeks * rotations)))
    return valued(value, eligible=eligible, demand=demand, capacity=capacity, rotations=rotations)


@settings(max_examples=150, deadline=None)
@given(problem=small_markets(), data=st.data())
def test_vcg_properties_hold_on_any_small_market(problem, data):
    result = vcg(problem)
    assert_consistent(problem, result)
    assert welfare_units(result) == brute_best(problem)[0]
    np.testing.assert_array_equal(payments(result), brute_payments(problem, result))
    if problem.demand.max() <= 1:
        np.testing.assert_array_equal(payments(result), payments(vcg(problem, method="resolve")))
    values = scaled(problem)
    i = data.draw(st.integers(0, problem.n_faculty - 1))
    lie = data.draw(st.lists(st.sampled_from(GRID), min_size=problem.n_weeks, max_size=problem.n_weeks))
    assert true_utility(values, result, i) >= 0
    assert true_utility(values, vcg(misreport(problem, i, lie)), i) <= true_utility(values, result, i)


# --- the interface --------------------------------------------------------------------------------

def test_the_registry_finds_vcg_by_name():
    assert strategy("vcg") is vcg


def test_an_empty_market_is_optimal_with_no_payments():
    result = vcg(valued(np.zeros((0, 3))))
    assert result.status == OPTIMAL and result.objective == 0 and len(result.assignments) == 0


@pytest.mark.parametrize(
    ("problem", "options", "message"),
    [
        (valued([[50]]), {"bid": 1}, "unknown option 'bid'"),
        (valued([[50]]), {"method": "auction"}, "option 'method' must be one of"),
        (valued([[50, 40]], demand=[2]), {"method": "prices"}, "needs unit demand"),
        (valued([[120]]), {}, "0–100 scale"),
        (valued([[-1]]), {}, "0–100 scale"),
    ],
)
def test_bad_inputs_are_refused_with_a_message_that_names_the_fix(problem, options, message):
    with pytest.raises(ValueError, match=message):
        vcg(problem, **options)
