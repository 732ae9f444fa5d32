"""Shapley values of the coverage game: the axioms, brute force over all orders, the closed form when no cap binds,
a hand-solved case where a load cap binds, Monte Carlo intervals at their stated rate, and exact chunk merging."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairness.algorithms.flow import IncrementalFlow
from fairness.algorithms.game import FlowOracle, coverage_game
from fairness.algorithms.shapley import (
    EXACT,
    MONTE_CARLO,
    closed_form,
    coalition_values,
    exact_shapley,
    marginals_along,
    pair_orders,
    pair_ranges,
    sample_sums,
    shapley,
    shapley_of_values,
)
from tests.fairness.algorithms.games import demo_like_game, random_game, uncapped_game


def mask_of(members, n):
    return np.isin(np.arange(n), list(members))


def brute_force_shapley(game) -> np.ndarray:
    """The average marginal contribution over all n! orders, each v(S) a fresh maximum flow."""
    n = game.n_faculty
    oracle = FlowOracle(game)
    cache = {}

    def v(members):
        key = frozenset(members)
        if key not in cache:
            cache[key] = oracle.value(mask_of(key, n))
        return cache[key]

    total = np.zeros(n)
    for order in itertools.permutations(range(n)):
        before: list[int] = []
        for i in order:
            total[i] += v(before + [i]) - v(before)
            before.append(i)
    return total / math.factorial(n)


@pytest.mark.parametrize("seed", range(30))
def test_exact_equals_the_brute_force_average_over_all_orders(seed):
    rng = np.random.default_rng(seed)
    game = random_game(rng, n=int(rng.integers(1, 8)), weeks=int(rng.integers(1, 5)), rotations=int(rng.integers(1, 4)))
    np.testing.assert_allclose(exact_shapley(game).phi, brute_force_shapley(game), atol=1e-9)


@pytest.mark.parametrize("seed", range(40))
def test_every_coalition_value_equals_a_fresh_max_flow(seed):
    """The depth-first walk with its undo journal gives v(S) of every coalition exactly."""
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(1, 8))
    game = random_game(rng, n=n, weeks=int(rng.integers(1, 6)), rotations=int(rng.integers(1, 4)), load=(0, 4))
    oracle = FlowOracle(game)
    values = coalition_values(game)
    for mask in range(1 << n):
        assert values[mask] == oracle.value(np.array([(mask >> i) & 1 for i in range(n)], dtype=bool)), mask


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12), weeks=st.integers(1, 8), rotations=st.integers(1, 3))
def test_the_incremental_marginal_equals_a_fresh_max_flow_on_random_prefixes(seed, n, weeks, rotations):
    rng = np.random.default_rng(seed)
    game = random_game(rng, n=n, weeks=weeks, rotations=rotations, load=(0, 5), capacity=(0, 3))
    oracle = FlowOracle(game)
    order = rng.permutation(n)
    flow = IncrementalFlow(game)
    for t, j in enumerate(order):
        before = oracle.value(mask_of(order[:t], n))
        assert flow.join(int(j)) == oracle.value(mask_of(order[:t + 1], n)) - before
        assert flow.value == oracle.value(mask_of(order[:t + 1], n))
    _assert_flow_is_feasible(game, flow)


def _assert_flow_is_feasible(game, flow):
    """Loads, one slot per week, eligibility and seats hold in the flow's state."""
    n_rot = game.n_rotations
    held = np.zeros(game.capacity.size, dtype=np.int64)
    for i, serving in enumerate(flow.serving):
        assert len(serving) == flow.load[i] <= game.load[i]
        for w, s in serving.items():
            assert s // n_rot == w and game.eligible[i, w, s % n_rot]
            held[s] += 1
    assert (held <= game.capacity.reshape(-1)).all()
    assert held.sum() == flow.value


@pytest.mark.parametrize("seed", range(20))
def test_efficiency_symmetry_and_null_player(seed):
    rng = np.random.default_rng(200 + seed)
    game = random_game(rng, n=6, weeks=4, rotations=2, load=(1, 3))
    # faculty 6 copies faculty 0 exactly; faculty 7 is eligible for nothing (a null player)
    eligible = np.concatenate([game.eligible, game.eligible[:1], np.zeros_like(game.eligible[:1])])
    load = np.concatenate([game.load, game.load[:1], [3]])
    twin = coverage_game(eligible, load, game.capacity)
    result = exact_shapley(twin)
    assert result.phi.sum() == pytest.approx(result.grand_value)  # efficiency: Σφ = v(N)
    assert result.grand_value == FlowOracle(twin).value(np.ones(8, dtype=bool))
    assert result.phi[6] == pytest.approx(result.phi[0])  # symmetry
    assert result.phi[7] == 0  # null player
    assert (result.phi >= -1e-12).all()


@pytest.mark.parametrize("seed", range(10))
def test_additivity(seed):
    """φ(v + w) = φ(v) + φ(w) for two coverage games on the same faculty; and a year whose halves share no
    faculty capacity (loads of every week) is the sum of the two half-years' games."""
    rng = np.random.default_rng(300 + seed)
    first = random_game(rng, n=5, weeks=3, rotations=2)
    second = random_game(rng, n=5, weeks=4, rotations=1)
    v, w = coalition_values(first), coalition_values(second)
    np.testing.assert_allclose(shapley_of_values(v + w)[0], exact_shapley(first).phi + exact_shapley(second).phi)

    a, b = uncapped_game(seed, n=5, weeks=3), uncapped_game(seed + 50, n=5, weeks=4)
    joined = coverage_game(np.concatenate([a.eligible, b.eligible], axis=1), a.load + b.load,
                           np.concatenate([a.capacity, b.capacity]))
    np.testing.assert_allclose(exact_shapley(joined).phi, exact_shapley(a).phi + exact_shapley(b).phi)


def test_a_binding_load_cap_changes_the_answer_as_solved_by_hand():
    """One rotation, three weeks of one seat. A may serve all three, B only week 0.

    Without a cap on A (load 3): v(A) = 3, v(B) = 1, v(AB) = 3, so φ = ((3 + 2) / 2, (1 + 0) / 2) = (2.5, 0.5),
    which is also the closed form (week 0 split, weeks 1 and 2 A's). With A's load capped at 1: v(A) = 1,
    v(B) = 1, v(AB) = 2 and φ = (1, 1): A's many weeks are worth nothing beyond the one they can serve."""
    eligible = np.array([[True, True, True], [True, False, False]])[:, :, None]
    capacity = np.ones((3, 1), dtype=np.int64)
    free = coverage_game(eligible, [3, 1], capacity)
    np.testing.assert_allclose(exact_shapley(free).phi, [2.5, 0.5])
    np.testing.assert_allclose(closed_form(free), [2.5, 0.5])
    capped = coverage_game(eligible, [1, 1], capacity)
    np.testing.assert_allclose(exact_shapley(capped).phi, [1.0, 1.0])
    assert not np.allclose(closed_form(capped), exact_shapley(capped).phi)


@pytest.mark.parametrize("seed", range(5))
def test_the_closed_form_on_small_uncapped_games_is_exact(seed):
    game = uncapped_game(seed, n=9, weeks=6)
    np.testing.assert_allclose(exact_shapley(game).phi, closed_form(game), atol=1e-9)


@pytest.mark.parametrize("n", [30, 60, 100])
def test_monte_carlo_agrees_with_the_closed_form_at_scale(n):
    """The large-scale oracle: with no binding cap, the closed form is φ; the sampled intervals hold it (at 95 %
    per faculty, so allow a few misses) and the estimates add up to v(N) exactly."""
    game = uncapped_game(n, n=n, weeks=12)
    result = shapley(game, method=MONTE_CARLO, samples=1_000, seed=n)
    truth = closed_form(game)
    assert result.method == MONTE_CARLO and result.samples == 1_000
    assert result.phi.sum() == pytest.approx(result.grand_value)
    assert result.grand_value == FlowOracle(game).value(np.ones(n, dtype=bool))
    inside = (result.ci_low - 1e-9 <= truth) & (truth <= result.ci_high + 1e-9)
    assert inside.mean() >= 0.85, (inside.mean(), np.flatnonzero(~inside))
    assert np.abs(result.phi - truth).max() < 0.5


def test_monte_carlo_intervals_cover_the_exact_value_at_about_the_stated_rate():
    """Over many seeds, the 95 % intervals of the faculty whose marginal varies hold the exact value about 95 % of
    the time (not always: an interval that never misses is too wide)."""
    game = random_game(np.random.default_rng(5), n=10, weeks=6, rotations=2, load=(1, 4), capacity=(0, 2))
    truth = exact_shapley(game).phi
    hits = []
    for seed in range(80):
        result = sample_sums(game, seed=seed, start=0, stop=100).result()
        varies = result.ci_high > result.ci_low
        hits.extend(((result.ci_low <= truth) & (truth <= result.ci_high))[varies])
    assert len(hits) >= 8 * 80
    rate = np.mean(hits)
    assert 0.91 <= rate <= 0.98, rate


@pytest.mark.parametrize("chunks", [2, 3, 7])
def test_chunked_and_merged_sums_equal_one_process(chunks):
    game = demo_like_game(3, n=20, weeks=10)
    whole = sample_sums(game, seed=9, start=0, stop=300)
    parts = [sample_sums(game, seed=9, start=a, stop=b) for a, b in pair_ranges(300, chunks)]
    merged = sum(parts[1:], parts[0])
    for name in ("total", "squares", "size_total", "size_count"):
        np.testing.assert_array_equal(getattr(merged, name), getattr(whole, name))
    assert merged.pairs == whole.pairs == 300
    np.testing.assert_array_equal(merged.result().ci_high, whole.result().ci_high)


def test_orders_are_seeded_permutations_independent_of_the_cut():
    orders = pair_orders(5, 0, 200, 9)
    assert (np.sort(orders, axis=1) == np.arange(9)).all()
    np.testing.assert_array_equal(np.concatenate([pair_orders(5, 0, 70, 9), pair_orders(5, 70, 200, 9)]), orders)
    assert not np.array_equal(pair_orders(6, 0, 200, 9), orders)


def test_each_order_and_its_reverse_add_up_to_the_grand_value():
    game = demo_like_game(1, n=25, weeks=12)
    flow = IncrementalFlow(game)
    order = np.random.default_rng(0).permutation(25)
    forward = marginals_along(flow, order)
    grand = flow.value
    assert forward.sum() == grand == marginals_along(flow, order[::-1]).sum()


def test_automatic_choice_and_bad_arguments():
    small = demo_like_game(2, n=6, weeks=5)
    assert shapley(small).method == EXACT
    assert shapley(demo_like_game(2, n=16, weeks=3), samples=1_000).method == MONTE_CARLO
    with pytest.raises(ValueError, match="samples"):
        shapley(demo_like_game(2, n=16, weeks=3), samples=999)
    with pytest.raises(ValueError, match="at most 15"):
        shapley(demo_like_game(2, n=16, weeks=3), method=EXACT)
    with pytest.raises(ValueError, match="method"):
        shapley(small, method="guess")


def test_average_marginal_by_coalition_size():
    """With one seat and two identical faculty, the first to join adds 1 and the second 0."""
    game = coverage_game(np.ones((2, 1, 1), dtype=bool), [1, 1], [[1]])
    result = exact_shapley(game)
    np.testing.assert_allclose(result.by_size, [[1, 0], [1, 0]])
    np.testing.assert_allclose(result.phi, [0.5, 0.5])
