"""The vectorised machinery behind every swap count: slots, the "could take and gains" mask, slot-pair tables.

Slot s = w·R + r, S = W·R. For assignment a = (i, w, r) and slot t = (w_t, r_t):

    F[a, t] = eligible[i, w_t, r_t] ∧ ¬holds[i, w_t] ∧ ¬locked[a]      a's holder could take t
    G[a, t] = u[i, w_t] − u[i, w]                                          a's holder would gain
    M[a, t] = F[a, t] ∧ G[a, t] > ε

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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stability.algorithms.types import SwapProblem

CHUNK_BYTES = 24 * 2**20   # temporaries of one block of the scan
_BYTES_PER_CELL = 48       # the scan's temporaries per (row, slot) cell
NEG = -np.inf


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
        self.cannot = ~self.elig | self.holds[:, self.slot_week]     # ¬eligible ∨ already holds that week
        order = np.argsort(self.fac[:m], kind="stable")
        self.rows_of = np.split(order, np.cumsum(np.bincount(self.fac[:m], minlength=n))[:-1]) if n else []
        # The padded slot table, rows of a slot in ascending index order (so first = lowest index on ties).
        slot = self.slot[:m]
        occupancy = np.bincount(slot, minlength=n_slots)
        self.width = max(int(occupancy.max(initial=0)), 1)
        by_slot = np.argsort(slot, kind="stable")
        col = np.arange(m) - (np.cumsum(occupancy) - occupancy)[slot[by_slot]]
        self.table = np.full((n_slots, self.width), m, dtype=np.int64)
        self.table[slot[by_slot], col] = by_slot
        self.col = np.zeros(m + 1, dtype=np.int64)
        self.col[by_slot] = col

    def copy(self) -> SwapState:
        other = object.__new__(SwapState)
        other.__dict__.update(self.__dict__)
        for name in ("fac", "slot", "locked", "base", "holds", "cannot", "table", "col"):
            setattr(other, name, getattr(self, name).copy())
        return other

    def rows(self) -> np.ndarray:
        """The current (m, 3) rows (i, w, r)."""
        slot = self.slot[: self.m]
        return np.column_stack([self.fac[: self.m], slot // self.n_rot, slot % self.n_rot]).astype(np.int64)

    def welfare(self) -> float:
        return float(self.base[: self.m].sum())

    def block(self, slots: slice | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows, G, F) of the rows in the given slots against every slot: (k, width), (k, width, S) twice."""
        rows = self.table[slots]
        f = self.fac[rows]
        gain = self.u_slot[f] - self.base[rows][..., None]
        feasible = ~(self.cannot[f] | self.locked[rows][..., None])
        return rows, gain, feasible

    def block_columns(self, cols: np.ndarray) -> np.ndarray:
        """G where M holds, -inf elsewhere, for every table row against the given slots: (S, width, k)."""
        rows = self.table
        f = self.fac[rows]
        gain = self.u_slot[:, cols][f] - self.base[rows][..., None]
        ok = ~(self.cannot[:, cols][f] | self.locked[rows][..., None]) & (gain > self.eps)
        return np.where(ok, gain, NEG)

    def masked(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """G where M holds, -inf elsewhere, for broadcast index arrays rows and cols."""
        f = self.fac[rows]
        gain = self.u_slot[f, cols] - self.base[rows]
        ok = ~(self.cannot[f, cols] | self.locked[rows]) & (gain > self.eps)
        return np.where(ok, gain, NEG)

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
        r = self.n_rot
        for k in (i, j):
            self.cannot[k, wa * r:(wa + 1) * r] = ~self.elig[k, wa * r:(wa + 1) * r] | self.holds[k, wa]
            self.cannot[k, wb * r:(wb + 1) * r] = ~self.elig[k, wb * r:(wb + 1) * r] | self.holds[k, wb]


@dataclass
class Tables:
    """Slot-pair tables of one scan (see the module docstring); barg is m (the sentinel) where bmax is -inf."""

    count: np.ndarray      # C (S, S) int64
    feasible: np.ndarray   # E (S, S) int64, only when asked for
    gain_sum: np.ndarray   # Σ G over a in s with M[a, t], (S, S), only when asked for
    bmax: np.ndarray       # (S, S) float
    barg: np.ndarray       # (S, S) int64


@dataclass
class Scan:
    tables: Tables
    in_blocking: np.ndarray
    best_partner: np.ndarray     # -1 where none
    best_total: np.ndarray       # -inf where none


def _blocks(state: SwapState) -> list[slice]:
    per = max(1, CHUNK_BYTES // (_BYTES_PER_CELL * state.width * max(state.n_slots, 1)))
    return [slice(s, min(s + per, state.n_slots)) for s in range(0, state.n_slots, per)]


def tables(state: SwapState, *, full: bool = True) -> tuple[Tables, list]:
    """Pass 1: C, Bmax/Barg (and E, Σ G when full) block by block. Returns the blocks' (rows, masked G) when
    everything fits in one block, for pass 2 to reuse."""
    n_slots, m = state.n_slots, state.m
    count = np.zeros((n_slots, n_slots), dtype=np.int64)
    feasible = np.zeros_like(count) if full else count
    gain_sum = np.zeros((n_slots, n_slots)) if full else np.zeros((0, 0))
    bmax = np.full((n_slots, n_slots), NEG)
    barg = np.full((n_slots, n_slots), m, dtype=np.int64)
    blocks = _blocks(state)
    kept = []
    for sl in blocks:
        rows, gain, ok = state.block(sl)
        wants = ok & (gain > state.eps)
        count[sl] = np.count_nonzero(wants, axis=1)
        gm = np.where(wants, gain, NEG)
        if full:
            feasible[sl] = np.count_nonzero(ok, axis=1)
            gain_sum[sl] = np.where(wants, gain, 0.0).sum(axis=1)
        del gain, ok, wants
        arg = gm.argmax(axis=1)[:, None, :]
        best = np.take_along_axis(gm, arg, axis=1)[:, 0, :]
        bmax[sl] = best
        barg[sl] = np.where(best > NEG, np.take_along_axis(rows[..., None], arg, axis=1)[:, 0, :], m)
        if len(blocks) == 1:
            kept.append((sl, rows, gm))
    return Tables(count, feasible, gain_sum, bmax, barg), kept


def scan(state: SwapState) -> Scan:
    """Pass 1 (tables) and pass 2 (per assignment: in a blocking swap, best blocking partner)."""
    m = state.m
    tabs, kept = tables(state)
    wanted_back = tabs.count.T > 0          # [s, t]: somebody in t wants s
    bmax_t, barg_t = tabs.bmax.T, tabs.barg.T
    in_blocking = np.zeros(m + 1, dtype=bool)
    partner = np.full(m + 1, -1, dtype=np.int64)
    best_total = np.full(m + 1, NEG)
    for sl, rows, gm in kept or ((sl, None, None) for sl in _blocks(state)):
        if gm is None:
            rows, gain, ok = state.block(sl)
            gm = np.where(ok & (gain > state.eps), gain, NEG)
            del gain, ok
        valid = (gm > NEG) & wanted_back[sl][:, None, :]
        total = np.where(valid, gm + bmax_t[sl][:, None, :], NEG)
        best = total.max(axis=2)
        pick = np.where(valid & (total == best[..., None]), barg_t[sl][:, None, :], m).min(axis=2)
        inb = best > NEG
        in_blocking[rows] = inb
        partner[rows] = np.where(inb, pick, -1)
        best_total[rows] = best
    return Scan(tabs, in_blocking[:m], partner[:m], best_total[:m])


def in_blocking(state: SwapState) -> np.ndarray:
    """in_blocking alone, from the count table: ∃t M[a, t] ∧ C[t, slot a] > 0 (two light passes)."""
    m, n_slots = state.m, state.n_slots
    count = np.zeros((n_slots, n_slots), dtype=np.int64)
    blocks = _blocks(state)
    kept = []
    for sl in blocks:
        rows, gain, ok = state.block(sl)
        wants = ok & (gain > state.eps)
        count[sl] = np.count_nonzero(wants, axis=1)
        if len(blocks) == 1:
            kept.append((sl, rows, wants))
    wanted_back = count.T > 0
    out = np.zeros(m + 1, dtype=bool)
    for sl, rows, wants in kept or ((sl, None, None) for sl in blocks):
        if wants is None:
            rows, gain, ok = state.block(sl)
            wants = ok & (gain > state.eps)
        out[rows] = (wants & wanted_back[sl][:, None, :]).any(axis=2)
    return out[:m]


class SlotTable:
    """Bmax/Barg and the best blocking swap kept exact while swaps execute (dynamics) or rows drop out (greedy).

    total = Bmax + Bmaxᵀ is symmetric; rowmax/rowarg hold each row's best entry. A swap of rows a (slot sa, week
    wa) and b changes the rows of two faculty members only: their feasibility at weeks wa and wb, and the gains of
    a and b themselves. So Bmax changes only in the columns of weeks wa, wb and the rows sa, sb ⊂ those columns,
    and total only in those rows and columns.
    """

    def __init__(self, state: SwapState, tabs: Tables) -> None:
        self.state = state
        self.bmax = tabs.bmax.copy()
        self.barg = tabs.barg.copy()
        self._recompute()

    def _recompute(self) -> None:
        self.total = self.bmax + self.bmax.T
        self.rowarg = self.total.argmax(axis=1)
        self.rowmax = self.total[np.arange(len(self.total)), self.rowarg]

    def best(self) -> tuple[int, int, float] | None:
        """The best blocking swap (a, b, gain_a + gain_b), or None when there is none."""
        if self.rowmax.size == 0:
            return None
        s = int(np.argmax(self.rowmax))
        value = float(self.rowmax[s])
        if value == NEG:
            return None
        t = int(self.rowarg[s])
        return int(self.barg[s, t]), int(self.barg[t, s]), value

    def swap(self, a: int, b: int) -> None:
        st = self.state
        sa, sb = st.slot[a], st.slot[b]
        r = st.n_rot
        st.swap(a, b)
        wa, wb = sa // r, sb // r
        cols = np.r_[wa * r:(wa + 1) * r, wb * r:(wb + 1) * r] if wa != wb else np.arange(wa * r, (wa + 1) * r)
        # Rows sa and sb are among these columns; refresh their whole rows, then the columns.
        rows, gain, ok = st.block(np.array([sa, sb]))
        self._set_rows(np.array([sa, sb]), rows, np.where(ok & (gain > st.eps), gain, NEG))
        gm = st.block_columns(cols)
        arg = gm.argmax(axis=1)[:, None, :]
        best = np.take_along_axis(gm, arg, axis=1)[:, 0, :]
        self.bmax[:, cols] = best
        self.barg[:, cols] = np.where(best > NEG, np.take_along_axis(st.table[..., None], arg, axis=1)[:, 0, :], st.m)
        self._update_total(cols)

    def _set_rows(self, slots: np.ndarray, rows: np.ndarray, gm: np.ndarray) -> None:
        arg = gm.argmax(axis=1)[:, None, :]
        best = np.take_along_axis(gm, arg, axis=1)[:, 0, :]
        self.bmax[slots] = best
        self.barg[slots] = np.where(best > NEG, np.take_along_axis(rows[..., None], arg, axis=1)[:, 0, :], self.state.m)

    def _update_total(self, x: np.ndarray) -> None:
        """Entries of total in rows and columns x changed (total is symmetric)."""
        fresh = self.bmax[x] + self.bmax[:, x].T            # total[x, :]
        self.total[x] = fresh
        self.total[:, x] = fresh.T
        # Rows whose best entry sat in a changed column may have lost it: recompute them; others can only
        # have gained in the changed columns.
        stale = np.isin(self.rowarg, x)
        stale[x] = True
        column = self.total[:, x]
        at = column.argmax(axis=1)
        value = column[np.arange(len(column)), at]
        up = ~stale & (value > self.rowmax)
        self.rowmax[up] = value[up]
        self.rowarg[up] = x[at[up]]
        redo = np.flatnonzero(stale)
        arg = self.total[redo].argmax(axis=1)
        self.rowarg[redo] = arg
        self.rowmax[redo] = self.total[redo, arg]

    def drop(self, rows: np.ndarray) -> None:
        """Take rows out of every swap (lock them) and repair the entries whose best row they were."""
        st = self.state
        st.locked[rows] = True
        gone = np.zeros(st.m + 1, dtype=bool)
        gone[rows] = True
        s, t = np.nonzero(gone[self.barg])
        if len(s):
            gm = st.masked(st.table[s], t[:, None])                  # (q, width)
            arg = gm.argmax(axis=1)
            best = gm[np.arange(len(s)), arg]
            self.bmax[s, t] = best
            self.barg[s, t] = np.where(best > NEG, st.table[s, arg], st.m)
        self._recompute()
