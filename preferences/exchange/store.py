"""Writing a parsed year file (DESIGN §13): the checks that need stored rows, then the upserts and the preference
sets, as stages a caller runs inside one transaction; `year_import` runs them for a file without other sections."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from preferences.exchange.parse import YearFile, year_file_parse
from preferences.exchange.time_off import store_time_off
from preferences.models import AcademicYear, CoverageDemand, Faculty, PreferenceSubmission, Rotation, Week
from preferences.services import SubmissionErrors, preferences_submit, preferences_validate

DEFAULT_WINDOW = dt.timedelta(days=30)


@dataclass(frozen=True)
class PreferencesImportReport:
    """What importing the preference half of a year file did: counts of rows created, updated and left unchanged."""

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
    time_off_created: int
    time_off_deleted: int

    @property
    def changed(self) -> bool:
        return any((
            self.year_created, self.year_updated, self.weeks_updated, self.rotations_created, self.demand_changed,
            self.faculty_created, self.faculty_updated, self.submissions_created, self.time_off_created,
            self.time_off_deleted,
        ))

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "changed": self.changed}


@dataclass(frozen=True)
class StoredRows:
    """What the database already holds for a file: its academic year (locked) if it exists, and its known faculty."""

    year: AcademicYear | None
    faculty: dict[str, Faculty]


@dataclass(frozen=True)
class ImportedYear:
    """The rows the preference half wrote or kept, keyed as the file refers to them, and the report of it."""

    year: AcademicYear
    weeks: dict[dt.date, Week]
    rotations: dict[str, Rotation]
    faculty: dict[str, Faculty]
    report: PreferencesImportReport


def year_import_authorise(*, actor) -> None:
    """Only coordinators import years (a script without an actor runs as the operator)."""
    if actor is not None and not actor.is_staff:
        raise PermissionDenied("Only coordinators can import academic years.")


@transaction.atomic
def year_import(*, data: Any, actor=None) -> PreferencesImportReport:
    """Create or update an academic year from a year file without a schedule section (DESIGN §13); atomic and
    idempotent. `allocation.exchange.year_file_import` takes the whole file, schedule included.

    Raises ValidationError({field path: [messages]}) with nothing changed when any part of the file is refused.
    """
    year_import_authorise(actor=actor)
    now = timezone.now()
    errors = SubmissionErrors()
    parsed = year_file_parse(data, errors)
    stored = year_file_check_database(parsed, errors)
    errors.raise_if_any()
    imported = year_file_store(parsed, stored, actor=actor, now=now, errors=errors)
    errors.raise_if_any()
    return imported.report


def year_file_check_database(parsed: YearFile, errors: SubmissionErrors) -> StoredRows:
    """Checks that need the stored rows: an existing year's weeks, and login names free for new faculty.
    Locks the existing year until the transaction ends."""
    year = None
    if parsed.label is not None:
        year = AcademicYear.objects.select_for_update().filter(label=parsed.label).first()
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
    return StoredRows(year=year, faculty=existing)


def _span(starts: list[dt.date]) -> str:
    return f"{starts[0]} to {starts[-1]}" if starts else "none"


def year_file_store(
    parsed: YearFile, stored: StoredRows, *, actor, now: dt.datetime, errors: SubmissionErrors
) -> ImportedYear:
    """Upsert the year, weeks, rotations, demand and faculty, then submit the preference sets; a refused set adds
    its messages to `errors`, and the caller raises them so the transaction rolls back."""
    year, year_created, year_updated = _year_upsert(parsed, stored.year, now)
    weeks, weeks_updated = _weeks_upsert(parsed, year, created=year_created)
    rotations, rotations_created = _rotations_upsert(parsed)
    demand_changed = _demand_upsert(parsed, weeks, rotations)
    faculty, counts = _faculty_upsert(parsed, stored.faculty, rotations)
    year.roster.set(faculty.values())
    time_off_created, time_off_deleted = store_time_off(parsed.time_off, year, faculty)
    created, unchanged = _preferences_import(parsed, year, faculty, now=now, actor=actor, errors=errors)
    report = PreferencesImportReport(
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
        time_off_created=time_off_created,
        time_off_deleted=time_off_deleted,
    )
    return ImportedYear(year=year, weeks=weeks, rotations=rotations, faculty=faculty, report=report)


def _default_window(first_monday: dt.date, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(first_monday, dt.time(), tzinfo=dt.UTC)
    return now, start if start > now else now + DEFAULT_WINDOW


def _year_upsert(parsed: YearFile, year: AcademicYear | None, now: dt.datetime) -> tuple[AcademicYear, bool, bool]:
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


def _weeks_upsert(parsed: YearFile, year: AcademicYear, *, created: bool) -> tuple[dict[dt.date, Week], int]:
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


def _rotations_upsert(parsed: YearFile) -> tuple[dict[str, Rotation], int]:
    rotations = {r.name: r for r in Rotation.objects.filter(name__in=parsed.rotations)}
    new = Rotation.objects.bulk_create(Rotation(name=n) for n in parsed.rotations if n not in rotations)
    rotations.update({r.name: r for r in new})
    return rotations, len(new)


def _demand_upsert(parsed: YearFile, weeks: dict[dt.date, Week], rotations: dict[str, Rotation]) -> int:
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
    parsed: YearFile, existing: dict[str, Faculty], rotations: dict[str, Rotation]
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
    parsed: YearFile, year: AcademicYear, faculty: dict[str, Faculty], *, now: dt.datetime, actor, errors: SubmissionErrors
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


def validation_messages(exc: ValidationError) -> dict[str, list[str]]:
    """A ValidationError as {field path: [messages]} for the command line and JSON output."""
    return {k or "file": v for k, v in _message_dict(exc).items()}

