"""Preference use cases: validate and submit, and load a year into the utility model's arrays."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from gtsched_site.signals import send_on_commit
from gtsched_site.validation import FieldErrors
from preferences.algorithms import utility as um
from preferences.models import AcademicYear, CoverageDemand, Faculty, PreferenceSubmission, Rotation, Week
from preferences.signals import preferences_changed
from preferences.time_off import year_time_off

# The payload list and value key of each preference type (the names integrations expect).
ENTRY_FIELDS = {
    PreferenceSubmission.Type.ORDINAL: ("ordinal_rankings", "rank"),
    PreferenceSubmission.Type.CARDINAL: ("cardinal_valuations", "value"),
    PreferenceSubmission.Type.BINARY: ("binary_accepts", "accept"),
}


# How a preference type's listed weeks are spoken of in messages ("both blocked and ranked").
LISTED_AS = {
    PreferenceSubmission.Type.ORDINAL: "ranked",
    PreferenceSubmission.Type.CARDINAL: "given a value",
    PreferenceSubmission.Type.BINARY: "accepted or rejected",
}


def week_words(start: dt.date) -> str:
    """A week as the preference page shows it, by its Monday: "Mon 6 Jul"."""
    return f"{start:%a} {start.day} {start:%b}"


SubmissionErrors = FieldErrors  # a submission's checks collect their messages the shared way


@dataclass(frozen=True)
class CleanSubmission:
    preference_type: str
    entries: list[dict[str, Any]]  # [{"week": index, <key>: value}] sorted by week index
    blocked_weeks: list[int]
    summary: dict[str, Any]

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(
            {"type": self.preference_type, "entries": self.entries, "blocked": self.blocked_weeks},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


def _week_lookup(year: AcademicYear) -> tuple[dict[dt.date, Week], dict[int, Week]]:
    weeks = list(year.weeks.all())
    return {w.start_date: w for w in weeks}, {w.pk: w for w in weeks}


def _resolve_week(ref: Any, year: AcademicYear, by_date: dict[dt.date, Week], field: str, errors: SubmissionErrors) -> Week | None:
    """A week reference is a Week, a week id (int) or a start date (date or ISO string)."""
    if isinstance(ref, Week):
        week = ref
    elif isinstance(ref, bool) or ref is None:
        errors.add(field, "Give the week as its start date (YYYY-MM-DD) or its id.")
        return None
    elif isinstance(ref, int):
        week = Week.objects.select_related("year").filter(pk=ref).first()
        if week is None:
            errors.add(field, f"Unknown week id {ref}.")
            return None
    else:
        if isinstance(ref, dt.date):
            start = ref
        else:
            try:
                start = dt.date.fromisoformat(str(ref))
            except ValueError:
                errors.add(field, f"{ref!r} is not a date; give the week's start date as YYYY-MM-DD.")
                return None
        week = by_date.get(start)
        if week is None:
            other = Week.objects.select_related("year").filter(start_date=start).exclude(year=year).first()
            if other is not None:
                errors.add(field, f"Week {start} belongs to academic year {other.year}, not {year}.")
            else:
                errors.add(field, f"Unknown week {start}: it is not the start of a week of academic year {year}.")
            return None
    if week.year_id != year.pk:
        errors.add(field, f"Week {week.start_date} belongs to academic year {week.year}, not {year}.")
        return None
    return week


def _check_value(preference_type: str, raw: Any, field: str, errors: SubmissionErrors) -> Any:
    if preference_type == PreferenceSubmission.Type.ORDINAL:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not np.isfinite(raw) or int(raw) != raw or raw < 1:
            errors.add(field, f"Rank must be a whole number from 1, got {raw!r}.")
            return None
        return int(raw)
    if preference_type == PreferenceSubmission.Type.CARDINAL:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not np.isfinite(raw):
            errors.add(field, f"Value must be a number from 0 to 100, got {raw!r}.")
            return None
        if not 0 <= raw <= 100:
            errors.add(field, f"Value {raw:g} is outside 0–100.")
            return None
        return int(raw) if float(raw).is_integer() else float(raw)
    if not isinstance(raw, bool):
        errors.add(field, f"Accept must be true or false, got {raw!r}.")
        return None
    return raw


def preferences_validate(
    *,
    year: AcademicYear,
    preference_type: str,
    entries: Sequence[dict[str, Any]] | None,
    blocked_weeks: Iterable[Any] | None,
    target_load: int | None = None,
) -> CleanSubmission:
    """Check a preference set against a year and return it normalised; raises ValidationError naming each field."""
    errors = SubmissionErrors()
    if preference_type not in ENTRY_FIELDS:
        errors.add("preference_type", f"{preference_type!r} is not a preference type; use ordinal, cardinal or binary.")
        errors.raise_if_any()
    list_name, key = ENTRY_FIELDS[preference_type]
    by_date, _ = _week_lookup(year)
    entries = list(entries or [])
    clean: dict[int, Any] = {}
    for position, entry in enumerate(entries):
        field = f"{list_name}[{position}]"
        if not isinstance(entry, dict) or "week" not in entry or key not in entry:
            errors.add(field, f'Each entry needs "week" and "{key}".')
            continue
        week = _resolve_week(entry["week"], year, by_date, f"{field}.week", errors)
        value = _check_value(preference_type, entry[key], f"{field}.{key}", errors)
        if week is None or value is None:
            continue
        if week.index in clean:
            errors.add(f"{field}.week", f"{week_words(week.start_date)} is listed more than once.")
            continue
        clean[week.index] = value

    blocked: set[int] = set()
    for position, ref in enumerate(blocked_weeks or []):
        week = _resolve_week(ref, year, by_date, f"blocked_weeks[{position}]", errors)
        if week is not None:
            blocked.add(week.index)
    for index in sorted(blocked & clean.keys()):
        start = year.first_monday + dt.timedelta(weeks=index)
        errors.add("blocked_weeks", f"{week_words(start)} is both blocked and {LISTED_AS[preference_type]}; choose one.")

    if preference_type == PreferenceSubmission.Type.ORDINAL and clean:
        _check_ranks(clean, year, list_name, errors)
    errors.raise_if_any()

    summary = _summary(preference_type, clean, blocked, year, target_load)
    return CleanSubmission(
        preference_type=preference_type,
        entries=[{"week": index, key: clean[index]} for index in sorted(clean)],
        blocked_weeks=sorted(blocked),
        summary=summary,
    )


def _check_ranks(ranks: dict[int, int], year: AcademicYear, list_name: str, errors: SubmissionErrors) -> None:
    by_rank: dict[int, list[int]] = {}
    for index, rank in ranks.items():
        by_rank.setdefault(rank, []).append(index)
    for rank, indices in sorted(by_rank.items()):
        if len(indices) > 1:
            dates = " and ".join(week_words(year.first_monday + dt.timedelta(weeks=i)) for i in sorted(indices))
            errors.add(list_name, f"Rank {rank} is used more than once ({dates}); give each week its own rank.")
    m = len(ranks)
    missing = sorted(set(range(1, m + 1)) - by_rank.keys())
    if missing:
        shown = ", ".join(map(str, missing[:10])) + (" …" if len(missing) > 10 else "")
        errors.add(list_name, f"Ranks must run 1 to {m} without gaps; missing {shown}.")


def _summary(preference_type: str, clean: dict[int, Any], blocked: set[int], year: AcademicYear, target_load: int | None) -> dict[str, Any]:
    warnings = []
    available = year.num_weeks - len(blocked)
    if preference_type == PreferenceSubmission.Type.BINARY:
        available -= sum(1 for accepted in clean.values() if not accepted)
    if target_load is not None and available < target_load:
        short = target_load - available
        warnings.append(f"Only {available} week{'s are' if available != 1 else ' is'} left open to you, fewer than the "
                        f"{target_load} you serve this year: unblock at least {short} week{'s' if short != 1 else ''}.")
    if preference_type == PreferenceSubmission.Type.ORDINAL and target_load and 0 < len(clean) < target_load:
        warnings.append(f"You ranked {len(clean)} week{'s' if len(clean) != 1 else ''} but serve {target_load}; "
                        "unranked weeks count as neutral.")
    if not clean:
        warnings.append("No week is listed: every unblocked week counts as neutral.")
    return {"valid": True, "listed": len(clean), "blocked": len(blocked), "available": available, "warnings": warnings}


def access_submit_for(*, actor, faculty: Faculty) -> None:
    """Faculty submit only their own preferences; coordinators (staff) may submit for anyone."""
    if actor is None or actor.is_staff:
        return
    if getattr(actor, "faculty", None) is None or actor.faculty.pk != faculty.pk:
        raise PermissionDenied("You can only submit your own preferences.")


@transaction.atomic
def preferences_submit(
    *,
    faculty: Faculty,
    year: AcademicYear,
    preference_type: str,
    entries: Sequence[dict[str, Any]] | None,
    blocked_weeks: Iterable[Any] | None,
    method: str,
    actor=None,
    ip_address: str | None = None,
    user_agent: str = "",
    now: dt.datetime | None = None,
    skip_if_unchanged: bool = False,
) -> tuple[PreferenceSubmission, bool]:
    """Store a new immutable version of a faculty member's preferences; returns (submission, created).

    Refused, with nothing stored, when the actor may not submit for this faculty member, the
    window is not open, or any entry is invalid. With skip_if_unchanged an identical set returns
    the latest version unchanged (imports are idempotent).
    """
    access_submit_for(actor=actor, faculty=faculty)
    now = now or timezone.now()
    if not faculty.active:
        raise ValidationError({"faculty": f"{faculty} is not active; reactivate them before submitting."})
    if not year.faculty_queryset().filter(pk=faculty.pk).exists():
        raise ValidationError({"faculty": f"{faculty} is not on the roster of academic year {year}."})
    window = year.window(now)
    if year.status != AcademicYear.Status.COLLECTING:
        raise ValidationError({"academic_year": f"Academic year {year} is no longer collecting preferences."})
    if window.is_upcoming:
        raise ValidationError({"academic_year": f"The preference window for {year} opens {year.preference_opens:%d %b %Y %H:%M %Z}."})
    if not window.is_open:
        raise ValidationError({"academic_year": f"The preference window for {year} closed {year.preference_closes:%d %b %Y %H:%M %Z}; ask a coordinator."})
    clean = preferences_validate(
        year=year, preference_type=preference_type, entries=entries, blocked_weeks=blocked_weeks,
        target_load=faculty.target_load,
    )
    Faculty.objects.select_for_update().filter(pk=faculty.pk).first()  # serialise versions per faculty
    latest = PreferenceSubmission.objects.filter(faculty=faculty, year=year).order_by("-version").first()
    if skip_if_unchanged and latest is not None and latest.content_hash == clean.content_hash:
        return latest, False
    version = (PreferenceSubmission.objects.filter(faculty=faculty, year=year).aggregate(v=Max("version"))["v"] or 0) + 1
    submission = PreferenceSubmission.objects.create(
        faculty=faculty,
        year=year,
        version=version,
        preference_type=clean.preference_type,
        entries=clean.entries,
        blocked_weeks=clean.blocked_weeks,
        collected_at=now,
        collection_method=method,
        submitted_by=actor,
        ip_address=ip_address or None,
        user_agent=(user_agent or "")[:400],
        validation_result=clean.summary,
        content_hash=clean.content_hash,
    )
    send_on_commit(preferences_changed, sender=PreferenceSubmission, year_id=year.pk, faculty_id=faculty.pk)
    return submission, True


def submissions_current(*, year: AcademicYear) -> dict[int, PreferenceSubmission]:
    """The submission that counts for each faculty: the latest collected before the window closed."""
    rows = (
        PreferenceSubmission.objects.filter(year=year).counting()
        .order_by("faculty_id", "-version")
    )
    current: dict[int, PreferenceSubmission] = {}
    for row in rows:
        current.setdefault(row.faculty_id, row)
    return current


@dataclass(frozen=True)
class YearPreferences:
    """A year's faculty, weeks and rotations as index maps, with the utility model built over them."""

    year_id: int
    faculty_ids: np.ndarray
    week_ids: np.ndarray
    rotation_ids: np.ndarray
    target_load: np.ndarray
    capacity: np.ndarray  # (W, R) demanded faculty per slot
    is_holiday: np.ndarray
    model: um.UtilityModel
    week_starts: np.ndarray | None = None  # (W,) the weeks' start dates as date.toordinal() day numbers


def year_preferences(*, year: AcademicYear, rng: np.random.Generator, include_non_respondents: bool = True) -> YearPreferences:
    """Load a year's active faculty and their counting submissions into the utility model (DESIGN §4)."""
    weeks = list(year.weeks.order_by("index"))
    rotations = list(Rotation.objects.order_by("name"))
    current = submissions_current(year=year)
    faculty = [
        f for f in year.faculty_queryset().prefetch_related("rotations").order_by("external_id")
        if include_non_respondents or f.pk in current
    ]
    n, n_weeks, n_rot = len(faculty), len(weeks), len(rotations)
    rotation_index = {r.pk: k for k, r in enumerate(rotations)}
    week_pos = {w.index: k for k, w in enumerate(weeks)}

    preference_type = np.zeros(n, dtype=np.int8)
    reported = np.full((n, n_weeks), np.nan)
    blocked = np.zeros((n, n_weeks), dtype=bool)
    qualified = np.zeros((n, n_rot), dtype=bool)
    rows, cols, vals, brow, bcol = [], [], [], [], []
    for i, f in enumerate(faculty):
        qualified[i, [rotation_index[r.pk] for r in f.rotations.all()]] = True
        submission = current.get(f.pk)
        if submission is None:
            continue
        preference_type[i] = um.PREFERENCE_TYPE_CODES[submission.preference_type]
        _, key = ENTRY_FIELDS[submission.preference_type]
        for entry in submission.entries:
            rows.append(i)
            cols.append(week_pos[entry["week"]])
            vals.append(float(entry[key]))
        brow.extend([i] * len(submission.blocked_weeks))
        bcol.extend(week_pos[w] for w in submission.blocked_weeks)
    reported[rows, cols] = vals
    blocked[brow, bcol] = True

    capacity = np.zeros((n_weeks, n_rot), dtype=np.int64)
    demand = CoverageDemand.objects.filter(week__year=year).values_list("week__index", "rotation_id", "count")
    target = np.array([f.target_load for f in faculty], dtype=np.int64)
    if demand:
        for index, rotation_id, count in demand:
            capacity[week_pos[index], rotation_index[rotation_id]] = count
    elif n_weeks and n_rot:
        capacity = spread_demand(int(target.sum()), n_weeks, n_rot)

    away = year_time_off(year=year, faculty_ids=[f.pk for f in faculty], week_starts=[w.start_date for w in weeks])
    model = um.build_utility_model(
        preference_type=preference_type, reported=reported, blocked=blocked, qualified=qualified, rng=rng,
        weights=year.weights, blocked_is_hard=year.blocked_is_hard, unavailable=away.unavailable,
        factors={"time_off_proximity": away.proximity},
    )
    return YearPreferences(
        year_id=year.pk,
        faculty_ids=np.array([f.pk for f in faculty], dtype=np.int64),
        week_ids=np.array([w.pk for w in weeks], dtype=np.int64),
        rotation_ids=np.array([r.pk for r in rotations], dtype=np.int64),
        target_load=target,
        capacity=capacity,
        is_holiday=np.array([w.is_holiday for w in weeks], dtype=bool),
        model=model,
        week_starts=np.array([w.start_date.toordinal() for w in weeks], dtype=np.int64),
    )


def spread_demand(total: int, n_weeks: int, n_rotations: int) -> np.ndarray:
    """No per-slot demand: spread the total load evenly, the remainder one each to the first slots in calendar order."""
    slots = n_weeks * n_rotations
    base, remainder = divmod(total, slots)
    flat = np.full(slots, base, dtype=np.int64)
    flat[:remainder] += 1
    return flat.reshape(n_weeks, n_rotations)
