"""Pre-assignments: (faculty, week, rotation) fixed by a coordinator before runs, each with a recorded reason."""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from allocation.models import PreAssignment
from gtsched_site.permissions import user_or_none
from preferences.models import AcademicYear, CoverageDemand, Faculty, Rotation, Week
from preferences.services import spread_demand, submissions_current

logger = logging.getLogger(__name__)


def preassignment_validate(
    *, year: AcademicYear, faculty: Faculty, week: Week, rotation: Rotation, reason: str, exclude_pk: int | None = None,
) -> str:
    """Every check preassignment_add makes, without writing; returns the cleaned reason."""
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if not reason:
        errors.setdefault("reason", []).append("Give the reason for this pre-assignment; it is kept for the record.")
    elif len(reason) > PreAssignment._meta.get_field("reason").max_length:
        errors.setdefault("reason", []).append("Keep the reason under 300 characters.")
    if week.year_id != year.pk:
        errors.setdefault("week", []).append(f"Week {week.start_date} belongs to academic year {week.year}, not {year}.")
    if not year.faculty_queryset().filter(pk=faculty.pk).exists():
        errors.setdefault("faculty", []).append(f"{faculty} is not an active faculty member of academic year {year}.")
    if not faculty.rotations.filter(pk=rotation.pk).exists():
        errors.setdefault("rotation", []).append(f"{faculty} is not qualified for {rotation}; choose a rotation they serve.")
    if errors:
        raise ValidationError(errors)
    others = PreAssignment.objects.filter(year=year).exclude(pk=exclude_pk)
    if year.blocked_is_hard and _blocks(year=year, faculty=faculty, week=week):
        errors.setdefault("week", []).append(
            f"{faculty} blocked the week of {week.start_date:%d %b %Y} in their preferences; choose another week."
        )
    if others.filter(faculty=faculty, week=week).exists():
        errors.setdefault("week", []).append(
            f"{faculty} is already pre-assigned in the week of {week.start_date:%d %b %Y}; nobody serves two slots in one week."
        )
    seats = slot_capacity(year=year, week=week, rotation=rotation)
    taken = others.filter(week=week, rotation=rotation).count()
    if taken >= seats:
        errors.setdefault("rotation", []).append(
            f"The {rotation} slot in the week of {week.start_date:%d %b %Y} holds {seats} and "
            f"{'is already full of pre-assignments' if seats else 'needs nobody that week'}."
        )
    if others.filter(faculty=faculty).count() >= faculty.target_load:
        errors.setdefault("faculty", []).append(
            f"{faculty} already has {faculty.target_load} pre-assigned weeks, their whole target load."
        )
    if errors:
        raise ValidationError(errors)
    return reason


def _blocks(*, year: AcademicYear, faculty: Faculty, week: Week) -> bool:
    submission = submissions_current(year=year).get(faculty.pk)
    if submission is None:
        return False
    if week.index in submission.blocked_weeks:
        return True
    return any(e.get("week") == week.index and e.get("accept") is False for e in submission.entries)


def slot_capacity(*, year: AcademicYear, week: Week, rotation: Rotation) -> int:
    """Seats of a (week, rotation) slot: its coverage demand, or the even spread when the year gives none (DESIGN §5)."""
    demands = CoverageDemand.objects.filter(week__year=year)
    if demands.exists():
        return int(demands.filter(week=week, rotation=rotation).values_list("count", flat=True).first() or 0)
    weeks = list(year.weeks.order_by("index").values_list("pk", flat=True))
    rotations = list(Rotation.objects.order_by("name").values_list("pk", flat=True))
    total = year.faculty_queryset().aggregate(total=Sum("target_load"))["total"] or 0
    spread = spread_demand(int(total), len(weeks), len(rotations))
    return int(spread[weeks.index(week.pk), rotations.index(rotation.pk)])


@transaction.atomic
def preassignment_add(
    *, year: AcademicYear, faculty: Faculty, week: Week, rotation: Rotation, reason: str, actor,
) -> PreAssignment:
    """Fix (faculty, week, rotation) before runs, with a recorded reason; refused with field-named errors."""
    AcademicYear.objects.select_for_update().filter(pk=year.pk).first()  # serialise capacity checks per year
    reason = preassignment_validate(year=year, faculty=faculty, week=week, rotation=rotation, reason=reason)
    return PreAssignment.objects.create(
        year=year, faculty=faculty, week=week, rotation=rotation, reason=reason, created_by=user_or_none(actor),
    )


@transaction.atomic
def preassignment_remove(*, preassignment: PreAssignment, actor) -> None:
    """Drop a pre-assignment; runs started afterwards no longer honour it."""
    logger.info("Pre-assignment %s removed by %s", preassignment.pk, getattr(actor, "username", actor))
    preassignment.delete()
