"""Input checks the stability functions run first: ValueError with an exact message naming the field and the fix."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from allocation.algorithms.exchange import assignment_index as assignment_index
from allocation.algorithms.exchange import swap_problem_check

swap_problem = swap_problem_check  # the schedule's form and its check live with the schedule (allocation)


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
