"""Helpers shared by the allocation tests and their fixtures (tests/allocation/conftest.py)."""

from __future__ import annotations

from preferences.models import AcademicYear
from preferences.services import preferences_submit


def submit(faculty, year: AcademicYear, order: list[int], *, blocked: list[int] = ()) -> None:
    """An ordinal submission ranking the weeks of `order` first to last, blocking `blocked`."""
    weeks = {w.index: w for w in year.weeks.all()}
    preferences_submit(
        faculty=faculty, year=year, preference_type="ordinal",
        entries=[{"week": weeks[k].start_date.isoformat(), "rank": r} for r, k in enumerate(order, start=1)],
        blocked_weeks=[weeks[k].start_date.isoformat() for k in blocked], method="web_form",
    )
