"""Time off (DESIGN §4): record, change and delete a faculty member's periods away, checked in one place.

A period must end on or after its start, lie inside the academic year, and not overlap the same faculty member's
other time off that year; faculty record only their own. Every refusal is a ValidationError naming the field and
nothing is stored. A change sends `preferences_changed`: the weeks it blocks change the year's inputs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction

from gtsched_site.signals import send_on_commit
from gtsched_site.validation import FieldErrors
from preferences.algorithms import factors as fx
from preferences.models import AcademicYear, Faculty, TimeOff
from preferences.signals import preferences_changed

KINDS = tuple(TimeOff.Kind.values)


def _day(value: dt.date) -> str:
    return f"{value:%a} {value.day} {value:%b %Y}"


def time_off_check_actor(*, actor, faculty: Faculty) -> None:
    """Faculty record only their own time off; coordinators (staff) and scripts (no actor) anyone's."""
    if actor is None or actor.is_staff:
        return
    if getattr(actor, "faculty", None) is None or actor.faculty.pk != faculty.pk:
        raise ValidationError({"faculty": "You can only record your own time off."})


def time_off_validate(
    *, faculty: Faculty, year: AcademicYear, start: Any, end: Any, kind: Any, note: Any = "",
    exclude: TimeOff | None = None, also: list[tuple[dt.date, dt.date]] = (),
) -> dict[str, Any]:
    """The period's fields checked and normalised; raises ValidationError({field: [messages]}).

    `also` lists other periods of the same faculty member not stored yet (an import's earlier rows)."""
    errors = FieldErrors()
    start = _date(start, "start", errors)
    end = _date(end, "end", errors)
    if kind not in KINDS:
        errors.add("kind", f"{kind!r} is not a kind of time off; use {', '.join(KINDS)}.")
    note = "" if note is None else note
    if not isinstance(note, str) or len(note) > 200:
        errors.add("note", "The note must be text of at most 200 characters.")
    if start and end:
        first, last = year.first_monday, year.last_day
        if end < start:
            errors.add("end", f"The last day ({_day(end)}) is before the first day ({_day(start)}).")
        else:
            if start < first or start > last:
                errors.add("start", f"{_day(start)} is outside academic year {year} ({_day(first)} to {_day(last)}).")
            if end > last or end < first:
                errors.add("end", f"{_day(end)} is outside academic year {year} ({_day(first)} to {_day(last)}).")
            others = TimeOff.objects.filter(faculty=faculty, year=year, start__lte=end, end__gte=start)
            if exclude is not None and exclude.pk:
                others = others.exclude(pk=exclude.pk)
            clash = others.order_by("start").first()
            if clash is not None:
                errors.add("start", f"It overlaps your {clash.get_kind_display().lower()} from {_day(clash.start)} "
                                    f"to {_day(clash.end)}; change or delete that one first.")
            else:
                for a, b in also:
                    if a <= end and b >= start:
                        errors.add("start", f"It overlaps another period of the same person, {_day(a)} to {_day(b)}.")
                        break
    errors.raise_if_any()
    return {"start": start, "end": end, "kind": kind, "note": note.strip()}


def _date(value: Any, field: str, errors: FieldErrors) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    errors.add(field, f"{value!r} is not a date; write it as YYYY-MM-DD." if value not in (None, "") else "This field is required.")
    return None


@transaction.atomic
def time_off_create(
    *, faculty: Faculty, year: AcademicYear, start: Any, end: Any, kind: Any, note: Any = "", actor=None,
) -> TimeOff:
    time_off_check_actor(actor=actor, faculty=faculty)
    Faculty.objects.select_for_update().filter(pk=faculty.pk).first()  # serialise the overlap check per faculty
    clean = time_off_validate(faculty=faculty, year=year, start=start, end=end, kind=kind, note=note)
    row = TimeOff.objects.create(faculty=faculty, year=year, **clean)
    send_on_commit(preferences_changed, sender=TimeOff, year_id=year.pk, faculty_id=faculty.pk)
    return row


@transaction.atomic
def time_off_update(*, time_off: TimeOff, actor=None, **fields: Any) -> TimeOff:
    time_off_check_actor(actor=actor, faculty=time_off.faculty)
    Faculty.objects.select_for_update().filter(pk=time_off.faculty_id).first()
    current = {"start": time_off.start, "end": time_off.end, "kind": time_off.kind, "note": time_off.note}
    clean = time_off_validate(faculty=time_off.faculty, year=time_off.year, exclude=time_off, **{**current, **fields})
    for key, value in clean.items():
        setattr(time_off, key, value)
    time_off.save()
    send_on_commit(preferences_changed, sender=TimeOff, year_id=time_off.year_id, faculty_id=time_off.faculty_id)
    return time_off


@transaction.atomic
def time_off_delete(*, time_off: TimeOff, actor=None) -> None:
    time_off_check_actor(actor=actor, faculty=time_off.faculty)
    year_id, faculty_id = time_off.year_id, time_off.faculty_id
    time_off.delete()
    send_on_commit(preferences_changed, sender=TimeOff, year_id=year_id, faculty_id=faculty_id)


# --- the year's time off as the utility model reads it ------------------------------------------------------------


@dataclass(frozen=True)
class YearTimeOff:
    """Time off over a year's (faculty, week) grid: which weeks it blocks, and the proximity factor (DESIGN §4)."""

    unavailable: np.ndarray  # (n, W) bool
    proximity: np.ndarray  # (n, W) in [0, 1]; 0.5 for faculty without time off


def year_time_off(*, year: AcademicYear, faculty_ids: list[int], week_starts: list[dt.date]) -> YearTimeOff:
    position = {pk: i for i, pk in enumerate(faculty_ids)}
    rows = [
        (position[f], a.toordinal(), b.toordinal())
        for f, a, b in TimeOff.objects.filter(year=year, faculty_id__in=faculty_ids).values_list("faculty_id", "start", "end")
    ]
    owner, start, end = (np.array(col, dtype=np.int64) for col in zip(*rows, strict=True)) if rows else (np.zeros(0, dtype=np.int64),) * 3
    days = np.array([d.toordinal() for d in week_starts], dtype=np.int64)
    n = len(faculty_ids)
    overlap = fx.time_off_overlap(days, owner=owner, start=start, end=end, n=n)
    distance = fx.time_off_distance(days, owner=owner, start=start, end=end, n=n)
    return YearTimeOff(unavailable=overlap, proximity=fx.time_off_proximity(distance))
