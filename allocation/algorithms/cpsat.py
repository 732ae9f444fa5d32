"""CP-SAT allocation (OR-Tools CP-SAT): the shared assignment plus the side constraints min-cost flow cannot express.

Model (DESIGN §5): one Boolean x[i,w,r] per eligible (faculty, week, rotation) triple; at most one slot per
faculty per week; Σ x[i,·,·] ≤ d_i; Σ x[·,w,r] ≤ c_{w,r}; pre-assignments fixed to 1. Optional hard constraints:
at most k major-holiday weeks per person, no service in consecutive weeks (hard, or soft with a penalty), paired
faculty who serve exactly the same weeks, per-faculty per-rotation quotas.

The objective is lexicographic, solved as a sequence of CP-SAT solves; each level fixes the previous optimum as a
constraint and is hinted with the previous solution:

1. always first minimise unassigned demand Σd − Σx;
2. ``objective="regret"``: minimise Σ cost(rank − 1) (+ the back-to-back penalties when soft);
   ``objective="fairness"``: profile-based optimality over the ranks that occur —
   ``greedy`` maximises the number of first choices, then of second choices, … (lexicographically maximum
   profile); ``generous`` minimises the worst rank used, then the number at that rank, then at the next worse
   rank, … (lexicographically minimum reverse profile). The two readings are those of R. W. Irving, "Greedy
   matchings", Univ. of Glasgow TR-2003-136 (2003), and A. Kwanashie, R. W. Irving, D. F. Manlove, C. T. S. Sng,
   "Profile-based optimal matchings in the Student/Project Allocation problem", IWOCA 2014, LNCS 8986; with soft
   back-to-back the occurrences are minimised last.

Relaxation. First the same problem without the side constraints is solved exactly by flows (least regret, or a
lexicographic min-cost flow over the rank tiers). Its optimum bounds every level; when it meets the side
constraints it *is* the optimum and no CP-SAT solve runs. Otherwise its values bound the levels of the full model,
and fairness tiers are optimised a run at a time: one weighted solve whose weights make it lexicographic.

Speed. CP-SAT's presolve and LP are slow on the full model (1,000 × 50 is 45,000 Booleans: seconds per level), so
the solve starts on a *restricted relaxation*: each faculty member keeps the triples up to the worst rank among
their listed weeks, their hint and pre-assigned weeks, and gets one "wildcard" integer standing for all their other
weeks — no capacity, no side constraints, counted at their best excluded rank (cost, tier). Every full solution
maps to a restricted one that is at least as good at every level (excluded weeks become wildcards: same count,
ranks no worse, constraints only looser), so the restricted optimum is at least as good as the full optimum; when it
uses no wildcard it is a full solution, hence a full optimum. Otherwise the faculty whose wildcards were used get
all their triples and the model is solved again (at most ``_ROUNDS`` restricted rounds, then the full model).

Finish. Search workers race, so tied optima differ from run to run: a proven optimum is made canonical by one more
solve on the full model (every level fixed, seeded random weights minimised; see ``_tie_break``). A sequence cut
short by the time limit returns the best full schedule known — a round's solution without its wildcards, the same
completed by least regret in the capacity left, or the hint — with status "feasible"; "infeasible" means proven
infeasible, or (with that ``reason``) that no valid schedule was known by the deadline.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from numbers import Integral, Real
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from allocation.algorithms import _validate
from allocation.algorithms._flow import lexicographic_weights
from allocation.algorithms.types import (
    FEASIBLE,
    INFEASIBLE,
    OPTIMAL,
    Allocation,
    OptionError,
    Problem,
    empty_assignments,
    sort_assignments,
)

MECHANISM = "cp_sat"
OBJECTIVES = ("regret", "fairness")
FAIRNESS = ("greedy", "generous")
COSTS = ("squared", "linear")
BACK_TO_BACK = ("off", "hard", "soft")
QUOTA_KEYS = {"faculty", "rotation", "min", "max"}
_ROUNDS = 4  # restricted rounds before the full model
_TIERS_PER_SOLVE = 4  # fairness tiers optimised together in one weighted solve (see _Run._tiers)
_TIER_WEIGHT_LIMIT = 2**40  # bound on Σ w_j·range_j of such a solve
_RESTRICT_BELOW = 0.6  # restrict only when it keeps fewer than this share of the triples


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
    """Lexicographic CP-SAT allocation with fairness tiers and side constraints (see the module docstring).

    max_holidays: at most k weeks with ``is_holiday`` per faculty member (None = no cap).
    back_to_back: "off"; "hard" forbids serving weeks w and w+1 (week indices are consecutive calendar weeks);
        "soft" charges ``back_to_back_penalty`` regret units per occurrence (with ``objective="fairness"`` the
        occurrences are minimised as the last level, after the profile).
    pairs: (i, j) faculty who serve the same weeks: for every week w, i serves w (in any rotation) iff j serves w
        (in any rotation, not necessarily the same one). They therefore serve the same number of weeks; demand one
        of them cannot serve together with the other is left unassigned, and a week eligible for only one of them
        is closed to both.
    rotation_quotas: {"faculty": i, "rotation": r, "min": a, "max": b}: i serves between a and b weeks of r
        ("min" defaults to 0, "max" to no cap).
    time_limit_s: wall-clock budget for all solves together; a level cut short leaves status "feasible".
    workers: CP-SAT search workers; the random seed is drawn from ``rng``. The same seed gives the same schedule
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


def regret_cost(rank: np.ndarray, cost: str) -> np.ndarray:
    """cost(rank) as int64: (r − 1)² ("squared") or r − 1 ("linear") — the least-regret costs."""
    regret = np.asarray(rank, dtype=np.int64) - 1
    return regret * regret if cost == "squared" else regret


def back_to_back_count(rows: np.ndarray) -> int:
    """Occurrences of one faculty member serving weeks w and w+1 (rows sorted by faculty, week)."""
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    return int(((rows[1:, 0] == rows[:-1, 0]) & (rows[1:, 1] == rows[:-1, 1] + 1)).sum())


# ---------------------------------------------------------------------------------------------------- options


def _validated_options(unknown: Mapping[str, Any], n: int, n_rotations: int, **options: Any) -> dict[str, Any]:
    # The shared check names unknown options and the allowed choices; the other values get checks of their own.
    choices = {"objective": OBJECTIVES, "fairness": FAIRNESS, "cost": COSTS, "back_to_back": BACK_TO_BACK,
               "hint": (True, False), "relaxation": (True, False)}
    _validate.options(MECHANISM, {**{k: options[k] for k in choices}, **unknown}, {**dict.fromkeys(options, object), **choices})

    def integer(name: str, value: Any, *, low: int = 0, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < low or (high is not None and value > high):
            bound = f"in {low}..{high}" if high is not None else f"≥ {low}"
            raise OptionError(name, f"{MECHANISM}: option {name!r} must be an integer {bound}, got {value!r}.")
        return int(value)

    if options["max_holidays"] is not None:
        options["max_holidays"] = integer("max_holidays", options["max_holidays"])
    options["back_to_back_penalty"] = integer("back_to_back_penalty", options["back_to_back_penalty"])
    options["workers"] = integer("workers", options["workers"], low=1)
    limit = options["time_limit_s"]
    if isinstance(limit, bool) or not isinstance(limit, Real) or not math.isfinite(limit) or limit <= 0:
        raise OptionError("time_limit_s", f"{MECHANISM}: option 'time_limit_s' must be a positive number of seconds, got {limit!r}.")
    options["time_limit_s"] = float(limit)

    pairs = []
    for pair in _as_list(options["pairs"], "pairs"):
        members = _as_list(pair, "pairs")
        if len(members) != 2:
            raise OptionError("pairs", f"{MECHANISM}: option 'pairs' must hold (i, j) pairs of faculty indices, got {pair!r}.")
        i, j = (integer("pairs", member, high=n - 1) for member in members)
        if i == j:
            raise OptionError("pairs", f"{MECHANISM}: option 'pairs' must pair two different faculty, got ({i}, {j}).")
        pairs.append((i, j))
    options["pairs"] = pairs

    quotas = []
    for quota in _as_list(options["rotation_quotas"], "rotation_quotas"):
        if not isinstance(quota, Mapping) or not {"faculty", "rotation"} <= set(quota) or set(quota) - QUOTA_KEYS:
            raise OptionError(
                "rotation_quotas", f"{MECHANISM}: option 'rotation_quotas' must hold {{faculty, rotation, min, max}} mappings "
                f"(min and max optional), got {quota!r}.")
        i = integer("rotation_quotas", quota["faculty"], high=n - 1)
        r = integer("rotation_quotas", quota["rotation"], high=n_rotations - 1)
        low = integer("rotation_quotas", quota.get("min", 0))
        high = None if quota.get("max") is None else integer("rotation_quotas", quota["max"], low=low)
        quotas.append((i, r, low, high))
    options["rotation_quotas"] = quotas
    return options


def _as_list(value: Any, name: str) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise OptionError(name, f"{MECHANISM}: option {name!r} must be a list, got {value!r}.")
    return list(value)


# ---------------------------------------------------------------------------------------------------- hint, restriction


def _relaxed_rows(problem: Problem, rng: np.random.Generator, options: Mapping[str, Any], details: dict) -> np.ndarray:
    """The exact optimum of the flow relaxation (every level, the side constraints left out).

    Regret: least regret. Fairness: a lexicographic min-cost flow — most assignments, then the rank tiers one
    after another (greedy: −[rank = 1], −[rank = 2], …; generous: [rank = worst], [rank = next worse], …)."""
    started = time.perf_counter()
    if options["objective"] == "regret":
        from allocation.algorithms.least_regret import least_regret

        rows = least_regret(problem, rng=rng, cost=options["cost"]).assignments
        details["relaxation"] = "least_regret"
    else:
        from allocation.algorithms import _flow

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


# ---------------------------------------------------------------------------------------------------- finish


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
    from allocation.algorithms.feasibility import violations

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


def _repaired(problem: Problem, rows: np.ndarray, options: Mapping[str, Any]) -> np.ndarray:
    """rows plus a least-regret completion of the unmet demand in the capacity left (paired faculty excepted).

    A restricted round cut short by the time limit leaves its wildcard demand unassigned; this fills it with real
    weeks where capacity allows. Side constraints are not modelled here: the caller checks the result."""
    from allocation.algorithms.least_regret import least_regret

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


# ---------------------------------------------------------------------------------------------------- model


class _Assignment:
    """The x Booleans (one per kept eligible triple, C order) and the wildcard integers (one per faculty with
    dropped triples)."""

    def __init__(self, problem: Problem, keep: np.ndarray | None) -> None:
        self.shape = problem.eligible.shape
        n, n_weeks, _ = self.shape
        kept = problem.eligible if keep is None else keep
        self.faculty, self.week, self.rotation = (v.astype(np.int64) for v in np.nonzero(kept))
        self.flat = np.ravel_multi_index((self.faculty, self.week, self.rotation), self.shape)
        self.n_x = len(self.flat)
        self.rank = np.asarray(problem.rank)[self.faculty, self.week].astype(np.int64)
        # (faculty, week) groups: x indices [fw_start[k], fw_start[k+1]) belong to key fw_key[k] = i·W + w.
        self.fw_key, fw_first = np.unique(self.faculty * n_weeks + self.week, return_index=True)
        self.fw_start = np.append(fw_first, self.n_x)
        self.starts = np.searchsorted(self.faculty, np.arange(n + 1))
        # Wildcards: up to min(d_i, dropped weeks) units at the best dropped rank.
        dropped = problem.eligible.any(axis=2) & ~kept.any(axis=2) if keep is not None else np.zeros((n, n_weeks), bool)
        dropped_weeks = dropped.sum(axis=1)
        self.w_faculty = np.flatnonzero((dropped_weeks > 0) & (problem.demand > 0))
        self.w_high = np.minimum(problem.demand[self.w_faculty], dropped_weeks[self.w_faculty])
        self.w_rank = np.min(np.where(dropped, problem.rank, n_weeks + 1), axis=1)[self.w_faculty].astype(np.int64)
        self.n_w = len(self.w_faculty)

    def index_of(self, rows: np.ndarray) -> np.ndarray:
        """x index of each (i, w, r) row, −1 where the triple is not in the model."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
        if not self.n_x:
            return np.full(len(rows), -1)
        flat = np.ravel_multi_index(tuple(rows.T), self.shape)
        at = np.minimum(np.searchsorted(self.flat, flat), self.n_x - 1)
        return np.where(self.flat[at] == flat, at, -1)

    def week_vars(self, i: int, w: int) -> np.ndarray:
        key = i * self.shape[1] + w
        k = np.searchsorted(self.fw_key, key)
        if k < len(self.fw_key) and self.fw_key[k] == key:
            return np.arange(self.fw_start[k], self.fw_start[k + 1])
        return np.zeros(0, dtype=np.int64)


@dataclass
class _Defined:
    """Auxiliary variables that follow from earlier ones: value[aux[k]] = transform(Σ_{rows == k} coeff·value[col])."""

    aux: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    coeffs: np.ndarray
    transform: Callable[[np.ndarray], np.ndarray] = field(default=lambda s: s)


class _Model:
    """A CpModelProto filled from index arrays (one text parse for thousands of variables, repeated-field extends
    for constraints). It keeps its own copy of the domains and linear rows, so any candidate assignment can be
    completed (auxiliary values from the primary ones) and checked against every constraint in numpy."""

    def __init__(self, booleans: int, integers: np.ndarray) -> None:
        """Primary variables: `booleans` Booleans, then one integer in 0..h per entry of `integers`."""
        self.model = cp_model.CpModel()
        self.proto = self.model.proto
        self.low: list[int] = []
        self.high: list[int] = []
        self.rows: list[tuple[np.ndarray, np.ndarray, int, int]] = []
        self._stacked: tuple[np.ndarray, ...] | None = None
        self.definitions: list[_Defined] = []
        self.new_vars(booleans, 0, 1)
        if len(integers):
            self.proto.merge_text_format("".join(f"variables {{ domain: 0 domain: {int(h)} }}\n" for h in integers))
            self.low += [0] * len(integers)
            self.high += [int(h) for h in integers]
        self.n_primary = self.n_vars

    @property
    def n_vars(self) -> int:
        return len(self.low)

    def new_vars(self, count: int, low: int, high: int) -> np.ndarray:
        if count:
            self.proto.merge_text_format(f"variables {{ domain: {int(low)} domain: {int(high)} }}\n" * count)
        first = self.n_vars
        self.low += [int(low)] * count
        self.high += [int(high)] * count
        return np.arange(first, self.n_vars)

    def linear(self, variables: Iterable[int], coeffs: Iterable[int] | int, low: int, high: int) -> None:
        variables = np.asarray(variables, dtype=np.int64)
        coeffs = np.broadcast_to(np.asarray(coeffs, dtype=np.int64), variables.shape)
        linear = self.proto.constraints.add().linear
        linear.vars.extend(variables.tolist())
        linear.coeffs.extend(coeffs.tolist())
        linear.domain.extend([int(low), int(high)])
        self.rows.append((variables, coeffs, int(low), int(high)))
        self._stacked = None

    def at_most_one(self, variables: np.ndarray) -> None:
        self.proto.constraints.add().at_most_one.literals.extend(np.asarray(variables).tolist())
        self.rows.append((np.asarray(variables, dtype=np.int64), np.ones(len(variables), dtype=np.int64), 0, 1))
        self._stacked = None

    def define(self, aux: np.ndarray, rows: np.ndarray, cols: np.ndarray, coeffs: np.ndarray | int,
               transform: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        cols = np.asarray(cols, dtype=np.int64)
        coeffs = np.broadcast_to(np.asarray(coeffs, dtype=np.int64), cols.shape)
        self.definitions.append(_Defined(aux, np.asarray(rows, dtype=np.int64), cols, coeffs, transform or (lambda s: s)))

    def sums(self, rows: np.ndarray, cols: np.ndarray, coeffs: np.ndarray | int, count: int, high: int) -> np.ndarray:
        """count new variables v[k] = Σ_{rows == k} coeff·var[col], each in 0..high."""
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        coeffs = np.broadcast_to(np.asarray(coeffs, dtype=np.int64), cols.shape)
        aux = self.new_vars(count, 0, high)
        order = np.argsort(rows, kind="stable")
        bounds = np.searchsorted(rows[order], np.arange(count + 1))
        for k in range(count):
            members = order[bounds[k]:bounds[k + 1]]
            self.linear(np.append(cols[members], aux[k]), np.append(coeffs[members], -1), 0, 0)
        self.define(aux, rows, cols, coeffs)
        return aux

    def total(self, cols: np.ndarray, coeffs: np.ndarray | int, high: int) -> int:
        """One new variable equal to Σ coeff·var[col] (a single-variable objective proves bounds at once)."""
        return int(self.sums(np.zeros(len(cols), dtype=np.int64), cols, coeffs, 1, high)[0])

    def complete(self, primary: np.ndarray) -> np.ndarray:
        """Every variable's value from the primary ones."""
        values = np.zeros(self.n_vars, dtype=np.int64)
        values[: self.n_primary] = primary[: self.n_primary]
        for d in self.definitions:
            sums = np.bincount(d.rows, weights=d.coeffs * values[d.cols], minlength=len(d.aux))
            values[d.aux] = d.transform(np.rint(sums).astype(np.int64))
        return values

    def feasible(self, values: np.ndarray) -> bool:
        """Whether a complete assignment meets every domain (fixed levels included) and every constraint."""
        if self._stacked is None:
            lengths = [len(v) for v, _, _, _ in self.rows]
            self._stacked = (
                np.repeat(np.arange(len(self.rows)), lengths),
                np.concatenate([v for v, _, _, _ in self.rows]) if self.rows else np.zeros(0, dtype=np.int64),
                np.concatenate([c for _, c, _, _ in self.rows]) if self.rows else np.zeros(0, dtype=np.int64),
                np.array([lo for _, _, lo, _ in self.rows], dtype=np.int64),
                np.array([hi for _, _, _, hi in self.rows], dtype=np.int64),
            )
        row, var, coeff, low, high = self._stacked
        activity = np.bincount(row, weights=coeff * values[var], minlength=len(low))
        return bool((values >= np.array(self.low)).all() and (values <= np.array(self.high)).all()
                    and (activity >= low).all() and (activity <= high).all())

    def set_domain(self, var: int, low: int, high: int) -> tuple[int, int]:
        domain = self.proto.variables[int(var)].domain
        domain.clear()
        domain.extend([int(low), int(high)])
        old = (self.low[var], self.high[var])
        self.low[var], self.high[var] = int(low), int(high)
        return old

    def solve(self, objective: tuple[int, int] | None, *, hint: np.ndarray | None, parameters: str,
              time_limit_s: float) -> tuple[str, np.ndarray | None, float]:
        """Minimise sense·var (objective = (var, sense)), or find any solution when None; hint: complete values.

        Returns (status name, every variable's value or None, wall seconds)."""
        self.proto.clear_objective()
        if objective is not None:
            self.proto.objective.vars.append(int(objective[0]))
            self.proto.objective.coeffs.append(int(objective[1]))
        self.proto.clear_solution_hint()
        if hint is not None:
            self.proto.solution_hint.vars.extend(range(self.n_vars))
            self.proto.solution_hint.values.extend(hint.tolist())
        solver = cp_model.CpSolver()
        solver.parameters.merge_text_format(parameters)
        solver.parameters.max_time_in_seconds = time_limit_s
        status = solver.status_name(solver.solve(self.model))
        if status == "MODEL_INVALID":
            raise RuntimeError(f"cp_sat built an invalid model: {self.model.validate()}")
        values = np.asarray(solver.response_proto.solution, dtype=np.int64) if status in ("OPTIMAL", "FEASIBLE") else None
        return status, values, float(solver.wall_time)


def _parameters(workers: int, seed: int) -> str:
    """CP-SAT parameters shared by every solve.

    Measured on these assignment models: the LP must see the at-most-one rows that presolve turns into clauses
    (linearization level 2, the "max_lp" subsolver when several workers share the search), and one presolve pass
    without probing, symmetry detection or the big-overlap search is enough (those cost more than the solve)."""
    return (f"random_seed: {seed} num_workers: {workers} linearization_level: 2 max_presolve_iterations: 1 "
            "cp_model_probing_level: 0 symmetry_level: 0 find_big_linear_overlap: false "
            'subsolvers: "max_lp" subsolvers: "quick_restart" subsolvers: "core" subsolvers: "default_lp"')


def _build(problem: Problem, a: _Assignment, options: Mapping[str, Any]) -> tuple[_Model, np.ndarray, np.ndarray]:
    """The hard constraints; returns the model, the wildcard variables and the soft back-to-back indicators."""
    n, n_weeks, n_rotations = problem.eligible.shape
    demand = problem.demand
    m = _Model(a.n_x, a.w_high)
    wild = np.arange(a.n_x, a.n_x + a.n_w)
    for x in a.index_of(problem.preassigned):
        m.set_domain(x, 1, 1)
    ids = np.arange(a.n_x)

    # Σ x[i,·,·] (+ wildcard) ≤ d_i, only where it can bind.
    has_wild = np.zeros(n, dtype=bool)
    has_wild[a.w_faculty] = True
    wild_of = np.full(n, -1)
    wild_of[a.w_faculty] = wild
    for i in np.flatnonzero((np.diff(a.starts) > demand) | has_wild):
        members = ids[a.starts[i]:a.starts[i + 1]]
        m.linear(np.append(members, wild_of[i]) if has_wild[i] else members, 1, 0, demand[i])
    # At most one slot per faculty per week: only for several rotations and demand ≥ 2 (else implied).
    sizes = np.diff(a.fw_start)
    for k in np.flatnonzero((sizes > 1) & (demand[a.fw_key // n_weeks] > 1)):
        m.at_most_one(ids[a.fw_start[k]:a.fw_start[k + 1]])
    # Slot capacity, where it can bind.
    slot = a.week * n_rotations + a.rotation
    order = np.argsort(slot, kind="stable")
    slot_bounds = np.searchsorted(slot[order], np.arange(n_weeks * n_rotations + 1))
    capacity = problem.capacity.ravel()
    for s in np.flatnonzero(np.diff(slot_bounds) > capacity):
        m.linear(order[slot_bounds[s]:slot_bounds[s + 1]], 1, 0, capacity[s])

    k = options["max_holidays"]
    if k is not None:
        holiday = np.asarray(problem.is_holiday, dtype=bool)[a.week]
        holiday_weeks = np.bincount(a.fw_key // n_weeks, weights=holiday[a.fw_start[:-1]], minlength=n)
        for i in np.flatnonzero((holiday_weeks > k) & (demand > k)):
            members = ids[a.starts[i]:a.starts[i + 1]]
            m.linear(members[holiday[members]], 1, 0, k)

    b2b = np.zeros(0, dtype=np.int64)
    if options["back_to_back"] != "off":
        # Consecutive (faculty, week) groups i·W + w and i·W + w + 1, for faculty who may serve two weeks.
        first = a.fw_key[:-1]
        nxt = np.flatnonzero((np.diff(a.fw_key) == 1) & (first % n_weeks != n_weeks - 1) & (demand[first // n_weeks] > 1))
        groups = [ids[a.fw_start[g]:a.fw_start[g + 2]] for g in nxt]
        if options["back_to_back"] == "hard":
            for members in groups:
                m.at_most_one(members)
        else:
            # b ≥ [serves w and w+1] as Σ x(w) + Σ x(w+1) − b ≤ 1; minimising pushes b down to the indicator.
            b2b = m.new_vars(len(groups), 0, 1)
            for members, b in zip(groups, b2b, strict=True):
                m.linear(np.append(members, b), np.append(np.ones(len(members), dtype=np.int64), -1), -1, 1)
            rows = np.repeat(np.arange(len(groups)), [len(g) for g in groups])
            cols = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
            m.define(b2b, rows, cols, 1, lambda s: (s >= 2).astype(np.int64))

    for i, j in options["pairs"]:
        for w in range(n_weeks):
            vi, vj = a.week_vars(i, w), a.week_vars(j, w)
            if len(vi) or len(vj):
                m.linear(np.concatenate([vi, vj]), np.concatenate([np.ones(len(vi)), -np.ones(len(vj))]), 0, 0)

    for i, r, low, high in options["rotation_quotas"]:
        members = ids[a.starts[i]:a.starts[i + 1]]
        members = members[a.rotation[members] == r]
        # No cap means "all of them"; a minimum above that is infeasible, which the domain must still express.
        m.linear(members, 1, low, max(low, len(members)) if high is None else high)
    return m, wild, b2b


# ---------------------------------------------------------------------------------------------------- levels


def _weighted_range(ranges: np.ndarray) -> int:
    """Σ w_j·range_j under the lexicographic weights: how far the weighted sum of the tier counts can move."""
    return sum(w * int(r) for w, r in zip(lexicographic_weights(ranges), ranges, strict=True))


class _Run:
    """One model (restricted or full) and its sequence of lexicographic levels.

    The incumbent (``solution``) always meets every constraint and every level fixed so far. Each level is hinted
    with the better, for its objective, of the incumbent and the mechanism hint (when the hint still meets every
    constraint and fixed level), and is decided without a solve when that candidate already attains a bound."""

    def __init__(self, problem: Problem, keep: np.ndarray | None, options: Mapping[str, Any], *, seed: int,
                 deadline: float, hint_rows: np.ndarray | None, cardinality_bound: int | None,
                 relaxed: np.ndarray | None = None) -> None:
        started = time.perf_counter()
        self.problem, self.options, self.deadline = problem, options, deadline
        self.a = _Assignment(problem, keep)
        self.m, self.wild, self.b2b = _build(problem, self.a, options)
        self.parameters = _parameters(options["workers"], seed)
        self.cardinality_bound = cardinality_bound
        self.levels: list[dict[str, Any]] = []
        self.solution: np.ndarray | None = None
        self.status: str | None = OPTIMAL  # OPTIMAL while every level is proven; None when nothing was found
        self.reason = ""
        self.hint: np.ndarray | None = None  # primary values of the mechanism hint
        if hint_rows is not None:
            self.hint = np.zeros(self.a.n_x + self.a.n_w, dtype=np.int64)
            at = self.a.index_of(hint_rows)
            self.hint[at[at >= 0]] = 1
        # Level bounds from the relaxation's optimum (full model only: a restricted one counts its wildcards at
        # ranks no worse than the real ones, so it may beat the relaxation). Each level's relaxed value bounds the
        # level as long as every level before it took its relaxed value; the first that does not ends them.
        self.bounds: dict[str, int] | None = None
        if relaxed is not None and keep is None:
            ranks = problem.rank[relaxed[:, 0], relaxed[:, 1]].astype(np.int64)
            profile = np.bincount(ranks, minlength=problem.n_weeks + 1)
            self.bounds = {f"rank_{r}": int(profile[r]) for r in range(1, problem.n_weeks + 1)}
            self.bounds.update(unassigned=int(problem.demand.sum()) - len(relaxed),
                               regret=int(regret_cost(ranks, options["cost"]).sum()),
                               worst_rank=int(ranks.max(initial=0)))
        self.wall_s = time.perf_counter() - started

    # -- results

    def rows(self) -> np.ndarray:
        assert self.solution is not None
        x = self.solution[: self.a.n_x].astype(bool)
        return sort_assignments(np.column_stack([self.a.faculty[x], self.a.week[x], self.a.rotation[x]]))

    def wildcards_used(self) -> np.ndarray:
        used = np.zeros(self.problem.n_faculty, dtype=bool)
        if self.solution is not None:
            used[self.a.w_faculty[self.solution[self.wild] > 0]] = True
        return used

    # -- the sequence

    def solve(self) -> None:
        started = time.perf_counter()
        a, m = self.a, self.m
        primary = np.arange(a.n_x + a.n_w)
        total_demand = int(self.problem.demand.sum())
        high = total_demand
        if self.cardinality_bound is not None and not a.n_w:
            # The hint maximised cardinality without the side constraints: a bound for the full model.
            high = min(high, self.cardinality_bound)
        assigned = m.total(primary, 1, high)
        if not self._optimise("unassigned", assigned, -1, report=lambda v: total_demand - v):
            return
        if self.cardinality_bound is not None and self.solution[assigned] > self.cardinality_bound:
            # Only wildcards exceed the full model's cardinality: this restricted round cannot certify.
            self.status = FEASIBLE
        elif self.options["objective"] == "regret":
            self._regret(primary)
        else:
            self._fairness(primary, assigned)
        self.wall_s += time.perf_counter() - started

    def _regret(self, primary: np.ndarray) -> None:
        a, options = self.a, self.options
        cols = np.concatenate([primary, self.b2b])
        coeffs = np.concatenate([regret_cost(a.rank, options["cost"]), regret_cost(a.w_rank, options["cost"]),
                                 np.full(len(self.b2b), options["back_to_back_penalty"])])
        # A wildcard counts up to w_high units: the total's bound weighs each coefficient by its variable's range.
        high = int((coeffs * np.asarray(self.m.high, dtype=np.int64)[cols]).sum())
        self._optimise("regret", self.m.total(cols, coeffs, high), 1)

    def _fairness(self, primary: np.ndarray, assigned: int) -> None:
        a, m = self.a, self.m
        # One count variable per rank that occurs (x ranks and wildcard ranks); absent ranks get no tier.
        ranks, rank_of = np.unique(np.concatenate([a.rank, a.w_rank]), return_inverse=True)
        available = np.bincount(rank_of, weights=np.concatenate([np.ones(a.n_x), a.w_high]), minlength=len(ranks))
        counts = m.sums(rank_of, primary, 1, len(ranks), int(available.max(initial=0)))
        self.tier_range = np.minimum(available, self.problem.demand.sum()).astype(np.int64)
        if self.options["fairness"] == "greedy":
            # Maximise n(r1), n(r2), …; the last count is then determined.
            if not self._tiers(ranks, counts, list(range(len(ranks) - 1)), -1, assigned):
                return
        else:
            if not self._worst_rank(ranks, counts):
                return
            # Then n(worst), n(next worse), …; n(r1) is then determined.
            if not self._tiers(ranks, counts, list(range(len(ranks) - 1, 0, -1)), 1, None):
                return
        if self.options["back_to_back"] == "soft":
            self._optimise("back_to_back", m.total(self.b2b, 1, len(self.b2b)), 1)

    def _tiers(self, ranks: np.ndarray, counts: np.ndarray, order: list[int], sense: int, assigned: int | None) -> bool:
        """Minimise sense·counts[order[0]], then sense·counts[order[1]], …, several tiers per solve.

        A run of q tiers is one level: Σ_j w_j·n_j with w_last = 1 and w_j = 1 + Σ_{l>j} w_l·range_l (range_l
        bounds how far n_l can move) has exactly the lexicographic optima of the q tiers (one more unit at tier j
        outweighs any change after it), so one solve replaces q. Runs start at _TIERS_PER_SOLVE tiers and double
        after a run solved within a second (later tiers hold few assignments each), while the weights stay under
        _TIER_WEIGHT_LIMIT. Each tier is still reported as its own level (the run's status, its solve time on the
        first). When maximising, a count that already holds every assignment not fixed at better ranks cannot
        grow: a run that starts with such a tier is decided without a solve."""
        m = self.m
        per, pos = _TIERS_PER_SOLVE, 0
        while pos < len(order):
            block = order[pos:pos + 1]
            while len(block) < per and pos + len(block) < len(order) and \
                    _weighted_range(self.tier_range[order[pos:pos + len(block) + 1]]) <= _TIER_WEIGHT_LIMIT:
                block = order[pos:pos + len(block) + 1]
            pos += len(block)
            first = block[0]
            decided = None if assigned is None else (
                lambda s, k=first: s[counts[k]] == s[assigned] - s[counts[:k]].sum())
            if len(block) == 1:
                if not self._optimise(f"rank_{ranks[first]}", int(counts[first]), sense, decided=decided):
                    return False
                continue
            weights = lexicographic_weights(self.tier_range[block])
            var = m.total(counts[block], np.array(weights, dtype=np.int64),
                          sum(w * m.high[counts[k]] for w, k in zip(weights, block, strict=True)))
            name = f"rank_{ranks[block[0]]}-{ranks[block[-1]]}"
            if self.bounds is not None:
                self.bounds[name] = sum(w * self.bounds[f"rank_{ranks[k]}"] for w, k in zip(weights, block, strict=True))
            # The decided shortcut applies only to the first tier; with a run it would fix the rest unproven.
            ok = self._optimise(name, var, sense)
            level = self.levels.pop()
            for j, k in enumerate(block):
                value = None if self.solution is None or level["objective"] is None else int(self.solution[counts[k]])
                self.levels.append({**level, "name": f"rank_{ranks[k]}", "objective": value,
                                    "wall_s": level["wall_s"] if j == 0 else 0.0, "solves": level["solves"] if j == 0 else 0})
                if ok:
                    m.set_domain(counts[k], value, value)
            if not ok:
                return False
            per = min(4 * _TIERS_PER_SOLVE, 2 * per) if level["wall_s"] < 1.0 else max(_TIERS_PER_SOLVE, per // 2)
        return True

    def _candidate(self, var: int, sense: int) -> np.ndarray | None:
        """The better of incumbent and hint for minimising sense·var, among those meeting every constraint."""
        best = None
        for primary in (self.solution, self.hint):
            if primary is None:
                continue
            values = self.m.complete(primary)
            if self.m.feasible(values) and (best is None or sense * values[var] < sense * best[var]):
                best = values
        return best

    def _optimise(self, name: str, var: int, sense: int, *, report: Callable[[int], int] = lambda v: v,
                  decided: Callable[[np.ndarray], bool] | None = None) -> bool:
        """One level: minimise sense·var, then fix var at the value found. False when the sequence must stop."""
        bound = None if self.bounds is None else self.bounds.get(name)
        if bound is not None and name != "unassigned":
            # The relaxed value: nothing better exists, so reaching it proves the level.
            low, high = self.m.low[var], self.m.high[var]
            self.m.set_domain(var, *((low, min(high, bound)) if sense < 0 else (max(low, bound), high)))
        fixed = self._level(name, var, sense, report=report, decided=decided)
        if self.bounds is not None and (not fixed or bound is None or self.solution[var] != (
                bound if name != "unassigned" else int(self.problem.demand.sum()) - bound)):
            self.bounds = None
        return fixed

    def _level(self, name: str, var: int, sense: int, *, report: Callable[[int], int],
               decided: Callable[[np.ndarray], bool] | None) -> bool:
        best = self._candidate(var, sense)
        if best is not None:
            bound = self.m.high[var] if sense < 0 else self.m.low[var]
            if best[var] == bound or (decided is not None and decided(best)):
                # Proven by a bound (the variable's own, or one the level gives): no solve needed.
                self.levels.append({"name": name, "solver_status": "OPTIMAL", "objective": report(int(best[var])),
                                    "wall_s": 0.0, "solves": 0})
                self.solution = best
                self.m.set_domain(var, best[var], best[var])
                return True
        remaining = self.deadline - time.perf_counter()
        if remaining <= 0:
            return self._out_of_time(name, best)
        status, values, wall = self.m.solve((var, sense), hint=best, parameters=self.parameters, time_limit_s=remaining)
        self.levels.append({"name": name, "solver_status": status,
                            "objective": None if values is None else report(int(values[var])), "wall_s": wall,
                            "solves": 1})
        if not self._accept(status, values, best):
            return False
        self.m.set_domain(var, values[var], values[var])
        return True

    def _worst_rank(self, ranks: np.ndarray, counts: np.ndarray) -> bool:
        """Generous level 1: the smallest k such that some solution uses no rank above ranks[k].

        A binary search of feasibility solves (counts above k fixed to 0) rather than one min-max solve: each
        probe keeps the strong assignment LP, where a min-max objective's linking constraints are weak."""
        wall, statuses = 0.0, []
        weights = np.concatenate([self.a.rank, self.a.w_rank])
        rank_sum = self.m.total(np.arange(len(weights)), weights, int((weights * self.m.high[: len(weights)]).sum()))
        self.solution = self.m.complete(self.solution)  # values for the variables added since
        used = np.flatnonzero(self.solution[counts] > 0)
        low, high = 0, int(used.max()) if len(used) else 0  # the incumbent uses no rank above ranks[high]
        if self.bounds is not None:  # no schedule avoids a rank the relaxation cannot avoid
            low = min(high, int(np.searchsorted(ranks, self.bounds["worst_rank"])))
        while low < high:
            remaining = self.deadline - time.perf_counter()
            if remaining <= 0:
                break
            middle = (low + high) // 2
            saved = [self.m.set_domain(c, 0, 0) for c in counts[middle + 1:]]
            # Any solution will do, but a rank-sum objective steers the LP-guided search to a vertex quickly.
            status, values, seconds = self.m.solve((rank_sum, 1), hint=self.solution, time_limit_s=remaining,
                                                   parameters=self.parameters + " stop_after_first_solution: true")
            for c, (lo, hi) in zip(counts[middle + 1:], saved, strict=True):
                self.m.set_domain(c, lo, hi)
            wall += seconds
            statuses.append(status)
            if values is not None:
                self.solution = values
                used = np.flatnonzero(values[counts] > 0)
                high = int(used.max()) if len(used) else 0
            elif status == "INFEASIBLE":
                low = middle + 1
            else:
                break
        proven = low >= high
        if self.bounds is not None and (not proven or int(ranks[high]) != self.bounds["worst_rank"]):
            self.bounds = None
        for c in counts[high + 1:]:
            self.m.set_domain(c, 0, 0)
        self.levels.append({"name": "worst_rank", "solver_status": "OPTIMAL" if proven else "FEASIBLE",
                            "objective": int(ranks[high]) if len(ranks) else 0, "wall_s": wall,
                            "solves": len(statuses), "probe_status": statuses})
        if not proven:
            self.status = FEASIBLE
        return proven

    def _accept(self, status: str, values: np.ndarray | None, best: np.ndarray | None) -> bool:
        if status == "INFEASIBLE":
            self.status, self.solution, self.reason = INFEASIBLE, None, "the hard constraints cannot all be met"
            return False
        if values is None:  # time limit before any solution: keep the best candidate, if there is one
            return self._out_of_time(None, best)
        if status != "OPTIMAL":
            self.status = FEASIBLE
        self.solution = values
        return True

    def _out_of_time(self, name: str | None, best: np.ndarray | None) -> bool:
        if name is not None:
            self.levels.append({"name": name, "solver_status": "NOT_SOLVED", "objective": None, "wall_s": 0.0,
                                "solves": 0})
        # The candidate meets every constraint and fixed level: a valid incumbent even before any solve succeeded.
        self.solution = best if best is not None else self.solution
        if self.solution is None:
            self.status, self.reason = None, "no feasible allocation found within the time limit"
        else:
            self.status = FEASIBLE
        return False
