"""An academic year back out as a year file (DESIGN §13), in the order the import reads it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from django.contrib.auth import get_user_model

from preferences.exchange.time_off import export_time_off
from preferences.models import AcademicYear, CoverageDemand, Faculty, Rotation
from preferences.services import ENTRY_FIELDS, submissions_current


def year_export(*, year: AcademicYear, also_faculty: Collection[str] = ()) -> dict[str, Any]:
    """The year as a year file (DESIGN §13) without a schedule section: importing it into an empty database and
    exporting again gives the same. `also_faculty` lists faculty ids off the roster the file must still hold (those
    with scheduled weeks); `allocation.exchange.year_file_export` adds the schedule."""
    weeks = list(year.weeks.order_by("index"))
    start_of = {w.index: w.start_date.isoformat() for w in weeks}
    members = list(year.roster.all()) if year.roster.exists() else list(Faculty.objects.filter(active=True))
    members += list(Faculty.objects.filter(external_id__in=set(also_faculty) - {f.external_id for f in members}))
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
    if time_off := export_time_off(year, members):
        out["time_off"] = time_off
    out["preferences"] = preferences
    return out
