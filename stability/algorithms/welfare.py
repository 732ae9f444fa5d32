"""Welfare of a schedule against the best possible: exact optimum, blocking-swap dynamics, price of anarchy.

Optimal welfare is a min-cost flow (Ahuja, Magnanti & Orlin, *Network Flows*, 1993) on OR-Tools
``SimpleMinCostFlow``, built with its array API::

    faculty i (supply = free rows of i) --cap 1, cost -U[i, w]--> group (w, mask) --> slot (w, r) --cap c'--> sink

c' = max(capacity, current occupancy) − locked occupancy. Faculty i may use rotation r in week w when eligible
for it or holding it now (so the current schedule is always feasible and efficiency ≤ 1), except in the weeks of
i's locked rows, which stay fixed; the (i, w) pairs with the same set of usable rotations share one group node.
U = round(u · SCALE) with SCALE = 10⁹ (divided by max|u| when |u| > 1). With |u| ≤ 1 each rounded value is within
ε/2 of the real one, so a swap gaining more than 2ε would also improve the rounded objective: the optimum found
has no blocking swap, and its welfare is within m·ε/2 of the real maximum.

Blocking-swap dynamics always execute the best blocking swap (largest gain_i + gain_j): welfare rises by more
than 2ε at every step and there are finitely many schedules, so they stop, in a Nash equilibrium. The price of
anarchy (Koutsoupias & Papadimitriou 1999, "Worst-case equilibria", STACS) and of stability (Anshelevich et al.
2004, "The price of stability for network design with fair cost allocation", FOCS) are estimated over the
equilibria the dynamics reach from K random feasible schedules.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math

import numpy as np
from ortools.graph.python import min_cost_flow

from stability.algorithms import _batch, _state, _validate
from stability.algorithms.types import (
    ACCEPTABLE_POA,
    CONVERGED,
    EPSILON,
    OPTIMAL,
    PARTIAL,
    STEP_LIMIT,
    Dynamics,
    OptimalWelfare,
    PriceOfAnarchy,
    SwapProblem,
)

SCALE = 10**9
_RANDOM_COST = 2**20


def welfare(problem: SwapProblem) -> float:
    """Σ u over the rows of the schedule."""
    rows = np.asarray(problem.assignments, dtype=np.int64).reshape(-1, 3)
    return float(np.asarray(problem.utility)[rows[:, 0], rows[:, 1]].sum())


def optimal_welfare(problem: SwapProblem) -> OptimalWelfare:
    """Exact maximum of Σ u with the schedule's per-faculty counts, capacities, eligibility and locked rows."""
    p = _validate.swap_problem(problem)
    return _optimal(p)


def _optimal(p: SwapProblem) -> OptimalWelfare:
    u = p.utility
    scale = SCALE / max(1.0, float(np.abs(u).max(initial=0.0)))
    # Cost = how far below the member's best week, ≥ 0: a constant shift per member (each serves a fixed number
    # of weeks), so the optimum is the same — and the cost-scaling solver runs measurably faster on it.
    best = u.max(axis=1, initial=0.0) if u.size else np.zeros(len(u))
    rows = _flow_schedule(p, lambda i, w: np.rint((best[i] - u[i, w]) * scale).astype(np.int64), None)
    return OptimalWelfare(status=OPTIMAL, welfare=float(u[rows[:, 0], rows[:, 1]].sum()), assignments=_frozen(rows))


def random_feasible_schedule(problem: SwapProblem, rng: np.random.Generator) -> np.ndarray:
    """A random schedule in the optimum's feasible set: the same network with random arc costs.

    Rows are aligned with the problem's (row k keeps its faculty member; locked rows keep their slot).
    """
    p = _validate.swap_problem(problem)
    return _random(p, _validate.rng(rng))


def _random(p: SwapProblem, rng: np.random.Generator) -> np.ndarray:
    return _flow_schedule(p, lambda i, w: rng.integers(0, _RANDOM_COST, size=len(i)), rng)


def _feasible_set(p: SwapProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What every schedule the optimum and the random starts range over shares: free rows per faculty member (n,),
    free capacity max(c, occupancy) − locked occupancy (W, R), and the usable (i, w, r) (n, W, R) — eligible or held
    now, never in the week of one of i's locked rows, only for members with free rows and slots with room."""
    n, n_weeks, n_rot = p.eligible.shape
    rows, locked = p.assignments, p.locked
    free = ~locked
    demand = np.bincount(rows[free, 0], minlength=n)
    slot = rows[:, 1] * n_rot + rows[:, 2]
    occupancy = np.bincount(slot, minlength=n_weeks * n_rot).reshape(n_weeks, n_rot)
    fixed = np.bincount(slot[locked], minlength=n_weeks * n_rot).reshape(n_weeks, n_rot)
    capacity = np.maximum(p.capacity, occupancy) - fixed
    allowed = p.eligible.copy()
    allowed[rows[free, 0], rows[free, 1], rows[free, 2]] = True
    allowed[rows[locked, 0], rows[locked, 1], :] = False
    allowed &= (demand > 0)[:, None, None] & (capacity > 0)[None, :, :]
    return demand, capacity, allowed


def problem_key(problem: SwapProblem, *, epsilon: float = EPSILON, max_steps: int | None = None) -> str:
    """sha256 of everything the optimum and the price of anarchy depend on, and nothing they do not.

    Both range over the same feasible set whatever the current arrangement of the free rows: utilities,
    eligibility, the feasible set of `_feasible_set`, the locked rows, the side constraints, ε and the step limit.
    Swaps keep the key — they keep slot occupancy and move faculty only into eligible slots, which are usable
    already — except one that moves a row out of a slot its holder is not eligible for. (Another arrangement may
    also change the occupancy of an over-full slot, which `_feasible_set` keeps usable.) So one price of anarchy
    serves a schedule through its swaps, and every schedule of a year with the same demands and pre-assignments.
    """
    p = _validate.swap_problem(problem)
    eps = _validate.epsilon(epsilon)
    return _key(p, eps, None if max_steps is None else _validate.whole("max_steps", max_steps, minimum=0))


def _key(p: SwapProblem, eps: float, limit: int | None) -> str:
    demand, capacity, allowed = _feasible_set(p)
    locked = p.assignments[p.locked]
    locked = locked[np.lexsort(locked.T[::-1])] if len(locked) else locked
    digest = hashlib.sha256()
    digest.update(repr((p.eligible.shape, eps, limit, p.max_holidays, bool(p.no_back_to_back))).encode())
    for array in (np.asarray(p.utility, dtype=float), p.eligible, allowed, capacity, demand, locked,
                  np.zeros(0, dtype=bool) if p.is_holiday is None else np.asarray(p.is_holiday, dtype=bool)):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _flow_schedule(p: SwapProblem, pair_cost, rng: np.random.Generator | None) -> np.ndarray:
    """The free rows placed by one min-cost flow; pair_cost(i, w) gives the int64 cost of faculty i serving week w.

    (i, w) pairs that may use the same rotations in the same week share one group node (w, mask), so the network
    has n + W·(distinct masks) + S nodes rather than one node per pair: the arc i → group (capacity 1) keeps one
    slot per faculty member per week, and any flow splits back into rows because every member of a group may take
    every rotation of its mask. rng (random schedules) randomises the rotation arcs and who takes which rotation.
    """
    n, n_weeks, n_rot = p.eligible.shape
    rows, locked = p.assignments, p.locked
    out = rows.copy()
    free = ~locked
    demand, capacity, allowed = _feasible_set(p)
    total = int(demand.sum())
    if total == 0:
        return out
    pair_i, pair_w = np.nonzero(allowed.any(axis=2))
    masks = allowed[pair_i, pair_w]                                   # (pairs, R)
    if n_rot <= 62:   # pack each mask into an integer key with its week: one 1-D unique, not a row-wise one
        key = pair_w * (1 << n_rot) + masks @ (1 << np.arange(n_rot, dtype=np.int64))
        _, group, inverse = np.unique(key, return_index=True, return_inverse=True)
    else:
        _, group, inverse = np.unique(np.column_stack([pair_w, masks]), axis=0, return_index=True,
                                      return_inverse=True)
    inverse = inverse.ravel()
    g_week = pair_w[group]
    g_tail, g_rot = np.nonzero(masks[group])                          # group → rotation arcs
    open_slot = np.flatnonzero(capacity.ravel() > 0)
    n_pairs, n_groups, n_links = len(pair_i), len(group), len(g_tail)
    # Nodes: faculty 0..n-1, groups, slots (w·R + r), sink.
    group0 = n
    slot0 = group0 + n_groups
    sink = slot0 + n_weeks * n_rot
    tails = np.concatenate([pair_i, group0 + g_tail, slot0 + open_slot]).astype(np.int32)
    heads = np.concatenate([group0 + inverse, slot0 + g_week[g_tail] * n_rot + g_rot,
                            np.full(len(open_slot), sink)]).astype(np.int32)
    group_size = np.bincount(inverse, minlength=n_groups)
    caps = np.concatenate([np.ones(n_pairs, dtype=np.int64), group_size[g_tail], capacity.ravel()[open_slot]])
    link_cost = np.zeros(n_links, dtype=np.int64) if rng is None else rng.integers(0, _RANDOM_COST, size=n_links)
    costs = np.concatenate([np.asarray(pair_cost(pair_i, pair_w), dtype=np.int64), link_cost,
                            np.zeros(len(open_slot), dtype=np.int64)])
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    nodes = np.r_[np.flatnonzero(demand), sink].astype(np.int32)
    flow.set_nodes_supplies(nodes, np.r_[demand[demand > 0], -total].astype(np.int64))
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"stability: the min-cost-flow solver stopped with status {status!r}.")
    chosen = np.flatnonzero(flow.flows(np.arange(n_pairs, dtype=np.int32)) > 0)
    link_flow = flow.flows(np.arange(n_pairs, n_pairs + n_links, dtype=np.int32))
    # Members of each group (by group, then faculty or at random) take the group's rotations in turn.
    tiebreak = pair_i[chosen] if rng is None else rng.permutation(len(chosen))
    chosen = chosen[np.lexsort((tiebreak, inverse[chosen]))]
    rotation = np.repeat(g_rot, link_flow)[np.argsort(np.repeat(g_tail, link_flow), kind="stable")]
    placed = np.column_stack([pair_i[chosen], pair_w[chosen], rotation]).astype(np.int64)
    # Row k keeps its faculty member: the free rows of each faculty take that faculty's placed slots in turn.
    free_rows = np.flatnonzero(free)
    free_rows = free_rows[np.argsort(rows[free_rows, 0], kind="stable")]
    out[free_rows] = placed[np.argsort(placed[:, 0], kind="stable")]
    return out


def blocking_swap_dynamics(
    problem: SwapProblem, *, assignments: np.ndarray | None = None, max_steps: int | None = None,
    epsilon: float = EPSILON,
) -> Dynamics:
    """Execute the best blocking swap (largest gain_i + gain_j) until none is left, from `assignments` (default:
    the problem's schedule). max_steps defaults to 100·m + 100; reaching it is status STEP_LIMIT.

    Each step refreshes only the slot-pair entries the two faculty members' rows touch (their rows in the two
    weeks, the two swapped rows against every slot, the entries whose best row moved), so a step costs about
    O(P·R + S + repairs·occupancy) instead of a full O(m·S) scan (P = rows per faculty member).
    """
    p = _validate.swap_problem(problem if assignments is None else dataclasses.replace(problem, assignments=assignments))
    eps = _validate.epsilon(epsilon)
    m = len(p.assignments)
    limit = 100 * m + 100 if max_steps is None else _validate.whole("max_steps", max_steps, minimum=0)
    return _dynamics(_state.SwapState(p, eps), limit)


def _dynamics(state: _state.SwapState, limit: int) -> Dynamics:
    start = state.welfare()
    if state.m == 0:
        return Dynamics(CONVERGED, _frozen(state.rows()), 0, np.zeros((0, 2), dtype=np.int64),
                        _frozen(np.array([start])), start)
    batch = _batch.Batch([state])
    converged, steps, log = _batch.run(batch, limit)
    swaps = np.array([(a[0], b[0]) for _, a, b, _ in log], dtype=np.int64).reshape(-1, 2)
    gains = np.array([value[0] for *_, value in log], dtype=float)
    return Dynamics(
        status=CONVERGED if converged[0] else STEP_LIMIT, assignments=_frozen(batch.rows(0)), steps=int(steps[0]),
        swaps=_frozen(swaps), welfare_path=_frozen(start + np.concatenate([[0.0], np.cumsum(gains)])),
        welfare=float(batch.welfare()[0]),
    )


def price_of_anarchy(
    problem: SwapProblem, *, rng: np.random.Generator, restarts: int = 20, max_steps: int | None = None,
    epsilon: float = EPSILON, optimum: OptimalWelfare | None = None,
) -> PriceOfAnarchy:
    """Price of anarchy / stability by blocking-swap dynamics from `restarts` random feasible schedules.

    PoA = optimal / worst stable welfare, PoS = optimal / best stable welfare, both ≥ 1 (clamped: the integer
    optimum may sit up to m/SCALE below the real one); 1.0 when the optimum is 0. `optimum` reuses an
    optimal_welfare result of the same problem. The result carries `problem_key(problem, ...)`, so a later report of
    any problem with the same key may reuse it.
    """
    p = _validate.swap_problem(problem)
    rng = _validate.rng(rng)
    eps = _validate.epsilon(epsilon)
    k = _validate.whole("restarts", restarts, minimum=1)
    m = len(p.assignments)
    asked = None if max_steps is None else _validate.whole("max_steps", max_steps, minimum=0)
    limit = 100 * m + 100 if asked is None else asked
    key = _key(p, eps, asked)
    best = optimum if optimum is not None else _optimal(p)
    finals = np.full(k, np.nan)
    steps = np.zeros(k, dtype=np.int64)
    starts = [_random(p, rng) for _ in range(k)]
    if m == 0:
        finals[:] = 0.0
    # The restarts step together in batches (see _batch), each batch's arrays under COPY_BYTES.
    size = _batch.copies_per_batch(m, p.eligible.shape[1] * p.eligible.shape[2])
    for first in range(0, k if m else 0, size):
        chunk = range(first, min(k, first + size))
        batch = _batch.Batch([_state.SwapState(dataclasses.replace(p, assignments=starts[c]), eps) for c in chunk])
        converged, taken, _ = _batch.run(batch, limit)
        welfare_of = batch.welfare()
        finals[first:first + len(chunk)] = np.where(converged, welfare_of, np.nan)
        steps[first:first + len(chunk)] = taken
    converged = int(np.isfinite(finals).sum())
    opt = best.welfare
    if converged == 0:
        return PriceOfAnarchy(STEP_LIMIT, k, 0, opt, None, None, None, None, False, _frozen(finals), _frozen(steps),
                              key)
    worst, top = float(np.nanmin(finals)), float(np.nanmax(finals))
    poa, pos = ratio(opt, worst), ratio(opt, top)
    return PriceOfAnarchy(
        status=CONVERGED if converged == k else PARTIAL, restarts=k, converged=converged, optimal_welfare=opt,
        worst_stable_welfare=worst, best_stable_welfare=top, price_of_anarchy=poa, price_of_stability=pos,
        is_acceptable=poa < ACCEPTABLE_POA, stable_welfare=_frozen(finals), steps=_frozen(steps), key=key,
    )


def ratio(optimal: float, achieved: float) -> float:
    """optimal / achieved, ≥ 1; 1.0 when the optimum is 0, infinite when achieved ≤ 0 < optimal."""
    if optimal == 0:
        return 1.0
    if achieved <= 0:
        return math.inf
    return max(1.0, optimal / achieved)


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array
