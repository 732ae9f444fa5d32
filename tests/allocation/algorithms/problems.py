"""Random and hand-made allocation problems for mechanism tests, and a brute-force oracle for tiny ones."""

from __future__ import annotations

import itertools

import numpy as np

from allocation.algorithms.types import Problem
from preferences.algorithms.utility import build_utility_model


def make_problem(
    rng: np.random.Generator,
    *,
    n: int = 6,
    weeks: int = 5,
    rotations: int = 1,
    demand: tuple[int, int] = (1, 1),
    capacity: tuple[int, int] = (1, 2),
    block_p: float = 0.1,
    qualify_p: float = 1.0,
    listed: tuple[int, int] | None = None,
    correlated: float = 0.0,
    preassigned: np.ndarray | None = None,
) -> Problem:
    """A random problem built through the shared utility model from random ordinal reports.

    correlated in [0,1] mixes a common popularity vector into everyone's ranking (contested weeks).
    listed=(lo, hi) ranks only lo..hi weeks per faculty; None ranks every unblocked week.
    """
    popularity = rng.random(weeks)
    noise = rng.random((n, weeks))
    desirability = correlated * popularity[None, :] + (1 - correlated) * noise
    blocked = rng.random((n, weeks)) < block_p
    order = np.argsort(-np.where(blocked, -np.inf, desirability), axis=1)
    available = (~blocked).sum(axis=1)
    m = available if listed is None else np.minimum(rng.integers(listed[0], listed[1] + 1, size=n), available)
    reported = np.full((n, weeks), np.nan)
    positions = np.arange(weeks)[None, :]
    take = positions < m[:, None]
    rows = np.broadcast_to(np.arange(n)[:, None], (n, weeks))
    reported[rows[take], order[take]] = (positions + 1).astype(float).repeat(n, axis=0).reshape(n, weeks)[take]
    qualified = rng.random((n, rotations)) < qualify_p
    qualified[np.arange(n), rng.integers(0, rotations, size=n)] = True
    model = build_utility_model(
        preference_type=np.where(m > 0, 1, 0).astype(np.int8), reported=reported, blocked=blocked,
        qualified=qualified, rng=rng,
    )
    return Problem(
        utility=np.asarray(model.utility),
        rank=np.asarray(model.rank),
        listed=np.asarray(model.listed),
        value=100 * np.asarray(model.score),
        eligible=np.asarray(model.eligible),
        demand=rng.integers(demand[0], demand[1] + 1, size=n),
        capacity=rng.integers(capacity[0], capacity[1] + 1, size=(weeks, rotations)),
        is_holiday=rng.random(weeks) < 0.15,
        preassigned=np.zeros((0, 3), dtype=np.int64) if preassigned is None else preassigned,
    )


def feasible_allocations(problem: Problem, *, allowed: np.ndarray | None = None):
    """Every feasible assignment of a tiny problem, as tuples of (i, w, r) rows, with any unmet demand.

    allowed (n, W, R) restricts arcs (e.g. to listed weeks); defaults to eligibility.
    Exponential: only for n·W·R up to about 12.
    """
    allowed = problem.eligible if allowed is None else allowed & problem.eligible
    options = [
        [(i, w, r) for w in range(problem.n_weeks) for r in range(problem.n_rotations) if allowed[i, w, r]]
        for i in range(problem.n_faculty)
    ]
    per_faculty = []
    for i, opts in enumerate(options):
        choices = []
        for k in range(min(int(problem.demand[i]), len(opts)) + 1):
            for combo in itertools.combinations(opts, k):
                if len({w for _, w, _ in combo}) == k:
                    choices.append(combo)
        per_faculty.append(choices)
    for pick in itertools.product(*per_faculty):
        rows = [row for combo in pick for row in combo]
        load: dict[tuple[int, int], int] = {}
        for _, w, r in rows:
            load[w, r] = load.get((w, r), 0) + 1
        if all(c <= problem.capacity[w, r] for (w, r), c in load.items()):
            yield tuple(rows)
