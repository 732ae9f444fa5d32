"""Probabilistic serial: the eating algorithm of Bogomolnaia & Moulin (JET 100(2), 2001), with slot capacities
and multi-unit demand as in Kojima (Math. Soc. Sci. 57(1), 2009) and Budish, Che, Kojima & Milgrom (AER 103(2),
2013), in exact rational arithmetic.

The rules of the eating:

- The objects are the slots (w, r); slot (w, r) holds c_{w,r} units, less one for each faculty member
  pre-assigned to it.
- Every faculty member eats at speed 1 from time 0. Faculty i's demand is d_i less their pre-assignments; a
  pre-assigned (i, w, r) gets probability exactly 1, and i never eats another slot of a pre-assigned week.
- Faculty i's order over slots: weeks by ``rank[i, w]`` ascending (1 = best; already strict, ties broken by
  the run's seeded order upstream; the week index breaks any tie left), then rotations by index within a week.
  Only eligible slots are ever eaten, so a blocked week never is; unlisted eligible weeks follow the listed ones
  in rank order, as RSD takes them.
- At any moment i eats the first slot in its order that has supply left and lies in a week of which i has eaten
  less than 1. At most one slot a week: when i's consumption of week w (over its rotations) reaches 1, i moves
  to the next week. i stops when its consumption reaches its demand, or when nothing it may eat is left.
- Event-driven: between events every eater's slot is fixed. The next event is the earliest of a slot running
  out, an eater's week consumption reaching 1 and an eater's total reaching its demand; all that happen at the
  same instant are handled together. P[i, (w, r)] is the time i spent eating (w, r).

Because nobody pauses before stopping, every active eater has eaten exactly the current time t, so "total
reaches demand" is t = demand, and the week limit is t = (time i started on the week) + 1. Quantities are kept
as integers over one common denominator (Python integers: the denominators are products of eater counts and
outgrow 64 bits quickly) and reduced by their common divisor after every event; the result is scaled to the
least common denominator of all event times.

Ordinally efficient and envy-free for unit demand (Bogomolnaia & Moulin 2001); the matrix satisfies the
bihierarchy constraints of Budish et al. (2013) (slot capacity; per faculty one slot a week and d_i slots), so it
decomposes into a lottery over feasible schedules.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from allocation.algorithms import _validate
from allocation.algorithms.types import Problem, RandomAssignment

_INT64_COMFORT = 2**62


def probabilistic_serial_matrix(problem: Problem) -> RandomAssignment:
    """The probabilistic serial random assignment of `problem` (rules in the module docstring).

    counts[i, w, r] / total is the time faculty i ate slot (w, r), exactly; total is the least common
    denominator. The result is feasible in RandomAssignment's sense; a faculty member short of demand could eat
    nothing more (each eligible slot of theirs is full or lies in a week they hold whole or are pre-assigned).
    counts is int64 when total · max(n, W·R, c, d) stays below 2**62, else an object array of Python ints.
    """
    p = _validate.problem(problem)
    n, n_weeks, n_rot = p.eligible.shape
    n_slots = n_weeks * n_rot
    pre = p.preassigned
    pre_slot = pre[:, 1] * n_rot + pre[:, 2]
    demand = p.demand - np.bincount(pre[:, 0], minlength=n)
    supply = p.capacity.ravel().copy()
    np.subtract.at(supply, pre_slot, 1)
    edible = p.eligible.copy()
    edible[pre[:, 0], pre[:, 1]] = False
    edible[demand <= 0] = False
    order, next_week = eating_orders(p.rank, edible)

    faculty, slot, start, end, times = _eat(order, next_week, demand, supply, n_rot)

    total = math.lcm(*(t.denominator for t in times))
    at = np.array([t.numerator * (total // t.denominator) for t in times], dtype=object)
    eaten = at[end] - at[start]
    divisor = math.gcd(total, *eaten.tolist())
    total //= divisor
    counts = np.zeros((n, n_slots), dtype=object)
    counts[faculty, slot] = eaten // divisor
    counts[pre[:, 0], pre_slot] = total
    largest = max(n, n_slots, int(p.capacity.max(initial=0)), int(p.demand.max(initial=0)), 1)
    if total * largest < _INT64_COMFORT:
        counts = counts.astype(np.int64)
    counts = counts.reshape(n, n_weeks, n_rot)
    counts.setflags(write=False)
    return RandomAssignment(counts=counts, total=int(total))


def eating_orders(rank: np.ndarray, edible: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each faculty member's slots in eating order, and where the next week starts in that order.

    order (n, K): flat slot indices w·R + r of the edible slots of row i, by (rank[i, w], w, r); K is the most
    edible slots anyone has, and shorter rows are padded with W·R (a slot that never has supply).
    next_week (n, K): next_week[i, j] is the first position after j whose week differs from order[i, j]'s.
    """
    n, n_weeks, n_rot = edible.shape
    n_slots = n_weeks * n_rot
    key = (np.asarray(rank, dtype=np.int64)[:, :, None] * n_weeks + np.arange(n_weeks)[None, :, None]) * n_rot
    key = (key + np.arange(n_rot)[None, None, :]).reshape(n, n_slots)
    flat = edible.reshape(n, n_slots)
    width = int(flat.sum(axis=1).max(initial=0))
    order = np.argsort(np.where(flat, key, np.iinfo(np.int64).max), axis=1, kind="stable")[:, :width]
    order[~np.take_along_axis(flat, order, axis=1)] = n_slots
    week = order // n_rot
    boundary = np.full((n, width), width, dtype=np.int64)
    boundary[:, :-1] = np.where(week[:, 1:] != week[:, :-1], np.arange(1, width)[None, :], width)
    next_week = np.minimum.accumulate(boundary[:, ::-1], axis=1)[:, ::-1]
    return order, np.ascontiguousarray(next_week)


def _eat(
    order: np.ndarray, next_week: np.ndarray, demand: np.ndarray, capacity: np.ndarray, n_rot: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[Fraction]]:
    """Run the eating; return the eating intervals (faculty, slot, start event, end event) and the event times.

    Time is now/scale and every supply and week start is an integer in units of 1/scale.
    """
    n, width = order.shape
    n_slots = len(capacity)
    week_of = order // n_rot
    supply = np.append(capacity, 0).astype(object)  # the last entry is the padding slot, never open
    scale, now = 1, 0
    times = [Fraction(0)]
    ptr = np.zeros(n, dtype=np.int64)
    week_start = np.zeros(n, dtype=object)
    slot_start = np.zeros(n, dtype=np.int64)
    active = demand > 0
    first = np.flatnonzero(active)
    ptr[first], found = _first_open(order, first, ptr[first], supply > 0)
    active[first[~found]] = False
    pieces: list[tuple[np.ndarray, ...]] = []

    while active.any():
        eaters = np.flatnonzero(active)
        slot = order[eaters, ptr[eaters]]
        eating = np.bincount(slot, minlength=n_slots + 1)
        busy = np.flatnonzero(eating)
        step = _least_ratio(supply[busy], eating[busy])
        limit = min(week_start[eaters].min() + scale, int(demand[eaters].min()) * scale) - now
        if limit < step:
            step = Fraction(limit)
        if step.denominator > 1:
            scale *= step.denominator
            now *= step.denominator
            supply *= step.denominator
            week_start[eaters] *= step.denominator
        dt = step.numerator
        if dt <= 0:
            raise RuntimeError("probabilistic serial: the eating stalled (an eater kept a slot it may not eat).")
        supply[busy] -= eating[busy].astype(object) * dt
        now += dt
        times.append(Fraction(now, scale))
        event = len(times) - 1

        whole = now % scale == 0
        done = (demand[eaters] == now // scale) if whole else np.zeros(len(eaters), dtype=bool)
        week_full = (now - week_start[eaters]) == scale
        moving = done | week_full | (supply[slot] == 0)
        pieces.append((eaters[moving], slot[moving], slot_start[eaters[moving]], np.full(moving.sum(), event)))
        active[eaters[done]] = False
        go = moving & ~done
        movers = eaters[go]
        old = ptr[movers]
        resume = np.where(week_full[go], next_week[movers, old], old)  # a week held whole is left for good
        ptr[movers], found = _first_open(order, movers, resume, supply > 0)
        new_week = week_of[movers, ptr[movers]] != week_of[movers, old]
        week_start[movers[new_week]] = now
        slot_start[movers] = event
        active[movers[~found]] = False

        # Keep the integers small: divide out what scale, now, the supplies and the live week starts share.
        live = np.flatnonzero(active)
        divisor = math.gcd(scale, now, *supply.tolist(), *week_start[live].tolist())
        if divisor > 1:
            scale //= divisor
            now //= divisor
            supply //= divisor
            week_start[live] //= divisor

    if pieces:
        faculty, slot, start, end = (np.concatenate(part).astype(np.int64) for part in zip(*pieces, strict=True))
    else:
        faculty = slot = start = end = np.zeros(0, dtype=np.int64)
    return faculty, slot, start, end, times


def _first_open(order: np.ndarray, rows: np.ndarray, start: np.ndarray, open_slot: np.ndarray):
    """For each faculty in rows, the first position ≥ start in its order whose slot is open; and whether any is."""
    width = order.shape[1]
    if width == 0 or len(rows) == 0:
        return np.zeros(len(rows), dtype=np.int64), np.zeros(len(rows), dtype=bool)
    ok = open_slot[order[rows]] & (np.arange(width)[None, :] >= start[:, None])
    position = ok.argmax(axis=1)
    return position, ok[np.arange(len(rows)), position]


def _least_ratio(numerators: np.ndarray, denominators: np.ndarray) -> Fraction:
    """min_s numerators[s] / denominators[s] exactly (non-negative integers, positive denominators)."""
    denominators = denominators.astype(object)
    whole = numerators // denominators
    least = whole.min()
    tied = np.flatnonzero(whole == least)
    return min(Fraction(int(numerators[s]), int(denominators[s])) for s in tied.tolist())
