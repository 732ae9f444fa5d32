"""The coverage check of a schedule (DESIGN §9, publish gate): empty seats, assignments in a blocked week or an
unqualified rotation, and faculty above their target load — the hard facts the stability analysis does not see."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COVERED = "covered"  # no empty seat, nobody in a blocked week or an unqualified rotation
GAPS = "gaps"        # at least one of those: the gate refuses unless overridden


@dataclass(frozen=True)
class Coverage:
    """status: COVERED or GAPS (over-target load alone is a warning and leaves it COVERED).

    uncovered:   (k, 3) int rows (week, rotation, missing seats), calendar order.
    blocked:     row indices into the assignments whose faculty member blocked that week.
    ineligible:  row indices into the assignments whose faculty member is not qualified for that rotation.
    over_target: (k, 2) int rows (faculty, load) with load > target, faculty order.
    load:        (n,) int weeks each faculty member serves; filled: (W, R) int seats taken per slot.
    """

    status: str
    uncovered: np.ndarray
    blocked: np.ndarray
    ineligible: np.ndarray
    over_target: np.ndarray
    load: np.ndarray
    filled: np.ndarray

    @property
    def missing_seats(self) -> int:
        return int(self.uncovered[:, 2].sum())


def coverage(
    assignments: np.ndarray, *, capacity: np.ndarray, qualified: np.ndarray, blocked: np.ndarray, target: np.ndarray,
) -> Coverage:
    """Check (faculty, week, rotation) assignment rows against the demand of every slot (capacity[w, r]), the
    rotations each faculty member is qualified for (qualified[i, r]), the weeks they blocked (blocked[i, w]) and
    their target load (target[i])."""
    rows = np.asarray(assignments, dtype=np.int64).reshape(-1, 3)
    capacity = np.asarray(capacity, dtype=np.int64)
    qualified, blocked = np.asarray(qualified, dtype=bool), np.asarray(blocked, dtype=bool)
    target = np.asarray(target, dtype=np.int64)
    if capacity.ndim != 2:
        raise ValueError(f"capacity must be a (week, rotation) array, got shape {capacity.shape}.")
    n_weeks, n_rot = capacity.shape
    n = len(target)
    for name, array, expected in (("qualified", qualified, (n, n_rot)), ("blocked", blocked, (n, n_weeks)),
                                  ("target", target, (n,))):
        if array.shape != expected:
            raise ValueError(f"{name} has shape {array.shape}, expected {expected}.")
    if (capacity < 0).any() or (target < 0).any():
        raise ValueError("capacity and target must not be negative.")
    i, w, r = rows.T
    if len(rows) and ((rows < 0).any() or (i >= n).any() or (w >= n_weeks).any() or (r >= n_rot).any()):
        raise ValueError("an assignment row indexes outside the problem (faculty, week, rotation).")

    filled = np.zeros((n_weeks, n_rot), dtype=np.int64)
    np.add.at(filled, (w, r), 1)
    short = np.maximum(capacity - filled, 0)
    weeks, rotations = np.nonzero(short)  # row-major: calendar order, then rotation
    uncovered = np.column_stack([weeks, rotations, short[weeks, rotations]]).astype(np.int64).reshape(-1, 3)
    in_blocked = np.flatnonzero(blocked[i, w])
    unqualified = np.flatnonzero(~qualified[i, r])
    load = np.bincount(i, minlength=n).astype(np.int64)
    over = np.flatnonzero(load > target)
    over_target = np.column_stack([over, load[over]]).astype(np.int64).reshape(-1, 2)
    result = (uncovered, in_blocked, unqualified, over_target, load, filled)
    for array in result:
        array.setflags(write=False)
    status = GAPS if len(uncovered) or len(in_blocked) or len(unqualified) else COVERED
    return Coverage(status, *result)
