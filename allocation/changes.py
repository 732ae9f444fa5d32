"""The one way a schedule's assignments change after it was made: audited exchanges (DESIGN §2, §3, §9).

Every executed swap — a confirmed swap request, a trading cycle, a recommended swap a coordinator applies, and
later an auction settlement — goes through `schedule_swaps_apply` (a published schedule) or
`schedule_draft_swap_apply` (a draft edited before publication). Each locks the schedule row, checks every
exchange is still feasible on the current assignments (`allocation.algorithms.exchange`), rewrites the rows
(with the audited save on a published schedule), appends one ScheduleChange with the rows before and after, and
once the transaction commits sends `schedule_changed`, so the apps above (stability reports, the swap market)
react in their receivers. A caller that measures the schedule (the stability analysis's nash_distance) passes
`measure`, and the change records the measure before and after.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction

from allocation.algorithms.exchange import EPSILON, SwapProblem, apply_swap, cycle_breach, side_breach, swap_gains
from allocation.models import Assignment, Schedule, ScheduleChange
from allocation.problem import ScheduleProblem, schedule_problem
from allocation.signals import schedule_changed, send_on_commit
from gtsched_site.permissions import user_or_none

Measure = Callable[[SwapProblem], float]


def _row(a: Assignment) -> dict[str, int]:
    return {"assignment": a.pk, "faculty": a.faculty_id, "week": a.week_id, "rotation": a.rotation_id}


def _with_rows(problem: SwapProblem, rows: np.ndarray) -> SwapProblem:
    return dataclasses.replace(problem, assignments=rows)


@transaction.atomic
def schedule_swaps_apply(
    *,
    schedule: Schedule,
    pairs: Sequence[tuple[int, int]],
    actor,
    kind: str = ScheduleChange.Kind.SWAP,
    reason: str = "",
    require_gain: bool = False,
    measure: Measure | None = None,
) -> ScheduleChange:
    """Execute exchanges (assignment id a, assignment id b) on a published schedule, in order, as one audited change.

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
    rows = problem.assignments
    touched = _lock_rows(schedule, {pk for pair in pairs for pk in pair})
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
            breach = side_breach(current, rows, apply_swap(rows, a, b), [a, b])
            raise ValidationError({"pairs": f"Pair {position + 1}: {breach}" if breach else
                                   f"Pair {position + 1} is no longer a feasible swap on the current schedule."})
        if require_gain and not (gain_a > EPSILON and gain_b > EPSILON):
            raise ValidationError({"pairs": f"Pair {position + 1} no longer benefits both faculty members."})
        rows = apply_swap(rows, a, b)
    if kind == ScheduleChange.Kind.TRADING_CYCLE:
        moved = [built.assignment_index(pk) for pk in touched]
        if breach := cycle_breach(problem, rows, moved, require_gain=require_gain):
            raise ValidationError({"pairs": breach})
    return _record(schedule=schedule, built=built, rows=rows, touched=touched, before=before, actor=actor, kind=kind,
                   reason=reason, measure=measure, audited=True)


@transaction.atomic
def schedule_draft_swap_apply(
    *, schedule: Schedule, assignment_a: int, assignment_b: int, actor, kind: str, reason: str,
    require_gain: bool = True, measure: Measure | None = None,
) -> ScheduleChange:
    """One exchange on a draft schedule, a plain edit before publication that still leaves a ScheduleChange.
    Refused, changing nothing, when the swap is no longer feasible (or, with require_gain, no longer helps both)."""
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    built = schedule_problem(schedule=schedule)
    a, b = built.assignment_index(assignment_a), built.assignment_index(assignment_b)
    if a is None or b is None:
        raise ValidationError({"pairs": f"Both assignments must belong to “{schedule.name}”."})
    feasible, gain_a, gain_b = swap_gains(built.problem, a, b)
    if not feasible:
        raise ValidationError({"pairs": "This swap is no longer feasible on the current schedule."})
    if require_gain and not (gain_a > EPSILON and gain_b > EPSILON):
        raise ValidationError({"pairs": "This swap no longer benefits both faculty members."})
    rows = apply_swap(built.problem.assignments, a, b)
    touched = _lock_rows(schedule, {assignment_a, assignment_b})
    before = [_row(touched[pk]) for pk in sorted(touched)]
    return _record(schedule=schedule, built=built, rows=rows, touched=touched, before=before, actor=actor, kind=kind,
                   reason=reason, measure=measure, audited=False)


def _lock_rows(schedule: Schedule, pks: set[int]) -> dict[int, Assignment]:
    return {a.pk: a for a in Assignment.objects.select_for_update().filter(schedule=schedule, pk__in=pks)}


def _record(*, schedule: Schedule, built: ScheduleProblem, rows: np.ndarray, touched: dict[int, Assignment],
            before: list[dict[str, int]], actor, kind: str, reason: str, measure: Measure | None,
            audited: bool) -> ScheduleChange:
    """Rewrite the touched rows to `rows`, append the ScheduleChange, and signal it once committed."""
    problem = built.problem
    distance_before = measure(problem) if measure else None
    for pk, assignment in touched.items():
        i, w, r = rows[built.assignment_index(pk)].tolist()
        assignment.week_id = int(built.week_ids[w])
        assignment.rotation_id = int(built.rotation_ids[r])
        assignment.rank = int(built.rank[i, w])
        assignment.utility = float(built.base_utility[i, w])
    for assignment in touched.values():  # no unique clash: a feasible exchange never gives anyone a week they hold
        if audited:
            assignment.save(_audited=True, update_fields=["week", "rotation", "rank", "utility"])
        else:
            assignment.save(update_fields=["week", "rotation", "rank", "utility"])
    distance_after = measure(_with_rows(problem, rows)) if measure else None
    change = ScheduleChange.objects.create(
        schedule=schedule,
        kind=kind,
        actor=user_or_none(actor),
        reason=reason[:300],
        before=before,
        after=[_row(touched[pk]) for pk in sorted(touched)],
        nash_distance_before=distance_before,
        nash_distance_after=distance_after,
    )
    send_on_commit(schedule_changed, sender=ScheduleChange, change=change,
                   published=schedule.status == Schedule.Status.PUBLISHED)
    return change
