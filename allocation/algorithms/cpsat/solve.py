"""The cp_sat entry point: validate, try the flow relaxation, solve restricted then full models round by round
(widening the faculty whose wildcards were used), and finish with the tie-break or the best known schedule."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from allocation.algorithms import _validate
from allocation.algorithms.cpsat.finish import _best_known, _tie_break
from allocation.algorithms.cpsat.levels import _Run
from allocation.algorithms.cpsat.options import MECHANISM, _validated_options
from allocation.algorithms.cpsat.relaxation import _proven_by_relaxation, _relaxed_rows, _restriction
from allocation.algorithms.cpsat.schedule import _allocation, _meets_constraints, back_to_back_count
from allocation.algorithms.types import FEASIBLE, INFEASIBLE, OPTIMAL, Allocation, Problem, empty_assignments

_ROUNDS = 4  # restricted rounds before the full model


def cp_sat(
    problem: Problem,
    *,
    rng: np.random.Generator,
    objective: str = "regret",
    fairness: str = "greedy",
    cost: str = "squared",
    max_holidays: int | None = None,
    back_to_back: str = "off",
    back_to_back_penalty: int = 10,
    pairs: Iterable[Iterable[int]] = (),
    rotation_quotas: Iterable[Mapping[str, int]] = (),
    time_limit_s: float = 10.0,
    workers: int = 2,
    hint: bool = True,
    relaxation: bool = True,
    **unknown: Any,
) -> Allocation:
    """Lexicographic CP-SAT allocation with fairness tiers and side constraints (see the package docstring).

    max_holidays: at most k weeks with ``is_holiday`` per faculty member, 0 ≤ k ≤ WEEK_COUNT_MAX (1,000; None = no cap).
    back_to_back: "off"; "hard" forbids serving weeks w and w+1 (week indices are consecutive calendar weeks);
        "soft" charges ``back_to_back_penalty`` regret units per occurrence (0 to BACK_TO_BACK_PENALTY_MAX, 10,000;
        with ``objective="fairness"`` the occurrences are minimised as the last level, after the profile).
    pairs: (i, j) faculty who serve the same weeks: for every week w, i serves w (in any rotation) iff j serves w
        (in any rotation, not necessarily the same one). They therefore serve the same number of weeks; demand one
        of them cannot serve together with the other is left unassigned, and a week eligible for only one of them
        is closed to both.
    rotation_quotas: {"faculty": i, "rotation": r, "min": a, "max": b}: i serves between a and b weeks of r
        ("min" defaults to 0, "max" to no cap; both at most WEEK_COUNT_MAX, 1,000).
    time_limit_s: wall-clock budget for all solves together, at most TIME_LIMIT_MAX_S (600 s); a level cut short
        leaves status "feasible".
    workers: CP-SAT search workers, 1 to WORKERS_MAX (16); the random seed is drawn from ``rng``. The same seed gives the same schedule
        when every level and the tie-break are proven optimal (see ``_tie_break``); a time limit is wall-clock,
        never reproducible.
    hint: seed the first level with the flow relaxation's optimum (see ``relaxation``).
    relaxation: first solve the *flow relaxation* — the same problem without the side constraints, exactly, by
        least regret (regret) or a lexicographic min-cost flow over the rank tiers (fairness). It is at least as
        good as any schedule at every level; when it also meets every side constraint (and, with soft
        back-to-back, has no back-to-back service) it is the optimum: returned as "optimal" with no CP-SAT solve.

    details: solver_status and wall_s per level ("levels"), time_limit_s, num_variables (x Booleans of the final
    model), eligible_triples, rounds (restricted/full models tried), rank_profile, back_to_back occurrences,
    tie_break (its solver status, when the levels were proven).
    """
    started = time.perf_counter()
    problem = _validate.problem(problem)
    options = _validated_options(
        unknown, problem.n_faculty, problem.n_rotations, objective=objective, fairness=fairness, cost=cost,
        max_holidays=max_holidays, back_to_back=back_to_back, back_to_back_penalty=back_to_back_penalty, pairs=pairs,
        rotation_quotas=rotation_quotas, time_limit_s=time_limit_s, workers=workers, hint=hint,
        relaxation=relaxation,
    )
    seed = int(rng.integers(0, 2**31 - 1))
    details: dict[str, Any] = {
        "objective": options["objective"], "time_limit_s": options["time_limit_s"], "workers": options["workers"],
        "random_seed": seed, "eligible_triples": int(np.count_nonzero(problem.eligible)), "rounds": [],
    }
    details.update({"fairness": options["fairness"]} if options["objective"] == "fairness" else {"cost": options["cost"]})
    relaxed = _relaxed_rows(problem, rng, options, details) if options["hint"] or options["relaxation"] else None
    if relaxed is not None and options["relaxation"] and _meets_constraints(problem, relaxed, options) and (
            options["back_to_back"] != "soft" or back_to_back_count(relaxed) == 0):
        return _proven_by_relaxation(problem, relaxed, options, details, started)
    hint_rows = relaxed if options["hint"] else None
    details["hint"] = details["relaxation"] if options["hint"] else None
    deadline = started + options["time_limit_s"]

    # The relaxation maximises cardinality ignoring the side constraints: a bound on the assigned demand.
    bound = None if relaxed is None else len(relaxed)
    # A relaxation that broke a side constraint means binding side constraints; there the restricted rounds were
    # measured to use wildcards round after round and only add solves (100 × 26, demand 2, holiday cap and hard
    # back-to-back, greedy: 10.8 s with them, 6.6 s on the full model), so the full model is solved at once.
    top = None if relaxed is not None else _restriction(problem, hint_rows, options)
    found: list[np.ndarray] = []  # every round's solution (x part), newest first: fallbacks when time runs out
    while True:
        keep = None if top is None else (problem.rank <= top[:, None])[:, :, None] & problem.eligible
        run = _Run(problem, keep, options, seed=seed, deadline=deadline, hint_rows=hint_rows, cardinality_bound=bound,
                   relaxed=relaxed)
        run.solve()
        used = run.wildcards_used()
        details["rounds"].append({
            "model": "full" if keep is None else "restricted", "num_variables": run.a.n_x,
            "wildcards_used": int(used.sum()), "wall_s": run.wall_s,
        })
        if run.solution is not None:
            found.insert(0, run.rows())
        if keep is None or run.status in (INFEASIBLE, None) or not used.any() or time.perf_counter() >= deadline:
            break  # out of time with wildcards: the best known full solution is reported, status "feasible"
        # Faculty whose wildcards were used see twice as deep into their order; after _ROUNDS, everyone sees all.
        top = None if len(details["rounds"]) >= _ROUNDS else np.where(used, np.maximum(2 * top, top + 4), top)

    details.update(levels=run.levels, solver_status=[level["solver_status"] for level in run.levels],
                   num_variables=run.a.n_x, num_model_variables=run.m.n_vars)
    proven = run.status == OPTIMAL and not run.wildcards_used().any()
    if proven:
        rows = _tie_break(problem, run.rows(), options, seed=seed, deadline=deadline, details=details)
    else:
        # A restricted proof of infeasibility holds for the full model (it is a relaxation).
        rows = None if run.status == INFEASIBLE else _best_known(problem, found, hint_rows, options)
    if rows is None:
        details["reason"] = run.reason or "no feasible allocation found within the time limit"
        return Allocation(
            status=INFEASIBLE, mechanism=MECHANISM, assignments=empty_assignments(),
            unassigned=problem.demand.copy(), details=details, wall_ms=1000 * (time.perf_counter() - started),
        )
    return _allocation(problem, rows, options, details, started, status=OPTIMAL if proven else FEASIBLE)

