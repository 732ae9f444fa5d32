"""Least regret: the assignment minimising Σ cost(rank obtained) after minimising unassigned demand.

cost(r) = (r − 1)² ("squared", default: a few bad outcomes weigh more than many small ones) or r − 1
("linear", the rank-sum / utilitarian assignment). Solved exactly as a min-cost flow (Ahuja, Magnanti &
Orlin, *Network Flows*, 1993) on the shared network of :mod:`allocation.algorithms._flow`, over every
eligible week. :func:`least_regret_scipy` is an independent reference for unit demand.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.optimize import linear_sum_assignment

from allocation.algorithms import _flow, _validate
from allocation.algorithms.types import OPTIMAL, Allocation, Problem, sort_assignments

COSTS = ("squared", "linear")


def regret_cost(rank: np.ndarray, cost: str) -> np.ndarray:
    """cost(rank) as int64: (r − 1)² or r − 1."""
    regret = np.asarray(rank, dtype=np.int64) - 1
    return regret * regret if cost == "squared" else regret


def least_regret(problem: Problem, *, rng: np.random.Generator, cost: str = "squared", **options: object) -> Allocation:
    """Least-regret assignment; objective = Σ cost(rank) over all assignments, pre-assigned rows included.

    rng is accepted for the registry signature; the optimum is computed deterministically.
    """
    started = time.perf_counter()
    _validate.options("least_regret", {"cost": cost, **options}, {"cost": COSTS})
    p = _validate.problem(problem)
    n, n_weeks, n_rot = p.eligible.shape
    pairs = np.flatnonzero(p.eligible.reshape(n * n_weeks, n_rot).any(axis=1))
    faculty, week = np.divmod(pairs, n_weeks)
    flow = _flow.assign(
        p.eligible, p.demand, p.capacity, faculty=faculty, week=week,
        cost=regret_cost(p.rank.ravel()[pairs], cost), preassigned=p.preassigned,
    )
    rows = flow.assignments
    per_row = regret_cost(p.rank[rows[:, 0], rows[:, 1]], cost)
    per_row.setflags(write=False)
    return Allocation(
        status=OPTIMAL, mechanism="least_regret", assignments=rows, unassigned=flow.unassigned,
        objective=float(per_row.sum()), per_assignment={"cost": per_row},
        details={"cost": cost, "nodes": flow.nodes, "arcs": flow.arcs},
        wall_ms=(time.perf_counter() - started) * 1000,
    )


def least_regret_scipy(problem: Problem, *, cost: str = "squared") -> Allocation:
    """Reference least regret via ``scipy.optimize.linear_sum_assignment`` on the capacity-expanded matrix.

    Rows are faculty, columns slot seats (one per unit of c_{w,r}). Valid for unit demand only: a faculty
    member needing two weeks would be two rows, and a plain assignment cannot stop both rows taking seats in
    the same week. Ineligible seats cost more than any assignment, so the count of real assignments is
    maximised first; pre-assigned faculty and seats are removed and added back.
    """
    _validate.options("least_regret_scipy", {"cost": cost}, {"cost": COSTS})
    p = _validate.problem(problem)
    if (p.demand > 1).any():
        raise ValueError("least_regret_scipy is valid for unit demand (every d_i ≤ 1) only.")
    n, n_weeks, n_rot = p.eligible.shape
    pre = p.preassigned
    free = p.capacity.copy()
    np.subtract.at(free, (pre[:, 1], pre[:, 2]), 1)
    rows = np.flatnonzero(p.demand - np.bincount(pre[:, 0], minlength=n) > 0)
    seat_slot = np.repeat(np.arange(n_weeks * n_rot), free.ravel())
    seat_week, seat_rot = np.divmod(seat_slot, n_rot)
    allowed = p.eligible[rows[:, None], seat_week[None, :], seat_rot[None, :]]
    base = regret_cost(p.rank[rows[:, None], seat_week[None, :]], cost)
    forbidden = int(base.max(initial=0)) * max(len(rows), 1) + 1
    matrix = np.where(allowed, base, forbidden)
    r, c = linear_sum_assignment(matrix)
    real = allowed[r, c]
    chosen = np.column_stack([rows[r[real]], seat_week[c[real]], seat_rot[c[real]]])
    assignments = sort_assignments(np.concatenate([chosen, pre]))
    total = regret_cost(p.rank[assignments[:, 0], assignments[:, 1]], cost).sum()
    return Allocation(
        status=OPTIMAL, mechanism="least_regret_scipy", assignments=assignments,
        unassigned=p.demand - np.bincount(assignments[:, 0], minlength=n), objective=float(total),
        details={"cost": cost},
    )
