"""What one faculty member's utility for an assigned week is made of, in plain words (DESIGN §4, the "why" page):
"60 % your ranking, 20 % your workload, 10 % your conference on 14 Sep, 10 % your swap history"."""

from __future__ import annotations

from typing import Any

from allocation.history import swap_history
from allocation.models import Assignment
from allocation.problem import schedule_problem
from preferences.algorithms.utility import FACTORS
from preferences.models import TimeOff
from preferences.services import submissions_current

PREFERENCE_WORDS = {"ordinal": "your ranking", "cardinal": "your values", "binary": "your accept / reject"}


def _percent(weight: float) -> str:
    return f"{round(100 * weight):d} %"


def utility_breakdown(*, assignment: Assignment) -> dict[str, Any] | None:
    """{"utility", "sentence", "factors": [{"factor", "weight", "score", "contribution", "words", "detail"}]}, or
    None when the holder is not part of the year's current inputs."""
    schedule = assignment.schedule
    built = schedule_problem(schedule=schedule)
    i, w = _position(built.faculty_ids, assignment.faculty_id), _position(built.week_ids, assignment.week_id)
    if i is None or w is None or built.model is None:
        return None
    model = built.model
    week = assignment.week
    words = _words(assignment, built, i)
    factors = []
    for name in FACTORS:
        score = float(model.score[i, w] if name == "preference" else model.factors[name][i, w])
        weight = float(model.weights[name])
        title, detail = words[name](week) if callable(words[name]) else words[name]
        factors.append({"factor": name, "weight": weight, "score": score, "contribution": weight * score,
                        "words": title, "detail": detail})
    shown = [f for f in factors if f["weight"] > 0]
    return {
        "utility": float(model.utility[i, w]),
        "sentence": ", ".join(f"{_percent(f['weight'])} {f['words']}" for f in shown) + ".",
        "factors": shown,
    }


def _position(ids, pk: int) -> int | None:
    hits = [k for k, v in enumerate(ids.tolist()) if v == pk]
    return hits[0] if hits else None


def _words(assignment: Assignment, built, i: int) -> dict[str, Any]:
    year = assignment.schedule.year
    faculty_id = assignment.faculty_id
    submission = submissions_current(year=year).get(faculty_id)
    preference = (PREFERENCE_WORDS[submission.preference_type], "how much you wanted this week") if submission else (
        "your preferences", "none submitted, so every week you did not block counts as neutral (0.5)")
    loads = built.problem.assignments[:, 0]
    load = int((loads == i).sum())
    mean = len(loads) / max(1, len(built.faculty_ids))
    workload = ("your workload", f"{load} week{'s' if load != 1 else ''} in this schedule against a mean of {mean:.1f}")

    def time_off(week) -> tuple[str, str]:
        periods = list(TimeOff.objects.filter(year=year, faculty_id=faculty_id))
        if not periods:
            return "time off", "none recorded, so it scores neutral (0.5)"
        nearest = min(periods, key=lambda t: max(t.start - week.start_date, week.start_date - t.end).days)
        days = max(0, max((nearest.start - week.start_date).days, (week.start_date - nearest.end).days))
        return (f"your {nearest.get_kind_display().lower()} on {nearest.start.day} {nearest.start:%b}",
                f"{days} day{'s' if days != 1 else ''} from this week's start")

    def swaps(week) -> tuple[str, str]:
        history = swap_history(year=year, faculty_ids=built.faculty_ids[i: i + 1])
        number = week.start_date.isocalendar().week
        held, out = history.held[faculty_id, number], history.swapped_out[faculty_id, number]
        if not held:
            return "your swap history", f"you never held calendar week {number} in an earlier year (neutral, 0.5)"
        return "your swap history", f"calendar week {number}: held {held} time{'s' if held != 1 else ''} in earlier years, swapped away {out}"

    return {"preference": preference, "workload_balance": workload, "time_off_proximity": time_off, "swap_out_rate": swaps}
