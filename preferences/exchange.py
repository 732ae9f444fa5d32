"""Whole academic years in and out as the JSON year file of DESIGN §13: `year_import`, `year_export`, `wpi_year_file`.

The file is validated as a whole before anything is written; every problem is reported under the path of the
field that causes it (``weeks[3].start``, ``preferences[5].cardinal_valuations[0].value``). Import runs in one
transaction, so a refused file changes nothing, and importing the same file twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email, validate_slug
from django.db import transaction
from django.utils import timezone

from allocation.models import Assignment, Schedule
from preferences.models import AcademicYear, CoverageDemand, Faculty, PreferenceSubmission, Rotation, Week
from preferences.services import (
    ENTRY_FIELDS,
    SubmissionErrors,
    preferences_submit,
    preferences_validate,
    submissions_current,
)

TOP_LEVEL_FIELDS = ("academic_year", "preference_window", "weeks", "rotations", "demand", "faculty", "preferences", "schedule")
REQUIRED_FIELDS = ("academic_year", "weeks", "rotations", "faculty")
WEEK_FIELDS = ("start", "holiday")
DEMAND_FIELDS = ("week", "rotation", "count")
FACULTY_FIELDS = ("id", "name", "email", "rotations", "target_load", "active")
PREFERENCE_FIELDS = ("faculty", "preference_type", "ordinal_rankings", "cardinal_valuations", "binary_accepts", "blocked_weeks")
SCHEDULE_FIELDS = ("faculty", "week", "rotation")
WINDOW_FIELDS = ("opens", "closes")
SMALL_INT_MAX = 32767  # PositiveSmallIntegerField
DEFAULT_WINDOW = dt.timedelta(days=30)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class ImportReport:
    """What an import did: counts of rows created, updated and left unchanged."""

    academic_year: int
    year_created: bool
    year_updated: bool
    weeks: int
    weeks_updated: int
    rotations: int
    rotations_created: int
    demand: int
    demand_changed: int
    faculty_created: int
    faculty_updated: int
    faculty_unchanged: int
    submissions_created: int
    submissions_unchanged: int
    schedule_created: bool
    schedule_unchanged: bool
    schedule_id: int | None
    schedule_assignments: int

    @property
    def changed(self) -> bool:
        return any((
            self.year_created, self.year_updated, self.weeks_updated, self.rotations_created, self.demand_changed,
            self.faculty_created, self.faculty_updated, self.submissions_created, self.schedule_created,
        ))

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "changed": self.changed}


# --- the parsed file ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FacultyRow:
    position: int
    external_id: str
    name: str
    email: str
    rotations: tuple[str, ...]
    target_load: int
    active: bool


@dataclass(frozen=True)
class _PreferenceRow:
    position: int
    faculty: str
    preference_type: str
    entries: list[Any]
    blocked_weeks: list[Any]


@dataclass
class _YearFile:
    label: int | None = None
    window: tuple[dt.datetime, dt.datetime] | None = None
    weeks: list[tuple[dt.date, str]] = field(default_factory=list)
    weeks_ok: bool = False
    rotations: list[str] = field(default_factory=list)
    rotations_ok: bool = False
    demand: dict[tuple[dt.date, str], int] = field(default_factory=dict)
    faculty: list[_FacultyRow] = field(default_factory=list)
    faculty_ids: set[str] = field(default_factory=set)  # every id given, including rows refused for other fields

    @functools.cached_property
    def faculty_by_id(self) -> dict[str, _FacultyRow]:
        return {f.external_id: f for f in self.faculty}
    preferences: list[_PreferenceRow] = field(default_factory=list)
    schedule: list[tuple[str, dt.date, str]] = field(default_factory=list)


def _count(errors: SubmissionErrors) -> int:
    return sum(map(len, errors.errors.values()))


def _is_whole(value: Any, *, low: int = 0, high: int = SMALL_INT_MAX) -> bool:
    return (
        not isinstance(value, bool) and isinstance(value, int | float)
        and float(value).is_integer() and low <= value <= high
    )


def _listing(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names) if names else "none"


def _check_keys(obj: dict, allowed: tuple[str, ...], path: str, errors: SubmissionErrors) -> None:
    for key in obj:
        if key not in allowed:
            errors.add(f"{path}.{key}" if path else str(key), f'unknown field; expected {_listing(allowed)}')


def _object(value: Any, path: str, errors: SubmissionErrors, what: str) -> dict | None:
    if not isinstance(value, dict):
        errors.add(path, f"must be an object {what}, got {json.dumps(value, default=str)[:60]}")
        return None
    return value


def _list(data: dict, key: str, errors: SubmissionErrors, *, required: bool) -> list:
    if key not in data or data[key] is None:
        if required:
            errors.add(key, "is required")
        return []
    if not isinstance(data[key], list):
        errors.add(key, "must be a list")
        return []
    return data[key]


def _date(value: Any, path: str, errors: SubmissionErrors) -> dt.date | None:
    if not isinstance(value, str):
        errors.add(path, f"must be a date string YYYY-MM-DD, got {json.dumps(value, default=str)}")
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        errors.add(path, f'"{value}" is not a date; write it as YYYY-MM-DD')
        return None


def _datetime(value: Any, path: str, errors: SubmissionErrors) -> dt.datetime | None:
    if not isinstance(value, str):
        errors.add(path, "must be an ISO date-time string, e.g. 2026-03-01T00:00:00+00:00")
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        errors.add(path, f'"{value}" is not an ISO date-time, e.g. 2026-03-01T00:00:00+00:00')
        return None
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=dt.UTC)


def _parse(data: Any, errors: SubmissionErrors) -> _YearFile:
    """Check the file's shape and its internal references; no database access."""
    parsed = _YearFile()
    if not isinstance(data, dict):
        errors.add("file", "the year file must be a JSON object with academic_year, weeks, rotations and faculty")
        return parsed
    _check_keys(data, TOP_LEVEL_FIELDS, "", errors)
    for key in REQUIRED_FIELDS:
        if key not in data:
            errors.add(key, "is required")

    label = data.get("academic_year")
    if "academic_year" in data:
        if _is_whole(label, low=1, high=2**31 - 1):
            parsed.label = int(label)
        else:
            errors.add("academic_year", f"must be a whole number such as 2026, got {json.dumps(label, default=str)}")

    _parse_window(data, parsed, errors)
    _parse_weeks(data, parsed, errors)
    _parse_rotations(data, parsed, errors)
    _parse_demand(data, parsed, errors)
    _parse_faculty(data, parsed, errors)
    _parse_preferences(data, parsed, errors)
    _parse_schedule(data, parsed, errors)
    return parsed


def _parse_window(data: dict, parsed: _YearFile, errors: SubmissionErrors) -> None:
    if data.get("preference_window") is None:
        return
    window = _object(data["preference_window"], "preference_window", errors, "with opens and closes")
    if window is None:
        return
    _check_keys(window, WINDOW_FIELDS, "preference_window", errors)
    opens = _datetime(window.get("opens"), "preference_window.opens", errors)
    closes = _datetime(window.get("closes"), "preference_window.closes", errors)
    if opens and closes:
        if closes <= opens:
            errors.add("preference_window.closes", f"must be after opens ({opens.isoformat()})")
        else:
            parsed.window = (opens, closes)


def _parse_weeks(data: dict, parsed: _YearFile, errors: SubmissionErrors) -> None:
    weeks = _list(data, "weeks", errors, required=True)
    if "weeks" in data and isinstance(data["weeks"], list) and not weeks:
        errors.add("weeks", "must list at least one week")
    before = _count(errors)
    anchor: tuple[int, dt.date] | None = None  # the first valid Monday fixes where every other week must start
    for i, raw in enumerate(weeks):
        path = f"weeks[{i}]"
        week = _object(raw, path, errors, 'like {"start": "2026-07-06", "holiday": null}')
        if week is None:
            continue
        _check_keys(week, WEEK_FIELDS, path, errors)
        start = _date(week.get("start"), f"{path}.start", errors)
        holiday = week.get("holiday")
        if holiday is not None and (not isinstance(holiday, str) or len(holiday) > 80):
            errors.add(f"{path}.holiday", "must be null or a holiday name of at most 80 characters")
            holiday = None
        if start is None:
            continue
        if start.weekday() != 0:
            errors.add(f"{path}.start", f'"{start}" is not a Monday (it is a {WEEKDAYS[start.weekday()]})')
        elif anchor is None:
            anchor = (i, start)
        elif start != anchor[1] + dt.timedelta(weeks=i - anchor[0]):
            expected = anchor[1] + dt.timedelta(weeks=i - anchor[0])
            errors.add(
                f"{path}.start",
                f'"{start}" should be {expected}: weeks are consecutive Mondays, one after another from weeks[0]',
            )
        parsed.weeks.append((start, (holiday or "").strip()))
    parsed.weeks_ok = bool(weeks) and _count(errors) == before and len(parsed.weeks) == len(weeks)
    if len(weeks) > SMALL_INT_MAX:
        errors.add("weeks", f"at most {SMALL_INT_MAX} weeks")
        parsed.weeks_ok = False


def _parse_rotations(data: dict, parsed: _YearFile, errors: SubmissionErrors) -> None:
    rotations = _list(data, "rotations", errors, required=True)
    before = _count(errors)
    for i, name in enumerate(rotations):
        path = f"rotations[{i}]"
        try:
            if not isinstance(name, str):
                raise ValidationError("")
            validate_slug(name)
        except ValidationError:
            errors.add(path, f"{json.dumps(name, default=str)} is not a rotation name: use letters, digits, - and _ only")
            continue
        if len(name) > 40:
            errors.add(path, f'"{name}" is longer than 40 characters')
        elif name in parsed.rotations:
            errors.add(path, f'"{name}" is listed more than once')
        else:
            parsed.rotations.append(name)
    parsed.rotations_ok = _count(errors) == before


def _week_ref(value: Any, path: str, parsed: _YearFile, errors: SubmissionErrors) -> dt.date | None:
    start = _date(value, path, errors)
    if start is None or not parsed.weeks_ok:
        return start
    if start not in {w for w, _ in parsed.weeks}:
        first, last = parsed.weeks[0][0], parsed.weeks[-1][0]
        errors.add(path, f'"{start}" is not a week of the file (its weeks start on the Mondays {first} to {last})')
        return None
    return start


def _rotation_ref(value: Any, path: str, parsed: _YearFile, errors: SubmissionErrors) -> str | None:
    if not isinstance(value, str):
        errors.add(path, f"must be a rotation name, got {json.dumps(value, default=str)}")
        return None
    if parsed.rotations_ok and value not in parsed.rotations:
        errors.add(path, f'unknown rotation "{value}" (the file lists {_listing(parsed.rotations)})')
        return None
    return value


def _parse_demand(data: dict, parsed: _YearFile, errors: SubmissionErrors) -> None:
    for i, raw in enumerate(_list(data, "demand", errors, required=False)):
        path = f"demand[{i}]"
        row = _object(raw, path, errors, 'like {"week": "2026-07-06", "rotation": "inpatient", "count": 2}')
        if row is None:
            continue
        _check_keys(row, DEMAND_FIELDS, path, errors)
        start = _week_ref(row.get("week"), f"{path}.week", parsed, errors)
        rotation = _rotation_ref(row.get("rotation"), f"{path}.rotation", parsed, errors)
        count = row.get("count")
        if not _is_whole(count):
            errors.add(f"{path}.count", f"must be a whole number ≥ 0, got {json.dumps(count, default=str)}")
            continue
        if start is None or rotation is None:
            continue
        if (start, rotation) in parsed.demand:
            errors.add(path, f"the slot {start} · {rotation} is listed more than once")
            continue
        parsed.demand[start, rotation] = int(count)


def _parse_faculty(data: dict, parsed: _YearFile, errors: SubmissionErrors) -> None:
    usernames: dict[str, str] = {}
    for i, raw in enumerate(_list(data, "faculty", errors, required=True)):
        path = f"faculty[{i}]"
        row = _object(raw, path, errors, 'like {"id": "F001", "name": "Dr. A", "email": ..., "rotations": [...], "target_load": 4}')
        if row is None:
            continue
        _check_keys(row, FACULTY_FIELDS, path, errors)
        before = _count(errors)
        ext = row.get("id")
        if not isinstance(ext, str) or not ext.strip() or len(ext) > 64:
            errors.add(f"{path}.id", "must be a non-empty string of at most 64 characters")
        else:
            try:
                UnicodeUsernameValidator()(ext.lower())
            except ValidationError:
                errors.add(f"{path}.id", f'"{ext}" becomes the login name: use letters, digits and @ . + - _ only')
            if ext.lower() in usernames:
                other = usernames[ext.lower()]
                what = "is listed more than once" if other == ext else f'gives the same login name as "{other}"'
                errors.add(f"{path}.id", f'"{ext}" {what}')
            usernames.setdefault(ext.lower(), ext)
            parsed.faculty_ids.add(ext)
        name = row.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 120:
            errors.add(f"{path}.name", "must be a non-empty name of at most 120 characters")
        email = row.get("email") or ""
        try:
            if not isinstance(email, str):
                raise ValidationError("")
            if email:
                validate_email(email)
        except ValidationError:
            errors.add(f"{path}.email", f"{json.dumps(email, default=str)} is not an email address")
        rotations = row.get("rotations")
        if rotations is None:
            rotations = []
        if not isinstance(rotations, list):
            errors.add(f"{path}.rotations", "must be a list of rotation names")
            rotations = []
        for name_ in rotations:
            _rotation_ref(name_, f"{path}.rotations", parsed, errors)
        if len(set(map(str, rotations))) != len(rotations):
            errors.add(f"{path}.rotations", "lists a rotation more than once")
        load = row.get("target_load")
        if not _is_whole(load):
            errors.add(f"{path}.target_load", f"must be a whole number of weeks ≥ 0, got {json.dumps(load, default=str)}")
        active = row.get("active", True)
        if not isinstance(active, bool):
            errors.add(f"{path}.active", "must be true or false")
        if _count(errors) == before:
            parsed.faculty.append(_FacultyRow(
                position=i, external_id=ext, name=name.strip(), email=email, rotations=tuple(rotations),
                target_load=int(load), active=active,
            ))


def _faculty_ref(value: Any, path: str, parsed: _YearFile, errors: SubmissionErrors) -> _FacultyRow | None:
    """The faculty row an id refers to; None, without a second message, when that row has errors of its own."""
    if isinstance(value, str) and value in parsed.faculty_ids:
        return parsed.faculty_by_id.get(value)
    errors.add(path, f"unknown faculty id {json.dumps(value, default=str)}; it must be one of the file's faculty ids")
    return None


def _parse_preferences(data: dict, parsed: _YearFile, errors: SubmissionErrors) -> None:
    seen: dict[str, int] = {}
    for i, raw in enumerate(_list(data, "preferences", errors, required=False)):
        path = f"preferences[{i}]"
        row = _object(raw, path, errors, "with faculty, preference_type, the list of that type and blocked_weeks")
        if row is None:
            continue
        _check_keys(row, PREFERENCE_FIELDS, path, errors)
        before = _count(errors)
        who = _faculty_ref(row.get("faculty"), f"{path}.faculty", parsed, errors)
        if who is not None and who.external_id in seen:
            errors.add(f"{path}.faculty", f'"{who.external_id}" already has preferences at preferences[{seen[who.external_id]}]')
        elif who is not None:
            seen[who.external_id] = i
        kind = row.get("preference_type")
        if kind not in ENTRY_FIELDS:
            errors.add(f"{path}.preference_type", f"{json.dumps(kind, default=str)} is not a preference type; use ordinal, cardinal or binary")
            continue
        list_name, _ = ENTRY_FIELDS[kind]
        for other, _key in ENTRY_FIELDS.values():
            if other != list_name and row.get(other):
                errors.add(f"{path}.{other}", f"must be null for a {kind} preference set; give {list_name} only")
        entries = row.get(list_name)
        if not isinstance(entries, list):
            errors.add(f"{path}.{list_name}", f"must be a list for a {kind} preference set (it may be empty)")
            entries = []
        for k, entry in enumerate(entries):
            if isinstance(entry, dict) and "week" in entry and not isinstance(entry["week"], str):
                errors.add(f"{path}.{list_name}[{k}].week", "must be the week's start date as YYYY-MM-DD")
        blocked = row.get("blocked_weeks") or []
        if not isinstance(blocked, list):
            errors.add(f"{path}.blocked_weeks", "must be a list of week start dates")
            blocked = []
        for k, ref in enumerate(blocked):
            if not isinstance(ref, str):
                errors.add(f"{path}.blocked_weeks[{k}]", "must be the week's start date as YYYY-MM-DD")
        if who is not None and _count(errors) == before:
            parsed.preferences.append(_PreferenceRow(
                position=i, faculty=who.external_id, preference_type=kind, entries=entries, blocked_weeks=blocked,
            ))


def _parse_schedule(data: dict, parsed: _YearFile, errors: SubmissionErrors) -> None:
    taken: dict[tuple[str, dt.date], int] = {}
    for i, raw in enumerate(_list(data, "schedule", errors, required=False)):
        path = f"schedule[{i}]"
        row = _object(raw, path, errors, 'like {"faculty": "F001", "week": "2026-07-06", "rotation": "inpatient"}')
        if row is None:
            continue
        _check_keys(row, SCHEDULE_FIELDS, path, errors)
        who = _faculty_ref(row.get("faculty"), f"{path}.faculty", parsed, errors)
        start = _week_ref(row.get("week"), f"{path}.week", parsed, errors)
        rotation = _rotation_ref(row.get("rotation"), f"{path}.rotation", parsed, errors)
        if who is None or start is None or rotation is None:
            continue
        if rotation not in who.rotations:
            errors.add(
                f"{path}.rotation",
                f'{who.external_id} is not qualified for "{rotation}" (qualified for {_listing(who.rotations)})',
            )
            continue
        if (who.external_id, start) in taken:
            errors.add(path, f"{who.external_id} is already scheduled in week {start} at schedule[{taken[who.external_id, start]}]")
            continue
        taken[who.external_id, start] = i
        parsed.schedule.append((who.external_id, start, rotation))


def _check_database(parsed: _YearFile, year: AcademicYear | None, errors: SubmissionErrors) -> dict[str, Faculty]:
    """Checks that need the stored rows: an existing year's weeks, and login names free for new faculty."""
    if year is not None and parsed.weeks_ok:
        stored = list(year.weeks.order_by("index").values_list("start_date", flat=True))
        given = [start for start, _ in parsed.weeks]
        if stored != given:
            errors.add(
                "weeks",
                f"academic year {year} already has {len(stored)} weeks, {_span(stored)}; the file has {len(given)}, "
                f"{_span(given)}. The weeks of an existing year cannot change.",
            )
    if year is None and parsed.weeks_ok:
        clash = Week.objects.filter(start_date__in=[start for start, _ in parsed.weeks]).select_related("year").first()
        if clash is not None:
            errors.add("weeks", f"week {clash.start_date} already belongs to academic year {clash.year}; years must not overlap")
    ids = [f.external_id for f in parsed.faculty]
    existing = {f.external_id: f for f in Faculty.objects.filter(external_id__in=ids).select_related("user").prefetch_related("rotations")}
    new = {f.external_id.lower(): f for f in parsed.faculty if f.external_id not in existing}
    taken = get_user_model().objects.filter(username__in=list(new)).values_list("username", flat=True)
    for username in taken:
        row = new[username]
        errors.add(
            f"faculty[{row.position}].id",
            f'"{row.external_id}" is new, but the login name "{username}" already belongs to another account',
        )
    return existing


def _span(starts: list[dt.date]) -> str:
    return f"{starts[0]} to {starts[-1]}" if starts else "none"


def schedule_content_hash(rows: Iterable[tuple[str, dt.date | str, str]]) -> str:
    """sha256 of the canonical sorted list of (faculty id, week start, rotation)."""
    canonical = sorted([str(f), str(w), str(r)] for f, w, r in rows)
    return hashlib.sha256(json.dumps(canonical, separators=(",", ":")).encode()).hexdigest()


# --- import ---------------------------------------------------------------------------------------------------


@transaction.atomic
def year_import(*, data: dict, actor=None) -> ImportReport:
    """Create or update a whole academic year from a year file (DESIGN §13); atomic and idempotent.

    Raises ValidationError({field path: [messages]}) with nothing changed when any part of the file is refused.
    """
    if actor is not None and not actor.is_staff:
        raise PermissionDenied("Only coordinators can import academic years.")
    now = timezone.now()
    errors = SubmissionErrors()
    parsed = _parse(data, errors)
    year = None
    if parsed.label is not None:
        year = AcademicYear.objects.select_for_update().filter(label=parsed.label).first()
    existing_faculty = _check_database(parsed, year, errors)
    errors.raise_if_any()

    year, year_created, year_updated = _year_upsert(parsed, year, now)
    weeks, weeks_updated = _weeks_upsert(parsed, year, created=year_created)
    rotations, rotations_created = _rotations_upsert(parsed)
    demand_changed = _demand_upsert(parsed, weeks, rotations)
    faculty, counts = _faculty_upsert(parsed, existing_faculty, rotations)
    year.roster.set(faculty.values())
    created, unchanged = _preferences_import(parsed, year, faculty, now=now, actor=actor, errors=errors)
    errors.raise_if_any()
    schedule, schedule_created = _schedule_import(parsed, year, faculty, weeks, rotations, actor=actor, now=now)

    return ImportReport(
        academic_year=year.label,
        year_created=year_created,
        year_updated=year_updated,
        weeks=len(weeks),
        weeks_updated=weeks_updated,
        rotations=len(parsed.rotations),
        rotations_created=rotations_created,
        demand=len(parsed.demand),
        demand_changed=demand_changed,
        faculty_created=counts[0],
        faculty_updated=counts[1],
        faculty_unchanged=counts[2],
        submissions_created=created,
        submissions_unchanged=unchanged,
        schedule_created=schedule_created,
        schedule_unchanged=schedule is not None and not schedule_created,
        schedule_id=schedule.pk if schedule else None,
        schedule_assignments=len(parsed.schedule),
    )


def _default_window(first_monday: dt.date, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(first_monday, dt.time(), tzinfo=dt.UTC)
    return now, start if start > now else now + DEFAULT_WINDOW


def _year_upsert(parsed: _YearFile, year: AcademicYear | None, now: dt.datetime) -> tuple[AcademicYear, bool, bool]:
    first_monday = parsed.weeks[0][0]
    if year is None:
        opens, closes = parsed.window or _default_window(first_monday, now)
        year = AcademicYear.objects.create(
            label=parsed.label, first_monday=first_monday, num_weeks=len(parsed.weeks),
            preference_opens=opens, preference_closes=closes,
        )
        return year, True, False
    if parsed.window and parsed.window != (year.preference_opens, year.preference_closes):
        year.preference_opens, year.preference_closes = parsed.window
        year.save(update_fields=["preference_opens", "preference_closes"])
        return year, False, True
    return year, False, False


def _weeks_upsert(parsed: _YearFile, year: AcademicYear, *, created: bool) -> tuple[dict[dt.date, Week], int]:
    if created:
        rows = Week.objects.bulk_create(
            Week(year=year, index=k, start_date=start, is_holiday=bool(name), holiday_name=name)
            for k, (start, name) in enumerate(parsed.weeks)
        )
        return {w.start_date: w for w in rows}, 0
    weeks = {w.start_date: w for w in year.weeks.all()}
    changed = []
    for start, name in parsed.weeks:
        week = weeks[start]
        if (week.holiday_name, week.is_holiday) != (name, bool(name)):
            week.holiday_name, week.is_holiday = name, bool(name)
            changed.append(week)
    Week.objects.bulk_update(changed, ["holiday_name", "is_holiday"])
    return weeks, len(changed)


def _rotations_upsert(parsed: _YearFile) -> tuple[dict[str, Rotation], int]:
    rotations = {r.name: r for r in Rotation.objects.filter(name__in=parsed.rotations)}
    new = Rotation.objects.bulk_create(Rotation(name=n) for n in parsed.rotations if n not in rotations)
    rotations.update({r.name: r for r in new})
    return rotations, len(new)


def _demand_upsert(parsed: _YearFile, weeks: dict[dt.date, Week], rotations: dict[str, Rotation]) -> int:
    """Upsert the listed slots; slots the file does not list keep what they had (a count of 0 clears one)."""
    if not parsed.demand:
        return 0
    stored = {
        (d.week_id, d.rotation_id): d
        for d in CoverageDemand.objects.filter(week__in=[w.pk for w in weeks.values()])
    }
    new, changed = [], []
    for (start, name), count in parsed.demand.items():
        key = (weeks[start].pk, rotations[name].pk)
        row = stored.get(key)
        if row is None:
            new.append(CoverageDemand(week_id=key[0], rotation_id=key[1], count=count))
        elif row.count != count:
            row.count = count
            changed.append(row)
    CoverageDemand.objects.bulk_create(new)
    CoverageDemand.objects.bulk_update(changed, ["count"])
    return len(new) + len(changed)


def _faculty_upsert(
    parsed: _YearFile, existing: dict[str, Faculty], rotations: dict[str, Rotation]
) -> tuple[dict[str, Faculty], tuple[int, int, int]]:
    """Faculty keyed by external id: update the stored ones in place, create a login without password for the rest."""
    User = get_user_model()
    faculty: dict[str, Faculty] = {}
    updated = unchanged = 0
    new_rows = []
    for row in parsed.faculty:
        member = existing.get(row.external_id)
        if member is None:
            new_rows.append(row)
            continue
        faculty[row.external_id] = member
        fields = {"display_name": row.name, "target_load": row.target_load, "active": row.active}
        dirty = [k for k, v in fields.items() if getattr(member, k) != v]
        for k in dirty:
            setattr(member, k, fields[k])
        if dirty:
            member.save(update_fields=dirty)
        if member.user.email != row.email:
            member.user.email = row.email
            member.user.save(update_fields=["email"])
            dirty.append("email")
        wanted = {rotations[n].pk for n in row.rotations}
        if {r.pk for r in member.rotations.all()} != wanted:
            member.rotations.set(wanted)
            dirty.append("rotations")
        updated, unchanged = (updated + 1, unchanged) if dirty else (updated, unchanged + 1)

    users = []
    for row in new_rows:
        user = User(username=row.external_id.lower(), email=row.email)
        user.set_unusable_password()  # coordinators set passwords later
        users.append(user)
    users = User.objects.bulk_create(users)
    created = Faculty.objects.bulk_create(
        Faculty(user=user, external_id=row.external_id, display_name=row.name, target_load=row.target_load, active=row.active)
        for user, row in zip(users, new_rows, strict=True)
    )
    Faculty.rotations.through.objects.bulk_create(
        Faculty.rotations.through(faculty_id=member.pk, rotation_id=rotations[name].pk)
        for member, row in zip(created, new_rows, strict=True)
        for name in row.rotations
    )
    faculty.update({member.external_id: member for member in created})
    return faculty, (len(created), updated, unchanged)


def _preferences_import(
    parsed: _YearFile, year: AcademicYear, faculty: dict[str, Faculty], *, now: dt.datetime, actor, errors: SubmissionErrors
) -> tuple[int, int]:
    """Each preference set goes through `preferences_submit`, which skips one unchanged from the latest version
    and enforces the window. Where it would refuse even an unchanged set (window closed, faculty inactive), an
    unchanged set is skipped first, so re-importing a file stays a no-op. Messages are re-keyed to the file's paths."""
    latest: dict[int, str] = {}
    for faculty_id, content_hash in (
        PreferenceSubmission.objects.filter(year=year).order_by("faculty_id", "-version").values_list("faculty_id", "content_hash")
    ):
        latest.setdefault(faculty_id, content_hash)
    collecting = year.status == AcademicYear.Status.COLLECTING and year.window_is_open(now)
    created = unchanged = 0
    refused: dict[str, list[int]] = {}  # year-level refusals (window closed …), reported once
    for row in parsed.preferences:
        path = f"preferences[{row.position}]"
        member = faculty[row.faculty]
        try:
            if not (collecting and member.active):
                clean = preferences_validate(
                    year=year, preference_type=row.preference_type, entries=row.entries,
                    blocked_weeks=row.blocked_weeks, target_load=member.target_load,
                )
                if latest.get(member.pk) == clean.content_hash:
                    unchanged += 1
                    continue
            _, made = preferences_submit(
                faculty=member, year=year, preference_type=row.preference_type, entries=row.entries,
                blocked_weeks=row.blocked_weeks, method=PreferenceSubmission.Method.IMPORT, actor=actor, now=now,
                skip_if_unchanged=True,
            )
            created, unchanged = (created + 1, unchanged) if made else (created, unchanged + 1)
        except ValidationError as exc:
            for key, messages in _message_dict(exc).items():
                if key == "academic_year":
                    for message in messages:
                        refused.setdefault(message, []).append(row.position)
                    continue
                for message in messages:
                    errors.add(f"{path}.{key}" if key else path, message)
    for message, positions in refused.items():
        shown = ", ".join(f"preferences[{p}]" for p in positions[:3])
        more = f" and {len(positions) - 3} more" if len(positions) > 3 else ""
        errors.add("preferences", f"{message} Refused: {shown}{more} (new or changed preference sets).")
    return created, unchanged


def _message_dict(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {"" if k == "__all__" else k: v for k, v in exc.message_dict.items()}
    return {"": exc.messages}


def _schedule_import(
    parsed: _YearFile, year: AcademicYear, faculty: dict[str, Faculty], weeks: dict[dt.date, Week],
    rotations: dict[str, Rotation], *, actor, now: dt.datetime,
) -> tuple[Schedule | None, bool]:
    """The file's schedule as a draft, unless a schedule of the year already has exactly these assignments."""
    if not parsed.schedule:
        return None, False
    content_hash = schedule_content_hash(parsed.schedule)
    same = Schedule.objects.filter(year=year, content_hash=content_hash).order_by("-created_at").first()
    if same is not None:
        return same, False
    schedule = Schedule.objects.create(
        year=year, name=f"Imported {timezone.localdate(now)}", status=Schedule.Status.DRAFT,
        source=Schedule.Source.IMPORT, content_hash=content_hash, created_by=actor,
    )
    Assignment.objects.bulk_create(
        Assignment(schedule=schedule, faculty=faculty[f], week=weeks[w], rotation=rotations[r])
        for f, w, r in parsed.schedule
    )
    return schedule, True


def validation_messages(exc: ValidationError) -> dict[str, list[str]]:
    """A ValidationError as {field path: [messages]} for the command line and JSON output."""
    return {k or "file": v for k, v in _message_dict(exc).items()}


# --- export ---------------------------------------------------------------------------------------------------


def year_export(*, year: AcademicYear) -> dict[str, Any]:
    """The year as a year file (DESIGN §13): importing it into an empty database and exporting again gives the same."""
    weeks = list(year.weeks.order_by("index"))
    start_of = {w.index: w.start_date.isoformat() for w in weeks}
    schedule = _export_schedule(year)
    scheduled = {a["faculty"] for a in schedule}
    members = list(year.roster.all()) if year.roster.exists() else list(Faculty.objects.filter(active=True))
    members += list(Faculty.objects.filter(external_id__in=scheduled - {f.external_id for f in members}))
    members = sorted(members, key=lambda f: f.external_id)
    qualified: dict[int, list[str]] = {}
    for faculty_id, name in Faculty.rotations.through.objects.filter(
        faculty_id__in=[f.pk for f in members]
    ).values_list("faculty_id", "rotation__name"):
        qualified.setdefault(faculty_id, []).append(name)
    emails = dict(get_user_model().objects.filter(faculty__in=members).values_list("faculty__id", "email"))

    current = submissions_current(year=year)
    preferences = []
    for member in members:
        submission = current.get(member.pk)
        if submission is None or not member.active:  # inactive faculty cannot submit, so their sets would not re-import
            continue
        list_name, key = ENTRY_FIELDS[submission.preference_type]
        preferences.append({
            "faculty": member.external_id,
            "preference_type": submission.preference_type,
            **{name: None for name, _ in ENTRY_FIELDS.values()},
            list_name: [{"week": start_of[e["week"]], key: e[key]} for e in submission.entries],
            "blocked_weeks": [start_of[i] for i in submission.blocked_weeks],
        })

    demand = (
        CoverageDemand.objects.filter(week__year=year)
        .order_by("week__index", "rotation__name")
        .values_list("week__start_date", "rotation__name", "count")
    )
    out: dict[str, Any] = {
        "academic_year": year.label,
        "preference_window": {
            "opens": year.preference_opens.astimezone(dt.UTC).isoformat(),
            "closes": year.preference_closes.astimezone(dt.UTC).isoformat(),
        },
        "weeks": [{"start": w.start_date.isoformat(), "holiday": w.holiday_name or None} for w in weeks],
        "rotations": list(Rotation.objects.order_by("name").values_list("name", flat=True)),
    }
    if demand:
        out["demand"] = [{"week": w.isoformat(), "rotation": r, "count": c} for w, r, c in demand]
    out["faculty"] = [
        {
            "id": f.external_id, "name": f.display_name, "email": emails.get(f.pk, ""),
            "rotations": sorted(qualified.get(f.pk, [])), "target_load": f.target_load, "active": f.active,
        }
        for f in members
    ]
    out["preferences"] = preferences
    if schedule:
        out["schedule"] = schedule
    return out


def _export_schedule(year: AcademicYear) -> list[dict[str, str]]:
    """The published schedule, else the newest draft."""
    schedule = (
        year.schedules.filter(status=Schedule.Status.PUBLISHED).first()
        or year.schedules.filter(status=Schedule.Status.DRAFT).order_by("-created_at", "-pk").first()
    )
    if schedule is None:
        return []
    rows = schedule.assignments.order_by("week__index", "rotation__name", "faculty__external_id").values_list(
        "faculty__external_id", "week__start_date", "rotation__name"
    )
    return [{"faculty": f, "week": w.isoformat(), "rotation": r} for f, w, r in rows]


# --- real data ------------------------------------------------------------------------------------------------


def wpi_year_file(folder: Path, *, label: int) -> dict[str, Any]:
    """A year file from a WPI project-centre folder (students × centres ratings and centre capacities).

    Students become faculty with target load 1, centres become consecutive weeks of one rotation "project"
    whose demand is the centre's capacity, ratings 1 / 0.5 / 0 become cardinal values 100 / 50 / 0. Weeks start
    on the first Monday of July of `label`. Data: Wiratchotisatian, Atef Yekta, Trapp, INFORMS J. Computing 2022,
    doi 10.1287/ijoc.2022.1237 (MIT licence).
    """
    folder = Path(folder)
    with open(folder / "project_capacity.csv", newline="") as fh:
        capacity = {int(float(r["ProjectID"])): int(float(r["Capacity"])) for r in csv.DictReader(fh)}
    with open(folder / "student_preference.csv", newline="") as fh:
        reader = csv.reader(fh)
        projects = [int(float(p)) for p in next(reader)[1:]]
        ratings = [(int(float(r[0])), [float(x) for x in r[1:]]) for r in reader if r]
    if set(projects) != set(capacity):
        raise ValueError(f"{folder}: the rating columns and the capacity file list different centres")
    order = sorted(projects)
    july = dt.date(label, 7, 1)
    first_monday = july + dt.timedelta(days=-july.weekday() % 7)
    start = {p: (first_monday + dt.timedelta(weeks=k)).isoformat() for k, p in enumerate(order)}
    column = {p: k for k, p in enumerate(projects)}
    values = {1.0: 100, 0.5: 50, 0.0: 0}

    faculty, preferences = [], []
    for student, row in ratings:
        ident = f"S{student:04d}"
        if any(r not in values for r in row):
            raise ValueError(f"{folder}: student {student} has a rating other than 1, 0.5 or 0")
        faculty.append({
            "id": ident, "name": f"Student {student}", "email": f"{ident.lower()}@example.org",
            "rotations": ["project"], "target_load": 1, "active": True,
        })
        preferences.append({
            "faculty": ident, "preference_type": "cardinal",
            "ordinal_rankings": None, "binary_accepts": None, "blocked_weeks": [],
            "cardinal_valuations": [{"week": start[p], "value": values[row[column[p]]]} for p in order],
        })
    return {
        "academic_year": label,
        "weeks": [{"start": start[p], "holiday": None} for p in order],
        "rotations": ["project"],
        "demand": [{"week": start[p], "rotation": "project", "count": capacity[p]} for p in order],
        "faculty": faculty,
        "preferences": preferences,
    }
