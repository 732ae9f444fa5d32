"""Helpers shared by the stability and browser tests: the worked example's numbers, preference submission, and the
published-schedule lookups. The fixtures built from them live in tests/conftest.py and tests/stability/conftest.py."""

from __future__ import annotations

from allocation.models import Assignment, Schedule
from preferences.models import AcademicYear
from preferences.services import preferences_submit
from tests.factories import ScheduleFactory

ONLY_PREFERENCE = {"preference": 1.0, "workload_balance": 0.0, "time_off_proximity": 0.0, "swap_out_rate": 0.0}

# The DESIGN §9 worked example: the year's label and each person's cardinal values for its three weeks.
EXAMPLE_LABEL = 2031
VALUES = {"alice": (0, 100, 50), "bob": (100, 50, 50), "carol": (50, 0, 100)}


def submit(person, year, values: dict[int, int], blocked: tuple[int, ...] = ()) -> None:
    weeks = {w.index: w for w in year.weeks.all()}
    preferences_submit(
        faculty=person, year=year, preference_type="cardinal",
        entries=[{"week": weeks[k], "value": v} for k, v in sorted(values.items())],
        blocked_weeks=[weeks[k] for k in blocked], method="web_form", actor=person.user,
    )


def publish(year, rows, *, name: str = "Published schedule") -> Schedule:
    """A hand-made schedule of (faculty, week index, rotation name) rows, set to published directly, year too."""
    schedule = ScheduleFactory(year=year, name=name, rows=rows, status=Schedule.Status.PUBLISHED)
    AcademicYear.objects.filter(pk=year.pk).update(status=AcademicYear.Status.PUBLISHED)
    return schedule


def slot(schedule, person, week_index: int) -> Assignment:
    return Assignment.objects.get(schedule=schedule, faculty=person, week__index=week_index)


def weeks_of(schedule, person) -> list[int]:
    return sorted(Assignment.objects.filter(schedule=schedule, faculty=person).values_list("week__index", flat=True))
