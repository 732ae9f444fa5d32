"""Min-cost flow over the weeks each faculty member listed (DESIGN §5), on OR-Tools ``SimpleMinCostFlow``.

Arcs go to eligible listed weeks at cost = the week's position among the faculty member's listed weeks
(1..M); ``fill_unlisted`` adds eligible unlisted weeks at cost max_rank + 2 (max_rank = the longest list);
``allow_unassigned`` lets demand go unmet, as a last resort: unassigned demand is minimised first, and only when
nothing else fits — without it, demand that cannot be met makes the result "infeasible". Network flows:
Ahuja, Magnanti & Orlin, *Network Flows*, 1993; the network is :mod:`allocation.algorithms._flow`.

The listed position is computed, not read off ``problem.rank``: ordinal and binary lists come first in the
strict order, but a cardinal value below 50 ranks after the neutral unlisted weeks.
"""

from __future__ import annotations

import time

import numpy as np

from allocation.algorithms import _flow, _validate
from allocation.algorithms.types import OPTIMAL, Allocation, Problem


def listed_positions(problem: Problem) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(faculty, week, position) of every listed week, sorted by (faculty, week); position is 1..M_i."""
    n, n_weeks = problem.listed.shape
    flat = np.flatnonzero(problem.listed)
    faculty, week = np.divmod(flat, n_weeks)
    rank = problem.rank.ravel()[flat].astype(np.int64)
    if (rank <= np.bincount(faculty, minlength=n)[faculty]).all():
        return faculty, week, rank  # the list is a prefix of the strict order: position = rank
    by_rank = np.lexsort((rank, faculty))
    first = np.searchsorted(faculty, faculty[by_rank], side="left")  # faculty is sorted: start of each run
    position = np.empty(len(faculty), dtype=np.int64)
    position[by_rank] = np.arange(len(faculty)) - first + 1
    return faculty, week, position


def min_cost_flow(
    problem: Problem, *, rng: np.random.Generator, fill_unlisted: bool = False, allow_unassigned: bool = True,
    **options: object,
) -> Allocation:
    """Min-cost flow assignment; objective = Σ arc cost over all assignments (pre-assigned rows included).

    rng is accepted for the registry signature; the optimum is computed deterministically.
    per_assignment: "listed_rank" (position in the faculty's list, 0 when unlisted) and "cost".
    """
    started = time.perf_counter()
    _validate.options(
        "min_cost_flow", {"fill_unlisted": fill_unlisted, "allow_unassigned": allow_unassigned, **options},
        {"fill_unlisted": (True, False), "allow_unassigned": (True, False)},
    )
    p = _validate.problem(problem)
    n, n_weeks, n_rot = p.eligible.shape
    by_pair = p.eligible.reshape(n * n_weeks, n_rot)
    l_faculty, l_week, l_position = listed_positions(p)
    max_rank = int(l_position.max(initial=0))
    fill_cost = max_rank + 2
    on = by_pair[l_faculty * n_weeks + l_week].any(axis=1)
    faculty, week, cost = l_faculty[on], l_week[on], l_position[on]
    if fill_unlisted:
        u_faculty, u_week = np.divmod(np.flatnonzero(by_pair.any(axis=1) & ~p.listed.ravel()), n_weeks)
        faculty = np.concatenate([faculty, u_faculty])
        week = np.concatenate([week, u_week])
        cost = np.concatenate([cost, np.full(len(u_faculty), fill_cost, dtype=np.int64)])
    flow = _flow.assign(
        p.eligible, p.demand, p.capacity, faculty=faculty, week=week, cost=cost,
        preassigned=p.preassigned, allow_unassigned=allow_unassigned,
    )
    rows = flow.assignments
    # Each row's list position (0 when unlisted), found among the sorted listed (faculty, week) keys.
    key, wanted = l_faculty * n_weeks + l_week, rows[:, 0] * n_weeks + rows[:, 1]
    at = np.minimum(np.searchsorted(key, wanted), len(key) - 1)
    listed_rank = np.where(key[at] == wanted, l_position[at], 0) if len(key) else np.zeros(len(rows), np.int64)
    row_cost = np.where(listed_rank > 0, listed_rank, fill_cost)
    for array in (listed_rank, row_cost):
        array.setflags(write=False)
    ok = flow.status == OPTIMAL
    return Allocation(
        status=flow.status, mechanism="min_cost_flow", assignments=rows, unassigned=flow.unassigned,
        objective=float(row_cost.sum()) if ok else None,
        per_assignment={"listed_rank": listed_rank, "cost": row_cost},
        details={
            "fill_unlisted": fill_unlisted, "allow_unassigned": allow_unassigned, "max_rank": max_rank,
            "fill_cost": fill_cost, "nodes": flow.nodes, "arcs": flow.arcs,
        },
        wall_ms=(time.perf_counter() - started) * 1000,
    )
