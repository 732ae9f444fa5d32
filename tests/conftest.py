"""The fixed cast: a coordinator, a faculty member (owner), another faculty member (outsider), anonymous; and the
two schedules the stability and browser tests share: the DESIGN §9 worked example and the swap market."""

from __future__ import annotations

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import (
    PASSWORD,
    CoordinatorFactory,
    FacultyFactory,
    RotationFactory,
    ScheduleFactory,
    UserFactory,
    make_year,
)
from tests.stability.helpers import EXAMPLE_LABEL, ONLY_PREFERENCE, VALUES, publish, submit
from tests.yearfiles import year_file_data


@pytest.fixture
def rotations(db):
    return [RotationFactory(name="inpatient"), RotationFactory(name="clinic")]


@pytest.fixture
def year(db, rotations):
    """Academic year 2026, 8 weeks from 2026-07-06, week 3 a holiday, window open, one seat per slot."""
    return make_year(label=2026, num_weeks=8, holidays={3: "Independence Day"}, rotations=rotations)


@pytest.fixture
def coordinator(db):
    return CoordinatorFactory(username="coordinator")


@pytest.fixture
def faculty(db, rotations):
    return FacultyFactory(user=UserFactory(username="alice"), external_id="F001", display_name="Dr. Alice Owner", rotations=rotations)


@pytest.fixture
def other_faculty(db, rotations):
    return FacultyFactory(user=UserFactory(username="bob"), external_id="F002", display_name="Dr. Bob Outsider", rotations=rotations[:1])


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def api_client():
    return APIClient()


def cast_user(request, who: str):
    """The user behind a cast name: None for "anonymous", a faculty fixture's user, or the user fixture itself."""
    if who == "anonymous":
        return None
    person = request.getfixturevalue(who)
    return getattr(person, "user", person)


@pytest.fixture
def as_(request, api_client: APIClient):
    """as_(who) gives the API client logged in (session) as one of the cast."""

    def login(who: str) -> APIClient:
        user = cast_user(request, who)
        if user is not None:
            api_client.force_login(user)
        return api_client

    return login


@pytest.fixture
def client_as(client):
    """client_as(user) logs the Django test client in as that user (None stays anonymous)."""

    def login(user):
        if user is not None:
            client.force_login(user)
        return client

    return login


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    """Hashing passwords at production strength makes login-heavy tests slow; nothing here tests hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def runs_inside_the_request(settings):
    """Eager tasks run where they are queued, so a test sees the finished run; the background-thread default of the
    embedded product has tests of its own (tests/allocation/test_views.py)."""
    settings.GTSCHED_RUNS_IN_BACKGROUND = False


@pytest.fixture(autouse=True)
def fresh_throttle_history(monkeypatch):
    """The API throttles count requests in the cache; each test starts from none, in a cache of its own, so counts
    never carry from one test to the next and a Redis named by REDIS_URL is left alone."""
    history = LocMemCache("gtsched-test-throttle-history", {})
    history.clear()
    monkeypatch.setattr(SimpleRateThrottle, "cache", history)


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_console(client, superuser):
    """The Django test client logged in to the admin as a staff superuser."""
    client.force_login(superuser)
    return client


# --- the DESIGN §9 worked example (stability and browser tests) -------------------------------------------------
# Three faculty, three weeks, one inpatient seat per week, cardinal preferences and the utility weight all on the
# preference factor, so u = value / 100 exactly:
#
#     u_A = (0, 1, .5)   A = alice (the `faculty` fixture)
#     u_B = (1, .5, .5)  B = bob (the `other_faculty` fixture)
#     u_C = (.5, 0, 1)   C = carol (`example_carol`: inpatient only, unlike the swap market's `carol`)
#
# `critical_draft` gives A W1, B W2, C W3: exactly one blocking swap (A↔B), nash distance 2/3, CRITICAL.
# `stable_draft` (tests/stability/conftest.py) gives A W2, B W1, C W3: no blocking swap, STABLE, and the optimum.


@pytest.fixture
def example_carol(db, rotations):
    return FacultyFactory(user=UserFactory(username="carol"), external_id="F003", display_name="Dr. Carol Third",
                          rotations=rotations[:1])


@pytest.fixture
def example_year(db, rotations, faculty, other_faculty, example_carol):
    year = make_year(label=EXAMPLE_LABEL, num_weeks=3, rotations=[rotations[0]])
    year.utility_weights = ONLY_PREFERENCE
    year.save(update_fields=["utility_weights"])
    for person, key in ((faculty, "alice"), (other_faculty, "bob"), (example_carol, "carol")):
        submit(person, year, dict(enumerate(VALUES[key])))
    return year


@pytest.fixture
def people(faculty, other_faculty, example_carol):
    return {"A": faculty, "B": other_faculty, "C": example_carol}


@pytest.fixture
def critical_draft(example_year, people):
    rows = [(people["A"], 0, "inpatient"), (people["B"], 1, "inpatient"), (people["C"], 2, "inpatient")]
    return ScheduleFactory(year=example_year, name="Critical draft", rows=rows)


@pytest.fixture
def few_restarts(settings):
    """K = 5 price-of-anarchy restarts: plenty for three assignments, and a known K to assert."""
    settings.GTSCHED_STABILITY = {**settings.GTSCHED_STABILITY, "restarts": 5}


# --- the swap market (stability and browser tests) ---------------------------------------------------------------
# The `year` fixture (2026, 8 weeks, inpatient + clinic, one seat per slot) with the utility weight all on the
# preference factor, so u[i, w] = value / 100 and an unlisted week is 0.5. `market` publishes:
#
#     alice  (both rotations)  week 0 inpatient, week 4 clinic   values w0 10, w1 90, w2 40, w4 50; blocks week 7
#     bob    (inpatient only)  week 1 inpatient                  values w0 90, w1 10
#     carol  (both rotations)  week 1 clinic                     values w0 80, w1 20
#     dave   (both rotations)  week 2 inpatient                  no submission (neutral 0.5 everywhere)
#
# Blocking swaps of alice's week 0: with bob (gains .8 + .8 = 1.6) and with carol (.8 + .6 = 1.4); of her week 4:
# with carol (.4 + .3). Four of the five assignments are in one: nash distance 0.8. `cycle_market` (2027,
# inpatient only) holds a 3-cycle and a 2-cycle of wanted weeks.


@pytest.fixture
def carol(db, rotations):
    return FacultyFactory(user=UserFactory(username="carol"), external_id="F003", display_name="Dr. Carol Third",
                          rotations=rotations)


@pytest.fixture
def dave(db, rotations):
    return FacultyFactory(user=UserFactory(username="dave"), external_id="F004", display_name="Dr. Dave Fourth",
                          rotations=rotations)


@pytest.fixture
def erin(db, rotations):
    return FacultyFactory(user=UserFactory(username="erin"), external_id="F005", display_name="Dr. Erin Fifth",
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


@pytest.fixture
def year_file() -> dict:
    """A valid year file (tests/yearfiles.py), fresh for each test."""
    return year_file_data()
