"""The shared utility model (DESIGN §4), without the database: hand-solved cases, invariants, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preferences.algorithms.utility import (
    BINARY,
    CARDINAL,
    DEFAULT_WEIGHTS,
    FACTORS,
    NONE,
    ORDINAL,
    build_utility_model,
    validate_weights,
)

NAN = math.nan


def build(reported, *, types, blocked=None, qualified=None, seed=0, **kwargs):
    """The model for small literal instances: rows of reported values (None = unlisted)."""
    reported = np.array([[NAN if v is None else v for v in row] for row in reported], dtype=float)
    n, n_weeks = reported.shape
    blocked = np.zeros((n, n_weeks), dtype=bool) if blocked is None else np.array(blocked, dtype=bool)
    qualified = np.ones((n, 1), dtype=bool) if qualified is None else np.array(qualified, dtype=bool)
    return build_utility_model(
        preference_type=np.array(types), reported=reported, blocked=blocked, qualified=qualified,
        rng=np.random.default_rng(seed), **kwargs,
    )


def neutral_utility(score: float) -> float:
    """Default weights with every non-preference factor missing (each scores 0.5)."""
    return 0.60 * score + (0.20 + 0.10 + 0.10) * 0.5


# --- hand-solved scores ------------------------------------------------------------------------

def test_ordinal_rank_r_of_m_scores_one_minus_half_of_r_minus_one_over_m():
    # Weeks 0..4; ranks: week 2 first, week 0 second, week 4 third (M = 3); week 3 blocked; week 1 unranked.
    model = build([[2, None, 1, None, 3]], types=[ORDINAL], blocked=[[0, 0, 0, 1, 0]])
    np.testing.assert_allclose(model.score[0], [1 - 0.5 / 3, 0.5, 1.0, 0.0, 1 - 1.0 / 3])


def test_rank_one_scores_exactly_one_and_a_single_ranked_week_is_not_diluted():
    model = build([[None, 1, None]], types=[ORDINAL])
    assert model.score[0, 1] == 1.0
    np.testing.assert_array_equal(model.score[0], [0.5, 1.0, 0.5])


def test_the_last_of_many_ranks_still_scores_above_neutral():
    m = 40
    model = build([list(range(1, m + 1)) + [None]], types=[ORDINAL])
    assert model.score[0, m - 1] == pytest.approx(1 - 0.5 * (m - 1) / m)
    assert model.score[0, m - 1] > 0.5
    assert model.score[0, m] == 0.5


def test_cardinal_value_v_scores_v_over_100_and_unlisted_weeks_are_neutral():
    model = build([[0, 100, 37, None, None]], types=[CARDINAL], blocked=[[0, 0, 0, 0, 1]])
    np.testing.assert_allclose(model.score[0], [0.0, 1.0, 0.37, 0.5, 0.0])


def test_a_cardinal_zero_is_a_low_value_not_a_block():
    model = build([[0, None]], types=[CARDINAL])
    assert model.score[0, 0] == 0.0
    assert not model.blocked[0, 0]
    assert model.eligible[0, 0, 0]
    assert model.utility[0, 0] == pytest.approx(neutral_utility(0.0))


def test_binary_accept_scores_one_reject_scores_zero_and_is_blocked_unlisted_is_neutral():
    model = build([[1, 0, None]], types=[BINARY])
    np.testing.assert_array_equal(model.score[0], [1.0, 0.0, 0.5])
    np.testing.assert_array_equal(model.blocked[0], [False, True, False])
    np.testing.assert_array_equal(model.eligible[0, :, 0], [True, False, True])
    assert model.utility[0, 1] == 0.0


def test_faculty_without_a_submission_are_neutral_on_every_unblocked_week():
    model = build([[None, None, None]], types=[NONE], blocked=[[0, 1, 0]])
    np.testing.assert_array_equal(model.score[0], [0.5, 0.0, 0.5])
    np.testing.assert_array_equal(model.blocked[0], [False, True, False])


def test_a_blocked_week_scores_zero_under_every_preference_type():
    blocked = [[0, 1]] * 4
    model = build([[None, None], [1, None], [50, None], [1, None]], types=[NONE, ORDINAL, CARDINAL, BINARY], blocked=blocked)
    np.testing.assert_array_equal(model.score[:, 1], 0.0)
    np.testing.assert_array_equal(model.utility[:, 1], 0.0)


# --- hand-solved utilities ---------------------------------------------------------------------

def test_default_weights_are_the_documented_ones():
    assert DEFAULT_WEIGHTS == {"preference": 0.60, "workload_balance": 0.20, "time_off_proximity": 0.10, "swap_out_rate": 0.10}
    assert FACTORS == ("preference", "workload_balance", "time_off_proximity", "swap_out_rate")


def test_utility_with_default_weights_scores_missing_factors_as_neutral():
    model = build([[1, 2, None, None]], types=[ORDINAL], blocked=[[0, 0, 0, 1]])
    # s = (1, 0.75, 0.5, blocked) -> u = 0.6 s + 0.2·0.5 + 0.1·0.5 + 0.1·0.5
    np.testing.assert_allclose(model.utility[0], [0.8, 0.65, 0.5, 0.0])
    np.testing.assert_allclose(model.utility[0, :3], [neutral_utility(s) for s in (1.0, 0.75, 0.5)])


def test_utility_is_the_weighted_sum_of_the_given_factors():
    workload = np.array([[0.0, 1.0, 0.25]])
    time_off = np.array([[1.0, 0.0, 0.5]])
    model = build([[30, 80, None]], types=[CARDINAL], factors={"workload_balance": workload, "time_off_proximity": time_off})
    s = np.array([0.3, 0.8, 0.5])
    expected = 0.60 * s + 0.20 * workload[0] + 0.10 * time_off[0] + 0.10 * 0.5
    np.testing.assert_allclose(model.utility[0], expected)


def test_a_factor_given_as_none_counts_as_missing():
    with_none = build([[30, None]], types=[CARDINAL], factors={"swap_out_rate": None})
    without = build([[30, None]], types=[CARDINAL])
    np.testing.assert_array_equal(with_none.utility, without.utility)


def test_custom_weights_replace_the_defaults():
    weights = {"preference": 1.0, "workload_balance": 0.0, "time_off_proximity": 0.0, "swap_out_rate": 0.0}
    model = build([[2, 1, None]], types=[ORDINAL], weights=weights)
    np.testing.assert_allclose(model.utility, model.score)
    weights = {"preference": 0.5, "workload_balance": 0.5, "time_off_proximity": 0.0, "swap_out_rate": 0.0}
    model = build([[100, 0]], types=[CARDINAL], weights=weights, factors={"workload_balance": np.array([[0.0, 1.0]])})
    np.testing.assert_allclose(model.utility[0], [0.5, 0.5])


@pytest.mark.parametrize(
    "weights",
    [
        {name: part / 150 for name, part in zip(FACTORS, (39, 38, 38, 35), strict=True)},  # sums to 1 + 2e-16 in floats
        {"preference": 0.6 + 5e-10},  # accepted: within the 1e-9 tolerance of summing to 1
    ],
    ids=["rounding", "tolerance"],
)
def test_utility_never_exceeds_one_when_accepted_weights_sum_to_slightly_over_one(weights):
    ones = np.ones((1, 1))
    model = build([[1]], types=[ORDINAL], weights=weights, factors=dict.fromkeys(FACTORS[1:], ones))
    assert model.utility[0, 0] <= 1.0
    assert model.utility[0, 0] == pytest.approx(1.0)


def test_blocked_utility_is_zero_even_when_other_factors_are_high():
    ones = np.ones((1, 2))
    model = build(
        [[None, None]], types=[NONE], blocked=[[1, 0]],
        factors={"workload_balance": ones, "time_off_proximity": ones, "swap_out_rate": ones},
    )
    assert model.utility[0, 0] == 0.0
    assert model.utility[0, 1] == pytest.approx(0.6 * 0.5 + 0.4)


# --- hand-solved order and eligibility ---------------------------------------------------------

def test_the_strict_order_follows_the_ranks_then_neutral_weeks_then_blocked_weeks():
    model = build([[2, None, 1, None, 3]], types=[ORDINAL], blocked=[[0, 0, 0, 1, 0]])
    np.testing.assert_array_equal(model.order[0], [2, 0, 4, 1, 3])
    np.testing.assert_array_equal(model.rank[0], [2, 4, 1, 5, 3])


def test_eligibility_is_qualified_and_not_blocked():
    # Faculty 0 qualified for rotation 0 only; faculty 1 for both; week 1 blocked for faculty 0, rejected by faculty 1.
    model = build(
        [[None, None, None], [None, 0, 1]], types=[NONE, BINARY],
        blocked=[[0, 1, 0], [0, 0, 0]], qualified=[[1, 0], [1, 1]],
    )
    expected = np.array([
        [[True, False], [False, False], [True, False]],
        [[True, True], [False, False], [True, True]],
    ])
    np.testing.assert_array_equal(model.eligible, expected)
    assert model.shape == (2, 3, 2)


def test_relaxed_blocking_keeps_blocked_weeks_eligible_at_utility_zero():
    model = build(
        [[None, None, None], [None, 0, 1]], types=[NONE, BINARY],
        blocked=[[0, 1, 0], [0, 0, 0]], qualified=[[1, 0], [1, 1]], blocked_is_hard=False,
    )
    qualified = np.array([[1, 0], [1, 1]], dtype=bool)
    np.testing.assert_array_equal(model.eligible, np.broadcast_to(qualified[:, None, :], (2, 3, 2)))
    assert model.utility[0, 1] == 0.0 and model.utility[1, 1] == 0.0
    assert model.score[0, 1] == 0.0 and model.score[1, 1] == 0.0
    np.testing.assert_array_equal(model.blocked, [[False, True, False], [False, True, False]])


def test_the_model_arrays_are_read_only():
    model = build([[1, None]], types=[ORDINAL])
    for array in (model.score, model.utility, model.blocked, model.order, model.rank, model.eligible):
        with pytest.raises(ValueError):
            array[0, 0] = 0


# --- tie-breaking ------------------------------------------------------------------------------

def test_the_same_seed_gives_the_same_order_and_different_seeds_break_ties_differently():
    reported = [[None] * 10, [1, None, None, 2, None, None, None, None, None, None]]
    first = build(reported, types=[NONE, ORDINAL], seed=7)
    again = build(reported, types=[NONE, ORDINAL], seed=7)
    np.testing.assert_array_equal(first.order, again.order)
    orders = {tuple(build(reported, types=[NONE, ORDINAL], seed=seed).order[0]) for seed in range(20)}
    assert len(orders) > 1
    # Ties never override the score: the two ranked weeks always lead.
    for seed in range(20):
        assert list(build(reported, types=[NONE, ORDINAL], seed=seed).order[1, :2]) == [0, 3]


def test_ties_are_not_broken_in_calendar_order():
    """An all-neutral faculty member's first week is week 0 about 1/W of the time, not always."""
    n_weeks, draws = 10, 2000
    firsts = np.array([
        build([[None] * n_weeks], types=[NONE], seed=seed).order[0, 0] for seed in range(draws)
    ])
    share_first_week = np.mean(firsts == 0)
    assert 0.05 < share_first_week < 0.15  # 1/W = 0.10; the bound is ~7 standard errors wide
    shares = np.bincount(firsts, minlength=n_weeks) / draws
    assert shares.min() > 0.05 and shares.max() < 0.15  # every week leads about equally often


def test_ties_are_broken_independently_for_each_faculty_member():
    model = build([[None] * 12] * 30, types=[NONE] * 30, seed=3)
    assert len({tuple(row) for row in model.order}) > 1


# --- properties on random instances ------------------------------------------------------------

@st.composite
def instances(draw, *, max_faculty: int = 6, max_weeks: int = 12, max_rotations: int = 3):
    """A valid random year: every report type, blocked masks, qualifications, optional factors and weights."""
    n = draw(st.integers(1, max_faculty))
    n_weeks = draw(st.integers(1, max_weeks))
    n_rot = draw(st.integers(1, max_rotations))
    types = draw(st.lists(st.sampled_from([NONE, ORDINAL, CARDINAL, BINARY]), min_size=n, max_size=n))
    reported = np.full((n, n_weeks), NAN)
    blocked = np.zeros((n, n_weeks), dtype=bool)
    for i, kind in enumerate(types):
        blocked[i] = draw(st.lists(st.booleans(), min_size=n_weeks, max_size=n_weeks))
        free = [w for w in range(n_weeks) if not blocked[i, w]]
        if kind == NONE or not free:
            continue
        listed = draw(st.permutations(free))[: draw(st.integers(0, len(free)))]
        if kind == ORDINAL:
            reported[i, listed] = np.arange(1, len(listed) + 1)
        elif kind == CARDINAL:
            values = st.one_of(st.integers(0, 100), st.floats(0, 100, allow_nan=False))
            reported[i, listed] = draw(st.lists(values, min_size=len(listed), max_size=len(listed)))
        else:
            reported[i, listed] = draw(st.lists(st.sampled_from([0, 1]), min_size=len(listed), max_size=len(listed)))
    qualified = np.array(draw(st.lists(st.lists(st.booleans(), min_size=n_rot, max_size=n_rot), min_size=n, max_size=n)))
    factors = {}
    for name in FACTORS[1:]:
        if draw(st.booleans()):
            flat = draw(st.lists(st.floats(0, 1), min_size=n * n_weeks, max_size=n * n_weeks))
            factors[name] = np.array(flat).reshape(n, n_weeks)
    weights = None
    if draw(st.booleans()):
        parts = draw(st.lists(st.integers(0, 100), min_size=len(FACTORS), max_size=len(FACTORS)).filter(any))
        weights = {name: part / sum(parts) for name, part in zip(FACTORS, parts, strict=True)}
    return {
        "preference_type": np.array(types, dtype=np.int8), "reported": reported, "blocked": blocked,
        "qualified": qualified, "factors": factors, "weights": weights,
        "blocked_is_hard": draw(st.booleans()), "seed": draw(st.integers(0, 2**32 - 1)),
    }


def model_of(instance, seed=None):
    kwargs = {k: v for k, v in instance.items() if k != "seed"}
    return build_utility_model(rng=np.random.default_rng(instance["seed"] if seed is None else seed), **kwargs)


@settings(max_examples=300, deadline=None)
@given(instances())
def test_scores_and_utilities_lie_in_the_unit_interval(instance):
    model = model_of(instance)
    assert ((model.score >= 0) & (model.score <= 1)).all()
    assert ((model.utility >= 0) & (model.utility <= 1)).all()
    assert (model.score[model.blocked] == 0).all()
    assert (model.utility[model.blocked] == 0).all()


@settings(max_examples=300, deadline=None)
@given(instances())
def test_ordinal_listed_scores_exceed_neutral_and_strictly_decrease_with_rank(instance):
    model = model_of(instance)
    reported = instance["reported"]
    for i in np.flatnonzero(instance["preference_type"] == ORDINAL):
        listed = np.flatnonzero(~np.isnan(reported[i]))
        by_rank = listed[np.argsort(reported[i, listed])]
        scores = model.score[i, by_rank]
        assert (scores > 0.5).all()
        assert (np.diff(scores) < 0).all()
        np.testing.assert_allclose(scores, 1 - 0.5 * np.arange(len(listed)) / max(len(listed), 1))


@settings(max_examples=300, deadline=None)
@given(instances())
def test_each_order_is_a_permutation_sorted_by_score_and_rank_is_its_inverse(instance):
    model = model_of(instance)
    n, n_weeks = model.score.shape
    np.testing.assert_array_equal(np.sort(model.order, axis=1), np.broadcast_to(np.arange(n_weeks), (n, n_weeks)))
    positions = np.broadcast_to(np.arange(1, n_weeks + 1), (n, n_weeks))
    np.testing.assert_array_equal(np.take_along_axis(model.rank, model.order, axis=1), positions)
    along = np.take_along_axis(model.score, model.order, axis=1)
    assert (np.diff(along, axis=1) <= 0).all()


@settings(max_examples=300, deadline=None)
@given(instances())
def test_eligibility_is_exactly_qualified_and_not_blocked_unless_relaxed(instance):
    model = model_of(instance)
    qualified = instance["qualified"][:, None, :]
    if instance["blocked_is_hard"]:
        np.testing.assert_array_equal(model.eligible, qualified & ~model.blocked[:, :, None])
        assert not (model.eligible & model.blocked[:, :, None]).any()
    else:
        np.testing.assert_array_equal(model.eligible, np.broadcast_to(qualified, model.eligible.shape))
    assert not (model.eligible & ~qualified).any()


@settings(max_examples=300, deadline=None)
@given(instances())
def test_the_blocked_mask_is_the_reported_blocks_plus_binary_rejects(instance):
    model = model_of(instance)
    rejects = (instance["preference_type"] == BINARY)[:, None] & (instance["reported"] == 0)
    np.testing.assert_array_equal(model.blocked, instance["blocked"] | rejects)


@settings(max_examples=200, deadline=None)
@given(instances())
def test_the_same_seed_always_gives_the_same_model(instance):
    first, second = model_of(instance), model_of(instance)
    for name in ("score", "utility", "blocked", "order", "rank", "eligible"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name))


@settings(max_examples=200, deadline=None)
@given(instances(), st.integers(0, 2**32 - 1))
def test_the_seed_only_reorders_weeks_of_equal_score(instance, other_seed):
    first, second = model_of(instance), model_of(instance, seed=other_seed)
    np.testing.assert_array_equal(first.score, second.score)
    np.testing.assert_array_equal(first.utility, second.utility)
    np.testing.assert_array_equal(
        np.take_along_axis(first.score, first.order, axis=1), np.take_along_axis(second.score, second.order, axis=1)
    )


# --- validation --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("types", "reported", "blocked", "message"),
    [
        ([ORDINAL], [[1, 1, None]], None, "unique and run 1..M without gaps"),
        ([ORDINAL], [[1, 3, None]], None, "unique and run 1..M without gaps"),
        ([ORDINAL], [[2, None, None]], None, "unique and run 1..M without gaps"),
        ([ORDINAL], [[0, 1, None]], None, "unique and run 1..M without gaps"),
        ([ORDINAL], [[1, 1.5, None]], None, "unique and run 1..M without gaps"),
        ([CARDINAL], [[101, None, None]], None, "Cardinal values must lie in 0..100"),
        ([CARDINAL], [[-0.5, None, None]], None, "Cardinal values must lie in 0..100"),
        ([BINARY], [[0.5, None, None]], None, r"Binary entries must be 0 \(reject\) or 1 \(accept\)"),
        ([BINARY], [[2, None, None]], None, r"Binary entries must be 0 \(reject\) or 1 \(accept\)"),
        ([ORDINAL], [[1, None, None]], [[1, 0, 0]], "both listed and blocked"),
        ([CARDINAL], [[None, 40, None]], [[0, 1, 0]], "both listed and blocked"),
        ([NONE], [[None, 40, None]], None, "without a submission cannot have reported entries"),
        ([9], [[None, None, None]], None, "preference_type codes must be"),
    ],
    ids=[
        "duplicate-ranks", "gapped-ranks", "ranks-not-from-1", "rank-0", "fractional-rank", "value-above-100",
        "value-below-0", "binary-half", "binary-2", "ranked-and-blocked", "valued-and-blocked",
        "entries-without-type", "unknown-type",
    ],
)
def test_invalid_reports_raise_value_error_with_a_helpful_message(types, reported, blocked, message):
    with pytest.raises(ValueError, match=message):
        build(reported, types=types, blocked=blocked)


def test_a_valid_report_in_the_same_batch_does_not_hide_an_invalid_one():
    with pytest.raises(ValueError, match="without gaps"):
        build([[1, 2, None], [1, 1, None]], types=[ORDINAL, ORDINAL])


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"seniority": 0.1}, "Unknown utility factor.*seniority.*known factors are preference"),
        ({"preference": 0.8, "workload_balance": -0.2, "time_off_proximity": 0.2, "swap_out_rate": 0.2}, "non-negative"),
        ({"preference": 0.7}, r"must sum to 1 \(they sum to 1\.1\)"),
        ({"preference": float("nan")}, "finite"),
        ({"preference": None}, "preference.*number"),
        ({"preference": "lots"}, "preference.*number"),
    ],
    ids=["unknown-name", "negative", "not-summing-to-1", "nan", "none", "text"],
)
def test_bad_weights_raise_value_error_with_a_helpful_message(weights, message):
    with pytest.raises(ValueError, match=message):
        validate_weights(weights)
    with pytest.raises(ValueError, match=message):
        build([[None]], types=[NONE], weights=weights)


def test_partial_weights_are_merged_with_the_defaults():
    merged = validate_weights({"preference": 0.5, "workload_balance": 0.3})
    assert merged == {"preference": 0.5, "workload_balance": 0.3, "time_off_proximity": 0.10, "swap_out_rate": 0.10}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"factors": {"workload_balance": np.full((1, 2), 1.5)}}, "Factor workload_balance must lie in"),
        ({"factors": {"workload_balance": np.full((1, 2), NAN)}}, "Factor workload_balance must lie in"),
        ({"factors": {"swap_out_rate": np.full((1, 3), 0.5)}}, r"Factor swap_out_rate has shape \(1, 3\), expected \(1, 2\)"),
        ({"blocked": np.zeros((1, 3), dtype=bool)}, r"blocked has shape \(1, 3\), expected \(1, 2\)"),
        ({"qualified": np.ones((2, 1), dtype=bool)}, r"qualified must have shape \(1, R\)"),
        ({"preference_type": np.array([NONE, NONE])}, r"preference_type has shape \(2,\), expected \(1,\)"),
    ],
    ids=["factor-above-1", "factor-nan", "factor-shape", "blocked-shape", "qualified-shape", "type-shape"],
)
def test_malformed_arrays_raise_value_error_naming_the_array(kwargs, message):
    arguments = {
        "preference_type": np.array([NONE]), "reported": np.full((1, 2), NAN), "blocked": np.zeros((1, 2), dtype=bool),
        "qualified": np.ones((1, 1), dtype=bool), "rng": np.random.default_rng(0),
    }
    with pytest.raises(ValueError, match=message):
        build_utility_model(**{**arguments, **kwargs})


# --- scale -------------------------------------------------------------------------------------

def test_a_3000_by_52_year_builds_in_one_vectorised_step():
    rng = np.random.default_rng(2026)
    n, n_weeks, n_rot = 3000, 52, 3
    types = rng.integers(0, 4, size=n).astype(np.int8)
    blocked = rng.random((n, n_weeks)) < 0.1
    reported = np.full((n, n_weeks), NAN)
    for i in range(n):
        free = np.flatnonzero(~blocked[i])
        listed = rng.permutation(free)[: rng.integers(0, len(free) + 1)]
        if types[i] == ORDINAL:
            reported[i, listed] = np.arange(1, len(listed) + 1)
        elif types[i] == CARDINAL:
            reported[i, listed] = rng.integers(0, 101, size=len(listed))
        elif types[i] == BINARY:
            reported[i, listed] = rng.integers(0, 2, size=len(listed))
    qualified = rng.random((n, n_rot)) < 0.7
    model = build_utility_model(
        preference_type=types, reported=reported, blocked=blocked, qualified=qualified, rng=np.random.default_rng(1),
        factors={"workload_balance": rng.random((n, n_weeks))},
    )
    assert model.shape == (n, n_weeks, n_rot)
    assert model.order.shape == model.rank.shape == model.score.shape == model.utility.shape == (n, n_weeks)
    np.testing.assert_array_equal(np.sort(model.order, axis=1), np.broadcast_to(np.arange(n_weeks), (n, n_weeks)))
    assert (np.diff(np.take_along_axis(model.score, model.order, axis=1), axis=1) <= 0).all()
    assert ((model.utility >= 0) & (model.utility <= 1)).all()
