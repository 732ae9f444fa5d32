"""A schedule as arrays, and the exchanges that may change it (DESIGN §3, §9).

The pure half of the audited schedule change (`allocation.changes`): the schedule's form (`SwapProblem`), its
input check, and what one exchange of two assignment rows does — whether it is feasible (different holders, each
eligible for the other's slot, no week held twice, nothing pre-assigned moved, no hard side constraint of the
schedule's run newly broken), what each holder gains, and the rows after it. The stability analysis
(`stability.algorithms`) counts blocking swaps over the same form. Indices only, never names: faculty
i = 0..n-1, weeks w = 0..W-1, rotations r = 0..R-1, assignments a = 0..m-1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from allocation.algorithms import _validate

EPSILON = 1e-9  # a gain counts only above ε (DESIGN §9)


@dataclass(frozen=True)
class SwapProblem:
    """A schedule and what a swap may do in it.

    utility:     (n, W) float u[i, w].
    eligible:    (n, W, R) bool, faculty i is qualified for rotation r and has not blocked week w.
    capacity:    (W, R) int slot capacities; the optimal-welfare and random schedules use
                 max(capacity, current occupancy) per slot, so an imported over-full schedule stays feasible.
    assignments: (m, 3) int rows (i, w, r): the schedule; at most one row per faculty member and week.
    locked:      (m,) bool, rows that may not be swapped (pre-assignments); None = none. Locked rows also stay
                 fixed in the optimal-welfare and random schedules.
    Faculty i's demand for the optimal-welfare and random schedules is the number of rows i holds.

    The hard side constraints of the run that made the schedule ("no other hard constraint breaks"), checked for
    each holder's move — one that would *create* a breach is infeasible; a breach the schedule already has does
    not block swaps elsewhere:
    is_holiday, max_holidays: (W,) bool and k — a holder may move from a non-holiday week into a holiday week only
                 while holding fewer than k holiday weeks; None = no cap.
    no_back_to_back: the week a holder moves into may not be next to another week they hold after the swap.
    The optimal-welfare and random schedules are drawn without these (same demands, capacities, eligibility).
    """

    utility: np.ndarray
    eligible: np.ndarray
    capacity: np.ndarray
    assignments: np.ndarray
    locked: np.ndarray | None = None
    is_holiday: np.ndarray | None = None
    max_holidays: int | None = None
    no_back_to_back: bool = False

    @property
    def n_faculty(self) -> int:
        return int(np.shape(self.eligible)[0])

    @property
    def n_weeks(self) -> int:
        return int(np.shape(self.eligible)[1])

    @property
    def n_rotations(self) -> int:
        return int(np.shape(self.eligible)[2])

    @property
    def n_assignments(self) -> int:
        return int(np.shape(self.assignments)[0])


def _whole(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise ValueError(f"{name} must be a whole number ≥ {minimum}, got {value!r}.")
    return int(value)


def swap_problem_check(p: SwapProblem) -> SwapProblem:
    """Check shapes, dtypes, ranges and "one slot per faculty member per week"; return contiguous typed arrays.

    Returns utility float64, eligible bool, capacity int64, assignments int64 (m, 3) and locked bool (m,)
    (all False when None). A current assignment need not be eligible (an imported schedule may break a rule
    since fixed); a swap only ever moves faculty into eligible slots.
    """
    eligible = _validate.eligibility(p.eligible)
    n, n_weeks, n_rot = eligible.shape
    utility = np.asarray(p.utility)
    if utility.shape != (n, n_weeks):
        raise ValueError(f"utility has shape {utility.shape}, expected {(n, n_weeks)} (faculty, week).")
    if utility.dtype == bool or not np.issubdtype(utility.dtype, np.number) or not np.isfinite(utility).all():
        raise ValueError("utility must be finite numbers (no NaN or infinity).")
    capacity = np.asarray(p.capacity)
    if capacity.shape != (n_weeks, n_rot):
        raise ValueError(f"capacity has shape {capacity.shape}, expected {(n_weeks, n_rot)} (week, rotation).")
    if capacity.dtype == bool or not np.issubdtype(capacity.dtype, np.integer):
        raise ValueError(f"capacity must be whole numbers (an integer array), got dtype {capacity.dtype}.")
    if capacity.size and capacity.min() < 0:
        raise ValueError("capacity must be non-negative.")
    rows = np.asarray(p.assignments)
    if rows.size == 0:
        rows = np.zeros((0, 3), dtype=np.int64)
    if rows.ndim != 2 or rows.shape[1] != 3 or rows.dtype == bool or not np.issubdtype(rows.dtype, np.integer):
        raise ValueError(
            f"assignments must be integer rows (faculty, week, rotation), got dtype {rows.dtype} and shape {rows.shape}."
        )
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    outside = (rows < 0).any(axis=1) | (rows >= np.array([n, n_weeks, n_rot])).any(axis=1)
    if outside.any():
        k = int(np.flatnonzero(outside)[0])
        raise ValueError(f"assignment {k} {tuple(rows[k].tolist())} indexes outside the problem: faculty must be "
                         f"0..{n - 1}, weeks 0..{n_weeks - 1}, rotations 0..{n_rot - 1}.")
    pair = rows[:, 0] * n_weeks + rows[:, 1]
    unique, counts = np.unique(pair, return_counts=True)
    if (counts > 1).any():
        twice = int(unique[counts > 1][0])
        raise ValueError(
            f"assignments put faculty {twice // n_weeks} twice in week {twice % n_weeks}; "
            "a faculty member holds at most one slot per week."
        )
    m = len(rows)
    if p.locked is None:
        locked = np.zeros(m, dtype=bool)
    else:
        locked = np.asarray(p.locked)
        if locked.shape != (m,) or locked.dtype != bool:
            raise ValueError(
                f"locked must be a boolean array with one entry per assignment, shape {(m,)}, "
                f"got dtype {locked.dtype} and shape {locked.shape}."
            )
    is_holiday = np.zeros(n_weeks, dtype=bool) if p.is_holiday is None else np.asarray(p.is_holiday)
    if is_holiday.shape != (n_weeks,) or is_holiday.dtype != bool:
        raise ValueError(f"is_holiday must be a boolean array with one entry per week, shape {(n_weeks,)}, "
                         f"got dtype {is_holiday.dtype} and shape {is_holiday.shape}.")
    max_holidays = None if p.max_holidays is None else _whole("max_holidays", p.max_holidays, minimum=0)
    if not isinstance(p.no_back_to_back, (bool, np.bool_)):
        raise ValueError(f"no_back_to_back must be True or False, got {p.no_back_to_back!r}.")
    return replace(
        p, utility=np.ascontiguousarray(utility, dtype=np.float64), eligible=np.ascontiguousarray(eligible),
        capacity=capacity.astype(np.int64, copy=False), assignments=rows, locked=np.ascontiguousarray(locked),
        is_holiday=np.ascontiguousarray(is_holiday), max_holidays=max_holidays, no_back_to_back=bool(p.no_back_to_back),
    )


def assignment_index(name: str, value: Any, m: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an assignment index (an integer), got {value!r}.")
    if not 0 <= int(value) < m:
        raise ValueError(f"{name} = {int(value)} is not an assignment index; the schedule has {m} assignments (0..{m - 1}).")
    return int(value)


def swap_gains(problem: SwapProblem, a: int, b: int) -> tuple[bool, float, float]:
    """(feasible, gain of a's holder, gain of b's holder) for one swap of rows a and b; the gains are reported
    whether or not the swap is feasible."""
    p = swap_problem_check(problem)
    m = len(p.assignments)
    a = assignment_index("a", a, m)
    b = assignment_index("b", b, m)
    (i, w, r), (j, w2, r2) = p.assignments[a], p.assignments[b]
    u = p.utility
    gain_i, gain_j = float(u[i, w2] - u[i, w]), float(u[j, w] - u[j, w2])
    holds_i = bool(((p.assignments[:, 0] == i) & (p.assignments[:, 1] == w2)).any())
    holds_j = bool(((p.assignments[:, 0] == j) & (p.assignments[:, 1] == w)).any())
    feasible = bool(
        i != j and not holds_i and not holds_j and bool(p.eligible[i, w2, r2]) and bool(p.eligible[j, w, r])
        and not p.locked[a] and not p.locked[b]
    )
    feasible = feasible and not _breaches(p, int(i), int(w), int(w2)) and not _breaches(p, int(j), int(w2), int(w))
    return feasible, gain_i, gain_j


def _breaches(p: SwapProblem, person: int, old: int, new: int) -> bool:
    """Whether moving `person` from week `old` to week `new` creates a side-constraint breach (SwapProblem)."""
    if p.max_holidays is None and not p.no_back_to_back:
        return False
    held = np.zeros(p.n_weeks, dtype=bool)
    held[p.assignments[p.assignments[:, 0] == person, 1]] = True
    into_holiday = p.max_holidays is not None and p.is_holiday[new] and not p.is_holiday[old]
    if into_holiday and int((held & p.is_holiday).sum()) >= p.max_holidays:
        return True
    held[old] = False
    return p.no_back_to_back and bool((new > 0 and held[new - 1]) or (new + 1 < p.n_weeks and held[new + 1]))


def apply_swap(assignments: np.ndarray, a: int, b: int) -> np.ndarray:
    """New rows: the holder of row a takes b's (week, rotation) and the holder of b takes a's."""
    rows = np.array(assignments, dtype=np.int64).reshape(-1, 3)
    a = assignment_index("a", a, len(rows))
    b = assignment_index("b", b, len(rows))
    rows[[a, b], 1:] = rows[[b, a], 1:]
    return rows


def cycle_breach(problem: SwapProblem, rows: np.ndarray, moved: list[int], *, require_gain: bool) -> str:
    """Why a trading cycle's end state `rows` is infeasible, in words ('' when it is feasible): each moved holder
    may serve their new slot, holds no week twice, nothing pre-assigned moved, no side constraint newly breaks
    (and, with require_gain, each moved holder strictly gains)."""
    start = problem.assignments
    locked = problem.locked if problem.locked is not None else np.zeros(len(start), dtype=bool)
    for k in moved:
        i, w, r = rows[k].tolist()
        if (w, r) != tuple(start[k, 1:].tolist()) and locked[k]:
            return "The trading cycle would move a pre-assigned week."
        if not problem.eligible[i, w, r]:
            return "The trading cycle is no longer feasible: someone would get a slot they cannot serve."
        if require_gain and not problem.utility[i, w] - problem.utility[i, start[k, 1]] > EPSILON:
            return "The trading cycle no longer benefits every member."
    if len(np.unique(rows[:, :2], axis=0)) != len(rows):
        return "The trading cycle is no longer feasible: someone would serve two slots in one week."
    return side_breach(problem, start, rows, moved)


def side_breach(problem: SwapProblem, start: np.ndarray, rows: np.ndarray, moved: list[int]) -> str:
    """The side constraint of the schedule's run that the end state would newly break, in words ('' if none)."""
    if problem.max_holidays is None and not problem.no_back_to_back:
        return ""
    n, n_weeks = problem.eligible.shape[:2]
    before, after = np.zeros((n, n_weeks), dtype=bool), np.zeros((n, n_weeks), dtype=bool)
    before[start[:, 0], start[:, 1]] = True
    after[rows[:, 0], rows[:, 1]] = True
    movers = np.unique(rows[moved, 0])
    if problem.max_holidays is not None:
        holiday = np.asarray(problem.is_holiday, dtype=bool)
        was, now = before[movers][:, holiday].sum(axis=1), after[movers][:, holiday].sum(axis=1)
        if ((now > problem.max_holidays) & (now > was)).any():
            return (f"The exchange would give someone more than {problem.max_holidays} holiday "
                    f"week{'s' if problem.max_holidays != 1 else ''}, the cap of the run that made this schedule.")
    if problem.no_back_to_back:
        held, new = after[movers], after[movers] & ~before[movers]
        if ((held[:, 1:] & held[:, :-1]) & (new[:, 1:] | new[:, :-1])).any():
            return "The exchange would have someone serve two weeks in a row, which this schedule's run forbids."
    return ""
