"""The DESIGN §9 worked example as a real year, shared by the stability tests.

Three faculty, three weeks, one inpatient seat per week, cardinal preferences and the utility weight all on the
preference factor, so u = value / 100 exactly:

    u_A = (0, 1, .5)   A = alice (the `faculty` fixture)
    u_B = (1, .5, .5)  B = bob (the `other_faculty` fixture)
    u_C = (.5, 0, 1)   C = carol

`critical_draft` gives A W1, B W2, C W3: exactly one blocking swap (A↔B), nash distance 2/3, CRITICAL.
`stable_draft` gives A W2, B W1, C W3: no blocking swap, STABLE, and the optimum.
"""

from __future__ import annotations

import pytest

from allocation.models import Assignment, Schedule
from preferences.models import Rotation
from preferences.services import preferences_submit
from tests.factories import FacultyFactory, UserFactory, make_year

EXAMPLE_LABEL = 2031
ONLY_PREFERENCE = {"preference": 1.0, "workload_balance": 0.0, "time_off_proximity": 0.0, "swap_out_rate": 0.0}
VALUES = {"alice": (0, 100, 50), "bob": (100, 50, 50), "carol": (50, 0, 100)}


def make_schedule(year, rows, *, name: str, status: str = Schedule.Status.DRAFT) -> Schedule:
    """A hand-made schedule: rows are (faculty, week index); everyone serves inpatient."""
    inpatient = Rotation.objects.get(name="inpatient")
    schedule = Schedule.objects.create(year=year, name=name, source=Schedule.Source.MANUAL)
    weeks = {w.index: w for w in year.weeks.all()}
    for faculty, k in rows:
        Assignment.objects.create(schedule=schedule, faculty=faculty, week=weeks[k], rotation=inpatient)
    if status != Schedule.Status.DRAFT:
        Schedule.objects.filter(pk=schedule.pk).update(status=status)
        schedule.refresh_from_db()
    return schedule


@pytest.fixture
def carol(db, rotations):
    return FacultyFactory(user=UserFactory(username="carol"), external_id="F003", display_name="Dr. Carol Third",
                          rotations=rotations[:1])


@pytest.fixture
def example_year(db, rotations, faculty, other_faculty, carol):
    year = make_year(label=EXAMPLE_LABEL, num_weeks=3, rotations=[rotations[0]])
    year.utility_weights = ONLY_PREFERENCE
    year.save(update_fields=["utility_weights"])
    weeks = list(year.weeks.order_by("index"))
    for person, key in ((faculty, "alice"), (other_faculty, "bob"), (carol, "carol")):
        preferences_submit(
            faculty=person, year=year, preference_type="cardinal",
            entries=[{"week": weeks[k], "value": v} for k, v in enumerate(VALUES[key])],
            blocked_weeks=[], method="web_form", actor=person.user,
        )
    return year


@pytest.fixture
def people(faculty, other_faculty, carol):
    return {"A": faculty, "B": other_faculty, "C": carol}


@pytest.fixture
def critical_draft(example_year, people):
    return make_schedule(example_year, [(people["A"], 0), (people["B"], 1), (people["C"], 2)], name="Critical draft")


@pytest.fixture
def stable_draft(example_year, people):
    return make_schedule(example_year, [(people["A"], 1), (people["B"], 0), (people["C"], 2)], name="Stable draft")


@pytest.fixture
def thresholds(settings):
    """thresholds(t0, t1, t2) re-bands the levels, so distance 2/3 can be MARGINAL or UNSTABLE."""

    def set_thresholds(*values: float) -> None:
        settings.GTSCHED_STABILITY = {**settings.GTSCHED_STABILITY, "thresholds": tuple(values)}

    return set_thresholds


@pytest.fixture
def few_restarts(settings):
    """K = 5 price-of-anarchy restarts: plenty for three assignments, and a known K to assert."""
    settings.GTSCHED_STABILITY = {**settings.GTSCHED_STABILITY, "restarts": 5}
