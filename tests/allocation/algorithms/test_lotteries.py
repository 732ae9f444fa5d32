"""The lottery mechanisms: the drawn schedule is one of an exact decomposition of the random assignment, it is
feasible, the same seed draws the same schedule, and over many seeds the draws follow the random assignment."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.algorithms import decomposition, feasibility, registry
from allocation.algorithms.chances import rsd_chances
from allocation.algorithms.lotteries import rsd_matrix, rsd_trading_matrix
from allocation.algorithms.serial import probabilistic_serial_matrix
from allocation.algorithms.trading import happiness_weights
from allocation.algorithms.types import Problem
from tests.allocation.algorithms.mechanism_cases import varied_problem
from tests.allocation.algorithms.test_chances import bogomolnaia_moulin

LOTTERIES = ("probabilistic_serial", "rsd_trading")


def run(mechanism: str, problem: Problem, seed: int, **options):
    if mechanism == "rsd_trading":
        options.setdefault("draws", 1000)
    return registry.strategy(mechanism)(problem, rng=np.random.default_rng(seed), **options)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), mechanism=st.sampled_from(LOTTERIES))
def test_the_drawn_schedule_is_feasible_and_carries_its_probabilities(seed, mechanism):
    problem = varied_problem(seed, n=8, weeks=7)
    allocation = run(mechanism, problem, seed)
    assert allocation.ok and allocation.mechanism == mechanism
    assert feasibility.violations(problem, allocation) == []
    rows = allocation.assignments
    probability = allocation.per_assignment["probability"]
    assert len(probability) == len(rows)
    assert ((probability > 0) & (probability <= 1 + 1e-12)).all()  # a drawn week always had a positive chance
    for i, w, r in problem.preassigned.tolist():
        k = np.flatnonzero((rows[:, 0] == i) & (rows[:, 1] == w))
        assert len(k) == 1 and rows[k[0], 2] == r and probability[k[0]] == 1.0
    details = allocation.details
    assert 1 <= details["drawn_schedule"] <= details["decomposition_size"]
    assert 0 < details["drawn_weight"] <= 1


@pytest.mark.parametrize("mechanism", LOTTERIES)
def test_the_same_seed_draws_the_same_schedule(mechanism):
    problem = varied_problem(5, n=9, weeks=8)
    first, again = run(mechanism, problem, 42), run(mechanism, problem, 42)
    np.testing.assert_array_equal(first.assignments, again.assignments)
    assert first.details["drawn_schedule"] == again.details["drawn_schedule"]


def test_probabilistic_serial_draws_follow_its_matrix():
    problem = bogomolnaia_moulin()
    draws = 600
    held = np.zeros((4, 4))
    for seed in range(draws):
        rows = run("probabilistic_serial", problem, seed).assignments
        held[rows[:, 0], rows[:, 1]] += 1
    expected = probabilistic_serial_matrix(problem).week_probabilities()  # ½ a + ½ c, ½ b + ½ d
    np.testing.assert_allclose(expected[0], [0.5, 0, 0.5, 0])
    se = np.sqrt(expected * (1 - expected) / draws)
    assert (np.abs(held / draws - expected) <= 4.5 * se + 1e-12).all()


@pytest.mark.parametrize("seed", range(6))
def test_the_rsd_matrix_keeps_the_monte_carlo_week_counts_and_fits_the_rotations(seed):
    problem = varied_problem(300 + seed, n=10, weeks=8)
    matrix = rsd_matrix(problem, seed=seed, draws=2000)
    weeks = rsd_chances(problem, seed=seed, stop=2000).counts
    np.testing.assert_array_equal(matrix.counts.sum(axis=2), weeks)
    assert (matrix.counts.sum(axis=0) <= problem.capacity * 2000).all()
    assert not (matrix.counts & ~problem.eligible).any()
    lottery = decomposition.decompose(matrix, demand=problem.demand, capacity=problem.capacity,
                                      eligible=problem.eligible)
    assert decomposition.verify(lottery, matrix, demand=problem.demand, capacity=problem.capacity,
                                eligible=problem.eligible) == []


@pytest.mark.parametrize("seed", range(6))
def test_trading_never_lowers_anyone_below_plain_rsd(seed):
    problem = varied_problem(400 + seed, n=10, weeks=8, listed=(2, 6))
    before = rsd_matrix(problem, seed=seed, draws=2000)
    after, traded = rsd_trading_matrix(problem, seed=seed, draws=2000)
    weights = happiness_weights(problem)
    own_before = (before.counts.sum(axis=2) * weights).sum(axis=1)
    own_after = (after.counts.sum(axis=2) * weights).sum(axis=1)
    assert (own_after >= own_before).all()
    np.testing.assert_array_equal(after.counts.sum(axis=(1, 2)), before.counts.sum(axis=(1, 2)))  # rows kept
    np.testing.assert_array_equal(after.counts.sum(axis=0), before.counts.sum(axis=0))  # slots kept
    assert traded.happiness_after >= traded.happiness_before


def test_lottery_options_are_checked():
    problem = varied_problem(1, n=4, weeks=4)
    with pytest.raises(ValueError, match="draws"):
        run("rsd_trading", problem, 1, draws=0)
    with pytest.raises(ValueError):
        run("probabilistic_serial", problem, 1, draws=10)
