"""The demo year's time off (DESIGN §4): what faculty of a residency programme record, planned without the database."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TimeOffPlan:
    start: int  # days after the year's first Monday
    end: int
    kind: str
    note: str


def demo_time_off(*, blocked: np.ndarray, goers: np.ndarray, conferences: list[int], summer: np.ndarray, kids: np.ndarray,
              rng: np.random.Generator) -> dict[int, list[TimeOffPlan]]:
    """What people record as time off: the society meeting (Wednesday to Friday of the week they blocked for it),
    the summer family leave behind their blocked summer weeks, a few single leave days, and one parental leave.
    The caller draws it after everything else, so the demo's preferences stay what they were before time off existed."""
    n, w = blocked.shape
    plans: dict[int, list[TimeOffPlan]] = {}
    for i in goers.tolist():
        for k in conferences:
            if blocked[i, k]:
                plans.setdefault(i, []).append(TimeOffPlan(7 * k + 2, 7 * k + 4, "conference", "Specialty society meeting"))
    for i in np.flatnonzero(kids).tolist():
        weeks = [k for k in summer.tolist() if blocked[i, k]]
        if weeks:
            plans.setdefault(i, []).append(TimeOffPlan(7 * weeks[0], 7 * weeks[-1] + 4, "leave", "Family holiday"))
    busy = np.zeros((n, w), dtype=bool)
    for i, rows in plans.items():
        for t in rows:
            busy[i, t.start // 7: t.end // 7 + 1] = True
    free = np.flatnonzero(~busy[:, 26:40].any(axis=1))
    if free.size:
        parent = int(rng.choice(free))
        start = 7 * int(rng.integers(26, 32))
        plans.setdefault(parent, []).append(TimeOffPlan(start, start + 7 * 6 - 3, "parental", "Parental leave"))
        busy[parent, start // 7: start // 7 + 6] = True
    for i in rng.choice(n, size=min(n, max(1, n // 5)), replace=False).tolist():
        open_weeks = np.flatnonzero(~busy[i] & ~blocked[i])
        if open_weeks.size:
            k = int(rng.choice(open_weeks))
            day = 7 * k + int(rng.integers(0, 5))
            plans.setdefault(i, []).append(TimeOffPlan(day, day, "other", "Personal day"))
            busy[i, k] = True
    return {i: sorted(rows, key=lambda t: t.start) for i, rows in plans.items()}
