"""RSD chances by Monte Carlo: every draw is rsd's schedule, chunking never changes the counts, and the estimate
agrees with exact enumeration of all n! lottery orders within its standard errors."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.algorithms.chances import (
    BLOCK,
    TOP,
    ChanceCounts,
    block_generator,
    draw_ranges,
    exact_rsd,
    lottery_orders,
    rsd_batch,
    rsd_chances,
    top_weeks,
)
from allocation.algorithms.rsd import rsd
from allocation.algorithms.types import Problem
from tests.allocation.algorithms.mechanism_cases import varied_problem
from tests.allocation.algorithms.problems import make_problem


class FixedOrder:
    """Stands in for a Generator: rsd draws its lottery with permutation(n), which answers the given order."""

    def __init__(self, order) -> None:
        self.order = np.asarray(order)

    def permutation(self, n: int) -> np.ndarray:
        assert n == len(self.order)
        return self.order.copy()


def held_by_rsd(problem: Problem, order) -> np.ndarray:
    rows = rsd(problem, rng=FixedOrder(order)).assignments
    held = np.zeros((problem.n_faculty, problem.n_weeks), dtype=bool)
    held[rows[:, 0], rows[:, 1]] = True
    return held


def rsd_enumerated(problem: Problem) -> np.ndarray:
    """Exact P[i, w] as Fractions from rsd itself over every lottery order (independent of the batch engine)."""
    total = np.zeros((problem.n_faculty, problem.n_weeks), dtype=np.int64)
    orders = list(itertools.permutations(range(problem.n_faculty)))
    for order in orders:
        total += held_by_rsd(problem, order)
    return total, len(orders)


def bogomolnaia_moulin() -> Problem:
    """Four agents, four objects: 1, 2 rank a > b > c > d; 3, 4 rank b > a > d > c; one seat each."""
    rank = np.array([[1, 2, 3, 4], [1, 2, 3, 4], [2, 1, 4, 3], [2, 1, 4, 3]])
    return Problem(
        utility=1.0 - rank / 10, rank=rank, listed=np.ones((4, 4), bool), value=100 - 10.0 * rank,
        eligible=np.ones((4, 4, 1), bool), demand=np.ones(4, np.int64), capacity=np.ones((4, 1), np.int64),
        is_holiday=np.zeros(4, bool),
    )


@pytest.mark.parametrize("method", ["auto", "scan"])
@pytest.mark.parametrize("seed", range(40))
def test_each_draw_is_the_schedule_rsd_builds_from_that_order(seed, method):
    problem = varied_problem(seed, n=int(np.random.default_rng(seed).integers(2, 9)), weeks=7)
    orders = lottery_orders(seed, 0, 25, problem.n_faculty)
    held = rsd_batch(problem, orders, holdings=True, method=method)
    for k, order in enumerate(orders):
        np.testing.assert_array_equal(held[k], held_by_rsd(problem, order), err_msg=f"draw {k}")


@pytest.mark.parametrize("weeks", [1, 8, 9, 31, 32, 33, 40, 63, 64])
@pytest.mark.parametrize("seed", range(3))
def test_draws_are_rsd_schedules_for_every_year_length(seed, weeks):
    """The week sets are 32- or 64-bit words read a byte at a time: years that end inside, at and just past a byte
    or a word boundary give rsd's schedules draw by draw."""
    problem = varied_problem(1000 * weeks + seed, n=12, weeks=weeks)
    orders = lottery_orders(seed, 0, 20, problem.n_faculty)
    held = rsd_batch(problem, orders, holdings=True)
    for k, order in enumerate(orders):
        np.testing.assert_array_equal(held[k], held_by_rsd(problem, order), err_msg=f"draw {k}")


@pytest.mark.parametrize("seed", range(6))
def test_unit_demand_with_more_faculty_than_seats(seed):
    """Everyone wants one week and some find none left: the fast path for a step where all draws pick must give
    way to the general one without changing a schedule."""
    rng = np.random.default_rng(seed)
    problem = make_problem(rng, n=14, weeks=int(rng.integers(3, 12)), capacity=(0, 1), block_p=0.3,
                           correlated=float(rng.random()))
    orders = lottery_orders(seed, 0, 40, problem.n_faculty)
    held = rsd_batch(problem, orders, holdings=True)
    assert held.any(axis=2).sum(axis=1).min() < problem.n_faculty  # some draws leave someone without a week
    for k, order in enumerate(orders):
        np.testing.assert_array_equal(held[k], held_by_rsd(problem, order), err_msg=f"draw {k}")
    np.testing.assert_array_equal(rsd_batch(problem, orders), rsd_batch(problem, orders, method="scan"))


def test_the_same_generator_state_gives_rsd_the_same_draw():
    problem = varied_problem(3, n=8, weeks=8)
    seed = 11
    for draw in (0, 1, 7, BLOCK - 1, BLOCK, BLOCK + 5):
        expected = rsd_batch(problem, lottery_orders(seed, draw, draw + 1, problem.n_faculty), holdings=True)[0]
        rows = rsd(problem, rng=block_generator(seed, draw, problem.n_faculty)).assignments
        held = np.zeros_like(expected)
        held[rows[:, 0], rows[:, 1]] = True
        np.testing.assert_array_equal(held, expected, err_msg=f"draw {draw}")


def test_orders_are_permutations_and_do_not_depend_on_how_the_draws_are_cut():
    whole = lottery_orders(5, 0, 2500, 9)
    assert (np.sort(whole, axis=1) == np.arange(9)).all()
    pieces = np.concatenate([lottery_orders(5, a, b, 9) for a, b in [(0, 1), (1, 1000), (1000, 1030), (1030, 2500)]])
    np.testing.assert_array_equal(whole, pieces)
    assert not (lottery_orders(6, 0, 2500, 9) == whole).all()


@pytest.mark.parametrize("chunks", [1, 2, 3, 7])
def test_chunked_and_merged_counts_equal_the_single_process_counts(chunks):
    problem = varied_problem(21, n=12, weeks=10)
    whole = rsd_chances(problem, seed=9, stop=5000)
    ranges = draw_ranges(5000, chunks)
    assert ranges[0][0] == 0 and ranges[-1][1] == 5000
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    merged = sum((rsd_chances(problem, seed=9, start=a, stop=b) for a, b in ranges), ChanceCounts(0, 0))
    np.testing.assert_array_equal(merged.counts, whole.counts)
    assert merged.draws == whole.draws == 5000
    # Arbitrary, not block-aligned cuts too.
    odd = rsd_chances(problem, seed=9, start=0, stop=1234) + rsd_chances(problem, seed=9, start=1234, stop=5000)
    np.testing.assert_array_equal(odd.counts, whole.counts)


def test_exact_enumeration_matches_rsd_over_all_orders():
    for seed in range(6):
        problem = varied_problem(100 + seed, n=5, weeks=5)
        counts, orders = rsd_enumerated(problem)
        exact = exact_rsd(problem)
        assert exact.draws == orders == 120
        np.testing.assert_array_equal(exact.counts, counts)


def test_bogomolnaia_moulin_rsd_probabilities():
    exact = exact_rsd(bogomolnaia_moulin())
    p = [[Fraction(int(c), exact.draws) for c in row] for row in exact.counts]
    f = Fraction
    assert p[0] == p[1] == [f(5, 12), f(1, 12), f(5, 12), f(1, 12)]
    assert p[2] == p[3] == [f(1, 12), f(5, 12), f(1, 12), f(5, 12)]


def _within_standard_errors(problem: Problem, draws: int = 20_000, seed: int = 1) -> None:
    exact = exact_rsd(problem)
    p_exact = exact.counts / exact.draws
    estimate = rsd_chances(problem, seed=seed, stop=draws)
    p = estimate.probabilities()
    # Certain events (0 or 1) are exact in every draw; the rest lie within 4.5 standard errors of the truth.
    certain = (exact.counts == 0) | (exact.counts == exact.draws)
    np.testing.assert_array_equal(p[certain], p_exact[certain])
    se = np.sqrt(p_exact * (1 - p_exact) / draws)
    z = np.abs(p - p_exact)[~certain] / se[~certain]
    assert z.max(initial=0) < 4.5, f"max z = {z.max():.2f}"
    reported = estimate.stderr()
    assert np.allclose(reported[~certain], np.sqrt(p * (1 - p) / draws)[~certain])


def test_monte_carlo_matches_exact_with_capacities():
    rng = np.random.default_rng(4)
    problem = make_problem(rng, n=7, weeks=4, capacity=(1, 3), correlated=0.8, block_p=0.0)
    _within_standard_errors(problem)


def test_monte_carlo_matches_exact_with_multi_unit_demand():
    rng = np.random.default_rng(5)
    problem = make_problem(rng, n=6, weeks=6, demand=(1, 3), capacity=(1, 2), correlated=0.6, block_p=0.15)
    _within_standard_errors(problem)


def test_monte_carlo_matches_exact_with_rotations_and_preassignments():
    for seed in (7, 8):
        problem = varied_problem(seed, n=7, weeks=6)
        _within_standard_errors(problem, seed=seed)
    rng = np.random.default_rng(9)
    problem = make_problem(rng, n=8, weeks=5, rotations=3, demand=(1, 2), capacity=(0, 2), qualify_p=0.5)
    assert problem.n_rotations == 3
    _within_standard_errors(problem)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), draws=st.integers(1, 300))
def test_counts_are_a_feasible_random_assignment(seed, draws):
    problem = varied_problem(seed, n=9, weeks=8)
    chances = rsd_chances(problem, seed=seed, stop=draws)
    counts = chances.counts
    n = problem.n_faculty
    assert counts.min() >= 0 and counts.max() <= draws
    assert (counts.sum(axis=1) <= problem.demand * draws).all()
    assert (counts.sum(axis=0) <= problem.capacity.sum(axis=1) * draws).all()
    for i, w, _ in problem.preassigned.tolist():
        assert counts[i, w] == draws
    blocked = ~problem.eligible.any(axis=2)
    pre = np.zeros((n, problem.n_weeks), bool)
    pre[problem.preassigned[:, 0], problem.preassigned[:, 1]] = True
    assert (counts[blocked & ~pre] == 0).all()


def test_bad_ranges_are_refused():
    with pytest.raises(ValueError):
        lottery_orders(1, 5, 4, 3)
    with pytest.raises(ValueError):
        draw_ranges(10, 0)
    with pytest.raises(ValueError):
        exact_rsd(varied_problem(1, n=9, weeks=3))


@pytest.mark.parametrize("seed", range(8))
def test_top_week_hits_count_the_draws_with_at_least_one_top_week(seed):
    problem = varied_problem(200 + seed, n=8, weeks=8, listed=(1, 5))
    orders = lottery_orders(seed, 0, 400, problem.n_faculty)
    held = rsd_batch(problem, orders, holdings=True)
    top = top_weeks(problem)
    for method in ("auto", "scan"):
        counts, hits = rsd_batch(problem, orders, top=top, method=method)
        np.testing.assert_array_equal(counts, held.sum(axis=0))
        for k, threshold in enumerate(TOP):
            expected = (held & top[k][None]).any(axis=2).sum(axis=0)
            np.testing.assert_array_equal(hits[:, k], expected, err_msg=f"top-{threshold}, {method}")
    chunked = rsd_chances(problem, seed=seed, stop=150, hits=True) + rsd_chances(problem, seed=seed, start=150, stop=400, hits=True)
    np.testing.assert_array_equal(chunked.hits, rsd_chances(problem, seed=seed, stop=400, hits=True).hits)
