"""Input checks every mechanism runs first: ValueError with an exact message naming the field and the fix.

Two entry points, both cheap (vectorised, no copies of the (n, W) arrays when the dtypes already fit):

- :func:`problem` — a :class:`Problem` is internally consistent; returns it with ``demand``, ``capacity`` and
  ``preassigned`` as int64 arrays.
- :func:`options` — a mechanism's keyword options are all known and each value is allowed; the error is an
  :class:`OptionError` naming the option.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from allocation.algorithms.types import OptionError, Problem


def eligibility(value: Any) -> np.ndarray:
    """The (faculty, week, rotation) boolean eligibility array, or ValueError saying what it is instead."""
    eligible = np.asarray(value)
    if eligible.ndim != 3 or eligible.dtype != bool:
        raise ValueError(
            f"eligible must be a boolean (faculty, week, rotation) array, got dtype {eligible.dtype} "
            f"and shape {eligible.shape}."
        )
    return eligible


def problem(p: Problem) -> Problem:
    """Check shapes, integer demand/capacity, finite utilities, ranks in range and the pre-assignments.

    Rank rows are checked for range (1..W), not proven to be permutations: a full proof costs a sort of every
    row, and the shared utility builder already guarantees it.
    """
    eligible = eligibility(p.eligible)
    n, n_weeks, n_rot = eligible.shape
    for name in ("utility", "rank", "listed", "value"):
        shape = np.shape(getattr(p, name))
        if shape != (n, n_weeks):
            raise ValueError(f"{name} has shape {shape}, expected {(n, n_weeks)} (faculty, week).")
    if np.asarray(p.listed).dtype != bool:
        raise ValueError("listed must be a boolean array.")
    for name, expected in (("demand", (n,)), ("capacity", (n_weeks, n_rot)), ("is_holiday", (n_weeks,))):
        shape = np.shape(getattr(p, name))
        if shape != expected:
            raise ValueError(f"{name} has shape {shape}, expected {expected}.")
    demand = _counts("demand", p.demand)
    capacity = _counts("capacity", p.capacity)
    for name in ("utility", "value"):
        array = np.asarray(getattr(p, name))
        # A NaN or infinity anywhere makes the sum non-finite, so a finite sum proves them all finite in one pass.
        if array.dtype == bool or not np.issubdtype(array.dtype, np.number) or (
            not np.isfinite(array.sum()) and not np.isfinite(array).all()
        ):
            raise ValueError(f"{name} must be finite numbers (no NaN or infinity).")
    rank = np.asarray(p.rank)
    if not np.issubdtype(rank.dtype, np.integer):
        raise ValueError(f"rank must be an integer array, got dtype {rank.dtype}.")
    if rank.size and (rank.min() < 1 or rank.max() > n_weeks):
        raise ValueError(f"rank must lie in 1..{n_weeks} (1 = best week).")
    preassigned = _preassigned(p.preassigned, eligible, demand, capacity)
    return dataclasses.replace(p, demand=demand, capacity=capacity, preassigned=preassigned)


def options(name: str, given: Mapping[str, Any], allowed: Mapping[str, tuple | type]) -> dict[str, Any]:
    """Reject unknown options and disallowed values of mechanism `name`; return the options as a dict.

    allowed maps each option to a tuple of permitted values (matched by type and value, so 1 is not True)
    or to a type the value must be an instance of (``object`` accepts anything; a bool is not an int or a
    float here, and an int is accepted as a float).
    """
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise OptionError(unknown[0], f"{name}: unknown option {unknown[0]!r}; known options: {known}.")
    for key, value in given.items():
        spec = allowed[key]
        if isinstance(spec, tuple):
            if not any(type(value) is type(choice) and value == choice for choice in spec):
                choices = ", ".join(repr(c) for c in spec)
                raise OptionError(key, f"{name}: option {key!r} must be one of {choices}, got {value!r}.")
        elif not _is_a(value, spec):
            raise OptionError(key, f"{name}: option {key!r} must be a {spec.__name__}, got {value!r}.")
    return dict(given)


def _is_a(value: Any, spec: type) -> bool:
    if spec in (int, float) and isinstance(value, bool):
        return False
    return isinstance(value, (int, float) if spec is float else spec)


def _counts(name: str, values: Any) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must be whole numbers (an integer array), got dtype {array.dtype}.")
    if array.size and array.min() < 0:
        raise ValueError(f"{name} must be non-negative.")
    return array.astype(np.int64, copy=False)


def _preassigned(values: Any, eligible: np.ndarray, demand: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    rows = np.asarray(values)
    if rows.size == 0:
        return np.zeros((0, 3), dtype=np.int64)
    if rows.ndim != 2 or rows.shape[1] != 3 or rows.dtype == bool or not np.issubdtype(rows.dtype, np.integer):
        raise ValueError(
            f"preassigned must be integer rows (faculty, week, rotation), got dtype {rows.dtype} and shape {rows.shape}."
        )
    rows = rows.astype(np.int64, copy=False)
    n, n_weeks, n_rot = eligible.shape
    outside = (rows < 0).any(axis=1) | (rows >= np.array([n, n_weeks, n_rot])).any(axis=1)
    if outside.any():
        k = int(np.flatnonzero(outside)[0])
        raise ValueError(f"preassigned row {k} {tuple(rows[k].tolist())} indexes outside the problem.")
    i, w, r = rows.T
    not_eligible = ~eligible[i, w, r]
    if not_eligible.any():
        k = int(np.flatnonzero(not_eligible)[0])
        raise ValueError(
            f"preassigned row {k}: faculty {i[k]} is not eligible for week {w[k]}, rotation {r[k]}."
        )
    pair = i * n_weeks + w
    unique, counts = np.unique(pair, return_counts=True)
    if (counts > 1).any():
        twice = int(unique[counts > 1][0])
        raise ValueError(f"preassigned rows put faculty {twice // n_weeks} twice in week {twice % n_weeks}.")
    per_faculty = np.bincount(i, minlength=n)
    over = np.flatnonzero(per_faculty > demand)
    if len(over):
        f = int(over[0])
        raise ValueError(
            f"preassigned rows give faculty {f} {per_faculty[f]} weeks, more than their demand of {demand[f]}."
        )
    load = np.zeros(capacity.shape, dtype=np.int64)
    np.add.at(load, (w, r), 1)
    full = np.argwhere(load > capacity)
    if len(full):
        fw, fr = (int(x) for x in full[0])
        raise ValueError(
            f"preassigned rows put {load[fw, fr]} faculty in week {fw}, rotation {fr}, "
            f"more than its capacity of {capacity[fw, fr]}."
        )
    return rows[np.lexsort((r, w, i))]
