"""What cp_sat returns once the levels are done: a proven optimum made canonical by a seeded tie-break solve on
the full model, or, for a sequence cut short by the time limit, the best valid full schedule known (a round's
solution, the same completed by least regret, or the hint)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from allocation.algorithms.cpsat.model import _Assignment, _build, _parameters
from allocation.algorithms.cpsat.schedule import _level_key, _meets_constraints, regret_cost
from allocation.algorithms.least_regret import least_regret
from allocation.algorithms.types import Problem, empty_assignments, sort_assignments


def _repaired(problem: Problem, rows: np.ndarray, options: Mapping[str, Any]) -> np.ndarray:
    """rows plus a least-regret completion of the unmet demand in the capacity left (paired faculty excepted).

    A restricted round cut short by the time limit leaves its wildcard demand unassigned; this fills it with real
    weeks where capacity allows. Side constraints are not modelled here: the caller checks the result."""
    n = problem.n_faculty
    need = problem.demand - np.bincount(rows[:, 0], minlength=n)
    need[[i for pair in options["pairs"] for i in pair]] = 0
    if not need.any():
        return rows
    load = np.zeros_like(problem.capacity)
    np.add.at(load, (rows[:, 1], rows[:, 2]), 1)
    busy = np.zeros((n, problem.n_weeks), dtype=bool)
    busy[rows[:, 0], rows[:, 1]] = True
    residual = replace(problem, eligible=problem.eligible & ~busy[:, :, None] & (need > 0)[:, None, None],
                       demand=need, capacity=problem.capacity - load, preassigned=empty_assignments())
    extra = least_regret(residual, rng=np.random.default_rng(0), cost=options["cost"]).assignments
    return sort_assignments(np.concatenate([rows, extra])) if len(extra) else rows


def _best_known(problem: Problem, found: list[np.ndarray], hint_rows: np.ndarray | None,
                options: Mapping[str, Any]) -> np.ndarray | None:
    """The lexicographically best full allocation known when the sequence was cut short: each round's solution
    (wildcards dropped), the same completed by least regret, and the mechanism hint; None when none is valid."""
    candidates = [c for rows in found for c in (_repaired(problem, rows, options), rows)]
    candidates += [] if hint_rows is None else [sort_assignments(hint_rows)]
    valid = [rows for rows in candidates if _meets_constraints(problem, rows, options)]
    return min(valid, key=lambda rows: _level_key(problem, rows, options)) if valid else None


_TIE_BREAK_WEIGHTS = 2**30


def _tie_break(problem: Problem, rows: np.ndarray, options: Mapping[str, Any], *, seed: int, deadline: float,
               details: dict[str, Any]) -> np.ndarray:
    """Among the full model's optima, the one of least seeded random weight.

    Several search workers race, so which of several tied optima a solve returns varies from run to run. Fixing
    every level at its (unique) optimal value and minimising weights drawn from the seed, uniform in
    1..2^30, over every eligible triple makes the optimum unique with probability ≥ 1 − triples / 2^30 (the
    isolation lemma: Mulmuley, Vazirani & Vazirani, "Matching is as easy as matrix inversion", Combinatorica 7,
    1987), so the same seed gives the same schedule. Built on the full model because the restricted one depends on
    which wildcards earlier rounds happened to use. Out of time, the optimum in hand is kept."""
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        details["tie_break"] = "NOT_SOLVED"
        return rows
    a = _Assignment(problem, None)
    m, _, b2b = _build(problem, a, options)
    x = np.arange(a.n_x)
    key = _level_key(problem, rows, options)
    m.linear(x, 1, len(rows), len(rows))
    if options["objective"] == "regret":
        # b ≥ the back-to-back indicator, so a total at the optimum forces b to the indicator.
        coeffs = np.concatenate([regret_cost(a.rank, options["cost"]), np.full(len(b2b), options["back_to_back_penalty"])])
        m.linear(np.concatenate([x, b2b]), coeffs, 0, key[1])
    else:
        profile = np.bincount(problem.rank[rows[:, 0], rows[:, 1]], minlength=problem.n_weeks + 1)
        for r in np.unique(a.rank):
            m.linear(x[a.rank == r], 1, int(profile[r]), int(profile[r]))
        if len(b2b):
            m.linear(b2b, 1, 0, key[-1])
    weights = np.random.default_rng(seed).integers(1, _TIE_BREAK_WEIGHTS + 1, size=a.n_x)
    objective = m.total(x, weights, int(weights.sum()))
    hint = np.zeros(m.n_vars, dtype=np.int64)
    hint[a.index_of(rows)] = 1
    hint = m.complete(hint)
    status, values, wall = m.solve((objective, 1), hint=hint if m.feasible(hint) else None,
                                   parameters=_parameters(options["workers"], seed), time_limit_s=remaining)
    details["tie_break"] = status
    details["tie_break_wall_s"] = wall
    if status != "OPTIMAL":
        return rows
    chosen = values[: a.n_x].astype(bool)
    return sort_assignments(np.column_stack([a.faculty[chosen], a.week[chosen], a.rotation[chosen]]))

