"""Chances before the draw: random serial dictatorship's assignment probabilities by Monte Carlo (DESIGN §6).

P[i, w] = the probability that faculty i holds week w under RSD. Each draw is one lottery order and exactly the
schedule :func:`allocation.algorithms.rsd.rsd` builds from it: every faculty member in turn takes their d_i best
weeks (by ``problem.rank``) that still have room for them, never two in one week, after the pre-assignments; "room"
with several rotations is the same Hall check over rotation subsets (see rsd's docstring). The week picked is the
same; rsd then fixes rotations by a flow, which does not change who holds which week.

Vectorised across draws: the Python loop runs over lottery positions (n steps), and each step serves the faculty
member at that position in every draw at once. Years of at most 64 weeks keep, per draw, bit sets of the weeks that
are full (per rotation subset with rotations); a faculty member's best open week comes from byte tables that
rewrite a week set in their own order (one lookup per byte, whatever their list's length), and their first d weeks
from a binary search over the prefixes of their list (_Candidates). Other years use a general column scan, in
widening chunks so that the usual case (a top week is free) touches a few columns only. Both give rsd's schedules
draw by draw (the tests check it).

Reproducible whatever the chunking: draw k belongs to block k // BLOCK, whose orders are the successive
``Generator.permutation(n)`` of ``numpy.random.default_rng([seed, block])`` (``Generator.permuted`` over the rows of a
tiled ``arange`` yields exactly those). So a chunk [start, stop) of draws gives the same counts however the draws
are split over workers, and merging chunks is adding their integer counts — never averaging averages.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from allocation.algorithms import _validate
from allocation.algorithms.rsd import MAX_ROTATIONS
from allocation.algorithms.types import Problem

BLOCK = 1024  # draws per generator block
DEFAULT_DRAWS = 10_000
MAX_DRAWS = 1_000_000
_FIRST_CHUNK = 4  # weeks scanned first; each further chunk doubles


TOP = (1, 3)  # "a top-1 week", "a top-3 week": one of the weeks the faculty member listed at rank ≤ k


@dataclass(frozen=True)
class ChanceCounts:
    """Integer counts over `draws` lotteries: counts[i, w] = draws in which faculty i held week w; hits[i, k] = draws
    in which faculty i held at least one of their listed weeks at rank ≤ TOP[k] (absent when not asked for)."""

    counts: np.ndarray
    draws: int
    hits: np.ndarray | None = None

    def probabilities(self) -> np.ndarray:
        return self.counts / max(self.draws, 1)

    def stderr(self) -> np.ndarray:
        """The Monte Carlo standard error of each probability, √(p(1 − p) / N) (0 for an exact 0 or 1)."""
        p = self.probabilities()
        return np.sqrt(p * (1 - p) / max(self.draws, 1))

    def __add__(self, other: ChanceCounts) -> ChanceCounts:
        hits = None if self.hits is None or other.hits is None else self.hits + other.hits
        return ChanceCounts(self.counts + other.counts, self.draws + other.draws, hits)


def top_weeks(problem: Problem) -> np.ndarray:
    """(len(TOP), n, W) bool: week w is one of faculty i's listed weeks at rank ≤ TOP[k]."""
    rank, listed = np.asarray(problem.rank), np.asarray(problem.listed, dtype=bool)
    return np.stack([listed & (rank <= k) for k in TOP])


def draw_ranges(draws: int, chunks: int) -> list[tuple[int, int]]:
    """[start, stop) ranges splitting `draws` into at most `chunks` nearly equal, block-aligned pieces."""
    if draws < 0 or chunks < 1:
        raise ValueError("draws must be ≥ 0 and chunks ≥ 1.")
    blocks = -(-draws // BLOCK)
    chunks = max(1, min(chunks, blocks))
    edges = [min(draws, round(b) * BLOCK) for b in np.linspace(0, blocks, chunks + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]


def lottery_orders(seed: int, start: int, stop: int, n: int) -> np.ndarray:
    """(stop − start, n) lottery orders of draws [start, stop): row k lists faculty in draw order."""
    if not 0 <= start <= stop:
        raise ValueError("need 0 ≤ start ≤ stop.")
    out = []
    for block in range(start // BLOCK, -(-stop // BLOCK)):
        lo, hi = max(start, block * BLOCK) - block * BLOCK, min(stop, (block + 1) * BLOCK) - block * BLOCK
        rng = np.random.default_rng([seed, block])
        # int64: Generator.permuted swaps 8-byte items fastest (about 30 % quicker than int32 here)
        orders = rng.permuted(np.broadcast_to(np.arange(n, dtype=np.int64), (hi, n)), axis=1)
        out.append(orders[lo:hi])
    return np.concatenate(out) if out else np.zeros((0, n), dtype=np.int64)


def _lottery_positions(seed: int, start: int, stop: int, n: int) -> np.ndarray:
    """lottery_orders(seed, start, stop, n).T as a C-contiguous (n, D) array, written block by block (no
    concatenation, no separate transpose)."""
    out = np.empty((n, stop - start), dtype=np.int64)
    done = 0
    for block in range(start // BLOCK, -(-stop // BLOCK)):
        lo, hi = max(start, block * BLOCK) - block * BLOCK, min(stop, (block + 1) * BLOCK) - block * BLOCK
        orders = np.random.default_rng([seed, block]).permuted(
            np.broadcast_to(np.arange(n, dtype=np.int64), (hi, n)), axis=1)
        out[:, done:done + hi - lo] = orders[lo:hi].T
        done += hi - lo
    return out


def block_generator(seed: int, draw: int, n: int) -> np.random.Generator:
    """A generator whose next ``permutation(n)`` is draw `draw`'s lottery order: handing it to rsd builds draw
    `draw`'s schedule (the tests check this)."""
    rng = np.random.default_rng([seed, draw // BLOCK])
    for _ in range(draw % BLOCK):
        rng.permutation(n)
    return rng


def exact_rsd(problem: Problem) -> ChanceCounts:
    """RSD's exact week counts over all n! lottery orders (n ≤ 8): the oracle the Monte Carlo estimate is tested on."""
    p = _validate.problem(problem)
    if p.n_faculty > 8:
        raise ValueError(f"exact enumeration is for at most 8 faculty, got {p.n_faculty}.")
    orders = np.array(list(itertools.permutations(range(p.n_faculty))), dtype=np.int32).reshape(-1, p.n_faculty)
    return ChanceCounts(rsd_batch(p, orders), len(orders))


def rsd_chances(
    problem: Problem, *, seed: int, start: int = 0, stop: int = DEFAULT_DRAWS, hits: bool = False,
) -> ChanceCounts:
    """RSD's week counts over draws [start, stop) of the seeded lottery sequence; with hits, also how often each
    faculty member got a top-1 / top-3 week (TOP)."""
    p = _validate.problem(problem)
    orders = _lottery_positions(seed, start, stop, p.n_faculty).T  # (D, n) view of a position-major array
    if not hits:
        return ChanceCounts(rsd_batch(p, orders), stop - start)
    counts, top_hits = rsd_batch(p, orders, top=top_weeks(p))
    return ChanceCounts(counts, stop - start, top_hits)


def rsd_batch(
    problem: Problem, orders: np.ndarray, *, holdings: bool = False, method: str = "auto", top: np.ndarray | None = None,
):
    """Counts (n, W) of RSD over the given lottery orders (D, n); with holdings=True instead the (D, n, W) bool array
    of who holds which week in each draw (for tests on small cases).

    method "auto" uses the 64-bit week sets when the year allows (W ≤ 64, R ≤ 3, one rotation subset per faculty
    member) and otherwise "scan", the general column scan; both give the same schedules. With `top` (K, n, W) bool,
    returns (counts, hits) where hits[i, k] counts the draws in which faculty i held at least one week of top[k, i].
    """
    if method not in ("auto", "scan"):
        raise ValueError(f"method must be 'auto' or 'scan', not {method!r}.")
    n, n_weeks, n_rot = problem.eligible.shape
    if n_rot > MAX_ROTATIONS:
        raise ValueError(f"rsd supports at most {MAX_ROTATIONS} rotations, got {n_rot}.")
    orders = np.asarray(orders)
    draws = orders.shape[0]
    pre = np.asarray(problem.preassigned, dtype=np.int64).reshape(-1, 3)
    left = (problem.demand - np.bincount(pre[:, 0], minlength=n)).astype(np.int64)
    free = problem.capacity.astype(np.int64).copy()
    np.subtract.at(free, (pre[:, 1], pre[:, 2]), 1)

    bits = 1 << np.arange(n_rot)
    mask = (problem.eligible.astype(np.int64) @ bits)  # (n, W) eligible-rotation subset of each week
    blocked = mask == 0
    blocked[pre[:, 0], pre[:, 1]] = True
    # Each faculty member's candidate weeks, best first, padded with -1.
    order = np.argsort(np.where(blocked, np.iinfo(np.int64).max, problem.rank), axis=1, kind="stable")
    n_cand = (~blocked).sum(axis=1)
    cand = np.where(np.arange(n_weeks)[None, :] < n_cand[:, None], order, -1).astype(np.int64)

    tally = _Tally((draws, n, n_weeks), holdings, top)
    qualified = mask.max(axis=1, initial=0)
    packable = n_rot <= 3 and (free @ ((np.arange(1 << n_rot)[:, None] & bits[None, :]) != 0).T).max(initial=0) <= 255
    if method == "auto" and n_weeks <= 64 and packable and ((mask == qualified[:, None]) | (mask == 0)).all():
        return _bitset_batch(orders, left=left, free=free, mask=qualified, cand=cand, n_cand=n_cand,
                             pre=pre, tally=tally, n_rot=n_rot)
    single = n_rot == 1
    if single:
        slack = np.broadcast_to(free[:, 0], (draws, n_weeks)).copy()  # seats left per week, per draw
    else:
        subsets = np.arange(1 << n_rot)
        member = (subsets[:, None] & bits[None, :]) != 0
        room = free @ member.T.astype(np.int64)  # (W, 2^R)
        within = ((subsets[:, None] & subsets[None, :]) == subsets[:, None]).astype(np.int64)  # within[m, S]
        slack = np.broadcast_to(room, (draws, n_weeks, 1 << n_rot)).copy()

    for faculty in _positions_major(orders):
        need = left[faculty]
        active = np.flatnonzero(need > 0)
        lo, width = 0, _FIRST_CHUNK
        while active.size and lo < n_weeks:
            hi = min(n_weeks, lo + width)
            f = faculty[active]
            weeks = cand[f, lo:hi]  # (K, c)
            valid = weeks >= 0
            w = np.where(valid, weeks, 0)
            rows = active[:, None]
            if single:
                fits = valid & (slack[rows, w] > 0)
            else:
                need_room = within[mask[f[:, None], w]]  # (K, c, 2^R)
                fits = valid & (slack[rows, w] >= need_room).all(axis=2)
            taken = fits & (np.cumsum(fits, axis=1) <= need[active][:, None])
            k_idx, c_idx = np.nonzero(taken)
            draw_idx, week_idx = active[k_idx], w[k_idx, c_idx]
            if single:
                slack[draw_idx, week_idx] -= 1
            else:
                slack[draw_idx, week_idx] -= need_room[k_idx, c_idx]
            tally.add(draw_idx, f[k_idx], week_idx)
            need[active] -= taken.sum(axis=1)
            more = (need[active] > 0) & valid[:, -1] & (hi < n_cand[f])
            active = active[more]
            lo, width = hi, width * 2

    return tally.result(pre)


def _bitset_batch(orders, *, left, free, mask, cand, n_cand, pre, tally, n_rot):
    """rsd_batch when every faculty member has one rotation subset (their qualifications), W ≤ 64, R ≤ 3 and no
    rotation subset of a week has more than 255 seats.

    The Hall slack room[w, S] − held[w, S] of the 2^R ≤ 8 rotation subsets S of a week is packed one byte per
    subset into a uint64, so a pick subtracts one packed word (a 1 in the byte of every S ⊇ the holder's subset m).
    A week has room for a holder qualified for m while no byte S ⊇ m is zero; per draw and subset S, empty[S] is
    the set of weeks whose byte S is zero, so the weeks open to m are the complement of the union of empty[S] over
    S ⊇ m, and a faculty member's picks are their first d candidate weeks among those (_Candidates).
    """
    draws, n = orders.shape
    n_weeks = cand.shape[1]
    if n_rot == 1:
        return _bitset_single(orders, left=left, seats=free[:, 0], cand=cand, n_cand=n_cand, pre=pre, tally=tally)
    n_sub = 1 << n_rot
    subsets = np.arange(n_sub)
    bits = 1 << np.arange(n_rot)
    member = (subsets[:, None] & bits[None, :]) != 0
    room = free @ member.T.astype(np.int64)  # (W, 2^R): seats in the rotations of S
    within = (subsets[:, None] & subsets[None, :]) == subsets[:, None]  # within[m, S]: m ⊆ S
    byte = np.left_shift(np.uint64(1), (8 * subsets).astype(np.uint64))  # the low bit of subset S's byte
    step_of = (within.astype(np.uint64) * byte).sum(axis=1, dtype=np.uint64)  # (2^R,) a pick by m: 1 in S ⊇ m
    high = step_of * np.uint64(0x80)  # per m: the high bits of the bytes S ⊇ m
    low7 = np.uint64(0x7F7F7F7F7F7F7F7F)

    def zero_bytes(words):  # high bit set in exactly the zero bytes (no borrow between bytes)
        return ~(((words & low7) + low7) | words | low7)

    choices = _Candidates(cand, n_cand, unit=bool((left <= 1).all()))
    week_bit = choices.week_bit
    start = (room.astype(np.uint64) * byte).sum(axis=1, dtype=np.uint64)  # (W,) packed slack
    # empty[S, d] (subset-major, one spare all-zero row n_sub): the weeks whose byte S is zero in draw d
    empty = np.zeros((n_sub + 1, draws), dtype=choices.word)
    empty[:n_sub] = ((room == 0).T * week_bit[None, :]).sum(axis=1, dtype=choices.word)[:, None]
    empty_flat = empty.reshape(-1)
    # supersets[m]: the subsets S ⊇ m, padded with the all-zero row
    supersets = np.full((n_sub, n_sub), n_sub, dtype=np.int64)
    for m in range(n_sub):
        found = np.flatnonzero(within[m])
        supersets[m, :found.size] = found
    present = np.bincount(mask, minlength=n_sub)[1:] > 0  # the subsets some faculty member is qualified for
    width = int(within.sum(axis=1)[1:][present].max(initial=1))
    supersets = supersets[:, :width] * draws
    # slack[w·D + d], week-major: draws that pick the same popular week touch neighbouring words
    slack = np.broadcast_to(start[:, None], (n_weeks, draws)).copy().reshape(-1)
    draw_ids = np.arange(draws, dtype=np.int64)

    def take(alive, faculty, week, m):  # draw alive[k]'s faculty member (of subset m[k]) takes week[k]
        cell = week * draws + draw_ids[alive]
        before = slack[cell]
        step = step_of[m]
        slack[cell] = before - step
        # A byte S ⊇ m empties when it held exactly 1, i.e. equals step's byte there.
        emptied = zero_bytes(before ^ step) & high[m]
        hit = np.flatnonzero(emptied)
        if hit.size:
            k, subset = np.nonzero((emptied[hit] >> np.uint64(7)).astype("<u8").view(np.uint8).reshape(-1, 8))
            k = hit[k]
            empty_flat[subset * draws + (k if isinstance(alive, slice) else alive[k])] |= week_bit[week[k]]
        tally.add(alive, faculty, week)

    for faculty in _positions_major(orders):
        need = left[faculty]
        if not need.any():
            continue
        m = mask[faculty]
        rows = supersets[m]  # (D, width) row offsets of the subsets S ⊇ m
        closed = empty_flat[rows[:, 0] + draw_ids]
        for j in range(1, width):
            closed |= empty_flat[rows[:, j] + draw_ids]
        for alive, week in choices.picks(faculty, ~closed, need):
            take(alive, faculty[alive], week, m[alive])
    return tally.result(pre)


class _Candidates:
    """Each faculty member's candidate weeks (best first) as bit sets over weeks, answering "their first d candidate
    weeks within a set of weeks" for a whole step of draws at once.

    Week sets are uint32 when W ≤ 32, else uint64. When everyone takes one week, byte tables answer in one lookup
    per byte of the set: for byte k (weeks 8k … 8k + 7), tables[k][f·256 + b] is the set, in faculty f's order, of
    their candidates among the bits b (bit j for their j-th best week), so OR-ing the lookups gives the whole set in
    their order and its lowest bit is their best week in it. With more demand, prefix[f·row + j] (the set of f's j
    best candidates) is binary-searched for the shortest prefix holding d weeks of the set.
    """

    def __init__(self, cand: np.ndarray, n_cand: np.ndarray, *, unit: bool) -> None:
        n, n_weeks = cand.shape
        self.unit = unit
        self.word = np.dtype("<u4" if n_weeks <= 32 else "<u8")  # little-endian: byte k holds weeks 8k … 8k + 7
        self.one = self.word.type(1)
        self.week_bit = np.left_shift(self.one, np.arange(n_weeks, dtype=self.word))
        ranked = np.arange(n_weeks)[None, :] < n_cand[:, None]
        if unit:
            self._build_tables(cand, ranked)
        else:
            self.steps = int(n_weeks).bit_length()
            self.row = 1 << self.steps  # ≥ W + 1 entries: a search never leaves its row
            prefix = np.zeros((n, self.row), dtype=self.word)
            sets = np.cumsum(np.where(ranked, self.week_bit[np.maximum(cand, 0)], 0), axis=1, dtype=self.word)
            prefix[:, 1:n_weeks + 1] = sets
            prefix[:, n_weeks + 1:] = sets[:, -1:]
            self.prefix = prefix.reshape(-1)

    def _build_tables(self, cand, ranked):
        n, n_weeks = cand.shape
        self.n_bytes = max(1, -(-n_weeks // 8))
        order_bit = np.zeros((n, 8 * self.n_bytes), dtype=self.word)  # bit j where w is f's j-th best candidate
        rows = np.broadcast_to(np.arange(n)[:, None], cand.shape)
        order_bit[rows[ranked], cand[ranked]] = np.broadcast_to(self.week_bit, cand.shape)[ranked]
        order_bit = order_bit.reshape(n, self.n_bytes, 8)
        values = np.arange(256)
        self.tables = []
        for k in range(self.n_bytes):
            table = np.zeros((n, 256), dtype=self.word)
            for i in range(8):
                table |= np.where((values >> i) & 1 == 1, order_bit[:, k, i, None], self.word.type(0))
            self.tables.append(table.reshape(-1))
        self.row = 8 * self.word.itemsize + 1  # week_at[f·row + c]: f's c-th best candidate week (c from 1), or −1
        week_at = np.full((n, self.row), -1, dtype=np.int64)
        week_at[:, 1:n_weeks + 1] = np.where(ranked, cand, -1)
        self.week_at = week_at.reshape(-1)

    def best(self, faculty: np.ndarray, weeks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(unit demand) (found, week): whether faculty[d] has a candidate in the set weeks[d], and the best one
        (meaningful where found)."""
        base = faculty * 256
        set_bytes = weeks.astype(self.word, copy=False).view(np.uint8).reshape(-1, self.word.itemsize)
        index = np.empty(len(base), dtype=np.int64)
        np.add(base, set_bytes[:, 0], out=index)
        ranked = self.tables[0].take(index)
        for k in range(1, self.n_bytes):
            np.add(base, set_bytes[:, k], out=index)
            ranked |= self.tables[k].take(index)
        position = np.bitwise_count(ranked ^ (ranked - self.one))  # 1 + the index of the lowest bit
        return ranked != 0, self.week_at.take(faculty * self.row + position)

    def first(self, faculty: np.ndarray, weeks: np.ndarray, need: np.ndarray) -> np.ndarray:
        """Per draw, the set of faculty[d]'s first need[d] candidate weeks within weeks[d] (fewer when there are not
        enough): prefix[j] & weeks for the smallest j whose popcount reaches need (the whole row's when none does),
        found bit by bit from the top: the pointer moves up by each power of two that still leaves it short."""
        base = faculty * self.row
        at = base.copy()  # the last prefix known to fall short (prefix 0, the empty set, always does)
        for step in (1 << np.arange(self.steps - 1, -1, -1)).tolist():
            probe = at + step
            short = np.bitwise_count(self.prefix.take(probe) & weeks) < need
            np.copyto(at, probe, where=short)
        chosen = self.prefix.take(np.minimum(at + 1, base + self.row - 1)) & weeks
        chosen[need < 1] = 0
        return chosen

    def picks(self, faculty: np.ndarray, weeks: np.ndarray, need: np.ndarray):
        """Yields (draws, weeks) rounds of picks: in each round every listed draw's faculty member takes one more of
        their first need[d] candidate weeks within weeks[d]; a draw appears at most once per round."""
        if self.unit:
            found, week = self.best(faculty, weeks)
            found &= need > 0
            if found.all():
                yield slice(None), week
            else:
                alive = np.flatnonzero(found)
                yield alive, week[alive]
            return
        chosen = self.first(faculty, weeks, need)
        alive = np.flatnonzero(chosen)
        while alive.size:
            x = chosen[alive]
            lowest = x & (~x + self.one)
            x ^= lowest
            chosen[alive] = x
            yield alive, np.log2(lowest.astype(np.float64)).astype(np.int64)
            alive = alive[x != 0]


def _positions_major(orders: np.ndarray) -> np.ndarray:
    """(n, D) int64 copy of (D, n) orders: row t lists the faculty at lottery position t in every draw."""
    if orders.dtype == np.int64 and orders.T.flags.c_contiguous:
        return orders.T  # already position-major (rsd_chances builds it so)
    draws, n = orders.shape
    out = np.empty((n, draws), dtype=np.int64)
    for lo in range(0, draws, 1024):  # blocked: a plain transpose of a large array thrashes the cache
        out[:, lo:lo + 1024] = orders[lo:lo + 1024].T
    return out


def _bitset_single(orders, *, left, seats, cand, n_cand, pre, tally):
    """_bitset_batch for one rotation: a week is full when its seats run out."""
    draws, n = orders.shape
    n_weeks = cand.shape[1]
    choices = _Candidates(cand, n_cand, unit=bool((left <= 1).all()))
    week_bit = choices.week_bit
    # seats_left[w·D + d], week-major: draws that pick the same popular week touch neighbouring words
    seats_left = np.broadcast_to(seats.astype(np.int32)[:, None], (n_weeks, draws)).copy().reshape(-1)
    full = np.broadcast_to((week_bit * (seats < 1)).sum(dtype=choices.word), draws).copy()
    draw_ids = np.arange(draws, dtype=np.int64)
    for faculty in _positions_major(orders):
        need = left[faculty]
        if not need.any():
            continue
        for alive, week in choices.picks(faculty, ~full, need):
            cell = week * draws + draw_ids[alive]
            left_after = seats_left[cell] - 1
            seats_left[cell] = left_after
            full[alive] |= week_bit.take(week) * (left_after < 1)
            tally.add(alive, faculty[alive], week)
    return tally.result(pre)


class _Tally:
    """Counts (n, W) of picks (and with `top` the hits per faculty), or with holdings the (D, n, W) bool array of who
    holds what in each draw."""

    def __init__(self, shape, holdings, top=None):
        self.draws, self.n, self.n_weeks = shape
        self.counts = np.zeros(self.n * self.n_weeks, dtype=np.int64)
        self.held = np.zeros(shape, dtype=bool) if holdings else None
        self.top = None if top is None else np.asarray(top, dtype=bool)
        self.hit = None if top is None else np.zeros((len(self.top), self.draws, self.n), dtype=bool)

    def add(self, draw, faculty, week):  # draw: an index array, or slice(None) for one pick in every draw
        self.counts += np.bincount(faculty * self.n_weeks + week, minlength=self.counts.size)
        if isinstance(draw, slice):
            draw = np.arange(self.draws)[draw]
        if self.held is not None:
            self.held[draw, faculty, week] = True
        if self.top is not None:
            for k in range(len(self.top)):
                got = self.top[k, faculty, week]
                self.hit[k, draw[got], faculty[got]] = True

    def result(self, pre):
        if self.held is not None:
            self.held[:, pre[:, 0], pre[:, 1]] = True
            return self.held
        counts = self.counts.reshape(self.n, self.n_weeks)
        np.add.at(counts, (pre[:, 0], pre[:, 1]), self.draws)
        if self.top is None:
            return counts
        for k in range(len(self.top)):
            got = self.top[k, pre[:, 0], pre[:, 1]]
            self.hit[k][:, pre[got, 0]] = True
        return counts, self.hit.sum(axis=1).T.astype(np.int64)
