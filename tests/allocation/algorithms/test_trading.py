"""Probability trading (DESIGN §6): hand-solved trades, and every trade replayed against a brute-force search."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.algorithms import trading
from allocation.algorithms.rsd import rsd
from allocation.algorithms.trading import happiness_weights, probability_trade
from allocation.algorithms.types import Problem, RandomAssignment
from tests.allocation.algorithms.mechanism_cases import varied_problem, with_preassignments
from tests.allocation.algorithms.problems import make_problem


def literal(rank, *, listed=None, eligible=None, demand, capacity, preassigned=()) -> Problem:
    """A one-rotation problem (unless eligible says otherwise) written out by hand."""
    rank = np.array(rank)
    n, n_weeks = rank.shape
    eligible = np.ones((n, n_weeks, 1), bool) if eligible is None else np.array(eligible, dtype=bool)
    return Problem(
        utility=(n_weeks + 1 - rank) / n_weeks, rank=rank,
        listed=np.ones((n, n_weeks), bool) if listed is None else np.array(listed, dtype=bool),
        value=np.zeros((n, n_weeks)), eligible=eligible, demand=np.array(demand),
        capacity=np.array(capacity), is_holiday=np.zeros(n_weeks, bool),
        preassigned=np.array(preassigned, dtype=np.int64).reshape(-1, 3),
    )


def lottery_counts(problem: Problem, draws: int, seed: int) -> RandomAssignment:
    """Counts over `draws` RSD schedules; some drawn under shuffled ranks, so the mix is not ex-ante efficient."""
    rng = np.random.default_rng(seed)
    counts = np.zeros(problem.eligible.shape, dtype=np.int64)
    for k in range(draws):
        shuffled = problem
        if rng.random() < 0.5:
            shuffled = dataclasses.replace(problem, rank=np.argsort(rng.random(problem.rank.shape), axis=1) + 1)
        rows = rsd(shuffled, rng=np.random.default_rng(seed * 1000 + k)).assignments
        np.add.at(counts, (rows[:, 0], rows[:, 1], rows[:, 2]), 1)
    return RandomAssignment(counts=counts, total=draws)


def weights_by_hand(problem: Problem) -> np.ndarray:
    n, n_weeks = problem.rank.shape
    out = np.zeros((n, n_weeks), dtype=np.int64)
    for i in range(n):
        m = int(problem.listed[i].sum())
        for w in range(n_weeks):
            r = int(problem.rank[i, w])
            if r <= m and problem.eligible[i, w].any():
                out[i, w] = (m - r + 1) ** 2
    return out


def all_trades(problem: Problem, x, total: int, h: np.ndarray) -> list[tuple[int, tuple[int, ...], int]]:
    """Every trade that makes both parties strictly better off, as (gain in counts, (A, B, a, r_a, b, r_b), q)."""
    fixed = {tuple(row) for row in problem.preassigned.tolist()}
    n, n_weeks, n_rot = problem.eligible.shape
    week = [[sum(int(x[i, w, r]) for r in range(n_rot)) for w in range(n_weeks)] for i in range(n)]
    found = []
    for A in range(n):
        for B in range(A + 1, n):
            for a in range(n_weeks):
                for b in range(n_weeks):
                    gain_a, gain_b = int(h[A, b] - h[A, a]), int(h[B, a] - h[B, b])
                    if a == b or gain_a <= 0 or gain_b <= 0:
                        continue
                    for ra in range(n_rot):
                        if not problem.eligible[B, a, ra] or {(A, a, ra), (B, a, ra)} & fixed:
                            continue
                        for rb in range(n_rot):
                            if not problem.eligible[A, b, rb] or {(B, b, rb), (A, b, rb)} & fixed:
                                continue
                            q = min(int(x[A, a, ra]), int(x[B, b, rb]), total - week[A][b], total - week[B][a])
                            if q > 0:
                                found.append((q * (gain_a + gain_b), (A, B, a, ra, b, rb), q))
    return found


def replay(problem: Problem, start: RandomAssignment, result, *, epsilon: float = 1e-9, each_best: bool = True) -> None:
    """Redo every recorded trade from the start: both parties gain, q is the largest amount, the trade is the best
    (lowest tuple on ties) when each_best; the end state is the result and no trade above ε is left."""
    h = weights_by_hand(problem)
    fixed = {tuple(row) for row in problem.preassigned.tolist()}
    total = start.total
    x = np.array(np.asarray(start.counts).tolist(), dtype=object)
    happiness = int((h[:, :, None].astype(object) * x).sum())
    for A, B, a, ra, b, rb, q in result.trades.tolist():
        assert A < B and a != b and q > 0
        assert h[A, b] > h[A, a] and h[B, a] > h[B, b], "a party is not strictly better off"
        assert problem.eligible[B, a, ra] and problem.eligible[A, b, rb]
        assert not {(A, a, ra), (B, b, rb), (B, a, ra), (A, b, rb)} & fixed
        assert q == min(x[A, a, ra], x[B, b, rb], total - x[A, b].sum(), total - x[B, a].sum())
        gain = q * int(h[A, b] - h[A, a] + h[B, a] - h[B, b])
        assert gain > epsilon * total
        if each_best:
            found = all_trades(problem, x, total, h)
            top = max(g for g, _, _ in found)
            assert gain == top
            assert (A, B, a, ra, b, rb) == min(t for g, t, _ in found if g == top)
        x[A, a, ra] -= q
        x[B, a, ra] += q
        x[B, b, rb] -= q
        x[A, b, rb] += q
        new = int((h[:, :, None].astype(object) * x).sum())
        assert new == happiness + gain
        happiness = new
    assert np.array_equal(x, np.array(np.asarray(result.assignment.counts).tolist(), dtype=object))
    left = all_trades(problem, x, total, h)
    assert all(g <= epsilon * total for g, _, _ in left), "a trade above ε was left"


def check_invariants(problem: Problem, start: RandomAssignment, result) -> None:
    before, after = np.asarray(start.counts), np.asarray(result.assignment.counts)
    total = start.total
    assert result.assignment.total == total
    assert after.dtype == before.dtype and after.shape == before.shape
    assert (after >= 0).all() and (after[~problem.eligible] == 0).all()
    assert np.array_equal(after.sum(axis=(1, 2)), before.sum(axis=(1, 2)))  # every faculty member's load
    assert np.array_equal(after.sum(axis=0), before.sum(axis=0))  # every slot's capacity use
    assert (after.sum(axis=2) <= total).all()  # one slot a week
    pre = problem.preassigned
    assert (after[pre[:, 0], pre[:, 1], pre[:, 2]] == total).all()
    h = weights_by_hand(problem)
    assert result.happiness_before == pytest.approx(float((h[:, :, None] * before).sum()) / total, rel=1e-12)
    assert result.happiness_after == pytest.approx(float((h[:, :, None] * after).sum()) / total, rel=1e-12)
    assert result.happiness_after >= result.happiness_before


# --- weights ------------------------------------------------------------------------------------------------------

def test_weights_are_squared_reversed_ranks_of_listed_eligible_weeks():
    problem = literal(
        [[2, 5, 1, 3, 4], [1, 2, 3, 4, 5]],
        listed=[[True, False, True, True, False], [False] * 5],
        eligible=np.array([[[False], [True], [True], [True], [True]], [[True]] * 5]),
        demand=[1, 1], capacity=np.ones((5, 1), int),
    )
    # Faculty 0 lists M = 3 weeks: rank 1 → 9, rank 2 → 4 (but week 0 is ineligible → 0), rank 3 → 1, ranks 4–5 → 0.
    # Faculty 1 lists nothing: every week weighs 0.
    assert happiness_weights(problem).tolist() == [[0, 0, 9, 1, 0], [0, 0, 0, 0, 0]]


@pytest.mark.parametrize("seed", range(20))
def test_weights_match_a_hand_loop_on_random_problems(seed):
    rng = np.random.default_rng(seed)
    problem = make_problem(rng, n=6, weeks=7, rotations=2, block_p=0.3, qualify_p=0.5, listed=(0, 7))
    assert np.array_equal(happiness_weights(problem), weights_by_hand(problem))


# --- hand-solved trades -------------------------------------------------------------------------------------------

def test_two_faculty_each_holding_half_of_the_others_first_choice_trade_it_all():
    # Faculty 0 ranks week 0 first, faculty 1 week 1; each holds ½ of both. Weights 4 (first) and 1 (second).
    problem = literal([[1, 2], [2, 1]], demand=[1, 1], capacity=[[1], [1]])
    start = RandomAssignment(counts=np.array([[[1], [1]], [[1], [1]]]), total=2)
    result = probability_trade(problem, start)
    # Faculty 0 gives q = 1 count (½) of week 1 and gets ½ of week 0; both gain ½·(4 − 1).
    assert result.trades.tolist() == [[0, 1, 1, 0, 0, 0, 1]]
    assert result.assignment.counts.tolist() == [[[2], [0]], [[0], [2]]]
    assert result.happiness_before == 5.0 and result.happiness_after == 8.0
    assert result.converged


def test_the_largest_gain_goes_first_and_q_is_capped_by_the_scarcest_holding():
    # Three weeks, weights 9/4/1 for ranks 1/2/3; faculty 0 ranks 0 > 1 > 2, faculty 1 ranks 2 > 1 > 0; total 4.
    problem = literal([[1, 2, 3], [3, 2, 1]], demand=[2, 2], capacity=[[1], [1], [1]])
    start = RandomAssignment(counts=np.array([[[2], [0], [3]], [[1], [3], [1]]]), total=4)
    result = probability_trade(problem, start)
    # Candidates: 0 gives week 2 for week 0: Δ = 8 + 8, q = min(3, 1, 4−2, 4−1) = 1 → 16;
    #             0 gives week 2 for week 1: Δ = 3 + 5, q = min(3, 3, 4−0, 4−1) = 3 → 24, the best.
    # Then 0 gives week 1 for week 0: Δ = 5 + 3, q = min(3, 1, 4−2, 4−0) = 1 → 8; faculty 1 then holds no week 0.
    assert result.trades.tolist() == [[0, 1, 2, 0, 1, 0, 3], [0, 1, 1, 0, 0, 0, 1]]
    assert result.assignment.counts.tolist() == [[[3], [2], [0]], [[0], [1], [4]]]
    assert result.happiness_before == 43 / 4 and result.happiness_after == 75 / 4


def test_room_in_the_received_week_caps_q():
    # Faculty 0 already holds ¾ of week 0 in rotation 1 and ¼ of week 1; it can take only ¼ more of week 0.
    eligible = np.ones((2, 2, 2), bool)
    problem = literal([[1, 2], [2, 1]], eligible=eligible, demand=[2, 2], capacity=[[1, 1], [1, 1]])
    counts = np.array([[[0, 3], [1, 0]], [[2, 0], [0, 1]]])
    result = probability_trade(problem, RandomAssignment(counts=counts, total=4))
    # q = min(X_0[1, r=0] = 1, X_1[0, r=0] = 2, 4 − Σ_r X_0[0] = 1, 4 − Σ_r X_1[1] = 3) = 1.
    assert result.trades.tolist() == [[0, 1, 1, 0, 0, 0, 1]]
    assert result.assignment.counts.tolist() == [[[1, 3], [0, 0]], [[1, 0], [1, 1]]]


def test_equal_gains_go_to_the_lowest_pair_first():
    # Faculty 1 and 2 are alike: trading with either gains 2·3 = 6 counts; the pair (0, 1) goes first.
    problem = literal([[1, 2], [2, 1], [2, 1]], demand=[1, 1, 1], capacity=[[2], [2]])
    start = RandomAssignment(counts=np.array([[[0], [2]], [[1], [0]], [[1], [0]]]), total=2)
    result = probability_trade(problem, start)
    assert result.trades.tolist() == [[0, 1, 1, 0, 0, 0, 1], [0, 2, 1, 0, 0, 0, 1]]


def test_equal_gains_within_a_pair_go_to_the_lowest_week_pair():
    # Faculty 0 lists weeks 0 > 1 (weights 4, 1); faculty 1 lists 3 > 2 > 1 (9, 4, 1), week 0 unlisted.
    problem = literal(
        [[1, 2, 3, 4], [4, 3, 2, 1]], listed=[[True, True, False, False], [False, True, True, True]],
        demand=[1, 1], capacity=np.ones((4, 1), int),
    )
    start = RandomAssignment(counts=np.array([[[0], [2], [1], [0]], [[2], [0], [0], [0]]]), total=4)
    result = probability_trade(problem, start)
    # Giving week 1 for week 0 gains q·(3 + 1) = 2·4 = 8; giving week 2 for week 0 gains 1·(4 + 4) = 8: a tie, and
    # (a, b) = (1, 0) is lower. Then week 2 for week 1 gains 1·(1 + 3) = 4.
    assert result.trades.tolist() == [[0, 1, 1, 0, 0, 0, 2], [0, 1, 2, 0, 1, 0, 1]]
    assert result.happiness_before == 0.5 and result.happiness_after == 3.5


def test_the_lowest_rotation_holding_the_whole_amount_is_traded():
    # Two rotations; faculty 0 holds week 1 as 2 + 2 (of 4), faculty 1 week 0 as 1 + 3.
    problem = literal(
        [[1, 2], [2, 1]], eligible=np.ones((2, 2, 2), bool), demand=[2, 2], capacity=[[2, 2], [2, 2]],
    )
    start = RandomAssignment(counts=np.array([[[0, 0], [2, 2]], [[1, 3], [0, 0]]]), total=4)
    result = probability_trade(problem, start)
    # q = min(2, 3, 4, 4) = 2: rotation 0 of week 1 (both hold 2), rotation 1 of week 0 (only it holds ≥ 2).
    # Then q = min(2, 1, 4 − 2, 4 − 2) = 1 twice, each from the lowest rotation still holding 1.
    assert result.trades.tolist() == [[0, 1, 1, 0, 0, 1, 2], [0, 1, 1, 1, 0, 0, 1], [0, 1, 1, 1, 0, 1, 1]]
    assert result.assignment.counts.tolist() == [[[1, 3], [0, 0]], [[0, 0], [2, 2]]]


def test_a_pre_assigned_entry_neither_gives_nor_receives():
    # Faculty 0 is pre-assigned week 1 (its second choice) — the only trade that would help both would move it.
    problem = literal([[1, 2], [2, 1]], demand=[1, 1], capacity=[[1], [1]], preassigned=[(0, 1, 0)])
    start = RandomAssignment(counts=np.array([[[0], [3]], [[2], [0]]]), total=3)
    result = probability_trade(problem, start)
    assert len(result.trades) == 0
    assert result.assignment.counts.tolist() == start.counts.tolist()


def test_no_trade_when_one_side_would_only_break_even():
    # Faculty 1 weighs both weeks equally (it lists neither): a swap helps faculty 0 alone and is not made.
    problem = literal([[1, 2], [1, 2]], listed=[[True, True], [False, False]], demand=[1, 1], capacity=[[1], [1]])
    start = RandomAssignment(counts=np.array([[[1], [1]], [[1], [1]]]), total=2)
    result = probability_trade(problem, start)
    assert len(result.trades) == 0 and result.happiness_after == result.happiness_before


def test_a_slot_only_goes_to_someone_eligible_for_it():
    # The swap would help both, but faculty 1 cannot serve week 0's only rotation.
    eligible = np.array([[[True], [True]], [[False], [True]]])
    problem = literal([[1, 2], [2, 1]], eligible=eligible, demand=[1, 1], capacity=[[1], [1]])
    start = RandomAssignment(counts=np.array([[[1], [1]], [[0], [1]]]), total=2)
    assert len(probability_trade(problem, start).trades) == 0


def test_epsilon_and_max_trades_stop_the_loop_early():
    problem = literal([[1, 2, 3], [3, 2, 1]], demand=[2, 2], capacity=[[1], [1], [1]])
    start = RandomAssignment(counts=np.array([[[2], [0], [3]], [[1], [3], [1]]]), total=4)
    # The second trade gains 8/4 = 2 in probability units: ε = 2 keeps only the first (24/4 = 6).
    assert probability_trade(problem, start, epsilon=2.0).trades.tolist() == [[0, 1, 2, 0, 1, 0, 3]]
    first = probability_trade(problem, start, max_trades=1)
    assert first.trades.tolist() == [[0, 1, 2, 0, 1, 0, 3]] and not first.converged
    assert probability_trade(problem, start, epsilon=6.0).trades.shape == (0, 7)


def test_the_input_is_left_unchanged_and_bad_input_is_refused():
    problem = literal([[1, 2], [2, 1]], demand=[1, 1], capacity=[[1], [1]])
    counts = np.array([[[1], [1]], [[1], [1]]])
    probability_trade(problem, RandomAssignment(counts=counts, total=2))
    assert counts.tolist() == [[[1], [1]], [[1], [1]]]
    with pytest.raises(ValueError, match="one slot in a week"):
        probability_trade(problem, RandomAssignment(counts=np.array([[[3], [0]], [[0], [1]]]), total=2))
    with pytest.raises(ValueError, match="shape"):
        probability_trade(problem, RandomAssignment(counts=np.zeros((2, 3, 1), np.int64), total=2))
    with pytest.raises(ValueError, match="integers"):
        probability_trade(problem, RandomAssignment(counts=counts / 2, total=1))
    with pytest.raises(ValueError, match="epsilon"):
        probability_trade(problem, RandomAssignment(counts=counts, total=2), epsilon=-1.0)


# --- exactness across dtypes --------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_object_counts_and_a_huge_total_give_the_same_trades_scaled(seed):
    problem = varied_problem(seed, n=7, weeks=6)
    start = lottery_counts(problem, 6, seed)
    plain = probability_trade(problem, start)
    scale = 3**50  # total beyond 64 bits: the arithmetic must run on Python ints
    big = RandomAssignment(
        counts=np.array((start.counts.astype(object) * scale).tolist(), dtype=object).reshape(start.counts.shape),
        total=start.total * scale,
    )
    result = probability_trade(problem, big)
    assert result.assignment.counts.dtype == object and result.trades.dtype == object
    expected = [row[:6] + [row[6] * scale] for row in plain.trades.tolist()]
    assert result.trades.tolist() == expected
    assert result.assignment.counts.tolist() == (plain.assignment.counts.astype(object) * scale).tolist()
    same = RandomAssignment(
        counts=np.array(start.counts.tolist(), dtype=object).reshape(start.counts.shape), total=start.total
    )
    small_object = probability_trade(problem, same)
    assert small_object.assignment.counts.dtype == object
    assert small_object.trades.tolist() == plain.trades.tolist()


# --- random instances against brute force -------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1), n=st.integers(2, 6), weeks=st.integers(2, 5), rotations=st.integers(1, 2),
    draws=st.integers(1, 8), partial=st.booleans(), epsilon=st.sampled_from([1e-9, 1e-9, 0.4, 1.5]),
)
def test_every_trade_is_the_brute_force_best_and_nothing_above_epsilon_is_left(
    seed, n, weeks, rotations, draws, partial, epsilon
):
    rng = np.random.default_rng(seed)
    problem = make_problem(
        rng, n=n, weeks=weeks, rotations=rotations, demand=(0, 2), capacity=(1, 2), block_p=0.1, qualify_p=0.7,
        listed=(1, weeks) if partial else None, correlated=0.3 * float(rng.random()),
    )
    problem = with_preassignments(problem, rng, int(rng.integers(0, 3)))
    start = lottery_counts(problem, draws, seed % 1000)
    result = probability_trade(problem, start, epsilon=epsilon)
    check_invariants(problem, start, result)
    replay(problem, start, result, epsilon=epsilon)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), draws=st.integers(2, 12))
def test_larger_instances_keep_every_sum_and_end_with_no_beneficial_trade(seed, draws):
    problem = varied_problem(seed % 10_000, n=8, weeks=7)
    start = lottery_counts(problem, draws, seed % 1000)
    result = probability_trade(problem, start)
    check_invariants(problem, start, result)
    replay(problem, start, result, each_best=False)


@pytest.mark.parametrize("seed", range(4))
def test_evaluating_pairs_in_small_chunks_changes_nothing(seed, monkeypatch):
    problem = varied_problem(seed, n=9, weeks=6)
    start = lottery_counts(problem, 8, seed)
    whole = probability_trade(problem, start)
    monkeypatch.setattr(trading, "_CHUNK", 40)  # one pair at a time (W² = 36 cells)
    chunked = probability_trade(problem, start)
    assert chunked.trades.tolist() == whole.trades.tolist()
    assert np.array_equal(chunked.assignment.counts, whole.assignment.counts)
