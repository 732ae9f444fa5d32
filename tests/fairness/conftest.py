"""Small years for the fairness service, command and admin tests."""

from __future__ import annotations

import pytest

from fairness.services import shapley_execute, shapley_request
from tests.factories import FacultyFactory, RotationFactory, make_year


@pytest.fixture
def ward(db):
    """(year 2050, {external id: faculty}, [inpatient, clinic]): 4 weeks, one seat per slot (8 seats), faculty
    A (both rotations, load 3), B (inpatient, 2), C (clinic, 2), D (both, 1) — the roster keeps others out."""
    inpatient, clinic = RotationFactory(name="inpatient"), RotationFactory(name="clinic")
    year = make_year(label=2050, num_weeks=4, rotations=[inpatient, clinic], demand=1)
    spec = {"A": ([inpatient, clinic], 3), "B": ([inpatient], 2), "C": ([clinic], 2), "D": ([inpatient, clinic], 1)}
    people = {
        ext: FacultyFactory(external_id=ext, display_name=f"Dr. {ext}", rotations=rots, target_load=load)
        for ext, (rots, load) in spec.items()
    }
    year.roster.set(people.values())
    return year, people, [inpatient, clinic]


@pytest.fixture
def pair(db):
    """(year 2051, {"P", "Q"}, inpatient): 4 weeks, one inpatient seat each, two interchangeable faculty of load 2:
    each one's fair share is 2 weeks."""
    inpatient = RotationFactory(name="inpatient")
    year = make_year(label=2051, num_weeks=4, rotations=[inpatient], demand=1)
    people = {ext: FacultyFactory(external_id=ext, display_name=f"Dr. {ext}", rotations=[inpatient], target_load=2)
              for ext in ("P", "Q")}
    year.roster.set(people.values())
    return year, people, inpatient


def compute(year, **kwargs):
    """Request and run a computation in this process (as the command does); the completed row."""
    computation, _ = shapley_request(year=year, enqueue=False, **kwargs)
    return shapley_execute(computation_id=computation.pk, inline=True)
