"""Input checks the stability functions run first: ValueError with an exact message naming the field and the fix."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from stability.algorithms.types import SwapProblem


def swap_problem(p: SwapProblem) -> SwapProblem:
    """Check shapes, dtypes, ranges and "one slot per faculty member per week"; return contiguous typed arrays.

    Returns utility float64, eligible bool, capacity int64, assignments int64 (m, 3) and locked bool (m,)
    (all False when None). A current assignment need not be eligible (an imported schedule may break a rule
    since fixed); a swap only ever moves faculty into eligible slots.
    """
    eligible = np.asarray(p.eligible)
    if eligible.ndim != 3 or eligible.dtype != bool:
        raise ValueError(
            f"eligible must be a boolean (faculty, week, rotation) array, got dtype {eligible.dtype} "
            f"and shape {eligible.shape}."
        )
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
    max_holidays = None if p.max_holidays is None else whole("max_holidays", p.max_holidays, minimum=0)
    if not isinstance(p.no_back_to_back, (bool, np.bool_)):
        raise ValueError(f"no_back_to_back must be True or False, got {p.no_back_to_back!r}.")
    return dataclasses.replace(
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


def epsilon(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(float(value)) or float(value) < 0:
        raise ValueError(f"epsilon must be a finite number ≥ 0, got {value!r}.")
    return float(value)


def whole(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < minimum:
        raise ValueError(f"{name} must be a whole number ≥ {minimum}, got {value!r}.")
    return int(value)


def number(name: str, value: Any, *, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    value = float(value)
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            raise ValueError(f"{name} must be ≥ {low:g}, got {value!r}.")
        raise ValueError(f"{name} must lie in [{low:g}, {high:g}], got {value!r}.")
    return value


def rng(value: Any) -> np.random.Generator:
    if not isinstance(value, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(seed)), got {value!r}.")
    return value


def thresholds(value: Any) -> tuple[float, float, float]:
    try:
        t = tuple(float(x) for x in value)
    except (TypeError, ValueError):
        t = ()
    if len(t) != 3 or not all(math.isfinite(x) for x in t) or not 0 <= t[0] < t[1] < t[2] <= 1:
        raise ValueError(
            "thresholds must be three increasing numbers in [0, 1] (STABLE < t1 ≤ MARGINAL < t2 ≤ UNSTABLE "
            f"< t3 ≤ CRITICAL), got {value!r}."
        )
    return t  # type: ignore[return-value]


def weeks(value: Any, n_weeks: int) -> np.ndarray | None:
    if value is None:
        return None
    array = np.asarray(list(value) if not isinstance(value, np.ndarray) else value)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"wanted_weeks must be week indices (integers), got {value!r}.")
    if array.min() < 0 or array.max() >= n_weeks:
        raise ValueError(f"wanted_weeks must lie in 0..{n_weeks - 1}, got {value!r}.")
    return array.astype(np.int64)


def vector(name: str, value: Any, *, length: int | None = None) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != 1 or array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be a 1-D array of numbers, got shape {array.shape} and dtype {array.dtype}.")
    if length is not None and len(array) != length:
        raise ValueError(f"{name} has {len(array)} entries, expected {length} (one per {_per(name)}).")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite numbers (no NaN or infinity).")
    return array.astype(np.float64)


def _per(name: str) -> str:
    return "strategy" if name in ("frequency", "success_rate") else "observation"


def ttc_market(owners: Any, preferences: Any) -> tuple[list[Any], list[list[int]]]:
    """owners: K distinct item ids; preferences: K lists of item ids, best first, no repeats, each an owned item.

    Returns the owners and each agent's list as agent indices (whose item), cut at the agent's own item.
    """
    items = list(np.asarray(owners).tolist()) if isinstance(owners, np.ndarray) else list(owners)
    index = {}
    for k, item in enumerate(items):
        if item in index:
            raise ValueError(f"owners must be distinct items: item {item!r} is owned by agents {index[item]} and {k}.")
        index[item] = k
    if isinstance(preferences, (str, bytes)) or not isinstance(preferences, Sequence) or len(preferences) != len(items):
        given = len(preferences) if isinstance(preferences, Sequence) else type(preferences).__name__
        raise ValueError(f"preferences must be one list per agent ({len(items)}), got {given}.")
    lists = []
    for k, ranking in enumerate(preferences):
        agents: list[int] = []
        seen: set[int] = set()
        stopped = False
        for item in list(ranking):
            item = item.item() if isinstance(item, np.generic) else item
            if item not in index:
                raise ValueError(f"preferences[{k}] lists item {item!r}, which no agent owns.")
            owner = index[item]
            if owner in seen:
                raise ValueError(f"preferences[{k}] lists item {item!r} twice; a preference list is a strict order.")
            seen.add(owner)
            stopped = stopped or owner == k
            if not stopped:  # the own item ends the list: everything after it is unacceptable
                agents.append(owner)
        lists.append(agents)
    return items, lists
