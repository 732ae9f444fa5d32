"""Shared cases for the flow and serial mechanisms: varied random problems with pre-assignments, and oracles."""

from __future__ import annotations

import dataclasses

import numpy as np

from allocation.algorithms.types import Problem
from tests.allocation.algorithms.problems import feasible_allocations, make_problem


def with_preassignments(problem: Problem, rng: np.random.Generator, k: int) -> Problem:
    """Up to k random valid pre-assignments: eligible, within demand and capacity, one per faculty-week."""
    load = np.zeros_like(problem.capacity)
    served = np.zeros_like(problem.demand)
    weeks_taken: set[tuple[int, int]] = set()
    rows = []
    candidates = np.argwhere(problem.eligible)
    for i, w, r in candidates[rng.permutation(len(candidates))]:
        if len(rows) == k:
            break
        if served[i] < problem.demand[i] and load[w, r] < problem.capacity[w, r] and (i, w) not in weeks_taken:
            rows.append((i, w, r))
            served[i] += 1
            load[w, r] += 1
            weeks_taken.add((int(i), int(w)))
    return dataclasses.replace(problem, preassigned=np.array(rows, dtype=np.int64).reshape(-1, 3))


def varied_problem(seed: int, *, n: int = 10, weeks: int = 8, listed: tuple[int, int] | None = None) -> Problem:
    """Multi-unit demand, 1–3 rotations, blocked weeks, partial qualification and a few pre-assignments."""
    rng = np.random.default_rng(seed)
    problem = make_problem(
        rng, n=n, weeks=weeks, rotations=int(rng.integers(1, 4)), demand=(0, 3), capacity=(0, 3),
        block_p=0.2, qualify_p=0.6, listed=listed, correlated=float(rng.random()),
    )
    return with_preassignments(problem, rng, int(rng.integers(0, 4)))


def tiny_problem(seed: int, *, unit: bool = False, listed: tuple[int, int] | None = None) -> Problem:
    """Small enough for feasible_allocations (n·W·R about 12 or less)."""
    rng = np.random.default_rng(seed)
    rotations = int(rng.integers(1, 3))
    n, weeks = (3, 3) if rotations == 2 else (int(rng.integers(2, 5)), 3)
    problem = make_problem(
        rng, n=n, weeks=weeks, rotations=rotations, demand=(1, 1) if unit else (0, 2), capacity=(0, 2),
        block_p=0.15, qualify_p=0.7, listed=listed, correlated=float(rng.random()),
    )
    return with_preassignments(problem, rng, int(rng.integers(0, 2)))


def contains_preassigned(problem: Problem, rows: tuple) -> bool:
    return {tuple(x) for x in problem.preassigned.tolist()} <= set(rows)


def best_by_brute_force(problem: Problem, cost: np.ndarray, *, allowed: np.ndarray | None = None) -> tuple[int, int]:
    """(most assignments, least Σ cost[i, w] among those) over every feasible allocation keeping the pre-assignments.

    Pre-assigned rows may lie outside `allowed`; they are added to it.
    """
    allowed = problem.eligible.copy() if allowed is None else allowed.copy()
    for i, w, r in problem.preassigned.tolist():
        allowed[i, w, r] = True
    best: tuple[int, int] | None = None
    for rows in feasible_allocations(problem, allowed=allowed):
        if not contains_preassigned(problem, rows):
            continue
        key = (-len(rows), int(sum(cost[i, w] for i, w, _ in rows)))
        best = key if best is None or key < best else best
    assert best is not None
    return -best[0], best[1]


def ranked_problem(rank, capacity, demand=None, holidays=()) -> Problem:
    """One rotation, every week listed and eligible; rank rows best first (1 = first choice)."""
    rank = np.array(rank)
    n, n_weeks = rank.shape
    return Problem(
        utility=(n_weeks + 1 - rank) / n_weeks, rank=rank, listed=np.ones((n, n_weeks), bool),
        value=np.zeros((n, n_weeks)), eligible=np.ones((n, n_weeks, 1), bool),
        demand=np.ones(n, dtype=np.int64) if demand is None else np.array(demand),
        capacity=np.array(capacity).reshape(n_weeks, 1), is_holiday=np.isin(np.arange(n_weeks), holidays),
    )
