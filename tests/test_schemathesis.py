"""schemathesis against the API in-process (issue 10): every operation of the schema drf-spectacular generates, as a
faculty member and as a coordinator (token authentication), with every built-in check (the CLI's `--checks all`),
the suite's own seed and at least MAX_EXAMPLES generated cases per operation, besides the schema's own examples and
schemathesis' coverage cases (positive and negative).

Server errors, responses that break the schema (body, status code, content type, headers), invalid data accepted,
ignored authentication and the other checks fail the test. "Valid data rejected" (a request the schema allows,
answered 400 or 422) does not: the schema describes the shape of a request, not the business rules behind it (a
week of that year, ranks running 1..n without gaps, a year that exists), so most generated requests are refused for
good reasons (the examples phase too: schemathesis also composes bodies from the fields' own examples, e.g. all three
preference lists at once with academic_year 0). The schema's named examples name year 2026 and its weeks, which the
test data holds (test_the_schemas_named_examples_are_accepted). Set GTSCHED_SCHEMATHESIS_REJECTIONS=path to write a
summary of the rejected cases there.
"""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.factories import ScheduleFactory, SwapRequestFactory
from tests.stability.helpers import slot

SEED = 20260706  # the suite's seed for this test: the same cases on every run and every machine
MAX_EXAMPLES = 50
UNTHROTTLED = {"anon": "1000000/minute", "user": "1000000/minute"}

CONFIG = schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
    "phases": {"stateful": {"enabled": False}},
})
schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True), config=CONFIG)
schema.app = WSGIHandler()

REJECTED: Counter[tuple[str, str, str, int, str]] = Counter()


@pytest.fixture(scope="module", autouse=True)
def rejections_summary():
    yield
    path = os.environ.get("GTSCHED_SCHEMATHESIS_REJECTIONS")
    if path:
        rows = [{"role": role, "operation": op, "phase": phase, "status": status, "body": body, "count": count}
                for (role, op, phase, status, body), count in sorted(REJECTED.items())]
        with open(path, "w") as out:
            json.dump(rows, out, indent=1)


@pytest.fixture
def unthrottled(settings, monkeypatch):
    """DRF copies the rates onto the throttle class when it is imported: raise both the setting and the copy."""
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": UNTHROTTLED}
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", UNTHROTTLED)


@pytest.fixture
def connections_kept():
    """Requests here go through the WSGI handler, whose request signals close the database connection; inside a test's
    transaction that would close it under the test (on PostgreSQL). Django's own test client disconnects them too."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token_for(market, coordinator, faculty, carol, other_faculty, dave, unthrottled, connections_kept):
    """Year 2026 published (the swap market), a draft beside it, and an open swap request of alice's; a token each."""
    ScheduleFactory(year=market.year, name="2026 draft", rows=[(faculty, 1, "inpatient"), (dave, 0, "inpatient")])
    SwapRequestFactory(give=slot(market, faculty, 0))
    users = {"faculty": faculty.user, "coordinator": coordinator}
    return lambda role: Token.objects.get_or_create(user=users[role])[0].key


@pytest.mark.parametrize("role", ["faculty", "coordinator"])
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case, role, token_for):
    headers = {"Authorization": f"Token {token_for(role)}"}
    response = case.call(headers=headers)
    case.validate_response(response, headers=headers, excluded_checks=[positive_data_acceptance])
    try:
        case.validate_response(response, headers=headers, checks=[positive_data_acceptance])
    except (Failure, FailureGroup):
        phase = case.meta.phase.name.value if case.meta else "?"
        REJECTED[(role, case.operation.label, phase, response.status_code, response.text[:200])] += 1


def _named_examples() -> list[tuple[str, str, dict]]:
    """(path, example name, body) for each named request example of an operation without path parameters."""
    found = []
    for path, operations in schema.raw_schema["paths"].items():
        body = operations.get("post", {}).get("requestBody", {}).get("content", {}).get("application/json", {})
        for name, example in body.get("examples", {}).items():
            if "{" not in path:
                found.append((path, name, example["value"]))
    return found


NAMED_EXAMPLES = _named_examples()
GIVEN_BY_ID = {"/api/v1/swap-requests/"}  # its example offers assignment 17: an id, which test data cannot promise


def test_the_schema_has_named_examples_for_the_year_2026():
    assert {path for path, _, _ in NAMED_EXAMPLES} >= {
        "/api/v1/game-theory/preferences/strategyproof", "/api/v1/game-theory/preferences/validate",
        "/api/v1/game-theory/rsd-allocation", "/api/v1/game-theory/vcg-auction", "/api/v1/runs/",
        "/api/v1/game-theory/nash-stable-schedule",
    }
    assert all(body.get("academic_year", 2026) == 2026 for _, _, body in NAMED_EXAMPLES)


@pytest.mark.parametrize(("path", "name", "body"), [e for e in NAMED_EXAMPLES if e[0] not in GIVEN_BY_ID],
                         ids=lambda value: value if isinstance(value, str) else "")
def test_the_schemas_named_examples_are_accepted(path, name, body, year, faculty, coordinator, unthrottled, api_client):
    """The examples a reader copies from the docs work against data holding the year they name: 2026 with its weeks,
    collecting preferences, and a draft schedule."""
    ScheduleFactory(year=year, name="2026 draft", rows=[(faculty, 1, "inpatient")])
    user = faculty.user if "/preferences/" in path else coordinator
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    response = api_client.post(path, body, format="json")
    assert response.status_code < 300, response.content
