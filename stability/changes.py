"""The one way a published schedule changes: audited swaps (DESIGN §3, §9).

Every executed swap — a confirmed swap request, a trading cycle, a recommended swap a coordinator applies — goes
through `schedule_swaps_apply`, which locks the schedule row, checks each exchange is still feasible on the current
assignments, rewrites the rows with the audited save, and appends one ScheduleChange with the rows before and after
and the nash_distance before and after.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction

from allocation.models import Assignment, Schedule
from stability.algorithms.swaps import apply_swap, swap_analysis, swap_gains
from stability.algorithms.types import SwapProblem
from stability.models import ScheduleChange
from stability.selectors import schedule_problem


def _row(a: Assignment) -> dict:
    return {"assignment": a.pk, "faculty": a.faculty_id, "week": a.week_id, "rotation": a.rotation_id}


@transaction.atomic
def schedule_swaps_apply(
    *,
    schedule: Schedule,
    pairs: Sequence[tuple[int, int]],
    actor,
    kind: str = ScheduleChange.Kind.SWAP,
    reason: str = "",
    require_gain: bool = False,
) -> ScheduleChange:
    """Execute exchanges (assignment id a, assignment id b), in order, as one audited change.

    Each pair must be a feasible swap on the schedule as it stands after the earlier pairs (different faculty,
    each eligible for the other's slot, no week held twice, neither pre-assigned). With require_gain, both holders
    must also strictly gain (a blocking swap). A pair that fails raises ValidationError naming it, and nothing
    changes. Cycles of length k are given as k−1 consecutive pairs (a0, a1), (a1, a2), …: a0's holder ends with
    a1's slot, …, the last with a0's. A cycle's intermediate states need not be feasible (someone briefly holds a
    slot they could not serve), so for kind TRADING_CYCLE only the end state is checked: every moved holder
    eligible for their new slot, no week held twice, nothing pre-assigned moved, and with require_gain every
    moved holder strictly better off.
    """
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    if not pairs:
        raise ValidationError({"pairs": "Give at least one pair of assignments to swap."})
    built = schedule_problem(schedule=schedule)
    problem = built.problem
    distance_before = swap_analysis(problem).nash_distance
    rows = problem.assignments
    touched: dict[int, Assignment] = {
        a.pk: a
        for a in Assignment.objects.select_for_update().filter(
            schedule=schedule, pk__in={pk for pair in pairs for pk in pair}
        )
    }
    before = [_row(touched[pk]) for pk in sorted(touched)]
    for position, (a_id, b_id) in enumerate(pairs):
        a, b = built.assignment_index(a_id), built.assignment_index(b_id)
        if a is None or b is None or a_id not in touched or b_id not in touched:
            raise ValidationError({"pairs": f"Pair {position + 1}: both assignments must belong to {schedule}."})
        if kind == ScheduleChange.Kind.TRADING_CYCLE:
            rows = apply_swap(rows, a, b)  # checked as a whole below
            continue
        current = _with_rows(problem, rows)
        feasible, gain_a, gain_b = swap_gains(current, a, b)
        if not feasible:
            breach = _side_breach(current, rows, apply_swap(rows, a, b), [a, b])
            raise ValidationError({"pairs": f"Pair {position + 1}: {breach}" if breach else
                                   f"Pair {position + 1} is no longer a feasible swap on the current schedule."})
        if require_gain and not (gain_a > 1e-9 and gain_b > 1e-9):
            raise ValidationError({"pairs": f"Pair {position + 1} no longer benefits both faculty members."})
        rows = apply_swap(rows, a, b)
    if kind == ScheduleChange.Kind.TRADING_CYCLE:
        _cycle_end_state_check(problem, rows, [built.assignment_index(pk) for pk in touched], require_gain=require_gain)
    for pk, assignment in touched.items():
        i, w, r = rows[built.assignment_index(pk)].tolist()
        assignment.week_id = int(built.week_ids[w])
        assignment.rotation_id = int(built.rotation_ids[r])
        assignment.rank = int(built.rank[i, w])
        assignment.utility = float(problem.utility[i, w])
        assignment.save(_audited=True, update_fields=["week", "rotation", "rank", "utility"])
    distance_after = swap_analysis(_with_rows(problem, rows)).nash_distance
    return ScheduleChange.objects.create(
        schedule=schedule,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        reason=reason[:300],
        before=before,
        after=[_row(touched[pk]) for pk in sorted(touched)],
        nash_distance_before=distance_before,
        nash_distance_after=distance_after,
    )


def _with_rows(problem: SwapProblem, rows: np.ndarray) -> SwapProblem:
    return dataclasses.replace(problem, assignments=rows)


def _cycle_end_state_check(problem: SwapProblem, rows: np.ndarray, moved: list[int], *, require_gain: bool) -> None:
    """A trading cycle's end state is feasible: each moved holder may serve their new slot, holds no week twice,
    nothing pre-assigned moved (and, with require_gain, each moved holder strictly gains)."""
    start = problem.assignments
    locked = problem.locked if problem.locked is not None else np.zeros(len(start), dtype=bool)
    for k in moved:
        i, w, r = rows[k].tolist()
        if (w, r) != tuple(start[k, 1:].tolist()) and locked[k]:
            raise ValidationError({"pairs": "The trading cycle would move a pre-assigned week."})
        if not problem.eligible[i, w, r]:
            raise ValidationError({"pairs": "The trading cycle is no longer feasible: someone would get a slot they cannot serve."})
        if require_gain and not problem.utility[i, w] - problem.utility[i, start[k, 1]] > 1e-9:
            raise ValidationError({"pairs": "The trading cycle no longer benefits every member."})
    if len(np.unique(rows[:, :2], axis=0)) != len(rows):
        raise ValidationError({"pairs": "The trading cycle is no longer feasible: someone would serve two slots in one week."})
    breach = _side_breach(problem, start, rows, moved)
    if breach:
        raise ValidationError({"pairs": breach})


def _side_breach(problem: SwapProblem, start: np.ndarray, rows: np.ndarray, moved: list[int]) -> str:
    """The side constraint of the schedule's run that the end state would newly break, in words ('' if none)."""
    if problem.max_holidays is None and not problem.no_back_to_back:
        return ""
    n, n_weeks = problem.eligible.shape[:2]
    before, after = np.zeros((n, n_weeks), dtype=bool), np.zeros((n, n_weeks), dtype=bool)
    before[start[:, 0], start[:, 1]] = True
    after[rows[:, 0], rows[:, 1]] = True
    movers = np.unique(rows[moved, 0])
    if problem.max_holidays is not None:
        holiday = np.asarray(problem.is_holiday, dtype=bool)
        was, now = before[movers][:, holiday].sum(axis=1), after[movers][:, holiday].sum(axis=1)
        if ((now > problem.max_holidays) & (now > was)).any():
            return (f"The exchange would give someone more than {problem.max_holidays} holiday "
                    f"week{'s' if problem.max_holidays != 1 else ''}, the cap of the run that made this schedule.")
    if problem.no_back_to_back:
        held, new = after[movers], after[movers] & ~before[movers]
        if ((held[:, 1:] & held[:, :-1]) & (new[:, 1:] | new[:, :-1])).any():
            return "The exchange would have someone serve two weeks in a row, which this schedule's run forbids."
    return ""
