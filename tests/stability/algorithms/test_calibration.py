"""Calibration of predicted_swap_requests (DESIGN §9): a weighted least-squares fit of requests per assignment."""

from __future__ import annotations

import numpy as np
import pytest

from stability.algorithms.calibration import calibrate_prediction
from stability.algorithms.types import FITTED, INSUFFICIENT_DATA


def test_exact_data_recovers_the_coefficients_with_r_squared_one():
    distance = np.array([0.0, 0.1, 0.25, 0.4, 0.8])
    assignments = np.array([100, 150, 80, 200, 120])
    requests = assignments * (0.08 + 0.6 * distance)
    result = calibrate_prediction(distance, assignments, requests)
    assert result.status == FITTED and result.samples == 5
    assert result.base == pytest.approx(0.08) and result.pressure == pytest.approx(0.6)
    assert result.r_squared == pytest.approx(1.0)


def test_noisy_data_gives_r_squared_below_one_and_close_coefficients():
    rng = np.random.default_rng(0)
    distance = rng.random(200)
    assignments = rng.integers(50, 500, size=200)
    requests = rng.poisson(assignments * (0.1 + 0.5 * distance))
    result = calibrate_prediction(distance, assignments, requests)
    assert 0.0 < result.r_squared < 1.0
    assert result.base == pytest.approx(0.1, abs=0.02) and result.pressure == pytest.approx(0.5, abs=0.04)


def test_larger_schedules_weigh_more():
    # Two schedules at distance 0 disagree; the one with 10× the assignments pulls the base towards its rate.
    result = calibrate_prediction([0.0, 0.0, 0.5], [1000, 100, 100], [100, 30, 35])
    assert result.base == pytest.approx((100 + 30) / 1100)


def test_fewer_than_two_distinct_distances_is_insufficient_data():
    result = calibrate_prediction([0.2, 0.2], [100, 50], [20, 10])
    assert result.status == INSUFFICIENT_DATA and result.base is None and result.r_squared is None
    assert result.samples == 2
    assert calibrate_prediction([], [], []).status == INSUFFICIENT_DATA


def test_observations_without_assignments_are_left_out():
    result = calibrate_prediction([0.0, 0.5, 0.9], [100, 100, 0], [10, 35, 0])
    assert result.samples == 2 and result.pressure == pytest.approx(0.5)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"^requests has 1 entries, expected 2 \(one per observation\)."):
        calibrate_prediction([0.1, 0.2], [10, 10], [1])
    with pytest.raises(ValueError, match=r"^distance must lie in \[0, 1\]"):
        calibrate_prediction([1.5, 0.2], [10, 10], [1, 1])
    with pytest.raises(ValueError, match="^assignments and requests must be non-negative counts."):
        calibrate_prediction([0.1, 0.2], [10, -10], [1, 1])
