""""Why did I get this?" (DESIGN §5): one assignment explained in plain words, per mechanism family.

RSD: the lottery position, and for each week ranked higher that the person did not get, whose earlier pick took it.
Optimising mechanisms: for up to three better-ranked weeks, the same problem is re-solved with that week forced on
the person, and the explanation reports who would have been displaced and what the mechanism's objective would
lose. Runs per request on the year's current inputs rebuilt with the run's seed; nothing is cached.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError

from allocation.algorithms import feasibility, registry
from allocation.algorithms.registry import MECHANISM_LABELS
from allocation.algorithms.types import OPTIMAL, Allocation, Problem
from allocation.choices import ListedWeeks, better_weeks_phrase, choice_phrase, listed_weeks
from allocation.models import AllocationRun, Assignment, PreAssignment, Schedule
from allocation.problem import YearProblem, mechanism_options, run_year_problem, year_problem
from preferences.models import Faculty, Week

MAX_RSD_POINTS = 8
MAX_ALTERNATIVES = 3
EXPLAIN_SOLVE_LIMIT_S = 3.0  # per re-solve, for mechanisms with a time limit (CP-SAT)


def week_text(start: dt.date) -> str:
    return f"the week of {start.day} {start:%b %Y}"


def _names(pks: list[int]) -> dict[int, str]:
    return dict(Faculty.objects.filter(pk__in=pks).values_list("pk", "display_name"))


def _better(problem: Problem, i: int, w: int) -> list[int]:
    """The weeks faculty member i truly preferred to week w, best first: listed ones with a higher preference score.

    Never a week they did not list, and never a tie that only the seeded tie-break ordered (equal values, or two
    accepted weeks), so the explanation does not claim a preference the person never stated.
    """
    score = problem.value[i]
    return [int(v) for v in np.argsort(problem.rank[i], kind="stable") if problem.listed[i, v] and score[v] > score[w]]


def _head(problem: Problem, choices: ListedWeeks, i: int, v: int, start: dt.date) -> str:
    phrase = choice_phrase(rank=int(problem.rank[i, v]), listed=True, preference_type=choices.preference_type)
    return f"{phrase[0].upper()}{phrase[1:]}, {week_text(start)}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def explain_assignment(*, assignment: Assignment) -> dict[str, Any]:
    schedule: Schedule = assignment.schedule
    run: AllocationRun | None = schedule.run
    choices = listed_weeks(year=schedule.year_id, faculty_id=assignment.faculty_id)
    choice = choices.phrase(rank=assignment.rank, week_index=assignment.week.index)
    pre = PreAssignment.objects.filter(
        year_id=schedule.year_id, faculty_id=assignment.faculty_id, week_id=assignment.week_id
    ).select_related("rotation").first()
    pre_point = (
        f"A coordinator pre-assigned you to {week_text(assignment.week.start_date)} on {pre.rotation} before the run: "
        f"“{pre.reason}”." if pre is not None else None
    )
    if run is None:
        how = {"import": "imported", "manual": "made by hand"}.get(schedule.source, "made without an allocation run")
        points = [f"This week is {choice}."] + ([pre_point] if pre_point else [])
        return {
            "summary": f"This schedule was {how}, not drawn by a mechanism, so there is no lottery or trade-off to report.",
            "points": points,
        }
    try:
        built = run_year_problem(year=run.year, seed=run.seed, parameters=run.parameters)
    except ValidationError:  # the run's load source has nothing current to give (e.g. stale Shapley values)
        built = year_problem(year=run.year, seed=run.seed, non_respondents=run.parameters.get("non_respondents", "neutral"))
    i = built.faculty_index(assignment.faculty_id)
    w = built.week_index(assignment.week_id)
    caveat = []
    if built.fingerprint != (run.details or {}).get("problem_fingerprint"):
        caveat = ["Preferences, demand or pre-assignments have changed since this run; this explanation uses today's."]
    if i is None or w is None:
        return {
            "summary": f"This week is {choice}. You are not part of the year's current inputs (inactive, or left out "
                       "as a non-respondent), so the run cannot be replayed for you.",
            "points": caveat,
        }
    if pre is not None:
        return {
            "summary": f"This week was fixed by a coordinator before the run, so {MECHANISM_LABELS.get(run.mechanism, run.mechanism)} "
                       "had to keep it.",
            "points": [pre_point, f"It is {choice}."] + caveat,
        }
    if run.mechanism == "rsd":
        result = _explain_rsd(assignment=assignment, run=run, built=built, i=i, w=w, choices=choices)
    elif run.mechanism in LOTTERIES:
        result = _explain_lottery(assignment=assignment, run=run, choice=choice)
    else:
        result = _explain_optimising(assignment=assignment, run=run, built=built, i=i, w=w, choices=choices)
    result["points"] = result["points"] + caveat
    return result


# --- RSD -------------------------------------------------------------------------------------------------------


def _explain_rsd(
    *, assignment: Assignment, run: AllocationRun, built: YearProblem, i: int, w: int, choices: ListedWeeks
) -> dict[str, Any]:
    problem = built.problem
    order: list[str] = list((run.details or {}).get("lottery_order") or [])
    position_of = {external_id: p for p, external_id in enumerate(order, start=1)}
    me = assignment.faculty
    position = assignment.mechanism_data.get("lottery_position") or position_of.get(me.external_id)
    n = len(order) or problem.n_faculty
    rank = int(problem.rank[i, w])
    listed = bool(problem.listed[i, w])
    choice = choice_phrase(rank=rank, listed=listed, preference_type=choices.preference_type)
    higher = better_weeks_phrase(listed=listed, preference_type=choices.preference_type)

    holders: dict[int, list[tuple[int, str, str, int]]] = {}
    for week_id, faculty_id, external_id, name, rotation_id in assignment.schedule.assignments.values_list(
        "week_id", "faculty_id", "faculty__external_id", "faculty__display_name", "rotation_id"
    ):
        holders.setdefault(week_id, []).append((faculty_id, external_id, name, rotation_id))
    mine = {week_id for week_id, people in holders.items() if any(f == me.pk for f, *_ in people)}
    pre = set(
        PreAssignment.objects.filter(year_id=run.year_id).values_list("faculty_id", "week_id", "rotation_id")
    )
    starts = dict(Week.objects.filter(pk__in=built.week_ids.tolist()).values_list("pk", "start_date"))

    better = _better(problem, i, w)
    points: list[str] = []
    shown = 0
    for v in better:
        week_id = int(built.week_ids[v])
        if week_id in mine:
            continue
        if shown == MAX_RSD_POINTS:
            remaining = sum(1 for u in better if int(built.week_ids[u]) not in mine) - shown
            points.append(f"…and {remaining} more of the {higher} were also gone before your turn.")
            break
        shown += 1
        head = _head(problem, choices, i, v, starts[week_id]) + ","
        seats = problem.eligible[i, v] & (problem.capacity[v] > 0)
        if not problem.eligible[i, v].any():
            points.append(f"{head} was not open to you: you blocked it or are not qualified for any rotation that week.")
            continue
        if not seats.any():
            points.append(f"{head} needs nobody from the rotations you serve.")
            continue
        rotations = {int(built.rotation_ids[r]) for r in np.flatnonzero(seats)}
        takers = [h for h in holders.get(week_id, []) if h[3] in rotations and h[0] != me.pk]
        reserved = [h for h in takers if (h[0], week_id, h[3]) in pre]
        earlier = sorted(
            (position_of.get(h[1], n + 1), h[2]) for h in takers
            if h not in reserved and position is not None and position_of.get(h[1], n + 1) < position
        )
        if earlier:
            picks = [f"{name} (lottery position {p})" for p, name in earlier]
            points.append(f"{head} was already taken by earlier pick{'s' if len(picks) > 1 else ''}: {_join(picks)}.")
        elif reserved:
            points.append(f"{head} was reserved by a coordinator's pre-assignment for {_join([h[2] for h in reserved])}.")
        else:
            points.append(f"{head} was not free for you at your turn.")

    where = f"lottery position {position} of {n}" if position else "a lottery position"
    if rank == 1 and listed and choices.preference_type != "binary":
        summary = f"You drew {where}, and this week was your first choice: it was still free at your turn."
    elif not better:
        summary = f"You drew {where}. This week is {choice}; it was still free at your turn."
    elif not points:
        summary = f"You drew {where}. This week is {choice}; you also hold every one of the {higher}."
    else:
        summary = (
            f"You drew {where}. By your turn the {higher} were gone, so this week — {choice} — "
            "was among the best still free for you."
        )
    return {"summary": summary, "points": points}


# --- lotteries over a decomposition -------------------------------------------------------------------------------

LOTTERIES = {
    "probabilistic_serial": "everyone “ate” their favourite weeks at the same speed, and the shares eaten were "
                            "each person's chances",
    "rsd_trading": "the chances of random serial dictatorship, after faculty traded probability of weeks "
                   "wherever both sides gained",
}


def _explain_lottery(*, assignment: Assignment, run: AllocationRun, choice: str) -> dict[str, Any]:
    """For a lottery: your chance of this week before the draw, and which schedule of the decomposition was drawn."""
    details = run.details or {}
    probability = assignment.mechanism_data.get("probability")
    chance = f"{probability:.1%}" if isinstance(probability, int | float) else "an unknown"
    size, drawn = details.get("decomposition_size"), details.get("drawn_schedule")
    weight = details.get("drawn_weight")
    summary = (
        f"Before the draw you had {chance} chance of this week — {choice}. The chances came from "
        f"{MECHANISM_LABELS.get(run.mechanism, run.mechanism)}: {LOTTERIES[run.mechanism]}."
    )
    points = []
    if size and drawn:
        share = f" (probability {weight:.2%})" if isinstance(weight, int | float) else ""
        points.append(
            f"Those chances were split exactly into a lottery over {size:,} complete, feasible schedules; "
            f"schedule {drawn:,}{share} was drawn with the run's seed {run.seed}, and this week is yours in it."
        )
    if run.mechanism == "rsd_trading" and details.get("draws"):
        points.append(
            f"The RSD chances were estimated from {details['draws']:,} lotteries; {details.get('trades', 0):,} "
            "trades of probability between faculty followed, each leaving both sides better off."
        )
    points.append("Nobody chose this week for you: the same seed and the same preferences draw the same schedule.")
    return {"summary": summary, "points": points}


# --- optimising mechanisms ----------------------------------------------------------------------------------------

GOALS = {
    "least_regret": "the least total regret",
    "min_cost_flow": "the lowest total cost (sum of the ranks people get)",
    "cp_sat": "the best outcome under its constraints and fairness rules",
    "vcg": "the highest total reported value",
}


def _measure(mechanism: str, problem: Problem, allocation: Allocation, options: Mapping[str, Any]) -> float:
    """The quantity the mechanism optimises, so the trade-off is stated in its own terms."""
    rows = np.asarray(allocation.assignments, dtype=np.int64).reshape(-1, 3)
    ranks = problem.rank[rows[:, 0], rows[:, 1]]
    if mechanism == "least_regret":
        regret = (ranks - 1).astype(float)
        return float((regret if options.get("cost") == "linear" else regret**2).sum())
    if mechanism == "vcg":
        return float(problem.value[rows[:, 0], rows[:, 1]].sum())
    if mechanism == "min_cost_flow" and allocation.objective is not None:
        return float(allocation.objective)
    if mechanism == "min_cost_flow":
        return float(ranks.sum())
    return float((ranks - 1).sum())


def _measure_phrase(mechanism: str, before: float, after: float, options: Mapping[str, Any]) -> str:
    delta = after - before
    if mechanism == "vcg":
        if delta < 0:
            return f"the total reported value (0–100 scale) would fall from {_num(before)} to {_num(after)} (−{_num(-delta)})"
        return f"the total reported value would stay at {_num(before)}"
    name = {
        "least_regret": "the total regret (each person's rank minus one, "
                        + ("" if options.get("cost") == "linear" else "squared, ") + "added up)",
        "min_cost_flow": "the total cost (the sum of the ranks people get)",
    }.get(mechanism, "the total regret (each person's rank minus one, added up)")
    if delta > 0:
        return f"{name} would rise from {_num(before)} to {_num(after)} (+{_num(delta)})"
    if delta < 0:
        return f"{name} would fall from {_num(before)} to {_num(after)}, but the solver's other goals rank that schedule lower"
    return f"{name} would stay at {_num(before)}"


def _stored_allocation(assignment: Assignment, run: AllocationRun, built: YearProblem) -> Allocation | None:
    """The run's own schedule in index form, when today's inputs are still the run's (no re-solve needed)."""
    if built.fingerprint != (run.details or {}).get("problem_fingerprint"):
        return None
    index = {pk: k for k, pk in enumerate(built.faculty_ids.tolist())}
    weeks = {pk: k for k, pk in enumerate(built.week_ids.tolist())}
    rotations = {pk: k for k, pk in enumerate(built.rotation_ids.tolist())}
    rows = [
        (index[f], weeks[w], rotations[r])
        for f, w, r in assignment.schedule.assignments.values_list("faculty_id", "week_id", "rotation_id")
        if f in index and w in weeks and r in rotations
    ]
    rows_array = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    served = np.bincount(rows_array[:, 0], minlength=built.problem.n_faculty)
    return Allocation(
        status="feasible", mechanism=run.mechanism, assignments=rows_array,
        unassigned=np.maximum(built.problem.demand - served, 0), objective=(run.details or {}).get("objective_value"),
    )


def _explain_optimising(
    *, assignment: Assignment, run: AllocationRun, built: YearProblem, i: int, w: int, choices: ListedWeeks
) -> dict[str, Any]:
    problem = built.problem
    mechanism = run.mechanism
    label = MECHANISM_LABELS.get(mechanism, mechanism)
    options = mechanism_options(run.parameters)
    strategy = registry.strategy(mechanism)
    rank = int(problem.rank[i, w])
    listed = bool(problem.listed[i, w])
    choice = choice_phrase(rank=rank, listed=listed, preference_type=choices.preference_type)
    higher = better_weeks_phrase(listed=listed, preference_type=choices.preference_type)
    time_limit = registry.option_specs(mechanism).get("time_limit_s")
    if time_limit is not None:
        # An explanation answers a page request: each re-solve gets a short budget, and says so if it runs out.
        limit = options.get("time_limit_s", time_limit.default)
        options = {**options, "time_limit_s": min(float(limit), EXPLAIN_SOLVE_LIMIT_S)}

    def solve(p: Problem) -> Allocation | None:
        try:
            result = strategy(p, rng=np.random.default_rng(run.seed), **options)
        except ValueError:
            return None
        return result if result.ok and not feasibility.violations(p, result) else None

    base = _stored_allocation(assignment, run, built) or solve(problem)
    if base is None:
        return {"summary": f"This week is {choice}. The run can no longer be replayed on today's inputs.",
                "points": []}
    base_rows = np.asarray(base.assignments, dtype=np.int64).reshape(-1, 3)
    base_value = _measure(mechanism, problem, base, run.parameters)
    starts = dict(Week.objects.filter(pk__in=built.week_ids.tolist()).values_list("pk", "start_date"))
    held = set(base_rows[base_rows[:, 0] == i, 1].tolist()) | {w}
    pre_load = np.zeros_like(problem.capacity)
    if len(problem.preassigned):
        np.add.at(pre_load, (problem.preassigned[:, 1], problem.preassigned[:, 2]), 1)

    points: list[str] = []
    outcomes: list[str] = []  # "worse", "tie" or "impossible" per week tried
    closed = []
    for v in _better(problem, i, w):
        if len(outcomes) == MAX_ALTERNATIVES:
            break
        if v in held:
            continue
        head = _head(problem, choices, i, v, starts[int(built.week_ids[v])])
        rotations = np.flatnonzero(problem.eligible[i, v] & (problem.capacity[v] > pre_load[v]))
        if not len(rotations):
            closed.append(head)
            continue
        forced = None
        for r in rotations.tolist():
            extra = np.array([[i, v, r]], dtype=np.int64)
            forced = solve(dataclasses.replace(problem, preassigned=np.vstack([problem.preassigned, extra])))
            if forced is not None:
                break
        if forced is None:
            outcomes.append("impossible")
            points.append(f"{head}: no schedule gives you that week without breaking a hard constraint "
                          "(full slots, someone's blocked weeks, qualifications or loads).")
            continue
        text, tie = _trade_off(mechanism, problem, built, base, base_rows, base_value, forced, i, v, starts, run.parameters)
        outcomes.append("tie" if tie else "worse")
        points.append(f"{head}: {text}.")
    for head in closed[: max(0, MAX_ALTERNATIVES - len(outcomes))]:
        points.append(f"{head} has no open seat in a rotation you serve.")

    if mechanism == "vcg":
        points.append(_vcg_payment_point(run=run, external_id=assignment.faculty.external_id))
    goal = GOALS.get(mechanism, "its best objective")
    if rank == 1 and listed and choices.preference_type != "binary":
        summary = f"This week is your first choice, and {label} kept it in the schedule with {goal}."
    elif not any(v not in held for v in _better(problem, i, w)):
        summary = f"This week is {choice}, and {label} kept it in the schedule with {goal}."
    elif "tie" in outcomes:
        summary = (
            f"{label} chooses the schedule with {goal} for everyone together. This week is {choice}; some of the "
            f"{higher} would have been just as good for the group, and the solver's tie-break picked this one."
        )
    else:
        summary = (
            f"{label} chooses the schedule with {goal} for everyone together. This week is {choice}; giving you "
            f"one of the {higher} would cost the group more."
        )
    return {"summary": summary, "points": [p for p in points if p]}


def _num(x: float) -> str:
    return f"{round(x, 2):g}"


def _trade_off(
    mechanism: str, problem: Problem, built: YearProblem, base: Allocation, base_rows: np.ndarray, base_value: float,
    forced: Allocation, i: int, v: int, starts: Mapping[int, dt.date], parameters: Mapping[str, Any],
) -> tuple[str, bool]:
    rows = np.asarray(forced.assignments, dtype=np.int64).reshape(-1, 3)
    before = {tuple(x) for x in base_rows[:, :2].tolist()}
    after = {tuple(x) for x in rows[:, :2].tolist()}
    displaced = sorted({k for k, u in before - after if u == v and k != i})
    changed = {k for k, _ in before ^ after if k != i}
    lost = sorted(u for k, u in before - after if k == i)
    names = _names([int(built.faculty_ids[k]) for k in displaced])
    parts = []
    if displaced:
        parts.append("it would displace " + _join([names.get(int(built.faculty_ids[k]), "a colleague") for k in displaced]))
    others = len(changed - set(displaced))
    if others:
        parts.append(f"{others} other colleague{'s’' if others > 1 else '’s'} weeks would change")
    if 0 < len(lost) <= 2:
        parts.append("you would give up " + _join([week_text(starts[int(built.week_ids[u])]) for u in lost]))
    elif lost:
        parts.append(f"{len(lost)} of your other weeks would move")
    after_value = _measure(mechanism, problem, forced, parameters)
    unfilled = int(forced.unassigned.sum()) - int(base.unassigned.sum())
    tie = abs(after_value - base_value) < 1e-9 and unfilled <= 0
    phrase = _measure_phrase(mechanism, base_value, after_value, parameters)
    if tie:
        phrase += " — an equally good schedule, so the choice between them was a tie"
    if forced.status != OPTIMAL and mechanism != "rsd":
        phrase += " (the solver stopped at its time limit, so the true cost may be lower)"
    parts.append(phrase)
    if unfilled > 0:
        parts.append(f"{unfilled} more week{'s' if unfilled > 1 else ''} of demand would go unfilled")
    return "; ".join(parts), tie


def _vcg_payment_point(*, run: AllocationRun, external_id: str) -> str:
    row = next((p for p in (run.details or {}).get("payments") or [] if p.get("faculty") == external_id), None)
    if row is None:
        return ""
    payment = row["vcg_payment"]
    # Faculty pay nothing: the VCG "payment" is read as what their weeks cost the colleagues, in value points.
    text = (
        f"Nobody pays anything: VCG only scores what your weeks cost your colleagues, {_num(payment)} points on the "
        f"0–100 value scale (the value they could have had without you, {_num(row['others_welfare_without'])}, minus "
        f"what they get in this schedule, {_num(row['others_welfare_with'])})"
    )
    return text + ("; 0 means your weeks kept nobody from a week they valued more." if payment == 0 else ".")
