"""Fair workloads from Shapley values: apportionment, over/underload, the fairness score, rebalancing moves, and
the coverage game's input checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairness.algorithms.game import coverage_game
from fairness.algorithms.workload import fairness_score, largest_remainders, recommendations, workload


def test_largest_remainders_by_hand():
    np.testing.assert_array_equal(largest_remainders([1, 1, 1], 10), [4, 3, 3])
    np.testing.assert_array_equal(largest_remainders([2.5, 0.5], 3), [3, 0])  # quotas 2.5, 0.5: tie to the lower
    np.testing.assert_array_equal(largest_remainders([0, 0], 0), [0, 0])
    with pytest.raises(ValueError, match="zero shares"):
        largest_remainders([0, 0], 3)
    with pytest.raises(ValueError, match="non-negative"):
        largest_remainders([-1, 2], 3)


@settings(max_examples=200, deadline=None)
@given(shares=st.lists(st.floats(0, 50, allow_nan=False), min_size=1, max_size=30), total=st.integers(0, 500))
def test_largest_remainders_sum_to_the_total_and_stay_within_one_of_the_quota(shares, total):
    shares = np.array(shares)
    if shares.sum() <= 0:
        return
    whole = largest_remainders(shares, total)
    quota = shares * total / shares.sum()
    assert whole.sum() == total
    assert (whole >= np.floor(quota + 1e-9) - 0).all() and (whole <= np.ceil(quota - 1e-9) + 1e-9).all()


def test_workload_flags_and_score_by_hand():
    result = workload([2, 1, 1], grand_value=4, total_demand=8, actual=[6, 1, 1])
    np.testing.assert_allclose(result.expected, [4, 2, 2])
    np.testing.assert_array_equal(result.expected_weeks, [4, 2, 2])
    np.testing.assert_allclose(result.deviation, [2, -1, -1])
    np.testing.assert_array_equal(result.over, [True, False, False])
    np.testing.assert_array_equal(result.under, [False, True, True])
    # shares 6/8, 1/8, 1/8 against 4/8, 2/8, 2/8: distance ½ (2 + 1 + 1) / 8 = 0.25
    assert result.fairness_score == pytest.approx(0.75)
    exact = workload([2, 1, 1], grand_value=4, total_demand=8, actual=[4, 2, 2])
    assert exact.fairness_score == 1 and not exact.over.any() and not exact.under.any()
    # 10 % either way is still fair; beyond it is not
    edge = workload([1, 1], grand_value=2, total_demand=20, actual=[11, 9])
    assert not edge.over.any() and not edge.under.any()
    assert workload([1, 1], grand_value=2, total_demand=20, actual=[12, 8]).over.tolist() == [True, False]


def test_no_schedule_or_no_coverage_has_no_score():
    assert fairness_score([1, 2], [0, 0]) is None
    assert workload([0, 0], grand_value=0, total_demand=5, actual=[1, 0]).fairness_score is None


@settings(max_examples=200, deadline=None)
@given(expected=st.lists(st.floats(0, 20, allow_nan=False), min_size=2, max_size=10),
       actual=st.lists(st.integers(0, 20), min_size=2, max_size=10))
def test_the_fairness_score_is_in_zero_one(expected, actual):
    m = min(len(expected), len(actual))
    score = fairness_score(expected[:m], actual[:m])
    assert score is None or 0 <= score <= 1


def test_recommendations_move_only_feasible_slots():
    # faculty 0 serves weeks 0–3; 1 may serve weeks 0 and 1 only and already serves week 0; 2 may serve all
    eligible = np.ones((3, 4, 1), dtype=bool)
    eligible[1, 2:] = False
    rows = np.array([[0, 0, 0], [0, 1, 0], [0, 2, 0], [0, 3, 0], [1, 0, 0]])
    moves = recommendations(eligible=eligible, assignments=rows, expected=[2, 2, 1], actual=[4, 1, 0])
    assert [(m.from_faculty, m.to_faculty) for m in moves] == [(0, 1), (0, 2)]  # equally short: lower index first
    to_one, to_two = moves
    assert to_one.slots == ((1, 0),) and to_one.amount == 1  # week 0 is busy for 1, weeks 2 and 3 ineligible
    assert to_two.slots == ((0, 0),) and to_two.amount == 1  # 2 is short by one week
    offered = [s for m in moves for s in m.slots]
    assert len(offered) == len(set(offered))


def test_coverage_game_refuses_bad_input_naming_the_argument():
    eligible = np.ones((2, 3, 1), dtype=bool)
    with pytest.raises(ValueError, match="eligible must be a"):
        coverage_game(np.ones((2, 3), dtype=bool), [1, 1], np.ones((3, 1)))
    with pytest.raises(ValueError, match="eligible must be boolean"):
        coverage_game(eligible.astype(int), [1, 1], np.ones((3, 1)))
    with pytest.raises(ValueError, match="load has shape"):
        coverage_game(eligible, [1], np.ones((3, 1)))
    with pytest.raises(ValueError, match="capacity has shape"):
        coverage_game(eligible, [1, 1], np.ones((2, 1)))
    with pytest.raises(ValueError, match="load must not be negative"):
        coverage_game(eligible, [1, -1], np.ones((3, 1)))
    with pytest.raises(ValueError, match="capacity must hold whole numbers"):
        coverage_game(eligible, [1, 1], np.full((3, 1), 0.5))
    game = coverage_game(eligible, np.array([1.0, 2.0]), np.ones((3, 1), dtype=np.int64))
    assert game.load.dtype == np.int64 and not game.load.flags.writeable
    np.testing.assert_array_equal(game.coverage_capacity(), [3, 3])
