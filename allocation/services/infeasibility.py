"""Why a run found no schedule, in words a coordinator can act on: the option or constraint that makes the year
infeasible (max_holidays, back_to_back, pairs, rotation_quotas, allow_unassigned, the time limit), named with the
faculty, weeks and rotations it bites on, then the year-wide shortfalls (too few seats or open weeks)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from allocation.algorithms import registry
from allocation.algorithms.types import Allocation
from allocation.problem import YearProblem, mechanism_options
from preferences.models import Faculty, Rotation, Week

MAX_NAMED = 5  # faculty named per cause; the rest are counted


def infeasible_message(
    *, label: str, built: YearProblem, allocation: Allocation, parameters: Mapping[str, Any] | None = None,
    mechanism: str = "", seed: int | None = None,
) -> str:
    """"<mechanism> found no schedule…: <solver reason>. <the options that make it fail>. <year-wide shortfalls>"."""
    reason = next((str(allocation.details[k]) for k in ("reason", "message") if allocation.details.get(k)), "")
    options = dict(parameters or {})
    causes = option_causes(built=built, mechanism=mechanism, options=options, reason=reason, seed=seed)
    hints = infeasibility_hints(built)
    text = f"{label} found no schedule that meets every hard constraint"
    text += f": {reason}" if reason else "."
    for sentence in [*causes, *hints]:
        text += (" " if text.endswith(".") else ". ") + sentence
    return text


def option_causes(
    *, built: YearProblem, mechanism: str, options: Mapping[str, Any], reason: str = "", seed: int | None = None,
) -> list[str]:
    """Sentences naming the option (and its value) that rules every schedule out, with the way to relax it."""
    names = _Names(built)
    if mechanism == "min_cost_flow" and options.get("allow_unassigned") is False:
        return _unassigned_causes(built, names, options, seed)
    if mechanism != "cp_sat":
        return []
    p = built.problem
    seats = p.eligible & (p.capacity[None, :, :] > 0)
    causes = _preassigned_over_load(built, names)
    causes += _holiday_causes(built, names, options.get("max_holidays"))
    if options.get("back_to_back") == "hard":
        causes += _back_to_back_causes(built, names)
    causes += _pair_causes(built, names, seats, options.get("pairs") or ())
    causes += _quota_causes(built, names, seats, options)
    if "time limit" in reason:
        limit = options.get("time_limit_s") or registry.option_specs("cp_sat")["time_limit_s"].default
        causes.append(f"With time_limit_s={limit:g} the solver ran out of time before it knew any valid schedule; "
                      "raise time_limit_s or relax the options below.")
    if not causes:
        in_force = _side_constraints(options)
        if in_force:
            causes.append(f"The side constraints in force are {', '.join(in_force)}; together with the pre-assignments "
                          "and target loads they leave no schedule. Relax one at a time to find the one that binds.")
    return causes


def _side_constraints(options: Mapping[str, Any]) -> list[str]:
    in_force = []
    if options.get("max_holidays") is not None:
        in_force.append(f"max_holidays={options['max_holidays']}")
    if options.get("back_to_back") == "hard":
        in_force.append("back_to_back=hard")
    if options.get("pairs"):
        in_force.append(f"{len(options['pairs'])} pair(s)")
    if options.get("rotation_quotas"):
        in_force.append(f"{len(options['rotation_quotas'])} rotation quota(s)")
    return in_force


def _preassigned_over_load(built: YearProblem, names: _Names) -> list[str]:
    p = built.problem
    held = np.bincount(p.preassigned[:, 0], minlength=p.n_faculty) if len(p.preassigned) else np.zeros(p.n_faculty, int)
    over = np.flatnonzero(held > p.demand)
    return [f"{names.faculty(i)} is pre-assigned {int(held[i])} weeks, more than their target load of {int(p.demand[i])}; "
            "raise the target load or remove a pre-assignment." for i in over[:MAX_NAMED].tolist()]


def _holiday_causes(built: YearProblem, names: _Names, k: int | None) -> list[str]:
    p = built.problem
    if k is None or not len(p.preassigned):
        return []
    i, w, _ = p.preassigned.T
    on_holiday = np.asarray(p.is_holiday, dtype=bool)[w]
    causes = []
    for person in np.unique(i[on_holiday]).tolist():
        weeks = sorted(set(w[on_holiday & (i == person)].tolist()))
        if len(weeks) > k:
            causes.append(
                f"With max_holidays={k} nobody may serve more than {k} holiday week{'s' if k != 1 else ''}, but "
                f"{names.faculty(person)} is pre-assigned {len(weeks)} ({names.weeks(weeks)}); raise max_holidays to "
                f"{len(weeks)} or remove the pre-assignment."
            )
    return causes[:MAX_NAMED]


def _back_to_back_causes(built: YearProblem, names: _Names) -> list[str]:
    p = built.problem
    causes = []
    for person in np.unique(p.preassigned[:, 0]).tolist() if len(p.preassigned) else []:
        if p.demand[person] <= 1:
            continue
        weeks = np.unique(p.preassigned[p.preassigned[:, 0] == person, 1])
        touching = np.flatnonzero(np.diff(weeks) == 1)
        if len(touching):
            w = int(weeks[touching[0]])
            causes.append(
                f"With back_to_back=hard nobody serves two weeks in a row, but {names.faculty(person)} is pre-assigned "
                f"{names.weeks([w, w + 1])}; set back_to_back to soft or off, or move a pre-assignment."
            )
    return causes[:MAX_NAMED]


def _pair_causes(built: YearProblem, names: _Names, seats: np.ndarray, pairs: Sequence[Sequence[int]]) -> list[str]:
    p = built.problem
    can_serve = seats.any(axis=2)
    causes = []
    for i, j in pairs:
        i, j = int(i), int(j)
        mine = p.preassigned[np.isin(p.preassigned[:, 0], (i, j)), 1] if len(p.preassigned) else np.zeros(0, int)
        together = np.unique(mine)
        pair = f"the pair {names.faculty(i)} and {names.faculty(j)} must serve the same weeks"
        for person in (i, j):
            missing = together[~can_serve[person, together]]
            if len(missing):
                causes.append(f"In pairs, {pair}, but {names.faculty(person)} cannot serve {names.weeks(missing)}, which "
                              "the other is pre-assigned; remove the pair or that pre-assignment.")
                break
            if len(together) > p.demand[person]:
                causes.append(f"In pairs, {pair}: their pre-assignments add up to {len(together)} weeks, more than "
                              f"{names.faculty(person)}'s target load of {int(p.demand[person])}; remove the pair or a "
                              "pre-assignment.")
                break
    return causes[:MAX_NAMED]


def _quota_causes(built: YearProblem, names: _Names, seats: np.ndarray, options: Mapping[str, Any]) -> list[str]:
    p = built.problem
    quotas = [(int(q["faculty"]), int(q["rotation"]), int(q.get("min") or 0), q.get("max"))
              for q in options.get("rotation_quotas") or () if isinstance(q, Mapping)]
    k = options.get("max_holidays")
    holiday = np.asarray(p.is_holiday, dtype=bool)
    pre = p.preassigned
    causes = []
    for i, r, low, high in quotas:
        who, where = names.faculty(i), names.rotation(r)
        quota = f"rotation_quotas asks {who} for at least {low} week{'s' if low != 1 else ''} on {where}"
        taken = np.zeros(p.capacity.shape[0], dtype=np.int64)  # seats on r others are pre-assigned, by week
        others = (pre[:, 0] != i) & (pre[:, 2] == r) if len(pre) else np.zeros(0, dtype=bool)
        np.add.at(taken, pre[others, 1], 1)
        open_weeks = seats[i, :, r] & (p.capacity[:, r] > taken)
        elsewhere = int(((pre[:, 0] == i) & (pre[:, 2] != r)).sum()) if len(pre) else 0
        on_r = int(((pre[:, 0] == i) & (pre[:, 2] == r)).sum()) if len(pre) else 0
        if high is not None and on_r > int(high):
            causes.append(f"rotation_quotas allows {who} at most {high} week(s) on {where}, but they are pre-assigned "
                          f"{on_r} there; raise that max or remove a pre-assignment.")
        elif low > int(open_weeks.sum()):
            causes.append(f"{quota}, but they can serve only {int(open_weeks.sum())} there (blocked weeks, qualifications "
                          "and seats others are pre-assigned); lower that min or open more weeks.")
        elif k is not None and low > int((open_weeks & ~holiday).sum()) + min(int(k), int((open_weeks & holiday).sum())):
            reachable = int((open_weeks & ~holiday).sum()) + min(int(k), int((open_weeks & holiday).sum()))
            causes.append(f"{quota}, but with max_holidays={k} they can serve only {reachable} there; lower that min "
                          "or raise max_holidays.")
        elif low > int(p.demand[i]) - elsewhere:
            load = f"their target load is {int(p.demand[i])}"
            if elsewhere:
                load += f", {elsewhere} of it pre-assigned to other rotations"
            causes.append(f"{quota}, but {load}; lower that min or raise the target load.")
    for i in sorted({q[0] for q in quotas}):
        total = sum(q[2] for q in quotas if q[0] == i)
        if total > int(p.demand[i]) and sum(1 for q in quotas if q[0] == i) > 1:
            causes.append(f"rotation_quotas asks {names.faculty(i)} for at least {total} weeks across rotations, but their "
                          f"target load is {int(p.demand[i])}; lower the mins.")
    return causes[:MAX_NAMED]


def _unassigned_causes(built: YearProblem, names: _Names, options: Mapping[str, Any], seed: int | None) -> list[str]:
    """allow_unassigned off: who cannot get their full target load (the same flow with unmet demand allowed)."""
    p = built.problem
    relaxed = {**mechanism_options(dict(options)), "allow_unassigned": True}
    try:
        result = registry.strategy("min_cost_flow")(p, rng=np.random.default_rng(seed), **relaxed)
        short = np.asarray(result.unassigned, dtype=np.int64)
    except Exception:  # the diagnosis must never hide the failure it explains
        short = np.zeros(0, dtype=np.int64)
    where = "in the weeks they listed" if not options.get("fill_unlisted") else "in the weeks they can serve"
    text = ("With allow_unassigned off every faculty member must get their full target load, "
            f"and {int(short.sum()) or 'some'} week(s) of it cannot be placed {where}")
    people = np.flatnonzero(short > 0)
    if len(people):
        named = [f"{names.faculty(i)} ({int(short[i])} short)" for i in people[:MAX_NAMED].tolist()]
        more = f" and {len(people) - MAX_NAMED} more" if len(people) > MAX_NAMED else ""
        text += f": {', '.join(named)}{more}"
    fixes = ["turn on allow_unassigned (leave that demand unmet)"]
    if not options.get("fill_unlisted"):
        fixes.append("turn on fill_unlisted (use weeks nobody listed)")
    fixes.append("lower those target loads or add seats")
    return [f"{text}. To run anyway, {'; '.join(fixes[:-1])}; or {fixes[-1]}."]


def infeasibility_hints(built: YearProblem) -> list[str]:
    """Plain-words reasons a year may have no feasible schedule: too little cover, people with too few weeks, stale pre-assignments."""
    p = built.problem
    hints: list[str] = []
    seats = p.eligible & (p.capacity[None, :, :] > 0)
    open_weeks = seats.any(axis=2).sum(axis=1)
    short = np.flatnonzero(open_weeks < p.demand)
    names = _Names(built)
    for i in short[:MAX_NAMED].tolist():
        hints.append(
            f"{names.faculty(i)} needs {int(p.demand[i])} weeks but can serve only {int(open_weeks[i])} "
            "(blocked weeks, qualifications and demand)."
        )
    if len(short) > MAX_NAMED:
        hints.append(f"{len(short) - MAX_NAMED} more faculty members have fewer available weeks than their target load.")
    if int(p.capacity.sum()) < int(p.demand.sum()):
        hints.append(f"The year has {int(p.capacity.sum())} seats in total for {int(p.demand.sum())} weeks of target load.")
    if len(p.preassigned):
        i, w, r = p.preassigned.T
        stale = np.flatnonzero(~p.eligible[i, w, r])
        if len(stale):
            hints.append(f"{len(stale)} pre-assignment(s) are no longer possible (the week was blocked or a qualification removed).")
        load = np.zeros_like(p.capacity)
        np.add.at(load, (w, r), 1)
        if (load > p.capacity).any():
            hints.append("Pre-assignments fill more seats than a slot has.")
    return hints


class _Names:
    """Index → words for one year's problem, fetched on first use."""

    def __init__(self, built: YearProblem) -> None:
        self.built = built
        self._faculty: dict[int, str] | None = None
        self._weeks: dict[int, dt.date] | None = None

    def faculty(self, i: int) -> str:
        if self._faculty is None:
            ids = self.built.faculty_ids.tolist()
            self._faculty = dict(Faculty.objects.filter(pk__in=ids).values_list("pk", "display_name"))
        pk = int(self.built.faculty_ids[i])
        return self._faculty.get(pk, f"faculty #{pk}")

    def rotation(self, r: int) -> str:
        pk = int(self.built.rotation_ids[r])
        return Rotation.objects.filter(pk=pk).values_list("name", flat=True).first() or f"rotation #{pk}"

    def weeks(self, indices: Sequence[int] | np.ndarray) -> str:
        if self._weeks is None:
            ids = self.built.week_ids.tolist()
            self._weeks = dict(Week.objects.filter(pk__in=ids).values_list("pk", "start_date"))
        dates = [self._weeks.get(int(self.built.week_ids[int(w)])) for w in indices]
        return ", ".join(f"the week of {d.day} {d:%b %Y}" if d else f"week {w + 1}" for d, w in zip(dates, indices, strict=True))
