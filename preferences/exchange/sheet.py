"""The preference sheet: a year's preferences as CSV, one row per faculty member, one column per week (DESIGN §13).

    faculty,name,preference_type,2026-07-06,2026-07-13,2026-07-20,…
    F001,Dr. A,ordinal,1,,blocked,2,…
    F002,Dr. B,cardinal,80,12.5,,blocked,…
    F003,Dr. C,binary,accept,reject,,blocked,…
    F004,Dr. D,,,,,…                       (no preferences: the row is left alone on import)

A week cell holds the week's rank (ordinal: whole numbers 1..M without gaps or repeats), its value (cardinal: 0–100),
``accept`` or ``reject`` (binary), or ``blocked``; empty means not listed (neutral). The header names every week of the
year by its Monday, each once, in any order. ``name`` is for people and is not read back. Importing checks the whole
sheet before anything is written and names the row and column of every bad cell; each changed row becomes a new
submission version through `preferences_submit` (window, roster and the rules of DESIGN §4 as for every import), an
unchanged row is left as it is, and a refused sheet changes nothing.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import math
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from preferences.models import AcademicYear, Faculty, PreferenceSubmission
from preferences.services import (
    ENTRY_FIELDS,
    SubmissionErrors,
    preferences_submit,
    preferences_validate,
    submissions_current,
)

FIXED_COLUMNS = ("faculty", "name", "preference_type")
BLOCKED = "blocked"
ACCEPT = {"accept": True, "reject": False}
MAX_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class SheetImportReport:
    academic_year: int
    rows: int
    submissions_created: int
    submissions_unchanged: int
    rows_without_preferences: int

    @property
    def changed(self) -> bool:
        return self.submissions_created > 0

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "changed": self.changed}


@dataclass(frozen=True)
class SheetRow:
    line: int
    faculty: Faculty
    preference_type: str
    entries: list[dict[str, Any]]
    entry_columns: list[int]  # the sheet column of each entry, to name it in a message
    blocked: list[dt.date]
    content_hash: str = ""


@dataclass(frozen=True)
class ParsedSheet:
    rows: list[SheetRow]
    header: list[str]
    rows_without_preferences: int


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA: how a spreadsheet names the column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _where(line: int, who: str = "", column: int | None = None, header: str = "") -> str:
    row = f"row {line}" + (f" ({who})" if who else "")
    return row if column is None else f"{row}, column {column_letter(column)} ({header})"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def preference_sheet_export(*, year: AcademicYear) -> str:
    """The year's counting preferences as the sheet, one row per faculty member of the year (by id)."""
    weeks = list(year.weeks.order_by("index"))
    current = submissions_current(year=year)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*FIXED_COLUMNS, *(w.start_date.isoformat() for w in weeks)])
    for member in year.faculty_queryset().order_by("external_id"):
        submission = current.get(member.pk)
        cells = [""] * len(weeks)
        kind = ""
        if submission is not None:
            kind = submission.preference_type
            _, key = ENTRY_FIELDS[kind]
            for entry in submission.entries:
                value = entry[key]
                cells[entry["week"]] = ("accept" if value else "reject") if kind == "binary" else _number(value)
            for index in submission.blocked_weeks:
                cells[index] = BLOCKED
        writer.writerow([member.external_id, member.display_name, kind, *cells])
    return out.getvalue()


def _read(data: bytes | str, errors: SubmissionErrors) -> list[list[str]]:
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            errors.add("file", f"is larger than {MAX_BYTES // (1024 * 1024)} MB; a preference sheet is far smaller")
            return []
        if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):  # a zip (.xlsx) or OLE (.xls)
            errors.add("file", "is an Excel workbook, not CSV; in Excel choose File → Save As → “CSV UTF-8” and "
                               "upload that file")
            return []
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            errors.add("file", f"is not UTF-8 text (byte {exc.start}); save the sheet as CSV UTF-8")
            return []
    data = data.removeprefix("\ufeff")
    try:
        rows = list(csv.reader(io.StringIO(data, newline="")))
    except csv.Error as exc:
        errors.add("file", f"is not readable as CSV: {exc}")
        return []
    if not rows or not any(cell.strip() for cell in rows[0]):
        errors.add("file", f"is empty; the first row must be the header: {', '.join(FIXED_COLUMNS)}, then one column per week")
    return rows


def _header(header: list[str], year: AcademicYear, errors: SubmissionErrors) -> dict[int, int] | None:
    """{sheet column: week index} from the header, or None when the header is refused."""
    before = len(errors.errors)
    names = [h.strip() for h in header]
    for k, name in enumerate(FIXED_COLUMNS):
        if k >= len(names) or names[k].lower() != name:
            got = f'"{names[k]}"' if k < len(names) else "nothing"
            errors.add(f"row 1, column {column_letter(k)}", f'must be the header "{name}", got {got}')
    by_start = {w.start_date: w.index for w in year.weeks.all()}
    columns: dict[int, int] = {}
    seen: dict[int, int] = {}
    for k in range(len(FIXED_COLUMNS), len(names)):
        where = f"row 1, column {column_letter(k)}"
        try:
            start = dt.date.fromisoformat(names[k])
        except ValueError:
            errors.add(where, f'"{names[k]}" is not a week: each week column is headed by its Monday as YYYY-MM-DD')
            continue
        if start not in by_start:
            errors.add(where, f"{start} is not the Monday of a week of academic year {year}")
        elif by_start[start] in seen:
            errors.add(where, f"{start} is already the header of column {column_letter(seen[by_start[start]])}")
        else:
            seen[by_start[start]] = k
            columns[k] = by_start[start]
    missing = sorted(set(by_start.values()) - set(seen))
    if missing and len(errors.errors) == before:
        starts = {i: s for s, i in by_start.items()}
        shown = ", ".join(starts[i].isoformat() for i in missing[:5]) + (" …" if len(missing) > 5 else "")
        errors.add("row 1", f"has no column for {len(missing)} week{'s' if len(missing) != 1 else ''} of {year}: {shown}; "
                            "every week needs its column (leave its cells empty for no preference)")
    return columns if len(errors.errors) == before else None


def _cell(kind: str, raw: str, where: str, errors: SubmissionErrors) -> Any:
    """The value of one non-empty, non-blocked cell; None (with a message) when it is not one."""
    if kind == PreferenceSubmission.Type.BINARY:
        if raw.lower() not in ACCEPT:
            errors.add(where, f'"{raw}" is not accept, reject or blocked (this row is binary)')
            return None
        return ACCEPT[raw.lower()]
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    if kind == PreferenceSubmission.Type.ORDINAL:
        if not math.isfinite(number) or not number.is_integer() or number < 1:
            errors.add(where, f'"{raw}" is not a rank: write a whole number from 1, "blocked", or leave it empty')
            return None
        return int(number)
    if not math.isfinite(number):
        errors.add(where, f'"{raw}" is not a value: write a number from 0 to 100, "blocked", or leave it empty')
        return None
    if not 0 <= number <= 100:
        errors.add(where, f"{raw} is outside 0–100")
        return None
    return int(number) if number.is_integer() else number


def _rows(rows: list[list[str]], columns: dict[int, int], year: AcademicYear, errors: SubmissionErrors
          ) -> tuple[list[SheetRow], int]:
    header = [h.strip() for h in rows[0]]
    starts = {w.index: w.start_date for w in year.weeks.all()}
    roster = {f.external_id: f for f in year.faculty_queryset()}
    known = set(Faculty.objects.filter(external_id__in=[r[0].strip() for r in rows[1:] if r]).values_list("external_id", flat=True))
    seen: dict[str, int] = {}
    parsed: list[SheetRow] = []
    empty = 0
    for line, row in enumerate(rows[1:], start=2):
        cells = [c.strip() for c in row]
        if not any(cells):
            continue  # a blank line
        ext = cells[0]
        where_id = _where(line, column=0, header="faculty")
        if len(cells) > len(header):
            errors.add(_where(line, ext), f"has {len(cells)} cells, more than the header's {len(header)} columns")
            continue
        cells += [""] * (len(header) - len(cells))
        if ext not in roster:
            errors.add(where_id, f'"{ext}" is not a faculty member of {year}' if ext in known or not ext else
                       f'unknown faculty id "{ext}"' if ext else "is empty; give the faculty member's id")
            continue
        if ext in seen:
            errors.add(where_id, f'"{ext}" already has row {seen[ext]}')
            continue
        seen[ext] = line
        kind = cells[2].lower()
        week_cells = {k: cells[k] for k in columns if cells[k]}
        if not kind:
            if week_cells:
                errors.add(_where(line, ext, 2, "preference_type"),
                           "is empty but the row has week cells; give ordinal, cardinal or binary")
            empty += 1
            continue
        if kind not in ENTRY_FIELDS:
            errors.add(_where(line, ext, 2, "preference_type"), f'"{cells[2]}" is not ordinal, cardinal or binary')
            continue
        _, key = ENTRY_FIELDS[kind]
        entries, entry_columns, blocked = [], [], []
        for k, raw in sorted(week_cells.items()):
            start = starts[columns[k]]
            if raw.lower() == BLOCKED:
                blocked.append(start)
                continue
            value = _cell(kind, raw, _where(line, ext, k, header[k]), errors)
            if value is not None:
                entries.append({"week": start, key: value})
                entry_columns.append(k)
        parsed.append(SheetRow(line=line, faculty=roster[ext], preference_type=kind, entries=entries,
                               entry_columns=entry_columns, blocked=blocked))
    return parsed, empty


def _rekey(exc: ValidationError, row: SheetRow, header: list[str], errors: SubmissionErrors) -> None:
    """A preferences_validate / preferences_submit refusal under the sheet's row (and column, for one entry)."""
    ext = row.faculty.external_id
    messages = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    for key, texts in messages.items():
        where = _where(row.line, ext)
        if key.startswith(("ordinal_rankings[", "cardinal_valuations[", "binary_accepts[")):
            k = row.entry_columns[int(key.split("[", 1)[1].split("]", 1)[0])]
            where = _where(row.line, ext, k, header[k])
        elif key == "faculty":
            where = _where(row.line, column=0, header="faculty")
        elif key == "academic_year":
            where = "file"
        for text in texts:
            if text not in errors.errors.get(where, []):  # a year-wide refusal (window closed) is said once
                errors.add(where, text)


def preference_sheet_parse(*, year: AcademicYear, data: bytes | str) -> ParsedSheet:
    """The sheet's rows checked against the year, each preference set by preferences_validate; raises a
    ValidationError keyed by "row R (ID), column C (header)" naming every bad cell. No writes."""
    errors = SubmissionErrors()
    rows = _read(data, errors)
    errors.raise_if_any()
    columns = _header(rows[0], year, errors)
    errors.raise_if_any()
    parsed, empty = _rows(rows, columns, year, errors)
    header = [h.strip() for h in rows[0]]
    checked = []
    for row in parsed:
        try:
            clean = preferences_validate(year=year, preference_type=row.preference_type, entries=row.entries,
                                         blocked_weeks=row.blocked, target_load=row.faculty.target_load)
        except ValidationError as exc:
            _rekey(exc, row, header, errors)
            continue
        checked.append(dataclasses.replace(row, content_hash=clean.content_hash))
    errors.raise_if_any()
    return ParsedSheet(rows=checked, header=header, rows_without_preferences=empty)


@transaction.atomic
def preference_sheet_import(*, year: AcademicYear, data: bytes | str, actor=None, now: dt.datetime | None = None
                            ) -> SheetImportReport:
    """Import a preference sheet into a year: all rows or, on any refusal, none (DESIGN §13). A row identical to
    the faculty member's latest version is left alone (so importing the same sheet twice changes nothing, even
    after the window closed); every other row goes through preferences_submit."""
    if actor is not None and not actor.is_staff:
        raise ValidationError({"file": "Only coordinators import preference sheets."})
    now = now or timezone.now()
    year = AcademicYear.objects.select_for_update().get(pk=year.pk)
    sheet = preference_sheet_parse(year=year, data=data)
    latest: dict[int, str] = {}
    for faculty_id, content_hash in (PreferenceSubmission.objects.filter(year=year)
                                     .order_by("faculty_id", "-version").values_list("faculty_id", "content_hash")):
        latest.setdefault(faculty_id, content_hash)
    errors = SubmissionErrors()
    created = unchanged = 0
    for row in sheet.rows:
        if latest.get(row.faculty.pk) == row.content_hash:
            unchanged += 1
            continue
        try:
            preferences_submit(
                faculty=row.faculty, year=year, preference_type=row.preference_type, entries=row.entries,
                blocked_weeks=row.blocked, method=PreferenceSubmission.Method.IMPORT, actor=actor, now=now,
            )
        except ValidationError as exc:
            _rekey(exc, row, sheet.header, errors)
            continue
        created += 1
    errors.raise_if_any()
    return SheetImportReport(academic_year=year.label, rows=len(sheet.rows) + sheet.rows_without_preferences,
                             submissions_created=created, submissions_unchanged=unchanged,
                             rows_without_preferences=sheet.rows_without_preferences)
