"""Swap problems for the stability tests, and brute-force oracles that read the DESIGN §9 definitions literally."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from stability.algorithms.types import EPSILON, SwapProblem


def worked_example() -> SwapProblem:
    """DESIGN §9: A has W1 (u 0.0), B has W2 (0.5), C has W3 (1.0); u_A = (0, 1, .5), u_B = (1, .5, .5),
    u_C = (.5, 0, 1)."""
    return SwapProblem(
        utility=np.array([[0.0, 1.0, 0.5], [1.0, 0.5, 0.5], [0.5, 0.0, 1.0]]),
        eligible=np.ones((3, 3, 1), dtype=bool),
        capacity=np.ones((3, 1), dtype=np.int64),
        assignments=np.array([[0, 0, 0], [1, 1, 0], [2, 2, 0]]),
    )


def literal(utility, rows, *, eligible=None, capacity=None, locked=None, rotations: int = 1) -> SwapProblem:
    utility = np.array(utility, dtype=float)
    n, n_weeks = utility.shape
    return SwapProblem(
        utility=utility,
        eligible=np.ones((n, n_weeks, rotations), dtype=bool) if eligible is None else np.array(eligible, dtype=bool),
        capacity=np.ones((n_weeks, rotations), dtype=np.int64) if capacity is None else np.array(capacity),
        assignments=np.array(rows, dtype=np.int64).reshape(-1, 3),
        locked=None if locked is None else np.array(locked, dtype=bool),
    )


def random_problem(
    rng: np.random.Generator, *, n: int = 6, weeks: int = 6, rotations: int = 2, per_faculty: tuple[int, int] = (1, 3),
    block_p: float = 0.15, qualify_p: float = 0.7, correlated: float = 0.5, discrete: bool = False,
    lock_p: float = 0.0, capacity: tuple[int, int] = (1, 3),
) -> SwapProblem:
    """A random schedule: each faculty member holds a few distinct weeks in random rotations (mostly eligible
    ones — an ineligible current row now and then, as in an imported schedule); capacities may be below the
    occupancy. discrete → utilities on a 0.05 grid, so gains tie often."""
    popularity = rng.random(weeks)
    u = correlated * popularity[None, :] + (1 - correlated) * rng.random((n, weeks))
    if discrete:
        u = np.round(u * 20) / 20
    blocked = rng.random((n, weeks)) < block_p
    u = np.where(blocked, 0.0, u)
    qualified = rng.random((n, rotations)) < qualify_p
    qualified[np.arange(n), rng.integers(0, rotations, size=n)] = True
    eligible = qualified[:, None, :] & ~blocked[:, :, None]
    rows = []
    for i in range(n):
        count = int(rng.integers(per_faculty[0], per_faculty[1] + 1))
        for w in rng.choice(weeks, size=min(count, weeks), replace=False):
            options = np.flatnonzero(eligible[i, w])
            r = int(rng.choice(options)) if len(options) and rng.random() > 0.05 else int(rng.integers(rotations))
            rows.append((i, int(w), r))
    rows = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return SwapProblem(
        utility=u, eligible=eligible,
        capacity=rng.integers(capacity[0], capacity[1] + 1, size=(weeks, rotations)).astype(np.int64),
        assignments=rows, locked=rng.random(len(rows)) < lock_p if lock_p else None,
    )


# --- brute force: the definitions, one pair at a time ---------------------------------------------------------------

def feasible(p: SwapProblem, a: int, b: int) -> bool:
    rows = np.asarray(p.assignments)
    locked = np.zeros(len(rows), bool) if p.locked is None else np.asarray(p.locked)
    i, w, r = (int(x) for x in rows[a])
    j, w2, r2 = (int(x) for x in rows[b])
    if i == j or locked[a] or locked[b]:
        return False
    if not p.eligible[i, w2, r2] or not p.eligible[j, w, r]:
        return False
    holds = {(int(f), int(x)) for f, x, _ in rows}
    if (i, w2) in holds or (j, w) in holds:
        return False
    return not side_breach(p, i, w, w2) and not side_breach(p, j, w2, w)


def side_breach(p: SwapProblem, person: int, old: int, new: int) -> bool:
    """Whether moving `person` from week `old` to week `new` creates a breach of a side constraint: more holiday
    weeks than the cap (and more than before), or serving `new` next to another week still held."""
    before = {int(x) for f, x, _ in np.asarray(p.assignments) if int(f) == person}
    after = (before - {old}) | {new}
    if p.max_holidays is not None:
        holiday = np.asarray(p.is_holiday, dtype=bool)
        held_before, held_after = sum(holiday[x] for x in before), sum(holiday[x] for x in after)
        if held_after > p.max_holidays and held_after > held_before:
            return True
    return bool(p.no_back_to_back) and (new - 1 in after or new + 1 in after)


def gains(p: SwapProblem, a: int, b: int) -> tuple[float, float]:
    rows, u = np.asarray(p.assignments), np.asarray(p.utility)
    i, w, _ = rows[a]
    j, w2, _ = rows[b]
    return float(u[i, w2] - u[i, w]), float(u[j, w] - u[j, w2])


@dataclass
class Brute:
    blocking: list[tuple[int, int]]
    deviations: int
    in_blocking: np.ndarray
    max_gain: float
    avg_gain: float
    best_partner: np.ndarray
    best_gain_self: np.ndarray
    best_gain_partner: np.ndarray

    @property
    def distance(self) -> float:
        return float(self.in_blocking.mean()) if len(self.in_blocking) else 0.0


def brute_force(p: SwapProblem, eps: float = EPSILON) -> Brute:
    m = len(p.assignments)
    n_rot = np.shape(p.eligible)[2]
    blocking, deviations = [], 0
    in_blocking = np.zeros(m, bool)
    best = [(-np.inf, (0, 0), -1, 0.0, 0.0)] * m
    for a, b in itertools.permutations(range(m), 2):
        if not feasible(p, a, b):
            continue
        ga, gb = gains(p, a, b)
        if ga > eps:
            deviations += 1
        if ga > eps and gb > eps:
            in_blocking[a] = True
            if a < b:
                blocking.append((a, b))
            total = ga + gb
            # Ties: the partner's slot (week, then rotation) that comes first, then the lowest index.
            key = (int(p.assignments[b][1]) * n_rot + int(p.assignments[b][2]), b)
            if total > best[a][0] or (total == best[a][0] and key < best[a][1]):
                best[a] = (total, key, b, ga, gb)
    totals = [sum(gains(p, a, b)) for a, b in blocking]
    return Brute(
        blocking=blocking, deviations=deviations, in_blocking=in_blocking,
        max_gain=max(totals) if totals else 0.0, avg_gain=float(np.mean(totals)) if totals else 0.0,
        best_partner=np.array([x[2] for x in best], dtype=np.int64),
        best_gain_self=np.array([x[3] for x in best]), best_gain_partner=np.array([x[4] for x in best]),
    )


def schedules(p: SwapProblem):
    """Every schedule with the same per-faculty counts, capacities max(c, occupancy), eligibility or the current
    slot, one slot per week, locked rows fixed — rows aligned with the problem's (tiny problems only)."""
    rows = np.asarray(p.assignments)
    n, n_weeks, n_rot = p.eligible.shape
    locked = np.zeros(len(rows), bool) if p.locked is None else np.asarray(p.locked)
    occupancy = np.zeros((n_weeks, n_rot), int)
    np.add.at(occupancy, (rows[:, 1], rows[:, 2]), 1)
    capacity = np.maximum(p.capacity, occupancy)
    allowed = np.array(p.eligible, bool)
    allowed[rows[~locked, 0], rows[~locked, 1], rows[~locked, 2]] = True
    per_faculty = []
    for i in range(n):
        mine = np.flatnonzero(rows[:, 0] == i)
        fixed = [k for k in mine if locked[k]]
        free = [k for k in mine if not locked[k]]
        fixed_weeks = {int(rows[k, 1]) for k in fixed}
        slots = [(w, r) for w in range(n_weeks) for r in range(n_rot) if allowed[i, w, r] and w not in fixed_weeks]
        options = []
        for combo in itertools.combinations(slots, len(free)):
            if len({w for w, _ in combo}) == len(combo):
                options.append((free, combo))
        per_faculty.append(options)
    for choice in itertools.product(*per_faculty):
        out = rows.copy()
        for free, combo in choice:
            for k, (w, r) in zip(free, combo, strict=True):
                out[k, 1:] = (w, r)
        load = np.zeros_like(occupancy)
        np.add.at(load, (out[:, 1], out[:, 2]), 1)
        if (load <= capacity).all():
            yield out


def brute_optimal(p: SwapProblem) -> float:
    u = np.asarray(p.utility)
    return max(float(u[s[:, 0], s[:, 1]].sum()) for s in schedules(p))


def welfare_of(p: SwapProblem, rows: np.ndarray) -> float:
    return float(np.asarray(p.utility)[rows[:, 0], rows[:, 1]].sum())


def respects(p: SwapProblem, rows: np.ndarray, original: np.ndarray | None = None) -> list[str]:
    """Broken rules of a schedule derived from p: counts, one slot a week, capacities max(c, occupancy),
    eligibility (or the original slot), locked rows unchanged."""
    original = np.asarray(p.assignments) if original is None else original
    problems = []
    if not np.array_equal(rows[:, 0], original[:, 0]):
        problems.append("a row changed its faculty member")
    if len({(int(i), int(w)) for i, w, _ in rows}) != len(rows):
        problems.append("a faculty member holds a week twice")
    n_weeks, n_rot = p.capacity.shape
    occupancy = np.zeros((n_weeks, n_rot), int)
    np.add.at(occupancy, (original[:, 1], original[:, 2]), 1)
    load = np.zeros_like(occupancy)
    np.add.at(load, (rows[:, 1], rows[:, 2]), 1)
    if (load > np.maximum(p.capacity, occupancy)).any():
        problems.append("a slot is over capacity")
    current = {tuple(int(x) for x in row) for row in original}
    ok = [bool(p.eligible[i, w, r]) or (int(i), int(w), int(r)) in current for i, w, r in rows]
    if not all(ok):
        problems.append("a row moved to a slot its faculty member is not eligible for")
    if p.locked is not None and not np.array_equal(rows[p.locked], original[p.locked]):
        problems.append("a locked row moved")
    return problems
