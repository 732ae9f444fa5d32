"""The final lottery (DESIGN §6): an exact random assignment as a lottery over feasible deterministic schedules.

Generalised Birkhoff–von Neumann decomposition (Budish, Che, Kojima & Milgrom, "Designing Random Allocation
Mechanisms: Theory and Applications", American Economic Review 103(2), 2013, Theorem 1) over this problem's
bihierarchy: faculty rows (at most d_i slots) ⊃ (faculty, week) pairs (at most one slot) ⊃ entries (i, w, r), and
(week, rotation) slots (at most c_{w,r} faculty). Everything is integer arithmetic on counts over a common total:
int64 while every sum fits, Python integers otherwise. Floating point never enters, so no perfect-matching step
can fail to a rounding error.

Method. With X the remaining counts and T the remaining total, X/T lies in the polytope P of those constraints. A
schedule Y rounds X/T: for every constraint set with sum S, ⌊S/T⌋ ≤ ΣY ≤ ⌈S/T⌉, and per entry Y = 1 where X = T,
Y = 0 where X = 0. The constraint matrix of a bihierarchy is totally unimodular, so such a Y exists (X/T itself is
a fractional solution); it is found as a feasible circulation with lower bounds, one OR-Tools max flow. The
rounding guarantees X − Y ∈ (T − 1)·P, so the largest integer m with X − m·Y ∈ (T − m)·P is at least 1; then
X −= m·Y, T −= m, until T = 0.

Size. Y meets every constraint that is tight at X/T and is zero wherever X is, so Y lies in the minimal face of
X/T; when the real bound on m is an integer, the step makes a new entry zero or a new constraint tight and the
face loses a dimension. That bound can be fractional only through a constraint with bound b ≥ 2 that Y fills to
⌊S/T⌋ ≤ b − 2, and taking its floor then leaves T' ≤ T/2. Hence size ≤ dim + 1 + ⌊log2 T⌋ ≤ nnz + 1 + ⌊log2 T⌋,
and ≤ nnz + 1 (Birkhoff's bound) when every demand and capacity is 1. Repeated schedules are merged.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import max_flow

from allocation.algorithms import _validate
from allocation.algorithms.types import RandomAssignment

_INT64_SAFE = 2**62  # int64 arithmetic is used only when every sum that can occur stays below this


@dataclass(frozen=True)
class Decomposition:
    """A lottery over schedules: schedule k is drawn with probability weights[k] / total.

    weights: positive integers summing to total. schedules: read-only (m, 3) int64 rows (i, w, r), sorted by
    (i, w, r); an empty schedule (no one serves) is a (0, 3) array.
    """

    weights: tuple[int, ...]
    schedules: tuple[np.ndarray, ...]
    total: int

    @property
    def size(self) -> int:
        """The number of schedules in the lottery."""
        return len(self.weights)


def decompose(
    assignment: RandomAssignment, *, demand: np.ndarray, capacity: np.ndarray, eligible: np.ndarray
) -> Decomposition:
    """Exact convex combination of feasible schedules equal to ``assignment`` (generalised Birkhoff–von Neumann).

    Guarantees Σ weights = total and Σ_k weights[k]·schedule_k = counts exactly; every schedule is eligible, gives
    each faculty member at most one slot a week and at most d_i slots, and each slot at most c_{w,r} faculty; a
    slot held with counts = total (a pre-assignment) is in every schedule. ValueError names the first broken
    feasibility condition of the input. Budish, Che, Kojima & Milgrom (2013), Theorem 1; see the module docstring.
    """
    counts, total, demand, capacity, eligible = _inputs(assignment, demand, capacity, eligible)
    n, n_weeks, n_rot = counts.shape
    flat = counts.reshape(-1)
    support = np.flatnonzero(flat != 0)  # sorted, so each (faculty, week) pair's entries are contiguous
    x = flat[support]
    faculty, rest = np.divmod(support, n_weeks * n_rot)
    week, rotation = np.divmod(rest, n_rot)
    rows_all = np.column_stack([faculty, week, rotation]).astype(np.int64)

    # Constraint sets over the support: rows, (faculty, week) pairs, slots; sums kept exactly as x changes.
    row_id, entry_row = np.unique(faculty, return_inverse=True)
    pair_id, entry_pair = np.unique(support // n_rot, return_inverse=True)
    slot_id, entry_slot = np.unique(week * n_rot + rotation, return_inverse=True)
    rows = _Sets(x, entry_row, demand[row_id], total)
    slots = _Sets(x, entry_slot, capacity.reshape(-1)[slot_id], total)
    pairs = _Pairs(x, entry_pair, len(pair_id), total)
    members = np.arange(len(x))
    network = _Network(entry_row, entry_pair, entry_slot, len(row_id), len(pair_id), len(slot_id))

    # An entry equals T exactly when its pair is tight and it is the pair's last live entry: integer masks, no
    # big-number compare.
    alive = np.ones(len(x), dtype=bool)
    weights: list[int] = []
    schedules: list[np.ndarray] = []
    remaining = total
    while remaining > 0:
        if 2 * np.count_nonzero(alive) < len(members):  # rebuild the flow graph on the live entries
            members = np.flatnonzero(alive)
            network = _Network(entry_row[members], entry_pair[members], entry_slot[members], len(row_id),
                               len(pair_id), len(slot_id))
        live_in_pair = np.bincount(entry_pair[alive], minlength=len(pair_id))
        full = alive & pairs.tight[entry_pair] & (live_in_pair[entry_pair] == 1)
        picked = members[network.rounding(
            alive[members], full[members], rows.bounds(remaining), slots.bounds(remaining),
            pairs.tight, live_in_pair > 0,
        )]
        picked_pair = entry_pair[picked]  # distinct: Y takes at most one entry of a pair
        y_row = np.bincount(entry_row[picked], minlength=len(row_id))
        y_slot = np.bincount(entry_slot[picked], minlength=len(slot_id))
        fullest_open, fullest = pairs.fullest_open(picked_pair)  # an open pair's sum must stay ≤ T − m
        m = min(remaining, _min(x[picked]), remaining - fullest_open, rows.headroom(y_row, remaining),
                slots.headroom(y_slot, remaining))
        if m < 1:
            raise RuntimeError("decompose: a rounding step gave no progress (the rounding bounds were broken).")
        x[picked] -= m
        pairs.subtract(picked_pair, m)
        rows.subtract(y_row, m)
        slots.subtract(y_slot, m)
        if m == remaining - fullest_open:
            pairs.tight[fullest] = True
        remaining -= m
        pairs.rescale(remaining)
        weights.append(int(m))
        schedules.append(picked)
        alive[picked[x[picked] == 0]] = False
    if alive.any():
        raise RuntimeError("decompose: counts remain after the whole total was used (the input check was bypassed).")
    return _merged(weights, schedules, rows_all, total)


def reconstruct(decomposition: Decomposition, shape: tuple[int, int, int]) -> np.ndarray:
    """Σ_k weights[k] · indicator(schedule_k) as an (n, W, R) array: exact, int64 when Σ weights < 2**63 (then no
    entry can overflow), else an object array of Python ints."""
    big = sum(decomposition.weights) >= 2**63
    out = np.zeros(int(np.prod(shape)), dtype=object if big else np.int64)
    if decomposition.size:
        rows = np.concatenate([np.asarray(s, dtype=np.int64).reshape(-1, 3) for s in decomposition.schedules])
        lengths = [len(s) for s in decomposition.schedules]
        weight = np.repeat(np.array(decomposition.weights, dtype=object if big else np.int64), lengths)
        np.add.at(out, np.ravel_multi_index(tuple(rows.T), shape), weight)
    return out.reshape(shape)


def verify(
    decomposition: Decomposition, assignment: RandomAssignment, *, demand: np.ndarray, capacity: np.ndarray,
    eligible: np.ndarray,
) -> list[str]:
    """What is wrong with ``decomposition`` as a lottery for ``assignment``: empty when the weights are positive and
    sum to the total, Σ weight·schedule equals the counts exactly, and every schedule is feasible (eligible slots,
    one slot a week per faculty member, load ≤ d_i, slot ≤ c_{w,r}); otherwise one message per broken condition."""
    eligible = _validate.eligibility(eligible)
    demand = np.asarray(demand, dtype=np.int64)
    capacity = np.asarray(capacity, dtype=np.int64)
    shape = eligible.shape
    n, n_weeks, n_rot = shape
    problems: list[str] = []
    if not all(isinstance(w, int | np.integer) and not isinstance(w, bool | np.bool_) for w in decomposition.weights):
        return ["weights must be whole numbers."]
    weights = [int(w) for w in decomposition.weights]
    if len(weights) != len(decomposition.schedules):
        problems.append(f"{len(weights)} weights for {len(decomposition.schedules)} schedules.")
    if any(w <= 0 for w in weights):
        problems.append("weights must be positive: " + ", ".join(f"#{k}" for k, w in enumerate(weights) if w <= 0))
    if sum(weights) != decomposition.total or decomposition.total != int(assignment.total):
        problems.append(
            f"weights sum to {sum(weights)}, decomposition total is {decomposition.total}, "
            f"assignment total is {int(assignment.total)}; all three must be equal."
        )
    well_formed = True
    for k, schedule in enumerate(decomposition.schedules):
        rows = np.asarray(schedule)
        if rows.ndim != 2 or rows.shape[1] != 3 or not np.issubdtype(rows.dtype, np.integer):
            problems.append(f"schedule {k}: not integer rows (faculty, week, rotation).")
            well_formed = False
            continue
        if ((rows < 0) | (rows >= np.array(shape))).any():
            problems.append(f"schedule {k}: a row lies outside the {shape} (faculty, week, rotation) grid.")
            well_formed = False
            continue
        i, w, r = rows.T
        if not eligible[i, w, r].all():
            bad = rows[~eligible[i, w, r]][0]
            problems.append(f"schedule {k}: faculty {bad[0]} is not eligible for week {bad[1]}, rotation {bad[2]}.")
        pairs, twice = np.unique(i * n_weeks + w, return_counts=True)
        if (twice > 1).any():
            fi, wi = divmod(int(pairs[twice > 1][0]), n_weeks)
            problems.append(f"schedule {k}: faculty {fi} holds week {wi} more than once.")
        over = np.flatnonzero(np.bincount(i, minlength=n) > demand)
        if len(over):
            problems.append(f"schedule {k}: faculty {over[0]} holds more than their demand of {demand[over[0]]}.")
        full = np.flatnonzero(np.bincount(w * n_rot + r, minlength=n_weeks * n_rot) > capacity.reshape(-1))
        if len(full):
            wi, ri = divmod(int(full[0]), n_rot)
            problems.append(f"schedule {k}: week {wi}, rotation {ri} holds more than its capacity {capacity[wi, ri]}.")
    given = np.asarray(assignment.counts)
    if given.shape != shape:
        problems.append(f"the assignment's counts have shape {given.shape}, expected {shape}.")
    elif well_formed and len(weights) == len(decomposition.schedules):
        made = reconstruct(decomposition, shape)
        differ = np.flatnonzero((made.astype(object) != given.astype(object)).reshape(-1))
        if len(differ):
            at = np.unravel_index(int(differ[0]), shape)
            problems.append(
                f"Σ weight·schedule differs from the counts at {len(differ)} entries, first at (faculty, week, "
                f"rotation) {tuple(int(v) for v in at)}."
            )
    return problems


def draw(decomposition: Decomposition, rng: np.random.Generator) -> int:
    """Index k of the schedule drawn, with probability exactly weights[k] / total.

    A uniform integer u in [0, total) picks the k whose cumulative weight range holds it: ``rng.integers(total)``
    when total < 2**63, else rejection sampling on ``int.from_bytes(rng.bytes(...))`` trimmed to total's bit
    length (accepted with probability > 1/2). The same generator state gives the same index.
    """
    total = int(decomposition.total)
    if total < 1:
        raise ValueError("draw: the decomposition has no weight.")
    if total < 2**63:
        u = int(rng.integers(total))
    else:
        bits = total.bit_length()
        n_bytes = (bits + 7) // 8
        while True:
            u = int.from_bytes(rng.bytes(n_bytes), "little") >> (8 * n_bytes - bits)
            if u < total:
                break
    return bisect.bisect_right(list(itertools.accumulate(int(w) for w in decomposition.weights)), u)


def rotation_split(week_counts: np.ndarray, total: int, *, eligible: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """(n, W, R) int64 counts from (n, W) week counts: Σ_r = week_counts, zero where not eligible, and
    Σ_i counts[:, w, r] ≤ c_{w,r}·total, by one integral max flow (pairs (i, w) → their eligible slots).

    It exists whenever the week counts are an average of draws each of whose week holders fit in the rotations
    (flow integrality). ValueError names the weeks that cannot be split, or the bad input.
    """
    eligible = _validate.eligibility(eligible)
    n, n_weeks, n_rot = eligible.shape
    capacity = _whole("capacity", capacity, (n_weeks, n_rot))
    held = np.asarray(week_counts)
    if held.shape != (n, n_weeks):
        raise ValueError(f"week_counts has shape {held.shape}, expected {(n, n_weeks)} (faculty, week).")
    total = _whole_total(total)
    if held.dtype == object:
        held = np.array([int(v) for v in held.reshape(-1)], dtype=object).reshape(held.shape)
    elif held.dtype == bool or not np.issubdtype(held.dtype, np.integer):
        raise ValueError(f"week_counts must be whole numbers, got dtype {held.dtype}.")
    if (held < 0).any() or (held > total).any():
        raise ValueError(f"week_counts must lie in 0..total ({total}).")
    if total * max(n * n_weeks, int(capacity.max(initial=1)), 1) >= _INT64_SAFE:
        raise ValueError("rotation_split: total too large for an exact int64 flow.")
    held = held.astype(np.int64)
    out = np.zeros((n, n_weeks, n_rot), dtype=np.int64)
    faculty, week = np.nonzero(held)
    if not len(faculty):
        return out
    need = held[faculty, week]
    pair_ok = eligible[faculty, week]  # (k, R)
    tail, rot = np.nonzero(pair_ok)
    # Nodes: 0 source, 1 sink, 2.. pairs, then slots.
    slot0 = 2 + len(faculty)
    tails = np.concatenate([np.zeros(len(faculty), np.int64), 2 + tail, slot0 + np.arange(n_weeks * n_rot)])
    heads = np.concatenate(
        [2 + np.arange(len(faculty)), slot0 + week[tail] * n_rot + rot, np.ones(n_weeks * n_rot, np.int64)]
    )
    caps = np.concatenate([need, need[tail], capacity.reshape(-1) * total])
    solver = max_flow.SimpleMaxFlow()
    solver.add_arcs_with_capacity(tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64))
    if solver.solve(0, 1) != solver.OPTIMAL:
        raise RuntimeError("rotation_split: the max-flow solver failed.")
    flows = solver.flows(np.arange(len(tails), dtype=np.int32))
    first = len(faculty)
    short = flows[:first] < need  # what reaches pair (i, w) from the source is what it places
    if short.any():
        weeks = ", ".join(str(int(w)) for w in np.unique(week[short]))
        raise ValueError(
            f"rotation_split: the holders of week {weeks} cannot be placed in its rotations within capacity."
        )
    out[faculty[tail], week[tail], rot] = flows[first:first + len(tail)]
    return out


class _Network:
    """The rounding circulation on one reused OR-Tools max-flow graph; each step only changes capacities.

    source → row i [⌊S_i/T⌋, ⌈S_i/T⌉] → pair (i, w) node [tight, live] → slot (w, r) [⌊S/T⌋, ⌈S/T⌉] → sink, a
    pair node only for pairs with several entries (a lone entry's own bounds say the same), entry arcs
    [X = T, X > 0], and sink → source unbounded. Lower bounds move into node excesses; a max flow from a super
    source to a super sink that saturates them is a feasible circulation, and the entry arcs carrying flow are Y.
    """

    def __init__(self, entry_row, entry_pair, entry_slot, n_rows: int, n_pairs: int, n_slots: int) -> None:
        entries_per_pair = np.bincount(entry_pair, minlength=n_pairs)
        self.multi_pair = np.flatnonzero(entries_per_pair > 1)
        pair_node = np.full(n_pairs, -1, dtype=np.int64)
        row0 = 2
        pair0 = row0 + n_rows
        pair_node[self.multi_pair] = pair0 + np.arange(len(self.multi_pair))
        slot0 = pair0 + len(self.multi_pair)
        self.nodes = slot0 + n_slots
        pair_row = np.zeros(n_pairs, dtype=np.int64)
        pair_row[entry_pair] = entry_row
        node = pair_node[entry_pair]
        every = np.arange(self.nodes)
        self.source, self.sink = self.nodes, self.nodes + 1
        # Arcs in order: source → rows | rows → multi pairs | slots → sink | sink → source | entries | super arcs.
        self.tails = np.concatenate([
            np.zeros(n_rows, np.int64), row0 + pair_row[self.multi_pair], slot0 + np.arange(n_slots), [1],
            np.where(node >= 0, node, row0 + entry_row), np.full(self.nodes, self.source), every,
        ])
        self.heads = np.concatenate([
            row0 + np.arange(n_rows), pair_node[self.multi_pair], np.ones(n_slots, np.int64), [0],
            slot0 + entry_slot, every, np.full(self.nodes, self.sink),
        ])
        self.entry0 = n_rows + len(self.multi_pair) + n_slots + 1
        self.super0 = self.entry0 + len(entry_row)
        self.entries = np.arange(self.entry0, self.super0, dtype=np.int32)
        self.all_arcs = np.arange(len(self.tails), dtype=np.int32)
        self.solver = max_flow.SimpleMaxFlow()
        self.solver.add_arcs_with_capacity(
            self.tails.astype(np.int32), self.heads.astype(np.int32), np.zeros(len(self.tails), np.int64)
        )

    def rounding(self, alive, full, row_bounds, slot_bounds, tight_pair, live_pair) -> np.ndarray:
        """Indices (into this graph's entries) of Y: a schedule meeting every ⌊S/T⌋ ≤ ΣY ≤ ⌈S/T⌉ (bounds given
        for rows and slots), Y = 1 where X = T and 0 where X = 0 (alive: X > 0; full: X = T; tight_pair: pair sum
        = T; live_pair: pair sum > 0)."""
        (row_lo, row_hi), (slot_lo, slot_hi) = row_bounds, slot_bounds
        multi = self.multi_pair
        lo = np.zeros(len(self.tails), dtype=np.int64)
        hi = np.zeros(len(self.tails), dtype=np.int64)
        parts = [(row_lo, row_hi), (tight_pair[multi], live_pair[multi]), (slot_lo, slot_hi)]
        at = 0
        for part_lo, part_hi in parts:
            lo[at:at + len(part_lo)] = part_lo
            hi[at:at + len(part_hi)] = part_hi
            at += len(part_lo)
        hi[at] = int(row_hi.sum()) + 1
        lo[self.entry0:self.super0] = full
        hi[self.entry0:self.super0] = alive
        main = slice(0, self.super0)
        excess = (
            np.bincount(self.heads[main], weights=lo[main], minlength=self.nodes)
            - np.bincount(self.tails[main], weights=lo[main], minlength=self.nodes)
        ).astype(np.int64)
        caps = hi - lo
        caps[self.super0:self.super0 + self.nodes] = np.maximum(excess, 0)
        caps[self.super0 + self.nodes:] = np.maximum(-excess, 0)
        self.solver.set_arcs_capacity(self.all_arcs, caps)
        need = int(caps[self.super0:self.super0 + self.nodes].sum())
        if self.solver.solve(self.source, self.sink) != self.solver.OPTIMAL or self.solver.optimal_flow() != need:
            raise RuntimeError("decompose: no schedule rounds the remaining assignment (the input check was bypassed).")
        return np.flatnonzero(full | (self.solver.flows(self.entries) > 0))


def _inputs(assignment: RandomAssignment, demand, capacity, eligible):
    """Validated (counts, total, demand, capacity, eligible); counts int64 when every sum fits, else Python ints."""
    eligible = _validate.eligibility(eligible)
    n, n_weeks, n_rot = eligible.shape
    demand = _whole("demand", demand, (n,))
    capacity = _whole("capacity", capacity, (n_weeks, n_rot))
    total = _whole_total(assignment.total)
    counts = np.asarray(assignment.counts)
    if counts.shape != eligible.shape:
        raise ValueError(f"counts has shape {counts.shape}, expected {eligible.shape} (faculty, week, rotation).")
    if counts.dtype == object:
        if not all(isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in counts.reshape(-1)):
            raise ValueError("counts must be whole numbers (Python or numpy integers).")
        counts = np.array([int(v) for v in counts.reshape(-1)], dtype=object).reshape(counts.shape)
    elif counts.dtype == bool or not np.issubdtype(counts.dtype, np.integer):
        raise ValueError(f"counts must be whole numbers (an integer array), got dtype {counts.dtype}.")
    if (counts < 0).any():
        raise ValueError("counts must be non-negative.")
    if (counts > total).any():
        raise ValueError(f"counts must be at most total ({total}): a probability is at most 1.")
    if (counts[~eligible] != 0).any():
        i, w, r = (int(v[0]) for v in np.nonzero((counts != 0) & ~eligible))
        raise ValueError(f"counts: faculty {i} has a chance of week {w}, rotation {r}, not eligible for them.")
    # Every sum is at most max(W·R, n)·total once entries are ≤ total.
    bound = max(n_weeks * n_rot, n, int(demand.max(initial=1)), int(capacity.max(initial=1)), 1)
    counts = counts.astype(np.int64 if total * bound < _INT64_SAFE else object)
    week_sum = counts.sum(axis=2)
    if (week_sum > total).any():
        i, w = (int(v[0]) for v in np.nonzero(week_sum > total))
        raise ValueError(f"counts: faculty {i} holds week {w} with total chance above 1 (one slot a week).")
    load = week_sum.sum(axis=1)
    over = np.flatnonzero(load > demand.astype(counts.dtype) * total)
    if len(over):
        raise ValueError(f"counts: faculty {over[0]}'s expected load exceeds their demand of {demand[over[0]]}.")
    fill = counts.sum(axis=0)
    full = np.nonzero(fill > capacity.astype(counts.dtype) * total)
    if len(full[0]):
        w, r = int(full[0][0]), int(full[1][0])
        raise ValueError(f"counts: week {w}, rotation {r} is expected to hold more than its capacity {capacity[w, r]}.")
    return counts, total, demand, capacity, eligible


def _whole(name: str, values, shape: tuple) -> np.ndarray:
    array = np.asarray(values)
    if array.shape != shape:
        raise ValueError(f"{name} has shape {array.shape}, expected {shape}.")
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer) or (array.size and array.min() < 0):
        raise ValueError(f"{name} must be non-negative whole numbers (an integer array).")
    return array.astype(np.int64)


def _whole_total(total) -> int:
    if isinstance(total, bool | np.bool_) or not isinstance(total, int | np.integer) or total < 1:
        raise ValueError(f"total must be a positive whole number, got {total!r}.")
    return int(total)


def _group_sum(x: np.ndarray, group: np.ndarray, size: int) -> np.ndarray:
    out = np.zeros(size, dtype=x.dtype)  # object zeros are Python ints
    np.add.at(out, group, x)
    return out


class _Sets:
    """Rows or slots: exact sums S over a partition of the entries, bounds b, and which are tight (S = b·T).

    A tight set stays tight (Y fills it to b every step), so only loose sets need big-number arithmetic."""

    def __init__(self, x: np.ndarray, group: np.ndarray, bound: np.ndarray, total: int) -> None:
        self.group = group
        self.bound = bound.astype(np.int64)
        self.exact_bound = bound.astype(x.dtype)
        self.sums = _group_sum(x, group, len(bound))
        self.tight = self.sums == self.exact_bound * total
        self.loose = np.flatnonzero(~self.tight)

    def bounds(self, total: int) -> tuple[np.ndarray, np.ndarray]:
        """(⌊S/T⌋, ⌈S/T⌉) per set, as int64; marks the sets found tight."""
        lo = self.bound.copy()
        hi = self.bound.copy()
        if len(self.loose):
            s = self.sums[self.loose]
            q = s // total
            over = (s - q * total) > 0
            lo[self.loose] = q
            hi[self.loose] = q + over
            now_tight = ~over & (lo[self.loose] == self.bound[self.loose])
            if now_tight.any():
                self.tight[self.loose[now_tight]] = True
                self.loose = self.loose[~now_tight]
        return lo, hi

    def headroom(self, y: np.ndarray, total: int) -> int:
        """Largest m with S − m·y ≤ b·(T − m) on every loose set where y < b: ⌊(b·T − S)/(b − y)⌋."""
        loose = self.loose[y[self.loose] < self.bound[self.loose]]
        if not len(loose):
            return total
        gap = self.exact_bound[loose] - y[loose].astype(self.exact_bound.dtype)
        return _min((self.exact_bound[loose] * total - self.sums[loose]) // gap)

    def subtract(self, y: np.ndarray, m: int) -> None:
        """S −= m·y on the loose sets Y uses (a tight set's sum is b·T and never read again)."""
        used = self.loose[y[self.loose] > 0]
        self.sums[used] -= y[used].astype(self.sums.dtype) * m


class _Pairs:
    """(faculty, week) pair sums, which are tight (sum = T: Y takes the pair every step after, so it stays tight),
    and an int64 coarse copy (sum >> shift) that finds the fullest open pair while touching few big integers."""

    def __init__(self, x: np.ndarray, entry_pair: np.ndarray, n_pairs: int, total: int) -> None:
        self.lone = n_pairs == len(x)  # one entry per pair (always so with one rotation): the sums are x itself
        self.sums = x if self.lone else _group_sum(x, entry_pair, n_pairs)
        self.tight = self.sums == total
        self.shift = -1
        self.rescale(total)

    def rescale(self, total: int) -> None:
        """Keep about 40 significant bits of T in the coarse copy (a full recount when T has lost them)."""
        shift = max(0, total.bit_length() - 62)
        if self.shift < 0 or (self.shift > 0 and shift < self.shift - 20):
            self.shift = shift
            exact_int64 = self.sums.dtype != object and shift == 0
            self.coarse = self.sums if exact_int64 else (self.sums >> shift).astype(np.int64)

    def fullest_open(self, picked_pair: np.ndarray) -> tuple[int, np.ndarray]:
        """The largest sum over the pairs Y leaves out (0 if none), and those pairs."""
        open_ = np.ones(len(self.coarse), dtype=bool)
        open_[picked_pair] = False
        if not open_.any():
            return 0, np.zeros(0, dtype=np.int64)
        top = self.coarse[open_].max()
        candidates = np.flatnonzero(open_ & (self.coarse == top))
        if self.coarse is self.sums:
            return int(top), candidates
        values = self.sums[candidates]
        best = values.max()
        return int(best), candidates[values == best]

    def subtract(self, picked_pair: np.ndarray, m: int) -> None:
        if not self.lone:
            self.sums[picked_pair] -= m
        if self.coarse is not self.sums:
            self.coarse[picked_pair] = (self.sums[picked_pair] >> self.shift).astype(np.int64)


def _min(values: np.ndarray) -> int:
    return int(values.min()) if len(values) else 2**63 * 2**63  # larger than any total


def _merged(weights: list[int], schedules: list[np.ndarray], rows: np.ndarray, total: int) -> Decomposition:
    """Identical schedules (entry index sets, increasing, so rows come sorted by (i, w, r)) merged into one,
    their weights added; schedules as read-only (m, 3) rows."""
    by_key: dict[bytes, int] = {}
    merged_weights: list[int] = []
    merged: list[np.ndarray] = []
    for weight, picked in zip(weights, schedules, strict=True):
        key = picked.tobytes()
        if key in by_key:
            merged_weights[by_key[key]] += weight
            continue
        by_key[key] = len(merged)
        chosen = rows[picked]
        chosen.setflags(write=False)
        merged.append(chosen)
        merged_weights.append(weight)
    return Decomposition(weights=tuple(merged_weights), schedules=tuple(merged), total=total)
