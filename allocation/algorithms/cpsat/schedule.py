"""A full schedule (rows of (faculty, week, rotation)) judged in numpy, with no solve: its regret costs and
back-to-back occurrences, its lexicographic level key, whether it meets every hard and side constraint, and the
Allocation result built from it."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from allocation.algorithms.cpsat.options import MECHANISM
from allocation.algorithms.feasibility import violations
from allocation.algorithms.types import FEASIBLE, Allocation, Problem


def regret_cost(rank: np.ndarray, cost: str) -> np.ndarray:
    """cost(rank) as int64: (r − 1)² ("squared") or r − 1 ("linear") — the least-regret costs."""
    regret = np.asarray(rank, dtype=np.int64) - 1
    return regret * regret if cost == "squared" else regret


def back_to_back_count(rows: np.ndarray) -> int:
    """Occurrences of one faculty member serving weeks w and w+1 (rows sorted by faculty, week)."""
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    return int(((rows[1:, 0] == rows[:-1, 0]) & (rows[1:, 1] == rows[:-1, 1] + 1)).sum())


def _level_key(problem: Problem, rows: np.ndarray, options: Mapping[str, Any]) -> tuple[int, ...]:
    """The lexicographic objective of a full allocation, smaller is better: unassigned demand, then the regret
    (with the back-to-back penalties when soft) or the rank profile (greedy: −n(1), −n(2), …; generous: n(W), …,
    n(1)) and the back-to-back occurrences when soft."""
    ranks = problem.rank[rows[:, 0], rows[:, 1]].astype(np.int64)
    soft = options["back_to_back"] == "soft"
    b2b = back_to_back_count(rows) if soft else 0
    unassigned = int(problem.demand.sum()) - len(rows)
    if options["objective"] == "regret":
        return unassigned, int(regret_cost(ranks, options["cost"]).sum()) + options["back_to_back_penalty"] * b2b
    profile = np.bincount(ranks, minlength=problem.n_weeks + 1)[1:]
    tiers = -profile if options["fairness"] == "greedy" else profile[::-1]
    return (unassigned, *tiers.tolist(), b2b)


def _meets_constraints(problem: Problem, rows: np.ndarray, options: Mapping[str, Any]) -> bool:
    """Whether a full allocation meets the shared hard constraints and every side constraint (numpy, no solve)."""
    n = problem.n_faculty
    served = np.bincount(rows[:, 0], minlength=n)
    candidate = Allocation(status=FEASIBLE, mechanism=MECHANISM, assignments=rows, unassigned=problem.demand - served)
    if violations(problem, candidate):
        return False
    weeks = np.zeros((n, problem.n_weeks), dtype=bool)
    weeks[rows[:, 0], rows[:, 1]] = True
    k = options["max_holidays"]
    if k is not None and (weeks[:, np.asarray(problem.is_holiday, dtype=bool)].sum(axis=1) > k).any():
        return False
    if options["back_to_back"] == "hard" and (weeks[:, 1:] & weeks[:, :-1]).any():
        return False
    if any((weeks[i] != weeks[j]).any() for i, j in options["pairs"]):
        return False
    per_rotation = np.zeros((n, problem.n_rotations), dtype=np.int64)
    np.add.at(per_rotation, (rows[:, 0], rows[:, 2]), 1)
    return all(low <= per_rotation[i, r] and (high is None or per_rotation[i, r] <= high)
               for i, r, low, high in options["rotation_quotas"])


def _allocation(problem: Problem, rows: np.ndarray, options: Mapping[str, Any], details: dict[str, Any],
                started: float, *, status: str) -> Allocation:
    served = np.bincount(rows[:, 0], minlength=problem.n_faculty)
    ranks = problem.rank[rows[:, 0], rows[:, 1]].astype(np.int64)
    profile = np.bincount(ranks, minlength=2)[1:]
    details["rank_profile"] = {str(k + 1): int(c) for k, c in enumerate(profile) if c}
    details["back_to_back"] = back_to_back_count(rows)
    regret = regret_cost(ranks, options["cost"]).sum()
    if options["back_to_back"] == "soft":
        regret += options["back_to_back_penalty"] * details["back_to_back"]
    return Allocation(
        status=status,
        mechanism=MECHANISM,
        assignments=rows,
        unassigned=problem.demand - served,
        objective=float(regret) if options["objective"] == "regret" else None,
        per_assignment={"rank": ranks},
        details=details,
        wall_ms=1000 * (time.perf_counter() - started),
    )
