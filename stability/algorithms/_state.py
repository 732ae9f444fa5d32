"""The vectorised machinery behind every swap count: slots, the "could take and gains" mask, slot-pair tables.

Slot s = w·R + r, S = W·R. For assignment a = (i, w, r) and slot t = (w_t, r_t):

    F[a, t] = eligible[i, w_t, r_t] ∧ ¬holds[i, w_t] ∧ ¬side[a, t] ∧ ¬locked[a]      a's holder could take t
    G[a, t] = u[i, w_t] − u[i, w]                                          a's holder would gain
    M[a, t] = F[a, t] ∧ G[a, t] > ε

side[a, t] is a breach of a side constraint the move would create (SwapProblem: a holiday cap reached, or a week
next to another one the holder keeps); it depends on a's own week, so the "cannot" table is kept per row, (m, S).

(a, b) is a feasible swap iff F[a, slot b] ∧ F[b, slot a]; blocking iff M[a, slot b] ∧ M[b, slot a]. Both are
separable given the slot pair, and i = j or w = w' drop out by themselves (i holds w' through b). So with
C[s, t] = #{a in s : M[a, t]}, E[s, t] = #{a in s : F[a, t]} and Bmax[s, t] = max over a in s with M[a, t] of
G[a, t] (argument Barg), everything is O(m·S + S²) instead of O(m²):

    ordered blocking pairs       = Σ C[s, t]·C[t, s]          beneficial deviations = Σ C[s, t]·E[t, s]
    a in a blocking swap        ⇔ ∃t: M[a, t] ∧ C[t, slot a] > 0
    a's best blocking partner    = argmax over t of G[a, t] + Bmax[t, slot a]   (b = Barg[t, slot a])
    the best blocking swap       = argmax over (s, t) of Bmax[s, t] + Bmax[t, s]

The rows of each slot sit in a padded (S, width) table, so a group of slots is one dense (slots, width, S) block
and every per-slot reduction is a plain reduction over its middle axis. Blocks of slots are processed in turn so
the working set stays under ``CHUNK_BYTES`` whatever m is. Row m and faculty n are sentinels that can never swap;
the padding points at them. Slot occupancy never changes under swaps, so a swap exchanges two table entries.

"No such row" is 0, not -inf: a gain that counts is > ε ≥ 0, so the masked gain G·M is > 0 exactly where M holds,
and a multiplication is several times faster than np.where on a random mask. Ties in Bmax go to the row that comes
first in the slot's table (the lowest index while the table is freshly built).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stability.algorithms.types import SwapProblem

CHUNK_BYTES = 24 * 2**20   # temporaries of one block of the scan
KEEP_BYTES = 16 * 2**20    # pass 2 reuses pass 1's masked gains when they fit in this
MIN_BLOCK_CELLS = 2**16    # a group of slots smaller than this is not worth its own numpy calls
_BYTES_PER_CELL = 48       # the scan's temporaries per (row, slot) cell


class SwapState:
    """The arrays of a validated problem in slot form; mutable so dynamics can execute swaps in place."""

    def __init__(self, p: SwapProblem, epsilon: float) -> None:
        n, n_weeks, n_rot = p.eligible.shape
        rows = p.assignments
        m = len(rows)
        n_slots = n_weeks * n_rot
        self.n, self.n_weeks, self.n_rot, self.n_slots, self.m = n, n_weeks, n_rot, n_slots, m
        self.eps = float(epsilon)
        self.slot_week = np.repeat(np.arange(n_weeks), n_rot)
        self.elig = np.zeros((n + 1, n_slots), dtype=bool)
        self.elig[:n] = p.eligible.reshape(n, n_slots)
        self.u_slot = np.zeros((n + 1, n_slots))
        self.u_slot[:n] = p.utility[:, self.slot_week]
        self.fac = np.append(rows[:, 0], n)
        self.slot = np.append(rows[:, 1] * n_rot + rows[:, 2], 0)
        self.locked = np.append(np.asarray(p.locked, dtype=bool), True)
        self.base = self.u_slot[self.fac, self.slot]                 # u[i, w] of every row
        self.holds = np.zeros((n + 1, n_weeks), dtype=bool)
        self.holds[self.fac[:m], self.slot[:m] // n_rot] = True
        self.is_holiday = np.zeros(n_weeks, dtype=bool) if p.is_holiday is None else np.asarray(p.is_holiday, dtype=bool)
        self.max_holidays = p.max_holidays
        self.no_back_to_back = bool(p.no_back_to_back)
        self.side = self.max_holidays is not None or self.no_back_to_back
        self.cannot = self.cannot_rows(np.arange(m + 1))             # (m + 1, S): a's holder cannot take t
        order = np.argsort(self.fac[:m], kind="stable")
        self.rows_of = np.split(order, np.cumsum(np.bincount(self.fac[:m], minlength=n))[:-1]) if n else []
        # The padded slot table, rows of a slot in ascending index order (so first = lowest index on ties).
        slot = self.slot[:m]
        occupancy = np.bincount(slot, minlength=n_slots)
        self.occupancy = occupancy          # never changes under swaps
        self.blocks = None                  # set by _blocks()
        self.width = max(int(occupancy.max(initial=0)), 1)
        by_slot = np.argsort(slot, kind="stable")
        col = np.arange(m) - (np.cumsum(occupancy) - occupancy)[slot[by_slot]]
        self.table = np.full((n_slots, self.width), m, dtype=np.int64)
        self.table[slot[by_slot], col] = by_slot
        self.col = np.zeros(m + 1, dtype=np.int64)
        self.col[by_slot] = col
        self.week_slots = np.arange(n_slots).reshape(n_weeks, n_rot)
        self.mirror()

    def cannot_rows(self, rows: np.ndarray) -> np.ndarray:
        """¬F without the lock for the given rows against every slot: not eligible, holds that week already, or a
        side constraint the move would breach (a move out of a week frees it). (len(rows), S) bool."""
        return self.cannot_of(rows, self.holds[self.fac[rows]], self.slot[rows] // self.n_rot)

    def cannot_of(self, rows: np.ndarray, held: np.ndarray, week: np.ndarray) -> np.ndarray:
        """cannot_rows for rows of any shape (...), given each row's holder's weeks held (..., W) and its week
        (...): the same rules for a state whose arrangement lives elsewhere (the copies of _batch.Batch)."""
        f = self.fac[rows]
        out = ~self.elig[f]
        out |= held[..., self.slot_week]
        if self.side:
            if self.max_holidays is not None:
                full = (held & self.is_holiday).sum(axis=-1) >= self.max_holidays
                out |= (full & ~self.is_holiday[week])[..., None] & self.is_holiday[self.slot_week]
            if self.no_back_to_back:
                kept = held.copy()
                np.put_along_axis(kept, week[..., None], False, axis=-1)
                near = np.zeros_like(kept)
                near[..., 1:] |= kept[..., :-1]
                near[..., :-1] |= kept[..., 1:]
                out |= near[..., self.slot_week]
        out[np.asarray(rows) == self.m] = True
        return out

    def mirror(self) -> None:
        """fac, base and locked of every table cell, kept in step with the table by swap()."""
        self.t_fac = self.fac[self.table]
        self.t_base = self.base[self.table]
        self.t_locked = self.locked[self.table]

    def copy(self) -> SwapState:
        other = object.__new__(SwapState)
        other.__dict__.update(self.__dict__)
        for name in ("fac", "slot", "locked", "base", "holds", "cannot", "table", "col", "t_fac", "t_base", "t_locked"):
            setattr(other, name, getattr(self, name).copy())
        return other

    def rows(self) -> np.ndarray:
        """The current (m, 3) rows (i, w, r)."""
        slot = self.slot[: self.m]
        return np.column_stack([self.fac[: self.m], slot // self.n_rot, slot % self.n_rot]).astype(np.int64)

    def welfare(self) -> float:
        return float(self.base[: self.m].sum())

    def block(self, slots: np.ndarray, width: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, G, F) of the rows in the given slots (their first `width` table columns) against every slot:
        (k, width), (k, width, S) twice."""
        cut = slice(None, width)
        rows = self.table[slots, cut]
        f = self.t_fac[slots, cut]
        gain = np.take(self.u_slot, f, axis=0)
        np.subtract(gain, self.t_base[slots, cut][..., None], out=gain)
        feasible = np.take(self.cannot, rows, axis=0)
        np.logical_or(feasible, self.t_locked[slots, cut][..., None], out=feasible)
        np.logical_not(feasible, out=feasible)
        return rows, gain, feasible

    def masked_block(self, slots: np.ndarray, width: int | None = None) -> tuple[np.ndarray, ...]:
        """(rows, G·M, F, M) for the rows in the given slots; G·M is > 0 exactly where M holds."""
        rows, gain, feasible = self.block(slots, width)
        wants = gain > self.eps
        wants &= feasible
        np.multiply(gain, wants, out=gain)
        return rows, gain, feasible, wants

    def masked(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """G·M (> 0 exactly where M holds) for broadcast index arrays rows and cols."""
        return self._masked(np.take(self.fac, rows), rows, np.take(self.base, rows), np.take(self.locked, rows), cols)

    def masked_cells(self, slots: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """G·M of the table rows of slots[q] against cols[q]: (q, width)."""
        return self._masked(np.take(self.t_fac, slots, axis=0), np.take(self.table, slots, axis=0),
                            np.take(self.t_base, slots, axis=0),
                            np.take(self.t_locked, slots, axis=0), cols[:, None])

    def _masked(self, f: np.ndarray, rows: np.ndarray, base: np.ndarray, locked: np.ndarray,
                cols: np.ndarray) -> np.ndarray:
        # Flat takes: far faster than 2-D fancy indexing.
        gain = np.take(self.u_slot.ravel(), f * self.n_slots + cols) - base
        ok = ~(np.take(self.cannot.ravel(), rows * self.n_slots + cols) | locked) & (gain > self.eps)
        return gain * ok

    def lock(self, rows: np.ndarray) -> None:
        self.locked[rows] = True
        self.t_locked[self.slot[rows], self.col[rows]] = True

    def swap(self, a: int, b: int) -> None:
        """Execute the swap of rows a and b: a's holder takes b's slot and vice versa."""
        i, j = self.fac[a], self.fac[b]
        sa, sb = self.slot[a], self.slot[b]
        wa, wb = sa // self.n_rot, sb // self.n_rot
        self.holds[i, wa] = self.holds[j, wb] = False
        self.holds[i, wb] = self.holds[j, wa] = True
        self.slot[a], self.slot[b] = sb, sa
        self.base[a], self.base[b] = self.u_slot[i, sb], self.u_slot[j, sa]
        ca, cb = self.col[a], self.col[b]
        self.table[sa, ca], self.table[sb, cb] = b, a
        self.col[a], self.col[b] = cb, ca
        self.t_fac[sa, ca], self.t_fac[sb, cb] = j, i
        self.t_base[sa, ca], self.t_base[sb, cb] = self.base[b], self.base[a]
        self.t_locked[sa, ca], self.t_locked[sb, cb] = self.locked[b], self.locked[a]
        if self.side:  # a side constraint may change anywhere in the two holders' rows
            affected = np.concatenate([self.rows_of[i], self.rows_of[j]])
            self.cannot[affected] = self.cannot_rows(affected)
            return
        r = self.n_rot
        for k in (i, j):
            rows = self.rows_of[k][:, None]
            self.cannot[rows, wa * r:(wa + 1) * r] = ~self.elig[k, wa * r:(wa + 1) * r] | self.holds[k, wa]
            self.cannot[rows, wb * r:(wb + 1) * r] = ~self.elig[k, wb * r:(wb + 1) * r] | self.holds[k, wb]


@dataclass
class Tables:
    """Slot-pair tables of one scan (see the module docstring); bmax is 0 and barg m (the sentinel) where no row
    of s wants t."""

    count: np.ndarray      # C (S, S)
    feasible: np.ndarray   # E (S, S), only when asked for
    gain_sum: np.ndarray   # Σ G over a in s with M[a, t], (S, S), only when asked for
    bmax: np.ndarray       # (S, S) float
    barg: np.ndarray       # (S, S) int64


@dataclass
class Scan:
    tables: Tables
    in_blocking: np.ndarray
    best_partner: np.ndarray     # -1 where none
    best_total: np.ndarray       # 0 where none


def _blocks(state: SwapState) -> list[tuple[np.ndarray, int]]:
    """Groups of occupied slots of similar occupancy (slots, width), each under CHUNK_BYTES of temporaries.

    Slots are taken by decreasing occupancy and a group closes when occupancy falls below 3/4 of its first slot's,
    so padding stays small even when capacities differ a lot between rotations.
    """
    if state.blocks is None:
        occupancy = state.occupancy
        order = np.argsort(-occupancy, kind="stable")
        order = order[occupancy[order] > 0]
        blocks, start = [], 0
        while start < len(order):
            width = int(occupancy[order[start]])
            per = max(1, CHUNK_BYTES // (_BYTES_PER_CELL * width * state.n_slots))
            # Close the group at the first slot below 3/4 of its width — once the group is big enough for the
            # numpy call overhead of another group to pay off.
            least = -(-MIN_BLOCK_CELLS // (width * state.n_slots))
            similar = np.flatnonzero(occupancy[order[start:start + per]] * 4 < 3 * width)
            similar = similar[similar >= least]
            end = start + (int(similar[0]) if len(similar) else min(per, len(order) - start))
            blocks.append((order[start:end], width))
            start = end
        state.blocks = blocks
    return state.blocks


def _recomputed(state: SwapState, blocks: list[tuple[np.ndarray, int]]):
    for sl, width in blocks:
        rows, gm, _, wants = state.masked_block(sl, width)
        yield sl, rows, gm, wants


def _keep(state: SwapState, blocks: list[tuple[np.ndarray, int]]) -> bool:
    return sum(len(slots) * width for slots, width in blocks) * state.n_slots * 8 <= KEEP_BYTES


def _counts(mask: np.ndarray) -> np.ndarray:
    """Σ over a block's middle axis of a boolean mask, as a small unsigned integer array."""
    return mask.view(np.uint8).sum(axis=1, dtype=np.uint16 if mask.shape[1] < 2**16 else np.int64)


def _slot_argmax(gm: np.ndarray, rows: np.ndarray, best: np.ndarray, m: int) -> np.ndarray:
    """The first row of each (slot, column) block entry reaching best, m where best is 0 — without an argmax over
    the middle axis (slow in numpy): the first hit is the largest of descending column weights."""
    width = gm.shape[1]
    weights = np.arange(width, 0, -1, dtype=np.uint8 if width < 256 else np.int64)[None, :, None]
    first = width - ((gm == best[:, None, :]) * weights).max(axis=1).astype(np.int64)
    picked = np.take_along_axis(rows, first, axis=1)
    return np.where(best > 0, picked, m)


def tables(state: SwapState, *, full: bool = True) -> tuple[Tables, list]:
    """Pass 1: C, Bmax/Barg (and E, Σ G when full) block by block. Also returns every block's (slots, rows, G·M, M)
    when together they fit in KEEP_BYTES, for pass 2 to reuse instead of recomputing them."""
    n_slots, m = state.n_slots, state.m
    count = np.zeros((n_slots, n_slots), dtype=np.int64)
    feasible = np.zeros_like(count) if full else count
    gain_sum = np.zeros((n_slots, n_slots)) if full else np.zeros((0, 0))
    bmax = np.zeros((n_slots, n_slots))
    barg = np.full((n_slots, n_slots), m, dtype=np.int64)
    blocks = _blocks(state)
    keep = _keep(state, blocks)
    kept = []
    for sl, width in blocks:
        rows, gm, ok, wants = state.masked_block(sl, width)
        count[sl] = _counts(wants)
        if full:
            feasible[sl] = _counts(ok)
            gain_sum[sl] = gm.sum(axis=1)
        del ok
        best = gm.max(axis=1)
        bmax[sl] = best
        barg[sl] = _slot_argmax(gm, rows, best, m)
        if keep:
            kept.append((sl, rows, gm, wants))
    return Tables(count, feasible, gain_sum, bmax, barg), kept


def scan(state: SwapState) -> Scan:
    """Pass 1 (tables) and pass 2 (per assignment: in a blocking swap, best blocking partner).

    a's best partner: the largest gain_a + gain_b; ties go to the partner's slot that comes first (week, then
    rotation), then to the lowest index in that slot.
    """
    m = state.m
    tabs, kept = tables(state)
    wanted_back = tabs.count.T > 0          # [s, t]: somebody in t wants s
    bmax_t, barg_t = tabs.bmax.T.copy(), tabs.barg.T.copy()
    in_blocking = np.zeros(m + 1, dtype=bool)
    partner = np.full(m + 1, -1, dtype=np.int64)
    best_total = np.zeros(m + 1)
    for sl, rows, gm, valid in kept or _recomputed(state, _blocks(state)):
        valid &= wanted_back[sl][:, None, :]
        total = np.add(gm, bmax_t[sl][:, None, :], out=gm)   # pass 1's G·M is not needed any more
        np.multiply(total, valid, out=total)
        del valid
        at = total.argmax(axis=2)
        best = np.take_along_axis(total, at[..., None], axis=2)[..., 0]
        inb = best > 0
        pick = np.take_along_axis(np.broadcast_to(barg_t[sl][:, None, :], total.shape), at[..., None], axis=2)[..., 0]
        in_blocking[rows] = inb
        partner[rows] = np.where(inb, pick, -1)
        best_total[rows] = best
    return Scan(tabs, in_blocking[:m], partner[:m], best_total[:m])


def in_blocking(state: SwapState) -> np.ndarray:
    """in_blocking alone, from the count table: ∃t M[a, t] ∧ C[t, slot a] > 0 (two light passes)."""
    m, n_slots = state.m, state.n_slots
    count = np.zeros((n_slots, n_slots), dtype=np.int64)
    blocks = _blocks(state)
    keep = _keep(state, blocks)
    kept = []
    for sl, width in blocks:
        rows, _, _, wants = state.masked_block(sl, width)
        count[sl] = _counts(wants)
        if keep:
            kept.append((sl, rows, None, wants))
    wanted_back = count.T > 0
    out = np.zeros(m + 1, dtype=bool)
    for sl, rows, _, wants in kept or _recomputed(state, blocks):
        wants &= wanted_back[sl][:, None, :]
        out[rows] = wants.any(axis=2)
    return out[:m]


class SlotTable:
    """Bmax/Barg and the best blocking swap, kept exact while rows drop out (the greedy of recommended swaps).

    total[s, t] = Bmax[s, t] + Bmax[t, s] where both sides want (0 elsewhere) is symmetric; rowmax/rowarg hold
    each row's best entry. (Dynamics keep the same tables exact under executed swaps: _batch.Batch.)
    """

    def __init__(self, state: SwapState, tabs: Tables) -> None:
        self.state = state
        self.bmax = tabs.bmax.copy()
        self.barg = tabs.barg.copy()
        self._recompute()

    def _recompute(self) -> None:
        self.total = _pair_total(self.bmax, self.bmax.T)
        self.rowarg = self.total.argmax(axis=1)
        self.rowmax = self.total[np.arange(len(self.total)), self.rowarg]

    def best(self) -> tuple[int, int, float] | None:
        """The best blocking swap (a, b, gain_a + gain_b), or None when there is none."""
        if self.rowmax.size == 0:
            return None
        s = int(np.argmax(self.rowmax))
        value = float(self.rowmax[s])
        if value <= 0:
            return None
        t = int(self.rowarg[s])
        return int(self.barg[s, t]), int(self.barg[t, s]), value

    def _refresh_entries(self, s: np.ndarray, t: np.ndarray) -> None:
        st = self.state
        gm = st.masked_cells(s, t)                                     # (q, width)
        arg = gm.argmax(axis=1)
        best = gm[np.arange(len(s)), arg]
        self.bmax[s, t] = best
        self.barg[s, t] = np.where(best > 0, st.table[s, arg], st.m)

    def greedy(self) -> list[tuple[int, int, float]]:
        """Greedy conflict-free blocking swaps: repeatedly the best swap (a, b, total) among faculty not yet used;
        after a pick both faculty members' rows drop out."""
        st = self.state
        picked = []
        while (best := self.best()) is not None:
            picked.append(best)
            a, b, _ = best
            self.drop(np.concatenate([st.rows_of[st.fac[a]], st.rows_of[st.fac[b]]]))
        return picked

    def drop(self, rows: np.ndarray) -> None:
        """Take rows out of every swap (lock them) and repair the entries whose best row they were.

        Those entries sit in the Bmax rows of the dropped rows' slots, and only the ones whose reverse entry still
        wants matter: dropping rows only lowers Bmax, so a pair with one side at 0 stays 0 (its stale side is never
        read). Values only fall, so a row of total needs a new maximum only when its best entry was repaired.
        """
        st = self.state
        st.lock(rows)
        gone = np.zeros(st.m + 1, dtype=bool)
        gone[rows] = True
        mark = np.zeros(st.n_slots, dtype=bool)
        mark[st.slot[rows]] = True
        slots = np.flatnonzero(mark)
        k, t = np.nonzero(gone[self.barg[slots]])
        s = slots[k]
        live = self.bmax[t, s] > 0
        s, t = s[live], t[live]
        if len(s) == 0:
            return
        self._refresh_entries(s, t)
        pair = _pair_total(self.bmax[s, t], self.bmax[t, s])
        self.total[s, t] = pair
        self.total[t, s] = pair
        need = np.concatenate([s[self.rowarg[s] == t], t[self.rowarg[t] == s]])
        if len(need):
            arg = self.total[need].argmax(axis=1)
            self.rowarg[need] = arg
            self.rowmax[need] = self.total[need, arg]


def _pair_total(forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """forward + backward where both sides want (both > 0), else 0."""
    both = forward > 0
    both &= backward > 0
    total = forward + backward
    np.multiply(total, both, out=total)
    return total
