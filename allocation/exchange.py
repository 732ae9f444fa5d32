"""The whole year file of DESIGN §13, in and out: the schedule section lives here with the schedule, the rest comes
from `preferences.exchange`, and `year_file_import` runs both halves in one transaction.

Stages of an import: the preference half parses the file, the schedule section parses against it, the database
checks run, and only a file without any error is written — the preference half first, then the schedule as a draft.
A preference set refused while writing rolls everything back, so a refused file changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from allocation.models import Assignment, Schedule
from allocation.querysets import current_schedule
from preferences import exchange as preference_file  # the preference half of the year file
from preferences.models import AcademicYear
from preferences.services import SubmissionErrors

SCHEDULE_FIELDS = ("faculty", "week", "rotation")

ScheduleRow = tuple[str, dt.date, str]  # (faculty id, week start, rotation)


@dataclass(frozen=True)
class ImportReport(preference_file.PreferencesImportReport):
    """What an import did: the preference half's counts, then whether the file's schedule became a new draft."""

    schedule_created: bool
    schedule_unchanged: bool
    schedule_id: int | None
    schedule_assignments: int

    @property
    def changed(self) -> bool:
        return super().changed or self.schedule_created


@transaction.atomic
def year_file_import(*, data: Any, actor=None) -> ImportReport:
    """Create or update a whole academic year from a year file, schedule included (DESIGN §13); atomic and idempotent.

    Raises ValidationError({field path: [messages]}) with nothing changed when any section of the file is refused.
    """
    preference_file.year_import_authorise(actor=actor)
    now = timezone.now()
    errors = SubmissionErrors()
    parsed = preference_file.year_file_parse(data, errors, extra_fields=("schedule",))
    rows = schedule_parse(data, parsed, errors)
    stored = preference_file.year_file_check_database(parsed, errors)
    errors.raise_if_any()
    imported = preference_file.year_file_store(parsed, stored, actor=actor, now=now, errors=errors)
    errors.raise_if_any()
    schedule, created = schedule_import(rows, imported, actor=actor, now=now)
    return ImportReport(
        **vars(imported.report),
        schedule_created=created,
        schedule_unchanged=schedule is not None and not created,
        schedule_id=schedule.pk if schedule else None,
        schedule_assignments=len(rows),
    )


def year_file_export(*, year: AcademicYear) -> dict[str, Any]:
    """The year as a whole year file: importing it into an empty database and exporting again gives the same."""
    schedule = schedule_export(year=year)
    out = preference_file.year_export(year=year, also_faculty={a["faculty"] for a in schedule})
    if schedule:
        out["schedule"] = schedule
    return out


def schedule_parse(data: Any, parsed: preference_file.YearFile, errors: SubmissionErrors) -> list[ScheduleRow]:
    """The file's `schedule[i]` rows, checked against its faculty, weeks and rotations; no database access."""
    rows: list[ScheduleRow] = []
    if not isinstance(data, dict):  # the preference half has said so already
        return rows
    taken: dict[tuple[str, dt.date], int] = {}
    for i, path, row in preference_file.section_rows(data, "schedule", errors, required=False, fields=SCHEDULE_FIELDS,
                                     like='like {"faculty": "F001", "week": "2026-07-06", "rotation": "inpatient"}'):
        who = preference_file.faculty_ref(row.get("faculty"), f"{path}.faculty", parsed, errors)
        start = preference_file.week_ref(row.get("week"), f"{path}.week", parsed, errors)
        rotation = preference_file.rotation_ref(row.get("rotation"), f"{path}.rotation", parsed, errors)
        if who is None or start is None or rotation is None:
            continue
        if rotation not in who.rotations:
            errors.add(
                f"{path}.rotation",
                f'{who.external_id} is not qualified for "{rotation}" (qualified for {preference_file.listing(who.rotations)})',
            )
            continue
        if (who.external_id, start) in taken:
            errors.add(path, f"{who.external_id} is already scheduled in week {start} at schedule[{taken[who.external_id, start]}]")
            continue
        taken[who.external_id, start] = i
        rows.append((who.external_id, start, rotation))
    return rows


def schedule_content_hash(rows: Iterable[tuple[str, dt.date | str, str]]) -> str:
    """sha256 of the canonical sorted list of (faculty id, week start, rotation)."""
    canonical = sorted([str(f), str(w), str(r)] for f, w, r in rows)
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


def schedule_import(
    rows: list[ScheduleRow], imported: preference_file.ImportedYear, *, actor, now: dt.datetime
) -> tuple[Schedule | None, bool]:
    """The file's schedule as a draft, unless a schedule of the year already has exactly these assignments."""
    if not rows:
        return None, False
    year = imported.year
    content_hash = schedule_content_hash(rows)
    same = Schedule.objects.filter(year=year, content_hash=content_hash).order_by("-created_at").first()
    if same is not None:
        return same, False
    schedule = Schedule.objects.create(
        year=year, name=f"Imported {timezone.localdate(now)}", status=Schedule.Status.DRAFT,
        source=Schedule.Source.IMPORT, content_hash=content_hash, created_by=actor,
    )
    Assignment.objects.bulk_create(
        Assignment(schedule=schedule, faculty=imported.faculty[f], week=imported.weeks[w], rotation=imported.rotations[r])
        for f, w, r in rows
    )
    return schedule, True


def schedule_export(*, year: AcademicYear) -> list[dict[str, str]]:
    """The year's published schedule, else its newest draft, as `schedule` rows of the year file."""
    schedule = current_schedule(year=year, include_drafts=True)  # the file is a coordinator's
    if schedule is None:
        return []
    rows = schedule.assignments.order_by("week__index", "rotation__name", "faculty__external_id").values_list(
        "faculty__external_id", "week__start_date", "rotation__name"
    )
    return [{"faculty": f, "week": w.isoformat(), "rotation": r} for f, w, r in rows]
