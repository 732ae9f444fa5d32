"""Published schedules for the swap-market tests, with utilities that are exactly value / 100.

The `year` fixture (2026, 8 weeks, inpatient + clinic, one seat per slot) with the utility weight all on the
preference factor, so u[i, w] = value / 100 and an unlisted week is 0.5. `market` publishes:

    alice  (both rotations)  week 0 inpatient, week 4 clinic   values w0 10, w1 90, w2 40, w4 50; blocks week 7
    bob    (inpatient only)  week 1 inpatient                  values w0 90, w1 10
    carol  (both rotations)  week 1 clinic                     values w0 80, w1 20
    dave   (both rotations)  week 2 inpatient                  no submission (neutral 0.5 everywhere)

Blocking swaps of alice's week 0: with bob (gains .8 + .8 = 1.6) and with carol (.8 + .6 = 1.4); of her week 4:
with carol (.4 + .3). Four of the five assignments are in one: nash distance 0.8. `cycle_market` (2027, inpatient only) holds a 3-cycle and a 2-cycle of wanted weeks.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from allocation.models import Assignment, Schedule
from preferences.models import AcademicYear, Rotation
from preferences.services import preferences_submit
from tests.factories import FacultyFactory, UserFactory, make_year

ONLY_PREFERENCE = {"preference": 1.0, "workload_balance": 0.0, "time_off_proximity": 0.0, "swap_out_rate": 0.0}


def submit(person, year, values: dict[int, int], blocked: tuple[int, ...] = ()) -> None:
    weeks = {w.index: w for w in year.weeks.all()}
    preferences_submit(
        faculty=person, year=year, preference_type="cardinal",
        entries=[{"week": weeks[k], "value": v} for k, v in sorted(values.items())],
        blocked_weeks=[weeks[k] for k in blocked], method="web_form", actor=person.user,
    )


def publish(year, rows, *, name: str = "Published schedule") -> Schedule:
    """A hand-made schedule of (faculty, week index, rotation name) rows, set to published directly."""
    schedule = Schedule.objects.create(year=year, name=name, source=Schedule.Source.MANUAL)
    weeks = {w.index: w for w in year.weeks.all()}
    rotations = {r.name: r for r in Rotation.objects.all()}
    for person, k, rotation in rows:
        Assignment.objects.create(schedule=schedule, faculty=person, week=weeks[k], rotation=rotations[rotation])
    Schedule.objects.filter(pk=schedule.pk).update(status=Schedule.Status.PUBLISHED, published_at=timezone.now())
    AcademicYear.objects.filter(pk=year.pk).update(status=AcademicYear.Status.PUBLISHED)
    schedule.refresh_from_db()
    return schedule


def slot(schedule, person, week_index: int) -> Assignment:
    return Assignment.objects.get(schedule=schedule, faculty=person, week__index=week_index)


def weeks_of(schedule, person) -> list[int]:
    return sorted(Assignment.objects.filter(schedule=schedule, faculty=person).values_list("week__index", flat=True))


@pytest.fixture
def carol(db, rotations):
    return FacultyFactory(user=UserFactory(username="carol"), external_id="F003", display_name="Dr. Carol Third",
                          rotations=rotations)


@pytest.fixture
def dave(db, rotations):
    return FacultyFactory(user=UserFactory(username="dave"), external_id="F004", display_name="Dr. Dave Fourth",
                          rotations=rotations)


@pytest.fixture
def market(year, faculty, other_faculty, carol, dave):
    year.utility_weights = ONLY_PREFERENCE
    year.save(update_fields=["utility_weights"])
    submit(faculty, year, {0: 10, 1: 90, 2: 40, 4: 50}, blocked=(7,))
    submit(other_faculty, year, {0: 90, 1: 10})
    submit(carol, year, {0: 80, 1: 20})
    return publish(year, [
        (faculty, 0, "inpatient"), (faculty, 4, "clinic"), (other_faculty, 1, "inpatient"), (carol, 1, "clinic"),
        (dave, 2, "inpatient"),
    ], name="2026 published")


@pytest.fixture
def erin(db, rotations):
    return FacultyFactory(user=UserFactory(username="erin"), external_id="F005", display_name="Dr. Erin Fifth",
                          rotations=rotations)


@pytest.fixture
def cycle_market(rotations, faculty, other_faculty, carol, dave, erin):
    """2027, inpatient only. alice w1, bob w2, carol w3 (alice wants w2, bob w3, carol w1: a 3-cycle);
    dave w5, erin w6 (each wants the other's: a 2-cycle). Bob has blocked week 1, the week he would hold for a
    moment if the 3-cycle were executed as swaps one at a time."""
    year = make_year(label=2027, num_weeks=8, rotations=[rotations[0]])
    year.utility_weights = ONLY_PREFERENCE
    year.save(update_fields=["utility_weights"])
    submit(faculty, year, {1: 20, 2: 80})
    submit(other_faculty, year, {2: 20, 3: 80}, blocked=(1,))
    submit(carol, year, {3: 20, 1: 80})
    submit(dave, year, {5: 20, 6: 80})
    submit(erin, year, {6: 20, 5: 80})
    return publish(year, [
        (faculty, 1, "inpatient"), (other_faculty, 2, "inpatient"), (carol, 3, "inpatient"),
        (dave, 5, "inpatient"), (erin, 6, "inpatient"),
    ], name="2027 published")
