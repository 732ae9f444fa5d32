"""The utility model's data factors (DESIGN §4) without the database: hand-solved cases and invariants."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from preferences.algorithms import factors as fx
from preferences.algorithms.utility import FACTORS, ORDINAL, build_utility_model, validate_weights, with_factors

NAN = math.nan
# A conference Monday 14 – Friday 18 September 2026, and the Mondays around it.
CONFERENCE = (dt.date(2026, 9, 14), dt.date(2026, 9, 18))
MONDAYS = [dt.date(2026, 8, 31) + dt.timedelta(weeks=k) for k in range(6)]  # 31 Aug, 7, 14, 21, 28 Sep, 5 Oct


def days(dates):
    return np.array([d.toordinal() for d in dates], dtype=np.int64)


def conference(n=1, owner=0):
    return {"owner": np.array([owner]), "start": days([CONFERENCE[0]]), "end": days([CONFERENCE[1]]), "n": n}


def test_distance_is_days_from_the_weeks_start_to_the_nearest_day_of_the_period():
    distance = fx.time_off_distance(days(MONDAYS), **conference())
    # 31 Aug → 14 Sep: 14 days; 7 Sep → 14 Sep: 7; 14 Sep inside: 0; 18 Sep → 21 Sep: 3; → 28 Sep: 10; → 5 Oct: 17.
    assert distance.tolist() == [[14, 7, 0, 3, 10, 17]]


def test_proximity_scores_within_7_days_0_2_within_14_days_0_5_otherwise_0_8():
    proximity = fx.time_off_proximity(fx.time_off_distance(days(MONDAYS), **conference()))
    assert proximity.tolist() == [[0.5, 0.2, 0.2, 0.2, 0.5, 0.8]]


def test_only_the_week_sharing_a_day_with_the_period_overlaps_it():
    overlap = fx.time_off_overlap(days(MONDAYS), **conference())
    assert overlap.tolist() == [[False, False, True, False, False, False]]
    # A week ending the day before a period starts does not overlap it; one ending on its first day does.
    sunday_start = {"owner": np.array([0]), "start": days([dt.date(2026, 9, 13)]), "end": days([dt.date(2026, 9, 13)]), "n": 1}
    assert fx.time_off_overlap(days(MONDAYS), **sunday_start).tolist() == [[False, True, False, False, False, False]]


def test_a_faculty_member_without_time_off_scores_exactly_one_half_everywhere():
    proximity = fx.time_off_proximity(fx.time_off_distance(days(MONDAYS), **conference(n=2, owner=1)))
    assert proximity[0].tolist() == [0.5] * 6
    assert proximity[1].tolist() == [0.5, 0.2, 0.2, 0.2, 0.5, 0.8]


def test_the_nearest_of_several_periods_counts():
    periods = {"owner": np.array([0, 0]), "start": days([dt.date(2026, 8, 3), dt.date(2026, 10, 20)]),
               "end": days([dt.date(2026, 8, 7), dt.date(2026, 10, 21)]), "n": 1}
    # 31 Aug: 24 days after 7 Aug, 50 before 20 Oct → 24; 5 Oct: 15 days before 20 Oct.
    assert fx.time_off_distance(days([MONDAYS[0], MONDAYS[5]]), **periods).tolist() == [[24, 15]]


def test_a_conference_week_next_to_a_ranked_week():
    """Ranked 7 Sep first and the conference week 14 Sep second: the conference week is blocked (utility 0, never
    eligible); 7 Sep keeps its score 1 and loses on proximity: 0.6·1 + 0.2·0.5 + 0.1·0.2 + 0.1·0.5 = 0.77."""
    reported = np.array([[NAN, 1, 2, NAN, NAN, NAN]])
    unavailable = fx.time_off_overlap(days(MONDAYS), **conference())
    proximity = fx.time_off_proximity(fx.time_off_distance(days(MONDAYS), **conference()))
    model = build_utility_model(
        preference_type=np.array([ORDINAL]), reported=reported, blocked=np.zeros((1, 6), dtype=bool),
        qualified=np.ones((1, 1), dtype=bool), rng=np.random.default_rng(0), unavailable=unavailable,
        factors={"time_off_proximity": proximity},
    )
    assert model.utility[0, 1] == pytest.approx(0.77)
    assert model.utility[0, 2] == 0.0 and model.blocked[0, 2] and not model.eligible[0, 2].any()
    assert not model.listed[0, 2] and model.listed[0, 1]
    # Unranked weeks: 0.6·0.5 + 0.1 + 0.1·proximity + 0.05.
    assert model.utility[0, [0, 3, 4, 5]] == pytest.approx([0.5, 0.47, 0.5, 0.53])
    assert model.rank[0, 1] == 1 and model.rank[0, 2] == 6


def test_time_off_stays_a_hard_exclusion_when_blocked_weeks_are_relaxed():
    unavailable = np.array([[False, True, False]])
    model = build_utility_model(
        preference_type=np.array([0]), reported=np.full((1, 3), NAN), blocked=np.array([[True, False, False]]),
        qualified=np.ones((1, 1), dtype=bool), rng=np.random.default_rng(0), unavailable=unavailable,
        blocked_is_hard=False,
    )
    assert model.eligible[0, :, 0].tolist() == [True, False, True]


def test_swapping_out_of_iso_week_52_three_years_running():
    """Held ISO week 52 three times and swapped out every time: 1 − 3 / (3 + 1) = 0.25. Held week 10 twice and kept
    it: 1. Never held week 30: no data, 0.5."""
    held = np.array([[3, 2, 0]])
    out = np.array([[3, 0, 0]])
    assert fx.swap_out_rate(held, out).tolist() == [[0.25, 1.0, 0.5]]


def test_swap_counts_beyond_the_times_held_are_refused():
    with pytest.raises(ValueError, match="no more than the times"):
        fx.swap_out_rate(np.array([[1]]), np.array([[2]]))


def test_workload_balance_of_loads_above_and_below_the_mean():
    # Mean 8: |2 − 8| = 6 → 0.4; |4 − 8| → 0.6; |6 − 8| → 0.8; |20 − 8| = 12 ≥ 10 → 0.
    assert fx.workload_balance(np.array([2, 4, 6, 20])) == pytest.approx([0.4, 0.6, 0.8, 0.0])
    assert fx.workload_balance(np.array([3, 3, 3])).tolist() == [1.0, 1.0, 1.0]


def test_iso_week_numbers_match_the_standard_library():
    dates = [dt.date(2020, 12, 28), dt.date(2021, 1, 4), dt.date(2026, 12, 21), dt.date(2026, 12, 28),
             dt.date(2027, 1, 4), dt.date(2015, 12, 28)]
    assert fx.iso_week_numbers(days(dates)).tolist() == [d.isocalendar().week for d in dates]


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)))
def test_iso_week_numbers_agree_with_isocalendar(day):
    assert fx.iso_week_numbers(days([day]))[0] == day.isocalendar().week


@st.composite
def data_factors(draw):
    n = draw(st.integers(1, 4))
    w = draw(st.integers(1, 6))
    unit = st.floats(0, 1)
    raw = draw(st.lists(st.floats(0, 10), min_size=4, max_size=4))
    total = sum(raw)
    weights = dict(zip(FACTORS, [r / total for r in raw], strict=True)) if total > 0 else {"preference": 1.0, **dict.fromkeys(FACTORS[1:], 0.0)}
    factors = {name: draw(arrays(float, (n, w), elements=unit)) for name in FACTORS[1:] if draw(st.booleans())}
    reported = draw(arrays(float, (n, w), elements=st.one_of(st.just(NAN), st.integers(0, 100).map(float))))
    blocked = draw(arrays(bool, (n, w))) & np.isnan(reported)
    unavailable = draw(arrays(bool, (n, w)))
    return n, w, weights, factors, reported, blocked, unavailable


@settings(max_examples=200, deadline=None)
@given(data_factors())
def test_every_utility_lies_in_0_1_and_no_data_scores_exactly_one_half(case):
    n, w, weights, factors, reported, blocked, unavailable = case
    types = np.where(np.isnan(reported).all(axis=1), 0, 2).astype(np.int8)  # cardinal where anything is listed
    try:
        weights = validate_weights(weights)
    except ValueError:  # the rounded weights missed 1 by more than the tolerance
        return
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-9)
    model = build_utility_model(
        preference_type=types, reported=reported, blocked=blocked, qualified=np.ones((n, 1), dtype=bool),
        rng=np.random.default_rng(0), factors=factors, weights=weights, unavailable=unavailable,
    )
    assert ((model.utility >= 0) & (model.utility <= 1)).all()
    for name in FACTORS[1:]:
        if name not in factors:
            assert (model.factors[name] == 0.5).all()
    assert (model.utility[unavailable] == 0).all() and not model.eligible[unavailable].any()
    # Replacing a factor by "no data" gives the model without it.
    for name in factors:
        cleared = with_factors(model, {name: np.full((n, w), 0.5)})
        rebuilt = build_utility_model(
            preference_type=types, reported=reported, blocked=blocked, qualified=np.ones((n, 1), dtype=bool),
            rng=np.random.default_rng(0), factors={k: v for k, v in factors.items() if k != name}, weights=weights,
            unavailable=unavailable,
        )
        assert np.array_equal(cleared.utility, rebuilt.utility)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=30))
def test_workload_balance_lies_in_0_1_and_is_1_at_the_mean(loads):
    balance = fx.workload_balance(np.array(loads))
    assert ((balance >= 0) & (balance <= 1)).all()
    if len(set(loads)) == 1:
        assert (balance == 1).all()


@settings(max_examples=200, deadline=None)
@given(arrays(np.int64, (3, 4), elements=st.integers(0, 5)), st.data())
def test_swap_out_rate_lies_in_0_1_and_is_one_half_without_history(held, data):
    out = np.minimum(held, data.draw(arrays(np.int64, (3, 4), elements=st.integers(0, 5))))
    rate = fx.swap_out_rate(held, out)
    assert ((rate > 0) & (rate <= 1)).all()
    assert (rate[held == 0] == 0.5).all()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(-40, 400), st.integers(0, 30)), max_size=6),
       st.integers(0, 300))
def test_proximity_takes_only_the_three_values_or_one_half_without_time_off(periods, first):
    starts = np.arange(10) * 7 + first + 700_000
    owner = np.array([p[0] for p in periods], dtype=np.int64)
    start = np.array([700_000 + p[1] for p in periods], dtype=np.int64)
    end = start + np.array([p[2] for p in periods], dtype=np.int64)
    proximity = fx.time_off_proximity(fx.time_off_distance(starts, owner=owner, start=start, end=end, n=3))
    for i in range(3):
        if i in owner.tolist():
            assert set(proximity[i].tolist()) <= {0.2, 0.5, 0.8}
        else:
            assert (proximity[i] == 0.5).all()
