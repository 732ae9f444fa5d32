"""Probability trading on an exact random assignment (DESIGN §6), after RSD's lottery probabilities.

Happiness of faculty i is Σ_w h[i, w]·P[i, w], with h = (M − r + 1)² for a week at rank r of the M listed weeks
(:func:`happiness_weights`). Two faculty A and B trade when both strictly gain: A hands q of its slot (a, r_a) to
B and B hands q of its slot (b, r_b) to A. Trading slots, not weeks, keeps every slot's column sum (its capacity
use) and every faculty member's row sum (their load) exactly. q is the largest amount the trade allows::

    q = min(X_A[a, r_a], X_B[b, r_b], T − Σ_r X_A[b, r], T − Σ_r X_B[a, r])

in integer counts over the common total T, so "at most one slot a week" holds after it and the result stays exact.
Each step makes the trade of largest total gain q·(h_A(b) − h_A(a) + h_B(a) − h_B(b)), ties broken by the lowest
(A, B, a, b, r_a, r_b) with A < B; it stops when the best gain, in probability units (gain / T), is at most ε.
Every trade gains at least one count-unit of happiness, so the loop ends.

Speed: the best trade of every pair A < B is kept in (n, n) arrays, each pair's (W, W) week-pair table computed
by broadcasting and pairs evaluated in chunks. A trade changes only rows A and B of the counts, so only the pairs
that contain A or B are recomputed (about 2n pairs, not n²/2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from allocation.algorithms import _validate
from allocation.algorithms.types import Problem, RandomAssignment

_CHUNK = 1 << 21  # week-pair cells evaluated at once (pairs per chunk = _CHUNK // W²)
_INT64_SAFE = 2**62

# Columns of TradeResult.trades.
GIVER, TAKER, GIVEN_WEEK, GIVEN_ROTATION, TAKEN_WEEK, TAKEN_ROTATION, AMOUNT = range(7)


@dataclass(frozen=True)
class TradeResult:
    """The assignment after trading and the trades made, in order.

    assignment: the traded RandomAssignment, same total and counts dtype as the input.
    trades:     (k, 7) rows (A, B, a, r_a, b, r_b, q): faculty A (< B) gave q counts (probability q / total) of slot
                (week a, rotation r_a) to B and received q counts of slot (b, r_b) from B. int64, or object dtype
                (Python ints) when the counts are object dtype. Column indices: GIVER … AMOUNT in this module.
    happiness_before, happiness_after: Σ_i Σ_{w,r} h[i, w]·P[i, w, r] before and after (after ≥ before).
    converged:  True when no trade gains more than ε remains; False when max_trades stopped the loop first.
    """

    assignment: RandomAssignment
    trades: np.ndarray
    happiness_before: float
    happiness_after: float
    converged: bool = True
    wall_ms: float = 0.0


def happiness_weights(problem: Problem) -> np.ndarray:
    """(n, W) int64 trading weights: (M − r + 1)² for a week at rank r ≤ M, M = faculty i's number of listed weeks.

    Weeks ranked below M (unlisted) and weeks faculty i is eligible for in no rotation weigh 0 (DESIGN §6).
    """
    rank = np.asarray(problem.rank, dtype=np.int64)
    m = np.asarray(problem.listed, dtype=bool).sum(axis=1, dtype=np.int64)[:, None]
    eligible = np.asarray(problem.eligible, dtype=bool).any(axis=2)
    return np.where((rank <= m) & eligible, (m - rank + 1) ** 2, 0).astype(np.int64)


def probability_trade(
    problem: Problem, assignment: RandomAssignment, *, epsilon: float = 1e-9, max_trades: int | None = None
) -> TradeResult:
    """Probability trading (DESIGN §6): repeat the best mutually beneficial trade until none gains more than ε.

    Guarantees, exactly in integer counts: every trade leaves both parties strictly better off; total happiness
    rises with every trade; every row sum (load), slot column sum (capacity use) and week sum (≤ total) is kept;
    counts stay ≥ 0 and zero where not eligible (a trade only moves a slot to a faculty member eligible for it);
    pre-assigned entries neither give nor receive. The input is not modified.
    """
    started = time.perf_counter()
    p = _validate.problem(problem)
    counts, total = _assignment(assignment, p)
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not (0 <= epsilon < np.inf):
        raise ValueError(f"epsilon must be a finite number ≥ 0, got {epsilon!r}.")
    if max_trades is not None and (isinstance(max_trades, bool) or not isinstance(max_trades, int) or max_trades < 0):
        raise ValueError(f"max_trades must be a whole number ≥ 0 or None, got {max_trades!r}.")

    h = happiness_weights(p)
    movable = p.eligible.copy()
    movable[p.preassigned[:, 0], p.preassigned[:, 1], p.preassigned[:, 2]] = False
    # Exact int64 arithmetic while every product q·Δ ≤ T·2·max h fits; Python ints (object) otherwise.
    fits = total * 2 * max(int(h.max(initial=0)), 1) < _INT64_SAFE
    work_dtype = np.int64 if fits else object
    x = np.array(counts, dtype=work_dtype)
    # Nobody to trade with, or no weeks to trade: nothing moves.
    book = _PairBook(x=x, total=total, h=h, movable=movable) if p.n_faculty > 1 and p.n_weeks > 1 else None
    threshold = Fraction(epsilon) * total  # a trade counts when its gain (in counts) exceeds ε·T
    before = _happiness(h, x)

    trades: list[tuple[int, ...]] = []
    converged = True
    while book is not None:
        best = book.best()
        if best is None or Fraction(best[0]) <= threshold:
            break
        if max_trades is not None and len(trades) >= max_trades:
            converged = False
            break
        trade = book.trade(best)
        trades.append(trade)

    out = x if counts.dtype == work_dtype else np.array(x.tolist(), dtype=counts.dtype).reshape(x.shape)
    trade_dtype = object if counts.dtype == object else np.int64
    rows = np.array(trades, dtype=trade_dtype).reshape(-1, 7) if trades else np.zeros((0, 7), dtype=trade_dtype)
    after = _happiness(h, x)
    return TradeResult(
        assignment=RandomAssignment(counts=out, total=assignment.total),
        trades=rows,
        happiness_before=float(Fraction(before, total)),
        happiness_after=float(Fraction(after, total)),
        converged=converged,
        wall_ms=(time.perf_counter() - started) * 1000,
    )


class _PairBook:
    """The best trade of every pair A < B, kept up to date as trades change the counts.

    gain[A, B] is the best trade's gain in counts (0 when the pair has none, −1 below the diagonal) and
    cell[A, B] its flat week pair a·W + b (A gives week a, B gives week b).
    """

    def __init__(self, *, x: np.ndarray, total: int, h: np.ndarray, movable: np.ndarray) -> None:
        self.x, self.total, self.h, self.movable = x, total, h, movable
        self.week_sum = x.sum(axis=2)
        # holds[i, w]: i holds some probability of week w it could hand on. Only such weeks can be given, so a
        # pair's week-pair table need only span the two supports (a few weeks each, not all W).
        self.holds = (np.where(movable, x, 0) > 0).any(axis=2)
        n = x.shape[0]
        self.gain = np.full((n, n), -1, dtype=x.dtype)
        self.cell = np.zeros((n, n), dtype=np.int64)
        upper_a, upper_b = np.triu_indices(n, k=1)
        self._evaluate(upper_a, upper_b)

    def _evaluate(self, giver: np.ndarray, taker: np.ndarray) -> None:
        """Recompute gain and cell of pairs (giver[k], taker[k]), giver < taker, in chunks of week-pair tables."""
        n_weeks = self.x.shape[1]
        width = max(1, int(self.holds.sum(axis=1).max(initial=0)))
        step = max(1, _CHUNK // (width * width))
        for start in range(0, len(giver), step):
            a_of, b_of = giver[start:start + step], taker[start:start + step]
            gain, weeks_a, weeks_b = self._table(a_of, b_of)
            flat = gain.reshape(len(a_of), -1)
            best = flat.argmax(axis=1)  # first maximum: supports are in week order, so lowest a, then lowest b
            i, j = np.divmod(best, gain.shape[2])
            rows = np.arange(len(a_of))
            self.gain[a_of, b_of] = flat[rows, best]
            self.cell[a_of, b_of] = np.minimum(weeks_a[rows, i], n_weeks - 1) * n_weeks + np.minimum(
                weeks_b[rows, j], n_weeks - 1)

    def _table(self, giver: np.ndarray, taker: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(gain, weeks_a, weeks_b): gain[k, i, j] of the trade of week weeks_a[k, i] (given by the giver) for
        weeks_b[k, j] (given by the taker), 0 where none is beneficial. weeks_* are each party's support in week
        order, padded with W (a week nobody holds)."""
        weeks_a, weeks_b = self._support(giver), self._support(taker)
        pad = np.zeros((len(giver), 1), dtype=self.x.dtype)
        u = np.take_along_axis(np.concatenate([self._offer(giver, taker), pad], axis=1), weeks_a, axis=1)
        v = np.take_along_axis(np.concatenate([self._offer(taker, giver), pad], axis=1), weeks_b, axis=1)
        q = np.minimum(u[:, :, None], v[:, None, :])  # q[k, i, j]
        h = np.concatenate([self.h, np.zeros((self.h.shape[0], 1), dtype=self.h.dtype)], axis=1)
        h_a, h_b = h[giver], h[taker]
        gain_a = np.take_along_axis(h_a, weeks_b, axis=1)[:, None, :] - np.take_along_axis(h_a, weeks_a, axis=1)[:, :, None]
        gain_b = np.take_along_axis(h_b, weeks_a, axis=1)[:, :, None] - np.take_along_axis(h_b, weeks_b, axis=1)[:, None, :]
        both = (gain_a > 0) & (gain_b > 0) & (q > 0)
        return np.where(both, q * (gain_a + gain_b).astype(q.dtype), 0), weeks_a, weeks_b

    def _support(self, people: np.ndarray) -> np.ndarray:
        """(k, K) the weeks each person holds (self.holds) in week order, padded with W."""
        mask = self.holds[people]
        width = max(1, int(mask.sum(axis=1).max(initial=0)))
        order = np.argsort(~mask, axis=1, kind="stable")[:, :width]
        return np.where(np.take_along_axis(mask, order, axis=1), order, mask.shape[1])

    def _offer(self, giver: np.ndarray, taker: np.ndarray) -> np.ndarray:
        """(k, W) most the giver can hand the taker in each week: its largest movable slot the taker may serve,
        capped by the taker's room in that week (T − Σ_r X_taker[w, r])."""
        open_slot = self.movable[giver] & self.movable[taker]
        held = np.where(open_slot, self.x[giver], -1).max(axis=2)
        return np.minimum(held, self.total - self.week_sum[taker])

    def best(self) -> tuple[Any, int, int, int, int] | None:
        """(gain, A, B, a, b) of the best trade over all pairs (lowest (A, B) on ties), None when none gains."""
        if self.gain.size == 0:
            return None
        flat = int(self.gain.argmax())
        n, n_weeks = self.gain.shape[0], self.x.shape[1]
        giver, taker = divmod(flat, n)
        gain = self.gain[giver, taker]
        if gain <= 0:
            return None
        a, b = divmod(int(self.cell[giver, taker]), n_weeks)
        return int(gain), giver, taker, a, b

    def trade(self, best: tuple[Any, int, int, int, int]) -> tuple[int, ...]:
        """Make the trade, refresh the pairs of both parties, return its row (A, B, a, r_a, b, r_b, q)."""
        _, giver, taker, a, b = best
        x, total = self.x, self.total
        q = min(
            self._offer(np.array([giver]), np.array([taker]))[0, a],
            self._offer(np.array([taker]), np.array([giver]))[0, b],
        )
        # Lowest rotation holding at least q among those the other party may take (q is the largest such amount).
        r_a = int(np.flatnonzero(self.movable[giver, a] & self.movable[taker, a] & (x[giver, a] >= q))[0])
        r_b = int(np.flatnonzero(self.movable[taker, b] & self.movable[giver, b] & (x[taker, b] >= q))[0])
        x[giver, a, r_a] -= q
        x[taker, a, r_a] += q
        x[taker, b, r_b] -= q
        x[giver, b, r_b] += q
        for i in (giver, taker):
            self.week_sum[i] = x[i].sum(axis=1)
            self.holds[i] = (np.where(self.movable[i], x[i], 0) > 0).any(axis=1)
        if self.week_sum[giver, b] > total or self.week_sum[taker, a] > total:
            raise RuntimeError("probability_trade: a trade broke the one-slot-a-week bound (a bug).")
        n = self.gain.shape[0]
        party = np.repeat([giver, taker], n)
        other = np.tile(np.arange(n), 2)
        keep = (other != party) & ~((party == taker) & (other == giver))  # the pair (A, B) once
        self._evaluate(np.minimum(party, other)[keep], np.maximum(party, other)[keep])
        return (giver, taker, a, r_a, b, r_b, int(q))


def _assignment(assignment: RandomAssignment, p: Problem) -> tuple[np.ndarray, int]:
    """The counts and total of a feasible random assignment over p, or ValueError naming what is wrong."""
    counts = np.asarray(assignment.counts)
    total = assignment.total
    if isinstance(total, (bool, np.bool_)) or not isinstance(total, (int, np.integer)) or total <= 0:
        raise ValueError(f"assignment.total must be a positive whole number, got {total!r}.")
    total = int(total)
    if counts.shape != p.eligible.shape:
        raise ValueError(
            f"assignment.counts has shape {counts.shape}, expected {p.eligible.shape} (faculty, week, rotation)."
        )
    if counts.dtype == object:
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in counts.ravel().tolist()):
            raise ValueError("assignment.counts of object dtype must hold Python ints.")
    elif counts.dtype == bool or not np.issubdtype(counts.dtype, np.integer):
        raise ValueError(f"assignment.counts must be integers (int64 or Python ints), got dtype {counts.dtype}.")
    if (counts < 0).any():
        raise ValueError("assignment.counts must be non-negative.")
    if (counts[~p.eligible] != 0).any():
        raise ValueError("assignment.counts must be zero where the faculty member is not eligible.")
    if (counts.sum(axis=2) > total).any():
        raise ValueError("assignment.counts give a faculty member more than one slot in a week (Σ_r > total).")
    pre = p.preassigned
    if len(pre) and (counts[pre[:, 0], pre[:, 1], pre[:, 2]] != total).any():
        raise ValueError("assignment.counts must equal total at every pre-assigned (faculty, week, rotation).")
    return counts, total


def _happiness(h: np.ndarray, x: np.ndarray) -> int:
    """Σ_i Σ_w h[i, w]·Σ_r x[i, w, r] as an exact Python int."""
    return int((h.astype(object) * x.sum(axis=2).astype(object)).sum())
