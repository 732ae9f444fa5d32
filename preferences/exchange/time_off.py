"""The year file's `time_off` section (DESIGN §13): `[{"faculty", "start", "end", "kind", "note"?}]`.

Parsed with the rest of the file (`preferences.exchange.parse`: each problem under its path, e.g.
``time_off[2].end``): a known faculty id, dates inside the file's weeks, end on or after start, a known kind, no two
periods of one person overlapping. When the file has the section it is the year's whole time off for the faculty it lists:
stored periods it no longer gives are removed, the same period again changes nothing.
"""

from __future__ import annotations

from typing import Any

from gtsched_site.signals import send_on_commit
from preferences.exchange.parse import TimeOffRow
from preferences.models import AcademicYear, Faculty, TimeOff
from preferences.signals import preferences_changed


def store_time_off(rows: list[TimeOffRow] | None, year: AcademicYear, faculty: dict[str, Faculty]) -> tuple[int, int]:
    """Make the year's time off of the file's faculty exactly the file's rows; returns (created, deleted)."""
    if rows is None:
        return 0, 0
    stored = {
        (t.faculty_id, t.start, t.end, t.kind, t.note): t.pk
        for t in TimeOff.objects.filter(year=year, faculty__in=list(faculty.values()))
    }
    wanted = {(faculty[r.faculty].pk, r.start, r.end, r.kind, r.note) for r in rows}
    gone = [pk for key, pk in stored.items() if key not in wanted]
    TimeOff.objects.filter(pk__in=gone).delete()
    new = [TimeOff(faculty_id=f, year=year, start=a, end=b, kind=k, note=n) for f, a, b, k, n in sorted(wanted - stored.keys())]
    TimeOff.objects.bulk_create(new)
    if new or gone:
        send_on_commit(preferences_changed, sender=TimeOff, year_id=year.pk, faculty_id=None)
    return len(new), len(gone)


def export_time_off(year: AcademicYear, members: list[Faculty]) -> list[dict[str, Any]]:
    rows = TimeOff.objects.filter(year=year, faculty__in=members).select_related("faculty").order_by("faculty__external_id", "start")
    return [
        {"faculty": t.faculty.external_id, "start": t.start.isoformat(), "end": t.end.isoformat(), "kind": t.kind,
         **({"note": t.note} if t.note else {})}
        for t in rows
    ]
