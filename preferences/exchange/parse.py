"""Reading a year file (DESIGN §13) without the database: its shape, its fields and its internal references.

Every problem is reported under the path of the field that causes it (``weeks[3].start``,
``preferences[5].faculty``). Sections kept by a higher app (the schedule, in allocation) parse themselves with the
public helpers here: `check_keys`, `file_list`, `file_object`, `faculty_ref`, `week_ref`, `rotation_ref`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email, validate_slug
from django.utils import timezone

from preferences.models import TimeOff
from preferences.services import ENTRY_FIELDS, SubmissionErrors

TOP_LEVEL_FIELDS = ("academic_year", "preference_window", "weeks", "rotations", "demand", "faculty", "time_off", "preferences")
REQUIRED_FIELDS = ("academic_year", "weeks", "rotations", "faculty")
WEEK_FIELDS = ("start", "holiday")
DEMAND_FIELDS = ("week", "rotation", "count")
FACULTY_FIELDS = ("id", "name", "email", "rotations", "target_load", "active")
PREFERENCE_FIELDS = ("faculty", "preference_type", "ordinal_rankings", "cardinal_valuations", "binary_accepts", "blocked_weeks")
WINDOW_FIELDS = ("opens", "closes")
TIME_OFF_FIELDS = ("faculty", "start", "end", "kind", "note")
TIME_OFF_KINDS = tuple(TimeOff.Kind.values)
SMALL_INT_MAX = 32767  # PositiveSmallIntegerField
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# --- the parsed file ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FacultyRow:
    position: int
    external_id: str
    name: str
    email: str
    rotations: tuple[str, ...]
    target_load: int
    active: bool


@dataclass(frozen=True)
class PreferenceRow:
    position: int
    faculty: str
    preference_type: str
    entries: list[Any]
    blocked_weeks: list[Any]


@dataclass(frozen=True)
class TimeOffRow:
    position: int
    faculty: str
    start: dt.date
    end: dt.date
    kind: str
    note: str


@dataclass
class YearFile:
    """The parsed year file: the rows that passed their own checks, and whether weeks and rotations are whole."""

    label: int | None = None
    window: tuple[dt.datetime, dt.datetime] | None = None
    weeks: list[tuple[dt.date, str]] = field(default_factory=list)
    weeks_ok: bool = False
    rotations: list[str] = field(default_factory=list)
    rotations_ok: bool = False
    demand: dict[tuple[dt.date, str], int] = field(default_factory=dict)
    faculty: list[FacultyRow] = field(default_factory=list)
    faculty_ids: set[str] = field(default_factory=set)  # every id given, including rows refused for other fields
    preferences: list[PreferenceRow] = field(default_factory=list)
    time_off: list[TimeOffRow] | None = None  # None: the file has no time_off section

    @functools.cached_property
    def faculty_by_id(self) -> dict[str, FacultyRow]:
        return {f.external_id: f for f in self.faculty}


def _count(errors: SubmissionErrors) -> int:
    return sum(map(len, errors.errors.values()))


def _is_whole(value: Any, *, low: int = 0, high: int = SMALL_INT_MAX) -> bool:
    return (
        not isinstance(value, bool) and isinstance(value, int | float)
        and float(value).is_integer() and low <= value <= high
    )


def listing(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names) if names else "none"


def check_keys(obj: dict, allowed: tuple[str, ...], path: str, errors: SubmissionErrors) -> None:
    for key in obj:
        if key not in allowed:
            errors.add(f"{path}.{key}" if path else str(key), f'unknown field; expected {listing(allowed)}')


def file_object(value: Any, path: str, errors: SubmissionErrors, what: str) -> dict | None:
    if not isinstance(value, dict):
        errors.add(path, f"must be an object {what}, got {json.dumps(value, default=str)[:60]}")
        return None
    return value


def section_rows(
    data: dict, key: str, errors: SubmissionErrors, *, required: bool, fields: tuple[str, ...], like: str,
) -> Iterator[tuple[int, str, dict]]:
    """(i, "key[i]", row) for every row of a list section that is an object; the others and unknown fields are
    reported under their paths (`like` shows what a row looks like)."""
    for i, raw in enumerate(file_list(data, key, errors, required=required)):
        path = f"{key}[{i}]"
        row = file_object(raw, path, errors, like)
        if row is not None:
            check_keys(row, fields, path, errors)
            yield i, path, row


def file_list(data: dict, key: str, errors: SubmissionErrors, *, required: bool) -> list:
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


def year_file_parse(data: Any, errors: SubmissionErrors, *, extra_fields: tuple[str, ...] = ()) -> YearFile:
    """Check the file's shape and its internal references; no database access.

    `extra_fields` names the top-level sections a higher app parses itself (after this), so they are not unknown."""
    parsed = YearFile()
    if not isinstance(data, dict):
        errors.add("file", "the year file must be a JSON object with academic_year, weeks, rotations and faculty")
        return parsed
    check_keys(data, TOP_LEVEL_FIELDS + extra_fields, "", errors)
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
    _parse_time_off(data, parsed, errors)
    _parse_preferences(data, parsed, errors)
    return parsed


def _parse_window(data: dict, parsed: YearFile, errors: SubmissionErrors) -> None:
    if data.get("preference_window") is None:
        return
    window = file_object(data["preference_window"], "preference_window", errors, "with opens and closes")
    if window is None:
        return
    check_keys(window, WINDOW_FIELDS, "preference_window", errors)
    opens = _datetime(window.get("opens"), "preference_window.opens", errors)
    closes = _datetime(window.get("closes"), "preference_window.closes", errors)
    if opens and closes:
        if closes <= opens:
            errors.add("preference_window.closes", f"must be after opens ({opens.isoformat()})")
        else:
            parsed.window = (opens, closes)


def _parse_weeks(data: dict, parsed: YearFile, errors: SubmissionErrors) -> None:
    weeks = file_list(data, "weeks", errors, required=True)
    if "weeks" in data and isinstance(data["weeks"], list) and not weeks:
        errors.add("weeks", "must list at least one week")
    before = _count(errors)
    anchor: tuple[int, dt.date] | None = None  # the first valid Monday fixes where every other week must start
    for i, raw in enumerate(weeks):
        path = f"weeks[{i}]"
        week = file_object(raw, path, errors, 'like {"start": "2026-07-06", "holiday": null}')
        if week is None:
            continue
        check_keys(week, WEEK_FIELDS, path, errors)
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


def _parse_rotations(data: dict, parsed: YearFile, errors: SubmissionErrors) -> None:
    rotations = file_list(data, "rotations", errors, required=True)
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


def week_ref(value: Any, path: str, parsed: YearFile, errors: SubmissionErrors) -> dt.date | None:
    start = _date(value, path, errors)
    if start is None or not parsed.weeks_ok:
        return start
    if start not in {w for w, _ in parsed.weeks}:
        first, last = parsed.weeks[0][0], parsed.weeks[-1][0]
        errors.add(path, f'"{start}" is not a week of the file (its weeks start on the Mondays {first} to {last})')
        return None
    return start


def rotation_ref(value: Any, path: str, parsed: YearFile, errors: SubmissionErrors) -> str | None:
    if not isinstance(value, str):
        errors.add(path, f"must be a rotation name, got {json.dumps(value, default=str)}")
        return None
    if parsed.rotations_ok and value not in parsed.rotations:
        errors.add(path, f'unknown rotation "{value}" (the file lists {listing(parsed.rotations)})')
        return None
    return value


def _parse_demand(data: dict, parsed: YearFile, errors: SubmissionErrors) -> None:
    for _, path, row in section_rows(data, "demand", errors, required=False, fields=DEMAND_FIELDS,
                                     like='like {"week": "2026-07-06", "rotation": "inpatient", "count": 2}'):
        start = week_ref(row.get("week"), f"{path}.week", parsed, errors)
        rotation = rotation_ref(row.get("rotation"), f"{path}.rotation", parsed, errors)
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


def _parse_faculty(data: dict, parsed: YearFile, errors: SubmissionErrors) -> None:
    usernames: dict[str, str] = {}
    for i, path, row in section_rows(data, "faculty", errors, required=True, fields=FACULTY_FIELDS,
                                     like='like {"id": "F001", "name": "Dr. A", "email": ..., "rotations": [...], "target_load": 4}'):
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
            rotation_ref(name_, f"{path}.rotations", parsed, errors)
        if len(set(map(str, rotations))) != len(rotations):
            errors.add(f"{path}.rotations", "lists a rotation more than once")
        load = row.get("target_load")
        if not _is_whole(load):
            errors.add(f"{path}.target_load", f"must be a whole number of weeks ≥ 0, got {json.dumps(load, default=str)}")
        active = row.get("active", True)
        if not isinstance(active, bool):
            errors.add(f"{path}.active", "must be true or false")
        if _count(errors) == before:
            parsed.faculty.append(FacultyRow(
                position=i, external_id=ext, name=name.strip(), email=email, rotations=tuple(rotations),
                target_load=int(load), active=active,
            ))


def faculty_ref(value: Any, path: str, parsed: YearFile, errors: SubmissionErrors) -> FacultyRow | None:
    """The faculty row an id refers to; None, without a second message, when that row has errors of its own."""
    if isinstance(value, str) and value in parsed.faculty_ids:
        return parsed.faculty_by_id.get(value)
    errors.add(path, f"unknown faculty id {json.dumps(value, default=str)}; it must be one of the file's faculty ids")
    return None


def _parse_preferences(data: dict, parsed: YearFile, errors: SubmissionErrors) -> None:
    seen: dict[str, int] = {}
    for i, path, row in section_rows(data, "preferences", errors, required=False, fields=PREFERENCE_FIELDS,
                                     like="with faculty, preference_type, the list of that type and blocked_weeks"):
        before = _count(errors)
        who = faculty_ref(row.get("faculty"), f"{path}.faculty", parsed, errors)
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
            parsed.preferences.append(PreferenceRow(
                position=i, faculty=who.external_id, preference_type=kind, entries=entries, blocked_weeks=blocked,
            ))


def _parse_time_off(data: dict, parsed: YearFile, errors: SubmissionErrors) -> None:
    """The `time_off` section's rows into parsed.time_off; None when the file has none (stored time off stays)."""
    if data.get("time_off") is None:
        return
    rows: list[TimeOffRow] = []
    parsed.time_off = rows
    first = parsed.weeks[0][0] if parsed.weeks_ok else None
    last = parsed.weeks[-1][0] + dt.timedelta(days=6) if parsed.weeks_ok else None
    for i, path, row in section_rows(data, "time_off", errors, required=False, fields=TIME_OFF_FIELDS,
                                     like='like {"faculty": "F001", "start": "2026-09-14", "end": "2026-09-18", "kind": "conference"}'):
        who = faculty_ref(row.get("faculty"), f"{path}.faculty", parsed, errors)
        start = _date(row.get("start"), f"{path}.start", errors)
        end = _date(row.get("end"), f"{path}.end", errors)
        kind = row.get("kind")
        ok = who is not None and start is not None and end is not None
        if kind not in TIME_OFF_KINDS:
            errors.add(f"{path}.kind", f"{json.dumps(kind, default=str)} is not a kind of time off; use {', '.join(TIME_OFF_KINDS)}")
            ok = False
        note = row.get("note") or ""
        if not isinstance(note, str) or len(note) > 200:
            errors.add(f"{path}.note", "must be text of at most 200 characters")
            ok = False
        if start and end and end < start:
            errors.add(f"{path}.end", f'"{end}" is before start "{start}"')
            continue
        if first is not None and start and not first <= start <= last:
            errors.add(f"{path}.start", f'"{start}" is outside the year ({first} to {last})')
            ok = False
        if first is not None and end and not first <= end <= last:
            errors.add(f"{path}.end", f'"{end}" is outside the year ({first} to {last})')
            ok = False
        if not ok:
            continue
        clash = next((r for r in rows if r.faculty == who.external_id and r.start <= end and r.end >= start), None)
        if clash is not None:
            errors.add(f"{path}.start", f'overlaps time_off[{clash.position}] of "{who.external_id}" ({clash.start} to {clash.end})')
            continue
        rows.append(TimeOffRow(position=i, faculty=who.external_id, start=start, end=end, kind=kind, note=note.strip()))
