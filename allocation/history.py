"""Two utility factors only allocation can see (DESIGN §4): the historical swap-out rate, from the executed swaps of
earlier years' published schedules, and the workload balance of a schedule being analysed.

Preferences builds the utility model without them (0.5, "no data"); allocation counts the history here and hands
the arrays back to preferences' pure `with_factors`, so the dependency keeps pointing down.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from allocation.models import Assignment, Schedule, ScheduleChange
from preferences.algorithms import factors as fx
from preferences.algorithms import utility as um
from preferences.models import AcademicYear, Week

# The audited changes that are swaps a faculty member chose (an auction settlement moves a slot, not a swap).
SWAP_KINDS = (ScheduleChange.Kind.SWAP, ScheduleChange.Kind.TRADING_CYCLE, ScheduleChange.Kind.RECOMMENDED)


@dataclass(frozen=True)
class SwapHistory:
    """Per faculty and ISO week number, over the published schedules of earlier years: how often the faculty member
    held a week of that number (including the times they swapped it away) and how often they swapped out of one."""

    held: Counter  # (faculty_id, iso_week) -> times held
    swapped_out: Counter  # (faculty_id, iso_week) -> executed swaps out

    def arrays(self, faculty_ids: np.ndarray, week_starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(held, swapped_out) as (n, W) arrays over a year's faculty and weeks, matched by ISO week number."""
        iso = fx.iso_week_numbers(np.asarray(week_starts, dtype=np.int64)).tolist()
        ids = np.asarray(faculty_ids).tolist()
        held = np.array([[self.held[f, k] for k in iso] for f in ids], dtype=float).reshape(len(ids), len(iso))
        out = np.array([[self.swapped_out[f, k] for k in iso] for f in ids], dtype=float).reshape(len(ids), len(iso))
        return held, out


def swap_history(*, year: AcademicYear, faculty_ids: np.ndarray) -> SwapHistory:
    """Count, for these faculty, what they held and swapped out of in every published schedule of an earlier year.

    A schedule's holdings are its assignments now plus the slots its executed swaps (changes after publication)
    moved people out of; a swap out is a change row whose assignment ended on another week.
    """
    ids = set(np.asarray(faculty_ids).tolist())
    schedules = list(
        Schedule.objects.filter(year__first_monday__lt=year.first_monday, status=Schedule.Status.PUBLISHED)
        .values_list("pk", "published_at")
    )
    held, swapped = Counter(), Counter()
    if not schedules or not ids:
        return SwapHistory(held=held, swapped_out=swapped)
    holdings: set[tuple[int, int, int]] = set(
        Assignment.objects.filter(schedule_id__in=[pk for pk, _ in schedules], faculty_id__in=ids)
        .values_list("schedule_id", "faculty_id", "week_id")
    )
    outs: list[tuple[int, int]] = []
    published = dict(schedules)
    changes = ScheduleChange.objects.filter(schedule_id__in=list(published), kind__in=SWAP_KINDS).order_by("at", "pk")
    for schedule_id, at, before, after in changes.values_list("schedule_id", "at", "before", "after"):
        if published[schedule_id] is not None and at < published[schedule_id]:
            continue  # a draft edit before publication, not an executed swap
        moved_to = {row["assignment"]: row["week"] for row in after}
        for row in before:
            if row["faculty"] in ids and moved_to.get(row["assignment"], row["week"]) != row["week"]:
                holdings.add((schedule_id, row["faculty"], row["week"]))
                outs.append((row["faculty"], row["week"]))
    weeks = {*(w for _, _, w in holdings), *(w for _, w in outs)}
    starts = dict(Week.objects.filter(pk__in=weeks).values_list("pk", "start_date"))
    week_ids = list(starts)
    iso = dict(zip(week_ids, fx.iso_week_numbers(np.array([starts[w].toordinal() for w in week_ids], dtype=np.int64)).tolist(), strict=True))
    for _, faculty_id, week_id in holdings:
        held[faculty_id, iso[week_id]] += 1
    for faculty_id, week_id in outs:
        swapped[faculty_id, iso[week_id]] += 1
    return SwapHistory(held=held, swapped_out=swapped)


def with_swap_history(*, year: AcademicYear, model: um.UtilityModel, faculty_ids: np.ndarray,
                      week_starts: np.ndarray) -> um.UtilityModel:
    """The model with its swap-out factor from the earlier years' history (0.5 wherever there is none)."""
    history = swap_history(year=year, faculty_ids=faculty_ids)
    if not history.held:
        return model
    held, out = history.arrays(faculty_ids, week_starts)
    return um.with_factors(model, {"swap_out_rate": fx.swap_out_rate(held, out)})


def with_workload(*, model: um.UtilityModel, assignments: np.ndarray) -> um.UtilityModel:
    """The model with the workload balance of the schedule whose (i, w, r) rows are `assignments` (DESIGN §4):
    each faculty member's load is the number of their rows; everyone in the model counts towards the mean."""
    n, n_weeks = model.score.shape
    load = np.bincount(np.asarray(assignments, dtype=np.int64).reshape(-1, 3)[:, 0], minlength=n)[:n]
    balance = fx.workload_balance(load)
    return um.with_factors(model, {"workload_balance": np.broadcast_to(balance[:, None], (n, n_weeks))})
