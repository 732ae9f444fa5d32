"""POST /api/v1/game-theory/shapley-allocation, GET /api/v1/shapley-computations/{id}/ and GET /api/v1/shapley-values/:
who may do what, what a bad field says (and that nothing is stored), 202 then 200 by polling with eager Celery, the
stale state, and the cached answer keyed by the inputs."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from fairness import reads
from fairness.models import ShapleyComputation
from fairness.services import shapley_fail, shapley_request
from preferences.models import Faculty
from tests.factories import CoordinatorFactory, FacultyFactory, ScheduleFactory, UserFactory, make_year
from tests.fairness.conftest import compute

pytestmark = pytest.mark.django_db

URL = "/api/v1/game-theory/shapley-allocation"
VALUES = "/api/v1/shapley-values/"
SEED_FIELDS = {"shapley_values", "calculation_method", "samples", "total_workload", "grand_coalition_value",
               "fairness_score", "rebalancing_recommendations", "overloaded_faculty", "underloaded_faculty"}
ROW_FIELDS = {"faculty_id", "faculty_name", "shapley_value", "ci_low", "ci_high", "expected_workload",
              "actual_workload", "fairness_deviation", "is_overloaded", "is_underloaded", "rotation_qualifications",
              "coverage_capacity"}


@pytest.fixture(autouse=True)
def empty_cache():
    """Answers are cached by fingerprint and ids; ids repeat between tests whose rows were rolled back."""
    cache.clear()
    yield
    cache.clear()


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _post_eagerly(client, body, capture):
    """POST, then run what the request queued on commit (the eager Celery task) as a committed request would."""
    with capture(execute=True):
        return client.post(URL, body, format="json")


def test_the_urls_are_where_integrations_expect_them():
    assert reverse("shapley-allocation") == URL and reverse("shapley-values") == VALUES
    assert reverse("shapley-computation", args=[7]) == "/api/v1/shapley-computations/7/"


def test_a_coordinator_gets_202_then_the_values_by_polling(pair, django_capture_on_commit_callbacks):
    year, people, _ = pair
    ScheduleFactory(year=year, rows=[(people["P"], k, "inpatient") for k in range(4)])
    client = _client(CoordinatorFactory())
    response = _post_eagerly(client, {"academic_year": year.label}, django_capture_on_commit_callbacks)
    assert response.status_code == 202, response.content
    computation = ShapleyComputation.objects.get()
    poll = response.json()["computation"]["url"]
    assert response["Location"] == poll and poll.endswith(f"/api/v1/shapley-computations/{computation.pk}/")

    done = client.get(poll)
    assert done.status_code == 200, done.content
    body = done.json()
    assert set(body) >= SEED_FIELDS and all(set(row) >= ROW_FIELDS for row in body["shapley_values"])
    assert body["calculation_method"] == "exact" and body["samples"] == 0 and body["stale"] is False
    assert [r["shapley_value"] for r in body["shapley_values"]] == [2.0, 2.0]
    assert body["grand_coalition_value"] == 4 and body["total_workload"] == 4
    assert [r["actual_workload"] for r in body["shapley_values"]] == [4, 0]
    assert body["overloaded_faculty"] == [people["P"].pk] and body["underloaded_faculty"] == [people["Q"].pk]
    assert body["fairness_score"] == pytest.approx(0.5)
    (move,) = body["rebalancing_recommendations"]
    assert (move["from_faculty_id"], move["to_faculty_id"], move["amount"]) == (people["P"].pk, people["Q"].pk, 2)
    assert [s["rotation"] for s in move["slots"]] == ["inpatient", "inpatient"]
    assert body["compared_schedule"]["status"] == "draft"

    # the same request again: the fresh values at once, nothing new computed
    again = client.post(URL, {"academic_year": year.label}, format="json")
    assert again.status_code == 200 and again.json() == body
    assert ShapleyComputation.objects.count() == 1


def test_a_running_computation_answers_202_with_its_progress_until_done(pair):
    year, _, _ = pair
    client = _client(CoordinatorFactory())
    response = client.post(URL, {"academic_year": year.label}, format="json")  # queued on commit: never runs here
    assert response.status_code == 202
    computation = ShapleyComputation.objects.get()
    pending = client.get(response["Location"])
    assert pending.status_code == 202
    assert pending.json()["computation"]["status"] == "pending"
    # a second click joins the pending computation
    assert client.post(URL, {"academic_year": year.label}, format="json").json()["computation"]["id"] == computation.pk
    assert ShapleyComputation.objects.count() == 1
    shapley_fail(computation_id=computation.pk, error="The worker was lost.")
    failed = client.get(response["Location"])
    assert failed.status_code == 422 and "The worker was lost." in failed.json()["detail"]


def test_monte_carlo_is_seeded_and_reports_intervals(ward, django_capture_on_commit_callbacks):
    year, _, _ = ward
    client = _client(CoordinatorFactory())
    body = {"academic_year": year.label, "method": "monte_carlo", "samples": 1000, "seed": 7}
    response = _post_eagerly(client, body, django_capture_on_commit_callbacks)
    assert response.status_code == 202
    values = client.get(response["Location"]).json()
    assert (values["calculation_method"], values["samples"], values["seed"]) == ("monte_carlo", 1000, 7)
    assert all(r["ci_low"] <= r["shapley_value"] <= r["ci_high"] for r in values["shapley_values"])
    assert sum(r["shapley_value"] for r in values["shapley_values"]) == pytest.approx(values["grand_coalition_value"])
    assert client.post(URL, body, format="json").json() == values  # the same seed and samples: served, not redone


def test_faculty_get_403_and_anonymous_401_and_nothing_is_computed(ward):
    year, people, _ = ward
    refused = _client(people["A"].user).post(URL, {"academic_year": year.label}, format="json")
    assert refused.status_code == 403 and "faculty read their own value" in refused.json()["detail"][0]
    assert _client().post(URL, {"academic_year": year.label}, format="json").status_code == 401
    computation = compute(year)
    assert _client(people["A"].user).get(f"/api/v1/shapley-computations/{computation.pk}/").status_code == 403
    assert _client().get(VALUES).status_code == 401
    assert ShapleyComputation.objects.count() == 1


@pytest.mark.parametrize(("body", "field"), [
    ({"academic_year": 1999}, "academic_year"),
    ({"academic_year": "2050"}, "academic_year"),
    ({}, "academic_year"),
    ({"academic_year": 2050, "method": "lottery"}, "method"),
    ({"academic_year": 2050, "samples": 999}, "samples"),
    ({"academic_year": 2050, "samples": 100_001}, "samples"),
    ({"academic_year": 2050, "samples": 1.5}, "samples"),
    ({"academic_year": 2050, "seed": -1}, "seed"),
    ({"academic_year": 2050, "seed": "7"}, "seed"),
    ({"academic_year": 2050, "sample": 2000}, "sample"),
])
def test_a_bad_field_is_named_and_nothing_is_stored(ward, body, field):
    response = _client(CoordinatorFactory()).post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not ShapleyComputation.objects.exists()


def test_exact_beyond_fifteen_faculty_is_refused_on_method(db, rotations):
    year = make_year(label=2053, num_weeks=4, rotations=rotations, demand=2)
    year.roster.set([FacultyFactory(rotations=rotations, target_load=1) for _ in range(16)])
    response = _client(CoordinatorFactory()).post(URL, {"academic_year": 2053, "method": "exact"}, format="json")
    assert response.status_code == 400 and "at most 15" in response.json()["method"][0]
    assert not ShapleyComputation.objects.exists()


def test_a_computation_id_that_is_not_one_is_a_json_404(db):
    client = _client(CoordinatorFactory())
    for pk in ("999999", "abc", "9" * 30):
        response = client.get(f"/api/v1/shapley-computations/{pk}/")
        assert response.status_code == 404 and response["Content-Type"] == "application/json"


def test_changed_inputs_make_the_values_stale_and_a_post_computes_again(pair, django_capture_on_commit_callbacks):
    year, people, _ = pair
    client = _client(CoordinatorFactory())
    first = _post_eagerly(client, {"academic_year": year.label}, django_capture_on_commit_callbacks)
    old_url = first["Location"]
    assert client.get(old_url).json()["stale"] is False
    Faculty.objects.filter(pk=people["Q"].pk).update(target_load=1)
    assert client.get(old_url).json()["stale"] is True  # not the cached fresh answer
    assert client.get(VALUES, {"academic_year": year.label}).json()["stale"] is True
    second = _post_eagerly(client, {"academic_year": year.label}, django_capture_on_commit_callbacks)
    assert second.status_code == 202 and second["Location"] != old_url
    values = client.get(second["Location"]).json()
    assert values["stale"] is False and [r["shapley_value"] for r in values["shapley_values"]] == [2.0, 1.0]


def test_the_answer_is_cached_until_the_schedule_or_the_inputs_change(pair, monkeypatch):
    year, people, _ = pair
    computation = compute(year)
    client = _client(CoordinatorFactory())
    url = f"/api/v1/shapley-computations/{computation.pk}/"
    first = client.get(url).json()
    built = []
    real = reads.shapley_report
    monkeypatch.setattr(reads, "shapley_report", lambda **kw: built.append(1) or real(**kw))
    assert client.get(url).json() == first and built == []  # from the cache
    ScheduleFactory(year=year, rows=[(people["P"], 0, "inpatient")])
    assert client.get(url).json()["total_workload"] == 1 and built == [1]  # a new schedule: built again
    Faculty.objects.filter(pk=people["P"].pk).update(target_load=1)
    assert client.get(url).json()["stale"] is True and built == [1, 1]


# --- the values as a resource ----------------------------------------------------------------------------------


def test_a_coordinator_reads_every_row_and_a_faculty_member_only_their_own(ward):
    year, people, _ = ward
    ScheduleFactory(year=year, rows=[(people["A"], 0, "inpatient")])  # a draft: faculty do not see it
    computation = compute(year)
    everyone = _client(CoordinatorFactory()).get(VALUES, {"academic_year": year.label}).json()
    assert [r["external_id"] for r in everyone["shapley_values"]] == list("ABCD")
    assert everyone["computation_id"] == computation.pk and everyone["stale"] is False
    for ext in ("A", "B"):
        own = _client(people[ext].user).get(VALUES, {"academic_year": year.label})
        assert own.status_code == 200
        (row,) = own.json()["shapley_values"]
        assert row["faculty_id"] == people[ext].pk
        assert row["actual_workload"] is None and row["is_overloaded"] is None  # only a draft exists
    ScheduleFactory(year=year, status="published", rows=[(people["A"], 1, "clinic")])
    (row,) = _client(people["A"].user).get(VALUES, {"academic_year": year.label}).json()["shapley_values"]
    assert row["actual_workload"] == 1 and row["is_overloaded"] is not None


def test_the_values_resource_says_what_is_missing(ward):
    year, people, _ = ward
    missing = _client(people["A"].user).get(VALUES, {"academic_year": year.label})
    assert missing.status_code == 404 and "a coordinator computes them" in missing.json()["detail"][0]
    stranger = UserFactory(username="stranger")
    compute(year)
    assert _client(stranger).get(VALUES, {"academic_year": year.label}).status_code == 403
    bad = _client(people["A"].user).get(VALUES, {"academic_year": "next"})
    assert bad.status_code == 400 and list(bad.json()) == ["academic_year"]


def test_the_schema_documents_the_operation_and_the_resources(client):
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    operation = schema["paths"][URL]["post"]
    assert {"200", "202", "400", "401", "403", "415"} <= set(operation["responses"])
    assert {"200", "202", "404", "422"} <= set(schema["paths"]["/api/v1/shapley-computations/{id}/"]["get"]["responses"])
    assert "/api/v1/shapley-values/" in schema["paths"]
    answer = schema["components"]["schemas"]["ShapleyAllocation"]["properties"]
    assert set(answer) >= SEED_FIELDS
    assert set(schema["components"]["schemas"]["ShapleyValue"]["properties"]) >= ROW_FIELDS


def test_a_pending_request_from_shapley_request_is_joined_by_the_api(pair):
    year, _, _ = pair
    computation, _ = shapley_request(year=year, enqueue=False)
    response = _client(CoordinatorFactory()).post(URL, {"academic_year": year.label}, format="json")
    assert response.status_code == 202 and response.json()["computation"]["id"] == computation.pk
