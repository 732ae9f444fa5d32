"""Run statistics every mechanism reports (DESIGN §5): regret, rank distribution, welfare, unassigned, uncovered, envy."""

from __future__ import annotations

from typing import Any

import numpy as np

from allocation.algorithms.types import Allocation, Problem


def allocation_stats(problem: Problem, allocation: Allocation) -> dict[str, Any]:
    rows = np.asarray(allocation.assignments, dtype=np.int64).reshape(-1, 3)
    i, w, r = (rows[:, 0], rows[:, 1], rows[:, 2])
    ranks = problem.rank[i, w]
    regret = ranks - 1
    load = np.zeros(problem.capacity.shape, dtype=np.int64)
    np.add.at(load, (w, r), 1)
    distribution = np.bincount(ranks, minlength=2)[1:] if len(ranks) else np.zeros(0, dtype=np.int64)
    return {
        "assignments": int(len(rows)),
        "total_regret": int(regret.sum()),
        "average_regret": float(regret.mean()) if len(rows) else 0.0,
        "max_regret": int(regret.max()) if len(rows) else 0,
        "rank_distribution": {str(k + 1): int(c) for k, c in enumerate(distribution) if c},
        "welfare": float(problem.utility[i, w].sum()),
        "unassigned": int(allocation.unassigned.sum()),
        "uncovered": int(np.maximum(problem.capacity - load, 0).sum()),
        "envy": envy_count(problem, rows),
    }


def envy_count(problem: Problem, rows: np.ndarray) -> int:
    """Faculty who prefer some week another faculty member holds (and could serve) to one of their own weeks."""
    n, n_weeks = problem.utility.shape
    if not len(rows):
        return 0
    i, w = rows[:, 0], rows[:, 1]
    # Worst utility each faculty member holds; +inf for those who hold nothing (they cannot envy by swapping).
    worst = np.full(n, np.inf)
    np.minimum.at(worst, i, problem.utility[i, w])
    held = np.zeros((n, n_weeks), dtype=bool)
    held[i, w] = True
    taken_by_other = np.zeros((n, n_weeks), dtype=bool)
    held_any = held.any(axis=0)
    holders = np.bincount(w, minlength=n_weeks)
    # Week w is held by someone other than k iff it is held and not only by k.
    taken_by_other[:] = held_any[None, :] & ~(held & (holders[None, :] == 1))
    can_serve = problem.eligible.any(axis=2) & ~held
    envies = (taken_by_other & can_serve & (problem.utility > worst[:, None] + 1e-9)).any(axis=1)
    return int(envies.sum())
