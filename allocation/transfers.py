"""Audited slot transfers on a published schedule (DESIGN §2, §8): one seat of a (week, rotation) slot moves from its
holder — or from the programme's free seat — to another faculty member. Not a swap: nobody gets a seat back. An
auction's settlement after publication calls it; like the swap services in allocation.changes it locks the schedule,
checks the move on the current assignments, rewrites the row with the audited save, appends one ScheduleChange and
sends `schedule_changed` once the transaction commits."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from allocation.models import Assignment, Schedule, ScheduleChange
from allocation.problem import ScheduleProblem, schedule_problem
from allocation.signals import schedule_changed, send_on_commit
from gtsched_site.permissions import user_or_none
from preferences.models import Faculty, Rotation, Week


def _when(week: Week) -> str:
    return f"week {week.index + 1} ({week.start_date:%d %b %Y})"


def _seats(built: ScheduleProblem, week: Week, rotation: Rotation) -> int:
    w = [int(x) for x in built.week_ids].index(week.pk) if week.pk in built.week_ids else None
    r = [int(x) for x in built.rotation_ids].index(rotation.pk) if rotation.pk in built.rotation_ids else None
    if w is None or r is None:
        return 0
    return int(built.problem.capacity[w, r])


def slot_offer_check(*, schedule: Schedule, week: Week, rotation: Rotation, holder: Faculty | None) -> None:
    """Whether one seat of (week, rotation) can change hands on the schedule: the holder serves it, or (no holder)
    the slot has a free seat. A ValidationError naming `holder` or `week` otherwise."""
    taken = Assignment.objects.filter(schedule=schedule, week=week, rotation=rotation)
    if holder is not None:
        if not taken.filter(faculty=holder).exists():
            raise ValidationError({"holder": f"{holder} does not serve {rotation} in {_when(week)} of the published "
                                             "schedule; only the holder of a seat can offer it."})
        return
    seats = _seats(schedule_problem(schedule=schedule), week, rotation)
    if taken.count() >= seats:
        raise ValidationError({"week": f"The {rotation} slot in {_when(week)} has no free seat "
                                       f"({seats} needed, {taken.count()} taken); a holder must offer theirs."})


@transaction.atomic
def schedule_slot_transfer(
    *, schedule: Schedule, week: Week, rotation: Rotation, to_faculty: Faculty, from_faculty: Faculty | None,
    actor, reason: str, kind: str = ScheduleChange.Kind.SETTLEMENT,
) -> ScheduleChange:
    """Give `to_faculty` one seat of (week, rotation) on a published schedule: `from_faculty`'s seat, or a free one
    when from_faculty is None. Refused, changing nothing, when the schedule is not published, the recipient is not
    eligible (not qualified, blocked the week, off the year's roster), already serves that week, the holder does not
    hold the seat, or there is no free seat."""
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    if schedule.status != Schedule.Status.PUBLISHED:
        raise ValidationError({"schedule": f"“{schedule.name}” is not published; before publication a slot is given "
                                           "by a pre-assignment."})
    if week.year_id != schedule.year_id:
        raise ValidationError({"week": f"{week} is not a week of {schedule.year}."})
    built = schedule_problem(schedule=schedule)
    i = next((k for k, pk in enumerate(built.faculty_ids.tolist()) if pk == to_faculty.pk), None)
    w = built.week_ids.tolist().index(week.pk) if week.pk in built.week_ids.tolist() else None
    r = built.rotation_ids.tolist().index(rotation.pk) if rotation.pk in built.rotation_ids.tolist() else None
    if i is None or w is None or r is None:
        raise ValidationError({"faculty": f"{to_faculty} is not an active faculty member of {schedule.year}."})
    if not built.problem.eligible[i, w, r]:
        raise ValidationError({"faculty": f"{to_faculty} cannot serve {rotation} in {_when(week)}: not qualified for "
                                          "it, or they blocked the week."})
    if Assignment.objects.filter(schedule=schedule, faculty=to_faculty, week=week).exists():
        raise ValidationError({"faculty": f"{to_faculty} already serves in {_when(week)}; nobody serves twice in a week."})
    if from_faculty is not None:
        seat = (Assignment.objects.select_for_update()
                .filter(schedule=schedule, faculty=from_faculty, week=week, rotation=rotation).first())
        if seat is None:
            raise ValidationError({"holder": f"{from_faculty} no longer serves {rotation} in {_when(week)}."})
        before = [_row(seat)]
        seat.faculty = to_faculty
    else:
        taken = len(Assignment.objects.select_for_update().filter(schedule=schedule, week=week, rotation=rotation))
        if taken >= int(built.problem.capacity[w, r]):
            raise ValidationError({"week": f"The {rotation} slot in {_when(week)} has no free seat any more."})
        before = []
        seat = Assignment(schedule=schedule, faculty=to_faculty, week=week, rotation=rotation)
    seat.rank = int(built.rank[i, w])
    seat.utility = float(built.base_utility[i, w])
    seat.save(_audited=True)
    change = ScheduleChange.objects.create(
        schedule=schedule, kind=kind, actor=user_or_none(actor), reason=reason[:300], before=before, after=[_row(seat)],
    )
    send_on_commit(schedule_changed, sender=ScheduleChange, change=change, published=True)
    return change


def _row(a: Assignment) -> dict[str, int]:
    return {"assignment": a.pk, "faculty": a.faculty_id, "week": a.week_id, "rotation": a.rotation_id}
