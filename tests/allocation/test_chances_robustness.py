"""What a review of the chances found: counts merged onto changed inputs, a recomputation lost while running, a
stray finish, a stored matrix naming a deleted week, seats with no per-slot demand, odd digits in parameters,
astronomically large lottery weights, and an accept list shown without invented choice numbers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from allocation.algorithms.chance_stats import lottery_top_chances
from allocation.chance_reads import week_seats
from allocation.models import ChanceMatrix, ChanceRecomputation
from allocation.problem import year_problem
from allocation.services.chances import (
    chances_current,
    chances_finish,
    chances_recompute,
    chances_refresh,
    chances_request,
    chances_rsd_chunk,
    chances_rsd_merge,
    chances_run_due,
)
from preferences.models import CoverageDemand, Week
from preferences.querysets import year_from_label
from preferences.services import preferences_submit
from tests.allocation.helpers import submit
from tests.factories import CoordinatorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def few_draws(settings):
    settings.GTSCHED_CHANCES = {"draws": 1000, "chunks": 1, "debounce_s": 60, "seed": 7, "running_stale_s": 600}


def _running(year, started):
    record, _ = ChanceRecomputation.objects.update_or_create(
        year=year, defaults={"state": ChanceRecomputation.State.RUNNING, "started_at": started, "due_at": started},
    )
    return record


def test_counts_drawn_on_inputs_that_changed_before_the_merge_are_not_stored_as_current(tiny):
    year, people = tiny
    fingerprint = year_problem(year=year, seed=7).inputs_digest
    chunk = chances_rsd_chunk(year_id=year.pk, seed=7, start=0, stop=1000, fingerprint=fingerprint)
    submit(people["T0"], year, [3, 2, 1, 0])  # the inputs move on between the chunk and the merge
    started = _running(year, timezone.now()).started_at
    outcome = chances_rsd_merge(year_id=year.pk, seed=7, fingerprint=fingerprint, chunks=[chunk],
                                token=started.isoformat())
    assert outcome == "stale"
    assert not ChanceMatrix.objects.filter(year=year, mechanism="rsd").exists()
    assert ChanceRecomputation.objects.get(year=year).state == ChanceRecomputation.State.PENDING  # asked again


def test_a_recomputation_lost_while_running_is_taken_over(tiny, settings):
    year, _ = tiny
    settings.GTSCHED_RUNS_IN_BACKGROUND = False
    _running(year, timezone.now() - dt.timedelta(hours=5))
    assert chances_refresh(year=year) == "dispatched"  # eager here: the chord has already merged and finished
    assert ChanceRecomputation.objects.get(year=year).state == ChanceRecomputation.State.IDLE
    assert ChanceMatrix.objects.filter(year=year).count() == 3
    # A request finds a lost run and queues a fresh one rather than waiting for it for ever.
    _running(year, timezone.now() - dt.timedelta(hours=5))
    assert chances_request(year_id=year.pk).state == ChanceRecomputation.State.PENDING
    # …and one still running within its limit is left alone.
    _running(year, timezone.now())
    assert chances_refresh(year=year) == "running"
    assert chances_run_due(year_id=year.pk) == "running"


def test_only_the_running_recomputation_can_finish_itself(tiny):
    year, _ = tiny
    started = _running(year, timezone.now()).started_at
    assert chances_finish(year_id=year.pk, token="2000-01-01T00:00:00+00:00") is False
    assert ChanceRecomputation.objects.get(year=year).state == ChanceRecomputation.State.RUNNING
    assert chances_finish(year_id=year.pk, token=started.isoformat()) is True
    assert ChanceRecomputation.objects.get(year=year).state == ChanceRecomputation.State.IDLE
    assert chances_finish(year_id=year.pk, token=started.isoformat()) is False  # never twice


def test_a_failing_merge_records_its_error_once_and_keeps_a_request_that_arrived_meanwhile(tiny, monkeypatch):
    year, _ = tiny
    chances_request(year_id=year.pk, now=timezone.now() - dt.timedelta(minutes=5))

    def explode(**kwargs):
        chances_request(year_id=year.pk)  # a change arrives while the merge runs
        raise RuntimeError("disk full")

    monkeypatch.setattr("allocation.services.chances.chances_store", explode)
    assert chances_run_due(year_id=year.pk) == "failed"
    record = ChanceRecomputation.objects.get(year=year)
    assert record.state == ChanceRecomputation.State.PENDING and not record.again  # the change's run still comes
    assert "disk full" in record.error


def test_a_matrix_naming_a_deleted_week_is_not_shown(tiny, client):
    year, people = tiny
    chances_recompute(year=year)
    Week.objects.filter(year=year, index=3).delete()
    assert chances_current(year=year)[0] is None
    client.force_login(people["T0"].user)
    assert client.get(reverse("my_chances")).status_code == 200
    assert client.get(reverse("probabilities")).status_code == 404
    client.force_login(CoordinatorFactory())
    assert client.get(reverse("year_chances", args=[year.label])).status_code == 200


def test_seats_come_from_the_problem_when_the_year_gives_no_per_slot_demand(tiny):
    year, _ = tiny
    CoverageDemand.objects.filter(week__year=year).delete()
    chances_recompute(year=year)
    matrix = ChanceMatrix.objects.get(year=year, mechanism="rsd")
    seats = week_seats(year, matrix)
    total_load = 3  # three faculty, one week each, spread over four one-rotation weeks
    assert sum(seats.values()) == total_load and all(n >= 0 for n in seats.values())


def test_odd_digits_are_refused_not_crashed_on(tiny, client):
    year, people = tiny
    with pytest.raises(ValidationError):
        year_from_label("²")
    chances_recompute(year=year)
    client.force_login(CoordinatorFactory())
    assert client.get(reverse("my_chances") + "?faculty=²").status_code == 302  # a coordinator without a profile


def test_top_chances_of_a_lottery_with_huge_weights_are_exact_enough():
    from tests.allocation.algorithms.test_chances import bogomolnaia_moulin

    problem = bogomolnaia_moulin()
    big = 3**700  # far beyond a float's range
    schedules = [np.array([[0, 0, 0], [1, 2, 0], [2, 1, 0], [3, 3, 0]]), np.array([[0, 2, 0], [1, 0, 0], [2, 3, 0], [3, 1, 0]])]
    top = lottery_top_chances(problem, [big, 2 * big], schedules, 3 * big)
    np.testing.assert_allclose(top[:, 0], [1 / 3, 2 / 3, 1 / 3, 2 / 3])


def test_an_accept_list_gets_no_invented_choice_numbers(tiny, client):
    year, people = tiny
    weeks = {w.index: w for w in year.weeks.all()}
    preferences_submit(
        faculty=people["T2"], year=year, preference_type="binary",
        entries=[{"week": weeks[k].start_date.isoformat(), "accept": True} for k in (0, 1, 2)],
        blocked_weeks=[], method="web_form",
    )
    chances_recompute(year=year)
    client.force_login(people["T2"].user)
    html = client.get(reverse("my_chances")).content.decode()
    assert "accepted weeks you can expect" in html
    assert "chance of your first choice" not in html
