"""The fixed cast: a coordinator, a faculty member (owner), another faculty member (outsider), anonymous."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.factories import PASSWORD, CoordinatorFactory, FacultyFactory, RotationFactory, UserFactory, make_year


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
