"""The relaxations cp_sat starts from: the exact flow relaxation (the problem without its side constraints, solved
by least regret or a lexicographic min-cost flow), which bounds every level and, when it meets the side constraints,
proves the optimum with no CP-SAT solve; and the per-faculty rank cut-off of the first restricted model."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from allocation.algorithms import _flow
from allocation.algorithms.cpsat.schedule import _allocation, regret_cost
from allocation.algorithms.least_regret import least_regret
from allocation.algorithms.types import OPTIMAL, Allocation, Problem

_RESTRICT_BELOW = 0.6  # restrict only when it keeps fewer than this share of the triples


def _proven_by_relaxation(problem: Problem, rows: np.ndarray, options: Mapping[str, Any], details: dict[str, Any],
                          started: float) -> Allocation:
    """The relaxation's optimum meets every side constraint: it is optimal at every level, with no solve."""
    ranks = problem.rank[rows[:, 0], rows[:, 1]].astype(np.int64)
    values = [("unassigned", int(problem.demand.sum()) - len(rows))]
    if options["objective"] == "regret":
        values.append(("regret", int(regret_cost(ranks, options["cost"]).sum())))
    else:
        occurring = np.unique(problem.rank[problem.eligible.any(axis=2)])
        profile = np.bincount(ranks, minlength=problem.n_weeks + 1)
        values += [(f"rank_{r}", int(profile[r])) for r in (occurring if options["fairness"] == "greedy" else occurring[::-1])]
        values += [("back_to_back", 0)] if options["back_to_back"] == "soft" else []
    levels = [{"name": name, "solver_status": "OPTIMAL", "objective": value, "wall_s": 0.0, "solves": 0,
               "proof": "relaxation"} for name, value in values]
    details.update(levels=levels, solver_status=[level["solver_status"] for level in levels], num_variables=0,
                   num_model_variables=0, hint=None, tie_break="not needed: the relaxation's optimum is unique to "
                   "the inputs", proof="the flow relaxation's optimum meets every side constraint")
    details["rounds"].append({"model": "relaxation", "num_variables": 0, "wildcards_used": 0,
                              "wall_s": time.perf_counter() - started})
    return _allocation(problem, rows, options, details, started, status=OPTIMAL)


def _relaxed_rows(problem: Problem, rng: np.random.Generator, options: Mapping[str, Any], details: dict) -> np.ndarray:
    """The exact optimum of the flow relaxation (every level, the side constraints left out).

    Regret: least regret. Fairness: a lexicographic min-cost flow — most assignments, then the rank tiers one
    after another (greedy: −[rank = 1], −[rank = 2], …; generous: [rank = worst], [rank = next worse], …)."""
    started = time.perf_counter()
    if options["objective"] == "regret":
        rows = least_regret(problem, rng=rng, cost=options["cost"]).assignments
        details["relaxation"] = "least_regret"
    else:
        n, n_weeks, n_rot = problem.eligible.shape
        pairs = np.flatnonzero(problem.eligible.reshape(n * n_weeks, n_rot).any(axis=1))
        faculty, week = np.divmod(pairs, n_weeks)
        rank = problem.rank.ravel()[pairs].astype(np.int64)
        order = np.unique(rank) if options["fairness"] == "greedy" else np.unique(rank)[::-1]
        sign = -1 if options["fairness"] == "greedy" else 1
        tiers = [sign * (rank == r).astype(np.int64) for r in order] or [np.zeros(len(pairs), np.int64)]
        rows = _flow.assign(problem.eligible, problem.demand, problem.capacity, faculty=faculty, week=week,
                            cost=tiers[0], then=tiers[1:], preassigned=problem.preassigned).assignments
        details["relaxation"] = "lexicographic_flow"
    details["relaxation_wall_s"] = time.perf_counter() - started
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def _restriction(problem: Problem, hint_rows: np.ndarray | None, options: Mapping[str, Any]) -> np.ndarray | None:
    """Per faculty, the worst rank the first restricted round keeps; None when restricting would not pay."""
    n, n_weeks, _ = problem.eligible.shape
    rank = problem.rank
    top = np.max(np.where(problem.listed, rank, 0), axis=1, initial=0)
    for rows in (hint_rows, problem.preassigned):
        if rows is not None and len(rows):
            np.maximum.at(top, rows[:, 0], rank[rows[:, 0], rows[:, 1]])
    # Pairs and minimum quotas are not relaxed by dropping weeks: those faculty keep every triple.
    top[[i for pair in options["pairs"] for i in pair]] = n_weeks
    top[[i for i, _, low, _ in options["rotation_quotas"] if low > 0]] = n_weeks
    kept = np.count_nonzero(problem.eligible & (rank <= top[:, None])[:, :, None])
    return top if kept < _RESTRICT_BELOW * np.count_nonzero(problem.eligible) else None
