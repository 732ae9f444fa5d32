"""Check an allocation against the problem's hard constraints — the test oracle and the service's last guard."""

from __future__ import annotations

import numpy as np

from allocation.algorithms.types import Allocation, Problem


def violations(problem: Problem, allocation: Allocation, *, allow_unassigned: bool = True) -> list[str]:
    """Every way the allocation breaks a hard constraint, in words; empty when feasible."""
    rows = np.asarray(allocation.assignments, dtype=np.int64).reshape(-1, 3)
    n, n_weeks, n_rot = problem.eligible.shape
    problems: list[str] = []
    if len(rows) and ((rows < 0).any() or (rows[:, 0] >= n).any() or (rows[:, 1] >= n_weeks).any() or (rows[:, 2] >= n_rot).any()):
        return ["an assignment indexes outside the problem"]
    i, w, r = rows.T if len(rows) else (np.zeros(0, int),) * 3
    if not problem.eligible[i, w, r].all():
        problems.append(f"{int((~problem.eligible[i, w, r]).sum())} assignment(s) to ineligible (faculty, week, rotation)")
    per_week = np.zeros((n, n_weeks), dtype=np.int64)
    np.add.at(per_week, (i, w), 1)
    if (per_week > 1).any():
        problems.append("a faculty member holds two slots in one week")
    load = np.zeros((n_weeks, n_rot), dtype=np.int64)
    np.add.at(load, (w, r), 1)
    if (load > problem.capacity).any():
        problems.append("a slot holds more faculty than its capacity")
    served = np.bincount(i, minlength=n)
    if (served > problem.demand).any():
        problems.append("a faculty member serves more weeks than their demand")
    if not np.array_equal(served + allocation.unassigned, problem.demand):
        problems.append("assigned + unassigned does not equal demand")
    if not allow_unassigned and allocation.unassigned.any():
        problems.append("some demand is unassigned")
    if len(problem.preassigned):
        have = {tuple(x) for x in rows.tolist()}
        missing = [tuple(x) for x in problem.preassigned.tolist() if tuple(x) not in have]
        if missing:
            problems.append(f"pre-assignment(s) {missing} missing")
    return problems
