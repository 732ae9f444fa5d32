"""Blocking-swap dynamics for K schedules of one problem at once: every step executes each live copy's best swap.

The copies share everything but the arrangement (utilities, eligibility, locks, and which faculty member each row
belongs to — a random start keeps every row's holder), so their state stacks along a leading copy axis k:

    slot, base, col (K, m + 1)    holds (K, n + 1, W)    cannot (K, m + 1, S)    table, t_fac, t_base (K, S, width)
    bmax, barg, total (K, S, S)   rowmax, rowarg (K, S)

A step executes each live copy's best blocking swap and repairs exactly the table entries it changed (see
Batch.swap), for all live copies in the same numpy calls. The copies never interact, so each follows exactly the
trajectory it follows alone, while the per-call overhead that dominates a step at these sizes is paid once for all
K. A faculty member's rows are a padded (n + 1, P) table whose padding is the sentinel row m (faculty n): it can
never swap, so padded entries compute zero gains and write nothing that matters.

Ties: the first slot (then partner slot) with the largest total; an entry keeps its row against an equal newcomer,
and a recomputed entry takes the first row of its slot's table reaching the maximum.
"""

from __future__ import annotations

import numpy as np

from stability.algorithms import _state

BATCH_BYTES = 64 * 2**20   # the copies of one batch keep their per-copy arrays under this


def copies_per_batch(m: int, n_slots: int) -> int:
    """How many copies fit in BATCH_BYTES: each holds an (m + 1, S) bool table, three (S, S) 8-byte tables and a
    few (m + 1) and (S, width) arrays."""
    per_copy = (m + 1) * (n_slots + 64) + 3 * 8 * n_slots * n_slots
    return max(1, BATCH_BYTES // per_copy)


class Batch:
    """K stacked copies of a problem's SwapState with their slot-pair tables."""

    def __init__(self, states: list[_state.SwapState]) -> None:
        first = states[0]
        self.k = len(states)
        self.n, self.m, self.n_slots, self.n_rot = first.n, first.m, first.n_slots, first.n_rot
        self.eps = first.eps
        self.u_slot, self.elig, self.slot_week = first.u_slot.ravel(), first.elig, first.slot_week
        self.fac, self.locked = first.fac, first.locked
        self.side = first.side
        self.rules = first   # a SwapState for the shared rules (cannot_of)
        m, n_slots = self.m, self.n_slots
        self.slot = np.stack([st.slot for st in states])
        self.base = np.stack([st.base for st in states])
        self.col = np.stack([st.col for st in states])
        self.holds = np.stack([st.holds for st in states])
        self.cannot = np.stack([st.cannot for st in states])
        width = max(st.width for st in states)
        self.table = np.full((self.k, n_slots, width), m, dtype=np.int64)
        for c, st in enumerate(states):
            self.table[c, :, : st.width] = st.table
        self.t_fac = self.fac[self.table]
        self.t_base = self.base[np.arange(self.k)[:, None, None], self.table]
        self.t_locked = self.locked[self.table]
        # Each faculty member's rows, padded with the sentinel row m: (n + 1, P).
        owner = self.fac[:m]
        order = np.argsort(owner, kind="stable")
        counts = np.bincount(owner, minlength=self.n + 1)
        self.own = np.full((self.n + 1, max(int(counts.max(initial=0)), 1)), m, dtype=np.int64)
        self.own[owner[order], np.arange(m) - (np.cumsum(counts) - counts)[owner[order]]] = order
        self.bmax = np.zeros((self.k, n_slots, n_slots))
        self.barg = np.full((self.k, n_slots, n_slots), m, dtype=np.int64)
        for c, st in enumerate(states):
            tabs, _ = _state.tables(st, full=False)
            self.bmax[c], self.barg[c] = tabs.bmax, tabs.barg
        self.total = _state._pair_total(self.bmax, self.bmax.transpose(0, 2, 1))
        self.rowarg = self.total.argmax(axis=2)
        self.rowmax = np.take_along_axis(self.total, self.rowarg[..., None], axis=2)[..., 0]
        self.week_cols = first.week_slots                                          # (W, R) slots of each week

    def best(self, live: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(a, b, gain_a + gain_b) of each live copy's best blocking swap; the total is ≤ 0 where there is none."""
        rowmax = self.rowmax[live]
        s = rowmax.argmax(axis=1)
        value = rowmax[np.arange(len(live)), s]
        t = self.rowarg[live, s]
        return self.barg[live, s, t], self.barg[live, t, s], value

    def swap(self, k: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
        """Copy k[q] executes the swap of its rows a[q] and b[q] (one swap per copy), and every table follows.

        i (row a) left week wa for wb, j (row b) the reverse. Bmax can change only where a row's G·M changed: the
        other rows of i in the week i left (they may now take it: a rise), those of j likewise, a and b themselves
        against every slot (in their new slots: rises), and the entries whose best row left the slot (a, b) or can
        no longer take the week its holder entered — those are recomputed over their slot (repairs). Rises go
        first, so a repair sees every rise. Entries pair up into total only in the columns of weeks wa and wb.
        """
        r, m, n_slots = self.n_rot, self.m, self.n_slots
        i, j = self.fac[a], self.fac[b]
        sa, sb = self.slot[k, a], self.slot[k, b]
        wa, wb = sa // r, sb // r
        self._state_swap(k, a, b, i, j, sa, sb, wa, wb)
        wa_cols, wb_cols = self.week_cols[wa], self.week_cols[wb]                  # (q, R)
        rows_i, rows_j = self.own[i], self.own[j]                                   # (q, P)
        self._cannot(k, np.concatenate([rows_i, rows_j], axis=1), np.concatenate([wa_cols, wb_cols], axis=1))
        q, p = len(k), rows_i.shape[1]
        every = np.broadcast_to(np.arange(n_slots), (q, n_slots))
        kq = k[:, None]
        if self.side:
            # A holiday cap or back-to-back rule can change what the holders' rows may take in any week: every
            # row of i and j (a and b among them) rises or is repaired against every slot.
            both = np.concatenate([rows_i, rows_j], axis=1)                        # (q, 2P)
            who = np.repeat(both, n_slots, axis=1)
            cols = np.tile(every, 2 * p)
            changed = np.concatenate([self.slot[kq, both], wa_cols, wb_cols], axis=1)
        else:
            others_i = np.repeat(np.where(rows_i == a[:, None], m, rows_i), r, axis=1)  # (q, P·R)
            others_j = np.repeat(np.where(rows_j == b[:, None], m, rows_j), r, axis=1)
            who = np.concatenate([others_i, others_j, np.repeat(b[:, None], n_slots, axis=1),
                                  np.repeat(a[:, None], n_slots, axis=1)], axis=1)
            cols = np.concatenate([np.tile(wa_cols, p), np.tile(wb_cols, p), every, every], axis=1)
            changed = np.concatenate([wa_cols, wb_cols], axis=1)
        at_slot = (kq * n_slots + self.slot[kq, who]) * n_slots                    # row offsets in bmax / barg
        gm = self._masked(kq, who, cols)
        rise = at_slot + cols
        up = gm > self.bmax.take(rise)
        entry, value, row = rise[up], gm[up], who[up]
        if self.side:   # rows of i and j may share a slot: of two rises at one entry the larger is kept
            order = np.lexsort((-value, entry))
            entry, value, row = entry[order], value[order], row[order]
            first = np.ones(len(entry), dtype=bool)
            first[1:] = entry[1:] != entry[:-1]
            entry, value, row = entry[first], value[first], row[first]
        self.bmax.put(entry, value)
        self.barg.put(entry, row)
        # Repairs: entries whose best row is one of those rows and now gains less there (without side rules: the
        # holders' other rows in the week their holder entered), and a's and b's old slot rows.
        left = np.concatenate([((kq * n_slots + sa[:, None]) * n_slots + every),
                               ((kq * n_slots + sb[:, None]) * n_slots + every)], axis=1)
        gone_left = np.concatenate([np.repeat(a[:, None], n_slots, axis=1), np.repeat(b[:, None], n_slots, axis=1)],
                                   axis=1)
        if self.side:
            fell = (self.barg.take(rise) == who) & (gm < self.bmax.take(rise))
            lost = np.concatenate([rise[fell], left[self.barg.take(left) == gone_left]])
        else:
            half = others_i.shape[1] + others_j.shape[1]
            lose_cols = np.concatenate([np.tile(wb_cols, p), np.tile(wa_cols, p)], axis=1)
            lose = np.concatenate([at_slot[:, :half] + lose_cols, left], axis=1)
            gone = np.concatenate([who[:, :half], gone_left], axis=1)
            lost = lose[(self.barg.take(lose) == gone) & (gone != m)]
        if len(lost):
            self._refresh_entries(lost)
        self._update_total(k, changed)

    def _state_swap(self, k, a, b, i, j, sa, sb, wa, wb) -> None:
        self.holds[k, i, wa] = False
        self.holds[k, j, wb] = False
        self.holds[k, i, wb] = True
        self.holds[k, j, wa] = True
        self.slot[k, a], self.slot[k, b] = sb, sa
        base_a, base_b = self.u_slot[i * self.n_slots + sb], self.u_slot[j * self.n_slots + sa]
        self.base[k, a], self.base[k, b] = base_a, base_b
        ca, cb = self.col[k, a], self.col[k, b]
        self.table[k, sa, ca], self.table[k, sb, cb] = b, a
        self.col[k, a], self.col[k, b] = cb, ca
        self.t_fac[k, sa, ca], self.t_fac[k, sb, cb] = j, i
        self.t_base[k, sa, ca], self.t_base[k, sb, cb] = base_b, base_a
        # t_locked stays: both rows of a blocking swap are free.

    def _cannot(self, k: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> None:
        """Refresh ¬F of the two holders' rows: in the two weeks' columns, or (side constraints) everywhere."""
        if self.side:
            held = self.holds[k[:, None], self.fac[rows]]                           # (q, 2P, W)
            self.cannot[k[:, None], rows] = self.rules.cannot_of(rows, held, self.slot[k[:, None], rows] // self.n_rot)
            return
        f = self.fac[rows]                                                          # (q, 2P)
        fresh = ~self.elig[f[:, :, None], cols[:, None, :]]
        fresh |= self.holds[k[:, None, None], f[:, :, None], self.slot_week[cols][:, None, :]]
        self.cannot[k[:, None, None], rows[:, :, None], cols[:, None, :]] = fresh

    def _masked(self, k: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """G·M of rows (of copies k) against slot columns cols, broadcast together (flat takes: far faster than
        multi-array fancy indexing)."""
        n_slots = self.n_slots
        gain = self.u_slot.take(self.fac[rows] * n_slots + cols)
        gain -= self.base.take(k * (self.m + 1) + rows)
        ok = self.cannot.take((k * (self.m + 1) + rows) * n_slots + cols)
        ok |= self.locked[rows]
        np.logical_not(ok, out=ok)
        ok &= gain > self.eps
        gain *= ok
        return gain

    def _refresh_entries(self, flat: np.ndarray) -> None:
        """Recompute the Bmax / Barg entries at flat indices (copy, s, t) over the rows of slot s."""
        k, rest = np.divmod(flat, self.n_slots * self.n_slots)
        s, t = np.divmod(rest, self.n_slots)
        cells = k * self.n_slots + s                                               # (copy, slot) table rows
        rows = self.table.reshape(-1, self.table.shape[2])[cells]                   # (q, width)
        n_slots = self.n_slots
        gm = self.u_slot.take(self.t_fac.reshape(-1, rows.shape[1])[cells] * n_slots + t[:, None])
        gm -= self.t_base.reshape(-1, rows.shape[1])[cells]
        ok = self.cannot.take((k[:, None] * (self.m + 1) + rows) * n_slots + t[:, None])
        ok |= self.t_locked.reshape(-1, rows.shape[1])[cells]
        np.logical_not(ok, out=ok)
        ok &= gm > self.eps
        gm *= ok
        arg = gm.argmax(axis=1)
        line = np.arange(len(flat))
        top = gm[line, arg]
        self.bmax.put(flat, top)
        self.barg.put(flat, np.where(top > 0, rows[line, arg], self.m))

    def _update_total(self, k: np.ndarray, x: np.ndarray) -> None:
        """Entries of total in rows and columns x[q] of copy k[q] changed (total is symmetric per copy)."""
        kx = k[:, None]
        fresh = _state._pair_total(self.bmax[kx, x], self.bmax.transpose(0, 2, 1)[kx, x])   # (q, |x|, S)
        self.total[kx, x] = fresh
        self.total.transpose(0, 2, 1)[kx, x] = fresh
        q = np.arange(len(k))[:, None]
        changed = np.zeros((len(k), self.n_slots), dtype=bool)
        changed[q, x] = True
        rowarg, rowmax = self.rowarg[k], self.rowmax[k]
        stale = np.take_along_axis(changed, rowarg, axis=1) | changed
        column = fresh.transpose(0, 2, 1)                                           # (q, S, |x|)
        at = column.argmax(axis=2)
        value = np.take_along_axis(column, at[..., None], axis=2)[..., 0]
        up = ~stale & (value > rowmax)
        rowmax[up] = value[up]
        rowarg[up] = np.take_along_axis(x, at, axis=1)[up]
        rq, rs = np.nonzero(stale)
        again = self.total[k[rq], rs]                                               # (stale rows, S)
        arg = again.argmax(axis=1)
        rowarg[rq, rs] = arg
        rowmax[rq, rs] = again[np.arange(len(rs)), arg]
        self.rowarg[k], self.rowmax[k] = rowarg, rowmax

    def welfare(self) -> np.ndarray:
        return self.base[:, : self.m].sum(axis=1)

    def rows(self, c: int) -> np.ndarray:
        slot = self.slot[c, : self.m]
        return np.column_stack([self.fac[: self.m], slot // self.n_rot, slot % self.n_rot]).astype(np.int64)


def run(batch: Batch, limit: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Step every copy until it has no blocking swap or has made `limit` swaps.

    Returns converged (K,) bool, steps (K,), and the step log: one (q, 4) array per step of (copy, a, b, total).
    """
    live = np.arange(batch.k)
    converged = np.zeros(batch.k, dtype=bool)
    steps = np.zeros(batch.k, dtype=np.int64)
    log = []
    while len(live):
        a, b, value = batch.best(live)
        done = value <= 0
        converged[live[done]] = True
        keep = ~done & (steps[live] < limit)
        live, a, b, value = live[keep], a[keep], b[keep], value[keep]
        if not len(live):
            break
        batch.swap(live, a, b)
        steps[live] += 1
        log.append((live, a, b, value))
    return converged, steps, log
