"""Replicator dynamics of swap-request strategies (DESIGN §9): fitness = success rate − mean success rate."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stability.algorithms.replicator import fitness, replicator_step


def test_a_step_follows_the_formula_with_the_frequency_weighted_mean():
    x = np.array([0.5, 0.3, 0.2])
    f = np.array([0.6, 0.2, 0.1])
    mean = 0.5 * 0.6 + 0.3 * 0.2 + 0.2 * 0.1  # 0.38
    expected = x + x * (f - mean)
    assert replicator_step(x, f).tolist() == pytest.approx((expected / expected.sum()).tolist())
    fit, growth = fitness(x, f)
    assert fit.tolist() == pytest.approx((f - mean).tolist())
    assert growth.tolist() == pytest.approx((x * (f - mean)).tolist())


def test_above_mean_strategies_grow_and_below_mean_ones_shrink():
    x = np.array([0.25, 0.25, 0.25, 0.25])
    f = np.array([0.9, 0.5, 0.4, 0.1])
    new = replicator_step(x, f)
    assert new[0] > x[0] and new[3] < x[3]
    assert new.sum() == pytest.approx(1.0)


def test_equal_success_rates_are_a_rest_point():
    x = np.array([0.7, 0.2, 0.1])
    assert replicator_step(x, np.full(3, 0.4)).tolist() == pytest.approx(x.tolist())


def test_an_unused_strategy_stays_unused():
    new = replicator_step(np.array([0.0, 0.6, 0.4]), np.array([1.0, 0.2, 0.1]))
    assert new[0] == 0.0


def test_a_large_step_is_clipped_at_zero_and_renormalised():
    new = replicator_step(np.array([0.5, 0.5]), np.array([1.0, 0.0]), dt=10.0)
    assert new.tolist() == [1.0, 0.0]


def test_unnormalised_counts_are_normalised_first():
    assert replicator_step(np.array([2.0, 2.0]), np.array([0.5, 0.5])).tolist() == [0.5, 0.5]


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"^success_rate has 2 entries, expected 3 \(one per strategy\)."):
        replicator_step(np.ones(3) / 3, np.ones(2))
    with pytest.raises(ValueError, match="^frequency must be non-negative with a positive sum"):
        replicator_step(np.array([-0.1, 1.1]), np.ones(2))
    with pytest.raises(ValueError, match="^dt must be ≥ 0, got -1.0."):
        replicator_step(np.ones(2) / 2, np.ones(2), dt=-1.0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), min_size=1, max_size=8), st.floats(0, 5))
def test_hypothesis_a_step_keeps_a_distribution_and_orders_growth_by_fitness(pairs, dt):
    x = np.array([p[0] for p in pairs]) + 1e-3
    f = np.array([p[1] for p in pairs])
    new = replicator_step(x, f, dt=dt)
    assert (new >= 0).all() and new.sum() == pytest.approx(1.0)
    x = x / x.sum()
    mean = x @ f
    grew = new > x * (1 + 1e-12)
    assert not (grew & (f < mean - 1e-12)).any()
