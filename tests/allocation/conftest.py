"""Small years shared by the allocation service, task and command tests."""

from __future__ import annotations

import pytest

from allocation.services.chances import chances_recompute
from tests.allocation.helpers import submit
from tests.factories import FacultyFactory, RotationFactory, make_year

# A 4-week, one-rotation year with one seat a week and three faculty who need one week each. Every week is ranked,
# so the strict orders do not depend on the seed. Least regret has one optimum: T0→w0 (1st), T1→w2 (2nd), T2→w1 (1st).
RANKINGS = {"T0": [0, 1, 2, 3], "T1": [0, 2, 1, 3], "T2": [1, 0, 3, 2]}


@pytest.fixture
def inpatient(db):
    return RotationFactory(name="inpatient")


@pytest.fixture
def tiny(db, inpatient):
    """(year, {external id: faculty}) for RANKINGS; the roster keeps other test faculty out."""
    year = make_year(label=2030, num_weeks=4, rotations=[inpatient], demand=1)
    people = {
        ext: FacultyFactory(external_id=ext, display_name=f"Dr. {ext}", rotations=[inpatient], target_load=1)
        for ext in RANKINGS
    }
    year.roster.set(people.values())
    for ext, order in RANKINGS.items():
        submit(people[ext], year, order)
    return year, people


@pytest.fixture
def contested(db, inpatient):
    """Everyone ranks the weeks in the same order: RSD hands them out in lottery order."""
    year = make_year(label=2031, num_weeks=4, rotations=[inpatient], demand=1)
    people = {
        ext: FacultyFactory(external_id=ext, display_name=f"Dr. {ext}", rotations=[inpatient], target_load=1)
        for ext in ("C0", "C1", "C2")
    }
    year.roster.set(people.values())
    for person in people.values():
        submit(person, year, [0, 1, 2, 3])
    return year, people


@pytest.fixture
def few_chance_draws(settings):
    """Chances from 500 lotteries in two chunks, seed 7: quick, and still two chunks merged."""
    settings.GTSCHED_CHANCES = {"draws": 500, "chunks": 2, "debounce_s": 60, "seed": 7}


@pytest.fixture
def computed(tiny, few_chance_draws):
    """The tiny year with every lottery mechanism's chances computed and stored."""
    year, people = tiny
    chances_recompute(year=year)
    return year, people
