"""The API under hostile or careless input (issue 10): pagination parameters, deeply nested and non-JSON bodies,
unknown fields, one error shape for every 4xx, JSON for every 404 and 500 under /api/, the documented error
responses, and a double-click on "start run" against the embedded SQLite database."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections
from django.test import Client, override_settings
from django.urls import path, reverse
from rest_framework.test import APIClient

from allocation.models import AllocationRun
from allocation.services import runs
from gtsched_site import urls as site_urls
from gtsched_site.api import JSON_DEPTH_MAX, PAGE_SIZE_MAX, SiteJSONParser
from gtsched_site.limits import ECHO_LIMIT
from preferences.models import PreferenceSubmission
from preferences.services import preferences_submit
from tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db

SUBMIT = "/api/v1/game-theory/preferences/strategyproof"
VALIDATE = "/api/v1/game-theory/preferences/validate"
RUN_START = {"academic_year": 2026, "mechanism": "rsd", "seed": 7}


def ordinal(**overrides: Any) -> dict[str, Any]:
    return {
        "academic_year": 2026, "preference_type": "ordinal",
        "ordinal_rankings": [{"week": "2026-07-06", "rank": 1}, {"week": "2026-08-10", "rank": 2}],
        "blocked_weeks": ["2026-07-27"], **overrides,
    }


@pytest.fixture
def draft(year, faculty):
    return ScheduleFactory(year=year, name="Draft", rows=[(faculty, 0, "inpatient")])


def write_operations(draft) -> list[tuple[str, dict[str, Any]]]:
    """Every operation that reads a JSON body, with a body it would accept."""
    return [
        (SUBMIT, ordinal()),
        (VALIDATE, ordinal()),
        ("/api/v1/runs/", RUN_START),
        ("/api/v1/game-theory/rsd-allocation", {"academic_year": 2026}),
        ("/api/v1/game-theory/vcg-auction", {"academic_year": 2026}),
        (f"/api/v1/schedules/{draft.pk}/publish", {"force": False}),
        ("/api/v1/game-theory/nash-stable-schedule", {"schedule": draft.pk}),
        ("/api/v1/swap-requests/", {"give": draft.assignments.get().pk, "wanted_weeks": ["2026-07-13"]}),
        ("/api/v1/game-theory/vickrey-auction",
         {"academic_year": 2026, "shift_week": "2026-07-13", "shift_type": "inpatient", "bids": {}}),
        ("/api/v1/auctions/", {"academic_year": 2026, "week": "2026-07-13", "rotation": "inpatient",
                               "closes_at": "2099-01-01T00:00:00Z"}),
    ]


def list_paths(client: APIClient) -> list[str]:
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    return [p for p, ops in schema["paths"].items() if "get" in ops and "{" not in p and "limit" in json.dumps(ops)]


def assert_error_shape(body: Any) -> None:
    """The one error shape: an object of names to lists of messages."""
    assert isinstance(body, dict) and body, body
    for name, messages in body.items():
        assert isinstance(name, str) and isinstance(messages, list) and messages, body
        assert all(isinstance(message, str) for message in messages), body


# --- 1. pagination -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("query", "name"),
    [("limit=9223372036854775808", "limit"), ("limit=-1", "limit"), ("limit=0", "limit"), ("limit=ten", "limit"),
     ("offset=9223372036854775808", "offset"), ("offset=-5", "offset"), ("offset=1e3", "offset")],
)
def test_every_list_refuses_a_bad_limit_or_offset_with_a_400_naming_it(query, name, as_, year, faculty, draft):
    client = as_("coordinator")
    paths = list_paths(client)
    assert {"/api/v1/weeks/", "/api/v1/runs/", "/api/v1/swap-requests/", "/api/v1/strategy-performance"} <= set(paths)
    for list_path in paths:
        response = client.get(f"{list_path}?{query}")
        assert response.status_code == 400, (list_path, response.content)
        assert list(response.json()) == [name], list_path


def test_a_limit_past_the_maximum_is_capped(as_, year):
    response = as_("faculty").get("/api/v1/weeks/?limit=5000")
    assert response.status_code == 200
    assert len(response.json()["results"]) == 8
    assert "limit=1000" not in response.content.decode()  # one page: no next link
    assert PAGE_SIZE_MAX == 1000


# --- 2. and 3. request bodies -----------------------------------------------------------------------------------

def test_every_json_body_nested_too_deep_is_a_400_under_body(as_, year, faculty, draft):
    client = as_("coordinator")
    for depth in (JSON_DEPTH_MAX + 1, 1000, 100_000):
        nested = "[" * depth + "]" * depth
        for url, _ in write_operations(draft):
            response = client.post(url, nested, content_type="application/json")
            assert response.status_code == 400, (url, depth)
            assert list(response.json()) == ["body"], url
            assert "nested more than 32 levels" in response.json()["body"][0]


def test_json_inside_the_depth_limit_is_read():
    nested = "[" * JSON_DEPTH_MAX + "]" * JSON_DEPTH_MAX
    assert SiteJSONParser().parse(io.BytesIO(nested.encode()), "application/json") is not None


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_every_body_that_is_not_json_is_a_415(content_type, as_, year, faculty, draft):
    client = as_("coordinator")
    for url, body in write_operations(draft):
        response = client.post(url, json.dumps(body), content_type=content_type)
        assert response.status_code == 415, (url, response.content)
        assert_error_shape(response.json())
    assert PreferenceSubmission.objects.count() == 0
    assert AllocationRun.objects.count() == 0


def test_the_site_parses_json_only_and_every_view_uses_the_site_parser():
    from django.urls import get_resolver

    assert settings.REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] == ["gtsched_site.api.SiteJSONParser"]
    views = []

    def walk(patterns):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns)
            else:
                view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
                if view is not None and hasattr(view, "parser_classes"):
                    views.append(view)

    walk(get_resolver().url_patterns)
    assert len(views) > 10
    for view in views:
        assert list(view.parser_classes) == [SiteJSONParser], view


# --- 4. unknown fields --------------------------------------------------------------------------------------------

def test_misspelled_keys_are_a_400_naming_them_and_the_ranking_is_kept(as_, year, faculty):
    preferences_submit(
        faculty=faculty, year=year, preference_type="ordinal", entries=[{"week": "2026-07-06", "rank": 1}],
        blocked_weeks=[], method="web_form", actor=faculty.user,
    )
    payload = {"academic_year": 2026, "preference_type": "ordinal",
               "ordinal_ranking": [{"week": "2026-07-06", "rank": 1}], "blocked_week": ["2026-07-13"]}
    response = as_("faculty").post(SUBMIT, payload, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"ordinal_ranking", "blocked_week"}
    assert "did you mean 'ordinal_rankings'?" in body["ordinal_ranking"][0]
    assert "did you mean 'blocked_weeks'?" in body["blocked_week"][0]
    assert PreferenceSubmission.objects.filter(faculty=faculty).count() == 1  # the real ranking stays current


def test_unknown_keys_inside_a_list_are_named_by_their_path(as_, year, faculty):
    payload = ordinal(ordinal_rankings=[{"week": "2026-07-06", "rank": 1}, {"week": "2026-07-13", "rnk": 2}])
    response = as_("faculty").post(VALIDATE, payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"ordinal_rankings[1].rnk", "ordinal_rankings[1].rank"}
    assert "did you mean 'rank'?" in body["ordinal_rankings[1].rnk"][0]


def test_every_write_operation_refuses_unknown_fields(as_, year, faculty, draft):
    client = as_("coordinator")
    for url, body in write_operations(draft):
        response = client.post(url, {**body, "colour": "blue"}, format="json")
        assert response.status_code == 400, (url, response.content)
        assert "colour" in response.json(), url
        assert response.json()["colour"][0].startswith("Unknown field 'colour'"), url
    assert PreferenceSubmission.objects.count() == 0
    assert AllocationRun.objects.count() == 0


WRONG_JSON_TYPES = [  # (operation, field, value of a type the schema does not allow, which DRF alone accepted)
    ("/api/v1/game-theory/rsd-allocation", "wait", 0),
    ("/api/v1/game-theory/vcg-auction", "wait", "yes"),
    ("/api/v1/game-theory/nash-stable-schedule", "refresh", 0),
    ("publish", "force", "false"),
    ("/api/v1/swap-requests/", "match", 1),
    ("/api/v1/swap-requests/", "note", 5),
    ("/api/v1/runs/", "academic_year", "2026"),
    ("/api/v1/runs/", "mechanism", 1),
    (SUBMIT, "academic_year", True),
    (VALIDATE, "faculty", 7),
]


@pytest.mark.parametrize(("operation", "field", "value"), WRONG_JSON_TYPES)
def test_a_value_of_the_wrong_json_type_is_a_400_naming_it(operation, field, value, as_, year, faculty, draft):
    """Found by schemathesis: 0 read as false, "2026" as a number, 5 as text; the schema allows none of them."""
    bodies = dict(write_operations(draft))
    url = f"/api/v1/schedules/{draft.pk}/publish" if operation == "publish" else operation
    response = as_("coordinator").post(url, {**bodies[url], field: value}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert PreferenceSubmission.objects.count() == AllocationRun.objects.count() == 0


def test_every_list_filter_given_empty_is_a_400_naming_it(as_, year, faculty, draft):
    """Found by schemathesis: `?status=` was read as an HTML form's empty field, "not given", and the whole list
    answered; the schema gives each filter a value (minLength 1, an enum, an integer)."""
    client = as_("coordinator")
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    filters = [(url.replace("{id}", str(draft.pk)).replace("{academic_year}", "2026"), parameter["name"])
               for url, operations in schema["paths"].items() if "get" in operations
               for parameter in operations["get"].get("parameters", [])
               if parameter["in"] == "query" and parameter["name"] not in ("limit", "offset", "format")]
    assert len(filters) >= 15
    for url, name in filters:
        response = client.get(f"{url}?{name}=")
        assert response.status_code == 400, (url, name, response.content)
        assert list(response.json()) == [name], (url, name)


# --- 5. one error shape -------------------------------------------------------------------------------------------

def test_every_4xx_has_the_one_error_shape(as_, year, faculty, draft):
    coordinator = as_("coordinator")
    answers = [
        APIClient().get("/api/v1/weeks/"),  # 401
        coordinator.post(SUBMIT, "{not json", content_type="application/json"),  # 400 body
        coordinator.post(SUBMIT, "[1, 2]", content_type="application/json"),  # 400 non_field_errors
        coordinator.post(VALIDATE, ordinal(ordinal_rankings=[{"week": "2026-07-06", "rank": "x"}]), format="json"),
        coordinator.get("/api/v1/runs/?status=nope"),  # 400 query parameter
        coordinator.get("/api/v1/schedules/999999/"),  # 404
        coordinator.delete("/api/v1/runs/"),  # 405
        coordinator.post(f"/api/v1/schedules/{draft.pk}/publish", {"force": "maybe"}, format="json"),
    ]
    for response in answers:
        assert 400 <= response.status_code < 500, response.content
        assert_error_shape(response.json())
    assert list(answers[0].json()) == ["detail"]
    assert list(answers[1].json()) == ["body"]
    assert list(answers[2].json()) == ["non_field_errors"]
    assert list(answers[3].json()) == ["ordinal_rankings[0].rank"]


def test_echoed_values_are_cut(as_, year, faculty):
    long = "w" * 5000
    client = as_("coordinator")
    answers = [
        client.post(VALIDATE, ordinal(preference_type=long), format="json"),
        client.get(f"/api/v1/runs/?mechanism={long}"),
        client.get(f"/api/v1/runs/?limit={long}"),
        client.post(SUBMIT, {**ordinal(), long: 1}, format="json"),
    ]
    for response in answers:
        assert response.status_code == 400
        text = json.dumps(response.json(), ensure_ascii=False)
        assert long[: ECHO_LIMIT + 1] not in text, text[:300]
        assert "w" * ECHO_LIMIT + "…" in text, text[:300]


# --- 6. JSON for every 404 and 500 under /api/ --------------------------------------------------------------------

def _boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/v1/boom/", _boom), path("boom/", _boom), *site_urls.urlpatterns]
handler400, handler403 = site_urls.handler400, site_urls.handler403
handler404, handler500 = site_urls.handler404, site_urls.handler500


@pytest.mark.urls(__name__)
@override_settings(DEBUG=False)
def test_api_404_and_500_are_json_and_pages_keep_the_product_templates(year, faculty):
    client = Client(raise_request_exception=False)
    client.force_login(faculty.user)
    for url, code in (("/api/v1/no-such-thing/", 404), ("/api/nothing", 404), ("/api/v1/boom/", 500)):
        response = client.get(url)
        assert response.status_code == code
        assert response["Content-Type"] == "application/json", url
        assert_error_shape(response.json())
    for url, code in (("/no-such-page/", 404), ("/boom/", 500)):
        response = client.get(url)
        assert response.status_code == code
        assert response["Content-Type"].startswith("text/html")
        assert "gtsched" in response.content.decode().lower()


# --- 8. the schema documents each operation's errors --------------------------------------------------------------

def test_the_schema_documents_the_errors_each_operation_answers_with(client):
    paths = client.get(reverse("api-schema"), {"format": "json"}).json()["paths"]
    for url, operations in paths.items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert "401" in codes, (url, method)
            if "requestBody" in operation:
                assert {"400", "403", "415"} <= codes, (url, method)
            if "{" in url:
                assert "404" in codes, (url, method)
            if any(p["name"] == "limit" for p in operation.get("parameters", [])):
                assert "400" in codes, (url, method)
    assert "409" in paths["/api/v1/schedules/{id}/publish"]["post"]["responses"]
    assert "403" in paths["/api/v1/runs/"]["get"]["responses"]


# --- 7. a double-click on "start run" against the embedded SQLite database ----------------------------------------

@pytest.mark.django_db(transaction=True)
def test_identical_run_starts_from_many_threads_on_a_sqlite_file_make_one_run(
    tmp_path, monkeypatch, year, faculty, coordinator,
):
    if connection.vendor != "sqlite":
        pytest.skip("the embedded default is SQLite; PostgreSQL serialises starts with row locks")
    preferences_submit(
        faculty=faculty, year=year, preference_type="ordinal", entries=[{"week": "2026-07-06", "rank": 1}],
        blocked_weeks=[], method="web_form", actor=faculty.user,
    )
    monkeypatch.setattr(runs, "_enqueue", lambda run_id, task_id: None)  # the run stays pending: later clicks find it
    # The test database is in memory; copy it to a file and point new connections (one per thread) at the file.
    database = tmp_path / "db.sqlite3"
    connection.ensure_connection()
    copy = sqlite3.connect(database)
    connection.connection.backup(copy)
    copy.close()
    settings_dict = connections.settings["default"]
    clicks, answers, errors = 12, [], []
    barrier = threading.Barrier(clicks)

    def click() -> None:
        try:
            client = APIClient()
            client.force_authenticate(user=coordinator)
            barrier.wait()
            answers.append(client.post("/api/v1/runs/", RUN_START, format="json").status_code)
        except BaseException as exc:  # noqa: BLE001 - any escape is the failure this test looks for
            errors.append(exc)
        finally:
            connections["default"].close()

    monkeypatch.setitem(settings_dict, "NAME", str(database))
    try:
        threads = [threading.Thread(target=click) for _ in range(clicks)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        monkeypatch.undo()
    assert errors == []
    assert sorted(set(answers)) in ([201, 202], [202]) and len(answers) == clicks, answers
    with sqlite3.connect(database) as check:
        created = check.execute(f"SELECT count(*) FROM {AllocationRun._meta.db_table}").fetchone()[0]
    assert created == 1


@pytest.mark.urls(__name__)
@override_settings(DEBUG=True)
def test_api_404_and_500_are_json_while_debugging_too(year, faculty):
    """While DEBUG (the embedded default) Django shows its own HTML debug pages instead of the handlers; under /api/
    they become the JSON error, and a path that only lacks its slash still redirects."""
    client = Client(raise_request_exception=False)
    client.force_login(faculty.user)
    for url, code in (("/api/v1/no-such-thing/", 404), ("/api/nothing", 404), ("/api/v1/boom/", 500)):
        response = client.get(url)
        assert response.status_code == code, url
        assert response["Content-Type"] == "application/json", url
        assert_error_shape(response.json())
    assert client.get("/api/v1/years").status_code == 301
    assert client.get("/no-such-page/")["Content-Type"].startswith("text/html")
