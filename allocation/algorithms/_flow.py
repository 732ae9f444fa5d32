"""The shared assignment network on OR-Tools ``SimpleMinCostFlow``, built and read with its array API.

Network (one call to ``add_arcs_with_capacity_and_unit_cost``, no per-arc Python loop, no expanded matrix)::

    faculty i (supply d_i) --cap 1, cost--> slot (w, r) --cap c_wr--> sink (supply -Σd)
    faculty i --cap 1, cost--> node (i, w) --cap 1--> slot (w, r)      when i may take several rotations in w

The (i, w) node is what makes "at most one slot per faculty per week" hold with several rotations; it is
created only for candidate pairs with two or more open eligible rotations — with exactly one, the direct
arc of capacity 1 already says the same thing with one node and one arc fewer.

Unassigned demand: ``solve_max_flow_with_min_cost`` finds the maximum flow, then the least cost among
maximum flows — exactly what a faculty → dummy → sink arc with a penalty above any assignment cost gives
(unassigned demand minimised first, then cost), without the big-M cost: OR-Tools runs that max flow as its
feasibility check anyway, while a penalty arc stretches the cost range and the cost-scaling solver measured
30–80 % slower with it. Without ``allow_unassigned`` a maximum flow short of Σd is reported INFEASIBLE.

Pre-assignments are forced by reduction: each fixed (i, w, r) takes one unit off d_i and off c_wr, every
other candidate of faculty i in week w is dropped, and the fixed rows are added back to the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from allocation.algorithms.types import INFEASIBLE, OPTIMAL

_MAX_TOTAL = 2**62


@dataclass(frozen=True)
class FlowResult:
    """status: OPTIMAL or INFEASIBLE (demand cannot all be met and unassigned demand is not allowed).

    assignments: (m, 3) rows (i, w, r) sorted by (i, w, r), pre-assigned rows included; empty when infeasible.
    pair_index:  (m,) index of each row's (faculty, week) candidate, -1 for a pre-assigned row.
    unassigned:  (n,) demand left unmet per faculty (all demand when infeasible).
    cost:        Σ cost of the candidates used (pre-assigned rows not included).
    """

    status: str
    assignments: np.ndarray
    pair_index: np.ndarray
    unassigned: np.ndarray
    cost: int
    nodes: int
    arcs: int


def assign(
    eligible: np.ndarray,
    demand: np.ndarray,
    capacity: np.ndarray,
    *,
    faculty: np.ndarray,
    week: np.ndarray,
    cost: np.ndarray,
    preassigned: np.ndarray | None = None,
    allow_unassigned: bool = True,
    then: Sequence[np.ndarray] = (),
) -> FlowResult:
    """Min-cost assignment of faculty to (week, rotation) slots over distinct candidate (faculty, week) pairs.

    eligible (n, W, R) bool picks the rotations of each candidate; cost (k,) int64 is the cost of the pair
    (the same for every rotation). Typical candidates: ``faculty, week = np.nonzero(mask)``.
    then: further (k,) integer cost vectors minimised lexicographically after cost, each among the optima of
    everything before it (see :func:`_lexicographic`); ``cost`` of the result is still Σ cost.
    Inputs are assumed validated (see _validate.problem); candidates must be distinct pairs.
    """
    n, n_weeks, n_rot = eligible.shape
    faculty = np.asarray(faculty, dtype=np.int64)
    week = np.asarray(week, dtype=np.int64)
    cost = np.asarray(cost)
    if not (faculty.shape == week.shape == cost.shape) or faculty.ndim != 1:
        raise ValueError("faculty, week and cost must be 1-D arrays of the same length.")
    then = [np.asarray(tier) for tier in then]
    for name, values in [("cost", cost), *(("then", tier) for tier in then)]:
        if not np.issubdtype(values.dtype, np.integer) or values.shape != faculty.shape:
            raise ValueError(f"{name} must be integers, one per candidate; got dtype {values.dtype}, shape {values.shape}.")
    cost = cost.astype(np.int64, copy=False)
    key = faculty * n_weeks + week
    in_order = len(key) < 2 or bool((key[1:] > key[:-1]).all())
    if not in_order and len(np.unique(key)) != len(key):
        raise ValueError("candidate (faculty, week) pairs must be distinct.")

    pre = np.zeros((0, 3), dtype=np.int64) if preassigned is None else np.asarray(preassigned, dtype=np.int64)
    pre_count = np.bincount(pre[:, 0], minlength=n)
    demand = np.asarray(demand, dtype=np.int64) - pre_count
    capacity = np.array(capacity, dtype=np.int64)
    np.subtract.at(capacity, (pre[:, 1], pre[:, 2]), 1)

    # Open eligible rotations of each candidate; drop candidates with none, or whose faculty needs nothing more.
    by_pair = eligible.reshape(n * n_weeks, n_rot)
    if n_rot == 1:
        open_rot = by_pair[key, 0] & (capacity[week, 0] > 0)
        keep = open_rot
    else:
        open_rot = by_pair[key] & (capacity[week] > 0)
        n_open = np.count_nonzero(open_rot, axis=1)
        keep = n_open > 0
    if (demand <= 0).any():
        keep &= demand[faculty] > 0
    if len(pre):
        keep &= ~np.isin(key, pre[:, 0] * n_weeks + pre[:, 1])
    if n_rot == 1:
        single, multi = np.flatnonzero(keep), np.zeros(0, dtype=np.int64)
        single_rot = np.zeros(len(single), dtype=np.int64)
        via_tail = via_rot = multi
    else:
        candidate = np.flatnonzero(keep)
        is_single = n_open[candidate] == 1
        single, multi = candidate[is_single], candidate[~is_single]
        single_rot = open_rot[single].argmax(axis=1)
        via_tail, via_rot = np.nonzero(open_rot[multi])
    via_pair = multi[via_tail]
    open_slot = np.flatnonzero(capacity.ravel() > 0)
    short = np.flatnonzero(demand > 0)
    total = int(demand[short].sum())
    for values in (cost, *then):
        bound = max(abs(int(values.max(initial=0))), abs(int(values.min(initial=0))))
        if bound * max(total, 1) >= _MAX_TOTAL:
            raise ValueError("costs are too large for an exact integer min-cost flow; scale them down.")

    # Nodes: sink, faculty, slots (w, r) at w·R + r, then the (i, w) nodes. Arcs in index order:
    # direct faculty→slot | faculty→(i, w) | (i, w)→slot | slot→sink.
    sink, faculty0, slot0 = 0, 1, 1 + n
    pair0 = slot0 + n_weeks * n_rot
    nodes = pair0 + len(multi)
    sizes = np.array([len(single), len(multi), len(via_pair), len(open_slot)])
    a, b, c, _ = np.cumsum(sizes)
    tails = np.empty(sizes.sum(), dtype=np.int32)
    heads = np.empty_like(tails)
    caps = np.ones(len(tails), dtype=np.int64)
    every = len(single) == len(faculty)  # then single is arange(k): use the arrays as they are
    tails[:a] = faculty0 + (faculty if every else faculty[single])
    heads[:a] = slot0 + (week if every else week[single]) * n_rot + single_rot
    tails[a:b] = faculty0 + faculty[multi]
    heads[a:b] = pair0 + np.arange(len(multi))
    tails[b:c] = pair0 + via_tail
    heads[b:c] = slot0 + week[via_pair] * n_rot + via_rot
    tails[c:] = slot0 + open_slot
    heads[c:] = sink
    caps[c:] = capacity.ravel()[open_slot]

    def arc_costs(values: np.ndarray) -> np.ndarray:
        """Per-candidate costs on the arcs that leave the faculty nodes; 0 on every other arc."""
        out = np.zeros(len(tails), dtype=np.int64)
        out[:a] = values if every else values[single]
        out[a:b] = values[multi]
        return out

    # Consecutive stages are merged into one weighted stage while the weights stay small (see _merged).
    stages = _merged([arc_costs(values) for values in (cost, *then)], total, nodes + 1)
    costs = stages[0]

    if total == 0:
        chosen_pairs, chosen_rot = np.zeros(0, np.int64), np.zeros(0, np.int64)
    else:
        flow = min_cost_flow.SimpleMinCostFlow()
        flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
        flow.set_nodes_supplies(
            np.append(faculty0 + short, sink).astype(np.int32), np.append(demand[short], -total).astype(np.int64)
        )
        status = flow.solve_max_flow_with_min_cost()
        if status != flow.OPTIMAL:
            raise RuntimeError(f"min-cost flow solver failed with status {status!r}.")
        if not allow_unassigned and flow.maximum_flow() < total:
            return _infeasible(demand + pre_count, int(nodes), len(tails))
        flows = flow.flows(np.arange(len(tails), dtype=np.int32))
        if len(stages) > 1:
            # Fix the value reached: a source node s feeds each faculty node up to its demand.
            source = nodes
            served = np.bincount(tails[:b] - faculty0, weights=flows[:b], minlength=n).astype(np.int64)
            tails = np.concatenate([tails, np.full(len(short), source, dtype=np.int32)])
            heads = np.concatenate([heads, (faculty0 + short).astype(np.int32)])
            caps = np.concatenate([caps, demand[short]])
            flows = np.concatenate([flows, served[short]])
            supply = np.zeros(nodes + 1, dtype=np.int64)
            supply[source], supply[sink] = flow.maximum_flow(), -flow.maximum_flow()
            stages = [np.append(stage, np.zeros(len(short), np.int64)) for stage in stages]
            flows = _lexicographic(tails, heads, caps, supply, stages, flows)
        direct_on = flows[:a] > 0
        via_on = flows[b:c] > 0
        chosen_pairs = np.concatenate([np.flatnonzero(direct_on) if every else single[direct_on], via_pair[via_on]])
        chosen_rot = np.concatenate([single_rot[direct_on], via_rot[via_on]])

    rows = np.concatenate([np.column_stack([faculty[chosen_pairs], week[chosen_pairs], chosen_rot]), pre])
    index = np.concatenate([chosen_pairs, np.full(len(pre), -1, dtype=np.int64)])
    if not (in_order and len(multi) == 0 and len(pre) == 0):  # otherwise already sorted by (i, w)
        order = np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))
        rows, index = rows[order], index[order]
    served = np.bincount(rows[:, 0], minlength=n)
    return FlowResult(
        status=OPTIMAL, assignments=_frozen(rows), pair_index=_frozen(index),
        unassigned=_frozen(demand + pre_count - served), cost=int(cost[chosen_pairs].sum()),
        nodes=int(nodes), arcs=int(len(tails)),
    )


_MERGED_COST = 2**60


def lexicographic_weights(ranges: Sequence[int]) -> list[int]:
    """Weights w_last = 1, w_j = 1 + Σ_{l>j} w_l·range_l (Python integers): in Σ w_j·s_j one unit of s_j outweighs
    any change of the later s_l within their ranges, so minimising the weighted sum minimises s_0, then s_1, …"""
    weights, later = [], 0
    for spread in reversed([int(x) for x in ranges]):
        weights.append(1 + later)
        later += weights[-1] * spread
    return weights[::-1]


def _merged(stages: list[np.ndarray], total: int, nodes: int) -> list[np.ndarray]:
    """Runs of consecutive stages as single weighted stages with the same lexicographic optima.

    A flow sends at most ``total`` units over the arcs that carry stage costs (each unit crosses exactly one), so
    stage l's sum varies by at most R_l = total · (max c_l − min c_l), which sets the lexicographic weights. A run
    grows while its largest cost, times the nodes and the units (the solver's cost scaling works on their
    product), stays below 2^60."""
    limit = _MERGED_COST // (max(total, 1) * max(nodes, 1))
    low = [int(stage.min(initial=0)) for stage in stages]
    high = [int(stage.max(initial=0)) for stage in stages]

    def largest(first: int, end: int) -> int:
        weights = lexicographic_weights([total * (high[k] - low[k]) for k in range(first, end)])
        return sum(w * max(abs(high[k]), abs(low[k])) for w, k in zip(weights, range(first, end), strict=True))

    merged: list[np.ndarray] = []
    start = 0
    while start < len(stages):
        end = start + 1
        while end < len(stages) and largest(start, end + 1) <= limit:
            end += 1
        if end == start + 1:
            merged.append(stages[start])
        else:
            weights = lexicographic_weights([total * (high[k] - low[k]) for k in range(start, end)])
            merged.append(sum(np.int64(w) * stage for w, stage in zip(weights, stages[start:end], strict=True)))
        start = end
    return merged


def _lexicographic(
    tails: np.ndarray, heads: np.ndarray, caps: np.ndarray, supply: np.ndarray, stages: list[np.ndarray],
    flows: np.ndarray,
) -> np.ndarray:
    """Flows minimising stages[0], then stages[1] among those optima, …; ``flows`` already minimise stages[0].

    Each stage restricts the network to its optimal face. With node potentials π that prove the current flow
    optimal (reduced cost c + π(tail) − π(head) ≥ 0 on every residual arc), complementary slackness says that
    *every* optimal flow carries nothing on an arc of positive reduced cost and fills an arc of negative reduced
    cost (for any optimal flow and any optimal dual, Ahuja, Magnanti & Orlin 1993, §9.4). So those arcs are fixed
    (a full one moves its capacity into the supplies of its ends), only arcs of zero reduced cost stay free, and
    the next stage is an ordinary min-cost flow over them. A stage whose costs are zero on every free arc changes
    nothing and is skipped.
    """
    flows = flows.astype(np.int64, copy=True)
    supply = supply.copy()
    free = np.arange(len(tails))
    for k, stage in enumerate(stages):
        cost = stage[free]
        if k and not cost.any():
            continue
        if k:
            flow = min_cost_flow.SimpleMinCostFlow()
            flow.add_arcs_with_capacity_and_unit_cost(tails[free], heads[free], caps[free], cost)
            flow.set_nodes_supplies(np.arange(len(supply), dtype=np.int32), supply)
            if flow.solve() != flow.OPTIMAL:
                raise RuntimeError("a lexicographic stage lost feasibility: the optimal face was misread.")
            flows[free] = flow.flows(np.arange(len(free), dtype=np.int32))
        if k == len(stages) - 1 or not any(later[free].any() for later in stages[k + 1:]):
            break
        x = flows[free]
        potential = _potentials(tails[free], heads[free], caps[free], x, cost, len(supply))
        reduced = cost + potential[tails[free]] - potential[heads[free]]
        full = reduced < 0
        if (x[reduced > 0] != 0).any() or (x[full] != caps[free][full]).any():
            raise RuntimeError("a lexicographic stage is not optimal: complementary slackness fails.")
        fixed = free[full]
        np.subtract.at(supply, tails[fixed], caps[fixed])
        np.add.at(supply, heads[fixed], caps[fixed])
        free = free[reduced == 0]
    return flows


def _potentials(tails: np.ndarray, heads: np.ndarray, caps: np.ndarray, flows: np.ndarray, cost: np.ndarray,
                nodes: int) -> np.ndarray:
    """Shortest-path distances in the residual network of an optimal flow, from a root joined to every node.

    The residual network has no negative cycle (the flow is optimal), so the distances exist and are potentials
    that prove it: d(head) ≤ d(tail) + cost on every residual arc. Bellman–Ford with a queue (all nodes start at
    0, each round relaxes only the arcs out of nodes improved in the round before), vectorised per round; the
    rounds are at most the arcs on a shortest path. More than ``nodes`` rounds would mean a negative cycle."""
    forward, backward = flows < caps, flows > 0
    r_tails = np.concatenate([tails[forward], heads[backward]])
    r_heads = np.concatenate([heads[forward], tails[backward]])
    r_cost = np.concatenate([cost[forward], -cost[backward]])
    order = np.argsort(r_tails, kind="stable")
    r_tails, r_heads, r_cost = r_tails[order], r_heads[order], r_cost[order]
    start = np.searchsorted(r_tails, np.arange(nodes + 1))
    distance = np.zeros(nodes, dtype=np.int64)
    active = np.unique(r_tails[r_cost < 0])  # from 0 everywhere, only negative arcs can improve first
    for _ in range(nodes + 1):
        if not len(active):
            return distance
        counts = start[active + 1] - start[active]
        arcs = np.repeat(start[active] - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
        candidate = distance[r_tails[arcs]] + r_cost[arcs]
        better = candidate < distance[r_heads[arcs]]
        if not better.any():
            return distance
        improved = distance.copy()
        np.minimum.at(improved, r_heads[arcs[better]], candidate[better])
        active = np.flatnonzero(improved < distance)
        distance = improved
    raise RuntimeError("the residual network of an optimal flow has a negative cycle.")


def _infeasible(demand: np.ndarray, nodes: int, arcs: int) -> FlowResult:
    return FlowResult(
        status=INFEASIBLE, assignments=_frozen(np.zeros((0, 3), dtype=np.int64)),
        pair_index=_frozen(np.zeros(0, dtype=np.int64)), unassigned=_frozen(demand), cost=0,
        nodes=int(nodes), arcs=int(arcs),
    )


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array, dtype=np.int64)
    array.setflags(write=False)
    return array
