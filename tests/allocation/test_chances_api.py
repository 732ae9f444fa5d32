"""GET /api/v1/probabilities/ and POST /api/v1/probabilities/recompute: who sees which rows, what a bad parameter
says, stale and missing chances, the recomputation, and the schema that documents them."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from allocation.models import ChanceMatrix, ChanceRecomputation
from allocation.services.chances import chances_request
from tests.allocation.helpers import submit
from tests.factories import CoordinatorFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/probabilities/"
RECOMPUTE = "/api/v1/probabilities/recompute"


@pytest.fixture(autouse=True)
def few_draws(few_chance_draws):
    """500 lotteries in two chunks, seed 7 (tests/allocation/conftest.py)."""


def _client(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_the_urls_are_where_integrations_expect_them():
    assert reverse("probabilities") == URL and reverse("probabilities-recompute") == RECOMPUTE


def test_a_faculty_member_gets_only_their_own_row(computed):
    year, people = computed
    response = _client(people["T1"].user).get(URL, {"academic_year": year.label})
    assert response.status_code == 200
    body = response.json()
    assert [row["faculty"] for row in body["faculty"]] == ["T1"]
    row = body["faculty"][0]
    matrix = ChanceMatrix.objects.get(year=year, mechanism="rsd")
    i = matrix.faculty_ids.index(people["T1"].pk)
    assert row["faculty_id"] == people["T1"].pk and row["name"] == "Dr. T1"
    assert [w["week"] for w in row["weeks"]] == [w.start_date.isoformat() for w in year.weeks.order_by("index")]
    assert [w["probability"] for w in row["weeks"]] == matrix.probabilities[i]
    assert [w["stderr"] for w in row["weeks"]] == matrix.stderr[i]
    assert (row["top1"], row["top3"], row["expected_rank"]) == (
        matrix.summary[i]["top1"], matrix.summary[i]["top3"], matrix.summary[i]["expected_rank"])
    assert (body["academic_year"], body["mechanism"], body["draws"], body["seed"]) == (year.label, "rsd", 500, 7)
    assert body["stale"] is False and body["recomputation"] == {"state": "idle", "due_at": None}


def test_a_coordinator_gets_every_row_and_the_open_year_by_default(computed):
    year, people = computed
    body = _client(CoordinatorFactory()).get(URL, {"mechanism": "probabilistic_serial"}).json()
    assert body["academic_year"] == year.label and body["mechanism"] == "probabilistic_serial"
    assert sorted(row["faculty"] for row in body["faculty"]) == ["T0", "T1", "T2"]
    assert body["draws"] == 0
    assert all(w["stderr"] == 0 for row in body["faculty"] for w in row["weeks"])
    # an exact lottery's weeks sum to each person's load (one week each here)
    assert all(abs(sum(w["probability"] for w in row["weeks"]) - 1) < 1e-6 for row in body["faculty"])


def test_anonymous_callers_get_401(computed):
    assert _client().get(URL).status_code == 401
    assert _client().post(RECOMPUTE, {}, format="json").status_code == 401


def test_a_login_without_a_faculty_profile_gets_403(computed, django_user_model):
    stranger = django_user_model.objects.create_user("stranger", password="x")
    response = _client(stranger).get(URL)
    assert response.status_code == 403
    assert "not linked to a faculty member" in response.json()["detail"][0]


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ({"mechanism": "lottery"}, "mechanism", "not a valid choice"),
        ({"mechanism": ""}, "mechanism", "not a valid choice"),
        ({"academic_year": "next"}, "academic_year", "valid integer"),
        ({"academic_year": "1999"}, "academic_year", "No academic year 1999; the years are 2030"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(computed, query, field, words):
    response = _client(CoordinatorFactory()).get(URL, query)
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert words in response.json()[field][0]


def test_no_chances_yet_is_a_404_that_says_so(tiny):
    year, people = tiny
    response = _client(people["T0"].user).get(URL)
    assert response.status_code == 404
    assert response.json()["detail"] == [f"No chances under Random serial dictatorship for {year.label} yet: they are "
                                         "computed after preferences change."]


def test_changed_inputs_show_as_stale_with_the_pending_recomputation(computed):
    year, people = computed
    submit(people["T2"], year, [3, 2, 1, 0])
    record = chances_request(year_id=year.pk)
    body = _client(people["T0"].user).get(URL).json()
    assert body["stale"] is True
    assert body["recomputation"]["state"] == "pending"
    assert body["recomputation"]["due_at"].startswith(record.due_at.strftime("%Y-%m-%dT%H:%M:%S"))


def test_faculty_cannot_ask_for_a_recomputation(computed):
    year, people = computed
    response = _client(people["T0"].user).post(RECOMPUTE, {"academic_year": year.label}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == ["Only coordinators can ask for the chances to be recomputed."]
    assert ChanceRecomputation.objects.get(year=year).requests == 0


def test_a_coordinator_recomputes_at_once_without_a_worker(tiny):
    year, _ = tiny
    response = _client(CoordinatorFactory()).post(RECOMPUTE, {"academic_year": year.label}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["academic_year"] == year.label and body["state"] == "idle" and body["error"] == ""
    assert body["poll"].endswith(f"{URL}?academic_year={year.label}")
    assert ChanceMatrix.objects.filter(year=year).count() == 3


def test_a_recompute_body_with_an_unknown_field_or_year_is_refused(tiny):
    client = _client(CoordinatorFactory())
    response = client.post(RECOMPUTE, {"year": 2030}, format="json")
    assert response.status_code == 400 and "year" in response.json()
    response = client.post(RECOMPUTE, {"academic_year": 1999}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["academic_year"]


def test_the_schema_documents_both_operations(client):
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    get = schema["paths"][URL]["get"]
    assert {p["name"] for p in get["parameters"]} >= {"academic_year", "mechanism"}
    assert {"200", "400", "401", "404"} <= get["responses"].keys()
    post = schema["paths"][RECOMPUTE]["post"]
    assert {"202", "400", "401", "403"} <= post["responses"].keys()
    answer = schema["components"]["schemas"]["Chances"]["properties"]
    assert {"academic_year", "mechanism", "draws", "seed", "computed_at", "stale", "recomputation", "faculty"} <= set(answer)
