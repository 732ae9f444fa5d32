"""The utility weights page (coordinators: validated, previewed, saved) and the factors on the "why" page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from allocation.utility_words import utility_breakdown
from allocation.weights import utility_weights_preview
from preferences.models import AcademicYear
from preferences.time_off import time_off_create
from preferences.weights import utility_weights_clean, year_weights_set
from tests.allocation.helpers import run_now
from tests.factories import AssignmentFactory

pytestmark = pytest.mark.django_db

DEFAULT_PERCENT = {"preference": "60", "workload_balance": "20", "time_off_proximity": "10", "swap_out_rate": "10"}


def url(year):
    return reverse("utility_weights", args=[year.label])


@pytest.mark.parametrize(("raw", "field"), [
    ({"preference": -0.1, "workload_balance": 0.5, "time_off_proximity": 0.3, "swap_out_rate": 0.3}, "preference"),
    ({"preference": "a", "workload_balance": 0.5, "time_off_proximity": 0.3, "swap_out_rate": 0.2}, "preference"),
    ({"preference": 0.5, "workload_balance": 0.5, "time_off_proximity": 0.3, "swap_out_rate": 0.3}, "utility_weights"),
    ({"preference": 1.0, "workload_balance": 0, "time_off_proximity": 0, "swap_out_rate": 0, "luck": 0}, "luck"),
])
def test_bad_weights_are_refused_naming_the_field(raw, field):
    with pytest.raises(ValidationError) as caught:
        utility_weights_clean(raw)
    assert field in caught.value.message_dict


def test_weights_are_stored_summing_to_one_and_only_by_coordinators(year, faculty):
    with pytest.raises(Exception, match="Only coordinators"):
        year_weights_set(year=year, weights={"preference": 1, "workload_balance": 0, "time_off_proximity": 0,
                                             "swap_out_rate": 0}, actor=faculty.user)
    year_weights_set(year=year, weights={"preference": 0.7, "workload_balance": 0.1, "time_off_proximity": 0.1,
                                         "swap_out_rate": 0.1})
    stored = AcademicYear.objects.get(pk=year.pk).utility_weights
    assert sum(stored.values()) == pytest.approx(1.0) and stored["preference"] == pytest.approx(0.7)


def test_the_preview_counts_the_utilities_that_change(year, faculty, other_faculty):
    year.roster.set([faculty, other_faculty])
    nothing = utility_weights_preview(year=year, weights=year.weights)
    assert nothing.changed == 0 and nothing.total == 16
    # Without submissions every score is 0.5: moving weight between factors that all score 0.5 changes nothing …
    same = utility_weights_preview(year=year, weights={"preference": 1.0, "workload_balance": 0.0,
                                                         "time_off_proximity": 0.0, "swap_out_rate": 0.0})
    assert same.changed == 0
    # … until one has data: Alice's conference (Wed 22 – Fri 24 Jul) blocks week 2; her other weeks' proximity is
    # 0.8, 0.5, –, 0.2, 0.5, 0.8, 0.8, 0.8. Moving 0.1 from preference (score 0.5) to proximity changes u by
    # 0.1 × (proximity − 0.5): every week but the two at 0.5.
    time_off_create(faculty=faculty, year=year, start=dt.date(2026, 7, 22), end=dt.date(2026, 7, 24), kind="conference")
    moved = utility_weights_preview(year=year, weights={"preference": 0.5, "workload_balance": 0.2,
                                                          "time_off_proximity": 0.2, "swap_out_rate": 0.1})
    assert (moved.changed, moved.total, moved.faculty_changed) == (5, 15, 1)
    assert moved.largest_change == pytest.approx(0.03)


@pytest.mark.parametrize("who", ["anonymous", "faculty"])
def test_only_coordinators_open_the_weights_page(request, client_as, year, who):
    user = None if who == "anonymous" else request.getfixturevalue(who).user
    answer = client_as(user).get(url(year))
    assert answer.status_code in (302, 403)


def test_a_coordinator_previews_then_saves_the_weights(client_as, coordinator, faculty, year):
    client = client_as(coordinator)
    assert client.get(url(year)).status_code == 200
    preview = client.post(url(year), {**DEFAULT_PERCENT, "preference": "70", "workload_balance": "10", "action": "preview"},
                          HTTP_HX_REQUEST="true")
    assert preview.status_code == 200 and b"utilities" in preview.content and b"<html" not in preview.content
    assert AcademicYear.objects.get(pk=year.pk).utility_weights == {}
    saved = client.post(url(year), {**DEFAULT_PERCENT, "preference": "70", "workload_balance": "10", "action": "save"})
    assert saved.status_code == 302
    assert AcademicYear.objects.get(pk=year.pk).weights["preference"] == pytest.approx(0.7)


@pytest.mark.parametrize(("change", "words"), [
    ({"preference": "-5", "workload_balance": "35"}, "greater than or equal to 0"),
    ({"preference": "50"}, "add up to 100 %"),
])
def test_bad_weights_on_the_page_are_refused_and_nothing_is_stored(client_as, coordinator, year, change, words):
    answer = client_as(coordinator).post(url(year), {**DEFAULT_PERCENT, **change, "action": "save"})
    assert answer.status_code == 400 and words in answer.content.decode()
    assert AcademicYear.objects.get(pk=year.pk).utility_weights == {}


def test_the_why_page_shows_what_the_utility_is_made_of_in_plain_words(tiny, client_as):
    year, people = tiny
    t0 = people["T0"]
    time_off_create(faculty=t0, year=year, start=year.first_monday + dt.timedelta(weeks=3, days=2),
                    end=year.first_monday + dt.timedelta(weeks=3, days=3), kind="conference")
    run = run_now(year, "least_regret", seed=1)
    assignment = run.schedule.assignments.get(faculty=t0)
    page = client_as(t0.user).get(reverse("assignment_why", args=[assignment.pk])).content.decode()
    start = year.first_monday + dt.timedelta(weeks=3, days=2)
    assert f"60 % your ranking, 20 % your workload, 10 % your conference on {start.day} {start:%b}, 10 % your swap history." in page
    assert "never held calendar week" in page


def test_a_holder_outside_the_years_inputs_gets_no_breakdown(tiny, client_as, coordinator):
    year, people = tiny
    run = run_now(year, "rsd", seed=1)
    stranger = AssignmentFactory(schedule=run.schedule, week=year.weeks.get(index=3))
    assert utility_breakdown(assignment=stranger) is None
