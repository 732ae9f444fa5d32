"""Random serial dictatorship (Abdulkadiroğlu & Sönmez, Econometrica 66(3), 1998).

A uniformly random order of the faculty is drawn from the injected generator; each faculty member in turn
takes their d_i best weeks (by ``problem.rank``) that still have room for them, never two in one week.
Pre-assignments are placed before the first pick.

"Room in week w" is exact with several rotations: the faculty already holding w plus the newcomer must be
assignable to w's rotations within capacity. By Hall's theorem that holds iff for every set S of rotations,
the holders whose eligible rotations all lie in S number at most Σ_{r∈S} c_{w,r}; a (week, subset) table of
those counts makes the check one vectorised comparison per faculty member. Committing to a rotation at pick
time instead (e.g. the emptiest) can block a later faculty member qualified for fewer rotations, and would
break Pareto efficiency. Rotations are fixed once at the end by a feasible flow.

Strategyproof, and ex-post Pareto efficient for strict (additive) preferences over weeks.
"""

from __future__ import annotations

import time

import numpy as np

from allocation.algorithms import _flow, _validate
from allocation.algorithms.types import FEASIBLE, OPTIMAL, Allocation, Problem

MAX_ROTATIONS = 12  # the Hall table has 2**R columns per week


def rsd(problem: Problem, *, rng: np.random.Generator, **options: object) -> Allocation:
    """Random serial dictatorship; lottery_order lists faculty in draw order.

    per_assignment: "lottery_position" (1-based draw position of the row's faculty), "pick" (global pick
    sequence number, 0 for a pre-assignment) and "preassigned".
    """
    started = time.perf_counter()
    _validate.options("rsd", options, {})
    p = _validate.problem(problem)
    n, n_weeks, n_rot = p.eligible.shape
    if n_rot > MAX_ROTATIONS:
        raise ValueError(f"rsd supports at most {MAX_ROTATIONS} rotations, got {n_rot}.")
    lottery = rng.permutation(n)
    position = np.empty(n, dtype=np.int64)
    position[lottery] = np.arange(1, n + 1)

    pre = p.preassigned
    left = p.demand - np.bincount(pre[:, 0], minlength=n)
    free = p.capacity.copy()
    np.subtract.at(free, (pre[:, 1], pre[:, 2]), 1)
    pre_weeks = {int(i): pre[pre[:, 0] == i, 1] for i in np.unique(pre[:, 0])}

    # Hall table: subset S of rotations as a bitmask; room[w, S] = Σ_{r∈S} free[w, r].
    bits = 1 << np.arange(n_rot)
    subsets = np.arange(1 << n_rot)
    member = (subsets[:, None] & bits[None, :]) != 0
    room = free @ member.T.astype(np.int64)
    within = (subsets[:, None] & subsets[None, :]) == subsets[:, None]  # within[m, S]: m ⊆ S
    held = np.zeros_like(room)

    picked_faculty, picked_week = [], []
    for i in lottery:
        d = int(left[i])
        if d == 0:
            continue
        mask = p.eligible[i] @ bits  # (W,) each week's eligible rotations; 0 never fits (S = ∅ has no room)
        fits = ((held + within[mask]) <= room).all(axis=1)
        if i in pre_weeks:
            fits[pre_weeks[i]] = False
        best_first = np.argsort(p.rank[i], kind="stable")
        take = best_first[fits[best_first]][:d]
        held[take] += within[mask[take]]
        picked_faculty.append(np.full(len(take), i))
        picked_week.append(take)

    faculty = np.concatenate(picked_faculty or [np.zeros(0, np.int64)]).astype(np.int64)
    week = np.concatenate(picked_week or [np.zeros(0, np.int64)]).astype(np.int64)
    pick = np.arange(1, len(faculty) + 1)
    holds = np.bincount(faculty, minlength=n) + np.bincount(pre[:, 0], minlength=n)
    flow = _flow.assign(
        p.eligible, holds, p.capacity, faculty=faculty, week=week, cost=np.zeros(len(faculty), np.int64),
        preassigned=pre, allow_unassigned=False,
    )
    if flow.status != OPTIMAL or flow.unassigned.any():
        raise RuntimeError("rsd: the weeks picked could not be given rotations (a broken Hall check).")
    rows = flow.assignments
    preassigned = flow.pair_index < 0
    pick_of_row = np.zeros(len(rows), dtype=np.int64)
    pick_of_row[~preassigned] = pick[flow.pair_index[~preassigned]]
    per_assignment = {"lottery_position": position[rows[:, 0]], "pick": pick_of_row, "preassigned": preassigned}
    for array in (*per_assignment.values(), lottery):
        array.setflags(write=False)
    return Allocation(
        status=FEASIBLE, mechanism="rsd", assignments=rows,
        unassigned=_readonly(p.demand - np.bincount(rows[:, 0], minlength=n)),
        per_assignment=per_assignment, lottery_order=lottery,
        wall_ms=(time.perf_counter() - started) * 1000,
    )


def _readonly(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array, dtype=np.int64)
    array.setflags(write=False)
    return array
