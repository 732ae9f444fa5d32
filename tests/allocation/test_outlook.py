"""expected_allocation_probability in the answer of POST …/preferences/strategyproof: the chance of a top-choice
week under RSD from the stored chances when they are current, else null with the reason."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from allocation.models import ChanceMatrix
from tests.allocation.conftest import RANKINGS

pytestmark = pytest.mark.django_db
SUBMIT = reverse("preferences-strategyproof")


def post(person, year, order):
    client = APIClient()
    client.force_login(person.user)
    weeks = {w.index: w.start_date.isoformat() for w in year.weeks.all()}
    return client.post(SUBMIT, {"academic_year": year.label, "preference_type": "ordinal",
                                "ordinal_rankings": [{"week": weeks[k], "rank": r} for r, k in enumerate(order, 1)],
                                "blocked_weeks": []}, format="json")


def test_the_same_preferences_again_get_the_stored_top_choice_chance(computed):
    year, people = computed
    answer = post(people["T1"], year, RANKINGS["T1"])
    assert answer.status_code == 201, answer.json()
    matrix = ChanceMatrix.objects.get(year=year, mechanism="rsd")
    row = matrix.faculty_ids.index(people["T1"].pk)
    assert answer.json()["expected_allocation_probability"] == pytest.approx(matrix.summary[row]["top1"])
    assert 0 < answer.json()["expected_allocation_probability"] < 1
    assert answer.json()["expected_allocation_probability_reason"] == ""


def test_new_preferences_make_the_stored_chances_stale_and_the_answer_says_so(computed):
    year, people = computed
    answer = post(people["T1"], year, [3, 2, 1, 0])
    assert answer.status_code == 201
    assert answer.json()["expected_allocation_probability"] is None
    assert "recomputed" in answer.json()["expected_allocation_probability_reason"]


def test_without_stored_chances_the_answer_is_null_with_a_reason(tiny):
    year, people = tiny
    answer = post(people["T0"], year, RANKINGS["T0"])
    assert answer.json()["expected_allocation_probability"] is None
    assert "No chances" in answer.json()["expected_allocation_probability_reason"]
