"""Helpers shared by the allocation tests and their fixtures (tests/allocation/conftest.py)."""

from __future__ import annotations

from allocation.models import AllocationRun
from allocation.services import allocation_run_execute, allocation_run_start
from preferences.models import AcademicYear, Week
from preferences.services import preferences_submit


def submit(faculty, year: AcademicYear, order: list[int], *, blocked: list[int] = ()) -> None:
    """An ordinal submission ranking the weeks of `order` first to last, blocking `blocked`."""
    weeks = {w.index: w for w in year.weeks.all()}
    preferences_submit(
        faculty=faculty, year=year, preference_type="ordinal",
        entries=[{"week": weeks[k].start_date.isoformat(), "rank": r} for r, k in enumerate(order, start=1)],
        blocked_weeks=[weeks[k].start_date.isoformat() for k in blocked], method="web_form",
    )


def week(year, index: int) -> Week:
    return year.weeks.get(index=index)


def run_now(year, mechanism: str, *, seed: int | None = 1, options: dict | None = None) -> AllocationRun:
    """Start and execute a run in the test's thread, as the worker would."""
    run, created = allocation_run_start(year=year, mechanism=mechanism, options=options or {}, seed=seed, actor=None,
                                        enqueue=False)
    assert created
    return allocation_run_execute(run_id=run.pk)
