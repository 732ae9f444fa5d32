"""The year's chances: computed and stored per mechanism, stale when inputs change, recomputed debounced (a fake
clock), never two at once (PostgreSQL, threads), and the Monte Carlo chunks merged exactly through Celery."""

from __future__ import annotations

import datetime as dt
import threading
import time

import numpy as np
import pytest
from django.db import connection, connections
from django.utils import timezone

from allocation.algorithms.chances import rsd_chances
from allocation.algorithms.registry import CHANCE_MECHANISMS
from allocation.models import ChanceMatrix, ChanceRecomputation
from allocation.problem import year_problem
from allocation.services.chances import (
    chances_compute,
    chances_current,
    chances_recompute,
    chances_request,
    chances_run_due,
    chances_store,
)
from tests.allocation.helpers import submit

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 9, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def small_draws(settings):
    settings.GTSCHED_CHANCES = {"draws": 4000, "chunks": 3, "debounce_s": 60, "seed": 7}


class Counting:
    """A stand-in computation that records when it ran (the debounce is under test, not the mathematics)."""

    def __init__(self, pause: float = 0.0) -> None:
        self.calls = 0
        self.pause = pause

    def __call__(self, *, year, **_) -> str:
        self.calls += 1
        time.sleep(self.pause)
        return "done"


def test_rapid_submissions_leave_one_pending_recomputation_pushed_later(tiny):
    year, _ = tiny
    for seconds in (0, 10, 30):
        chances_request(year_id=year.pk, now=T0 + dt.timedelta(seconds=seconds))
    record = ChanceRecomputation.objects.get(year=year)
    assert ChanceRecomputation.objects.filter(year=year).count() == 1
    assert record.state == ChanceRecomputation.State.PENDING
    assert record.requests == 3
    assert record.due_at == T0 + dt.timedelta(seconds=90)

    compute = Counting()
    assert chances_run_due(year_id=year.pk, now=T0 + dt.timedelta(seconds=60), compute=compute) == "waiting"
    assert chances_run_due(year_id=year.pk, now=T0 + dt.timedelta(seconds=89), compute=compute) == "waiting"
    assert compute.calls == 0
    assert chances_run_due(year_id=year.pk, now=T0 + dt.timedelta(seconds=90), compute=compute) == "done"
    assert compute.calls == 1
    record.refresh_from_db()
    assert record.state == ChanceRecomputation.State.IDLE
    assert chances_run_due(year_id=year.pk, now=T0 + dt.timedelta(seconds=200), compute=compute) == "idle"
    assert compute.calls == 1


def test_a_change_while_running_queues_exactly_one_more_run(tiny):
    year, _ = tiny
    ChanceRecomputation.objects.filter(year=year).delete()
    chances_request(year_id=year.pk, now=T0)
    seen = []

    def compute(*, year, **_):
        # A submission arrives while this runs: it must not start a second run, only mark this one to go again.
        record = chances_request(year_id=year.pk, now=T0 + dt.timedelta(seconds=70))
        seen.append(record.state)
        assert chances_run_due(year_id=year.pk, now=T0 + dt.timedelta(seconds=71)) == "running"
        return "done"

    assert chances_run_due(year_id=year.pk, now=T0 + dt.timedelta(seconds=60), compute=compute) == "done"
    assert seen == [ChanceRecomputation.State.RUNNING]
    record = ChanceRecomputation.objects.get(year=year)
    assert record.state == ChanceRecomputation.State.PENDING and not record.again
    assert record.due_at == T0 + dt.timedelta(seconds=130)
    again = Counting()
    assert chances_run_due(year_id=year.pk, now=T0 + dt.timedelta(seconds=130), compute=again) == "done"
    assert again.calls == 1


def test_a_failed_recomputation_is_recorded_and_the_next_change_tries_again(tiny):
    year, _ = tiny
    ChanceRecomputation.objects.filter(year=year).delete()
    chances_request(year_id=year.pk, now=T0)

    def broken(*, year, **_):
        raise RuntimeError("solver exploded")

    assert chances_run_due(year_id=year.pk, now=T0 + dt.timedelta(seconds=60), compute=broken) == "failed"
    record = ChanceRecomputation.objects.get(year=year)
    assert record.state == ChanceRecomputation.State.IDLE and "solver exploded" in record.error
    chances_request(year_id=year.pk, now=T0 + dt.timedelta(seconds=100))
    assert ChanceRecomputation.objects.get(year=year).state == ChanceRecomputation.State.PENDING


def test_a_lost_running_recomputation_is_reclaimed_after_its_time_limit(tiny, settings):
    year, _ = tiny
    ChanceRecomputation.objects.update_or_create(
        year=year, defaults={"state": ChanceRecomputation.State.RUNNING, "started_at": T0, "due_at": T0}
    )
    compute = Counting()
    assert chances_run_due(year_id=year.pk, now=T0 + dt.timedelta(minutes=5), compute=compute) == "running"
    assert chances_run_due(year_id=year.pk, now=T0 + dt.timedelta(hours=1), compute=compute) == "done"
    assert compute.calls == 1


def test_submissions_ask_for_a_recomputation_and_mark_the_chances_stale(tiny, django_capture_on_commit_callbacks):
    year, people = tiny
    chances_recompute(year=year)
    assert ChanceMatrix.objects.filter(year=year).count() == len(CHANCE_MECHANISMS)
    matrix, fresh = chances_current(year=year)
    assert fresh and not matrix.stale
    before = ChanceRecomputation.objects.get(year=year)
    assert before.state == ChanceRecomputation.State.IDLE
    with django_capture_on_commit_callbacks(execute=True):
        submit(people["T0"], year, [3, 2, 1, 0])
    record = ChanceRecomputation.objects.get(year=year)
    assert record.requests == before.requests + 1 and record.state == ChanceRecomputation.State.PENDING
    matrix, fresh = chances_current(year=year)
    assert matrix is not None and matrix.stale and not fresh


def test_a_matrix_computed_from_older_inputs_is_not_current(tiny):
    year, people = tiny
    chances = chances_compute(year=year, mechanism="rsd", seed=7, draws=1000)
    submit(people["T1"], year, [3, 2, 1, 0])  # the inputs move on after the computation started
    stored = chances_store(year=year, chances=chances)
    assert stored.stale
    assert chances_current(year=year)[1] is False


def test_recompute_stores_every_mechanism_from_the_same_inputs(tiny):
    year, _ = tiny
    chances_recompute(year=year)
    built = year_problem(year=year, seed=7)
    matrices = {m.mechanism: m for m in ChanceMatrix.objects.filter(year=year)}
    assert set(matrices) == set(CHANCE_MECHANISMS)
    for matrix in matrices.values():
        assert matrix.fingerprint == built.inputs_digest and matrix.seed == 7
        p = np.asarray(matrix.probabilities)
        assert p.shape == (3, 4)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)  # everyone gets their one week
        assert set(matrix.details["comparison"]) == {"expected_rank", "top3_share", "envious_share", "mean_envy"}
    assert matrices["rsd"].draws == 4000 and matrices["probabilistic_serial"].draws == 0
    assert np.asarray(matrices["probabilistic_serial"].stderr).max() == 0
    assert matrices["rsd"].details["chunks"] == 3


def test_chunks_merged_through_the_chord_equal_one_process(tiny):
    year, _ = tiny
    chances_recompute(year=year)  # three Celery chunks (eager here) merged by the chord's callback
    merged = np.asarray(ChanceMatrix.objects.get(year=year, mechanism="rsd").probabilities)
    single = rsd_chances(year_problem(year=year, seed=7).problem, seed=7, stop=4000)
    np.testing.assert_allclose(merged, np.round(single.probabilities(), 6))


def test_rsd_chances_on_a_contested_year_follow_the_lottery(contested):
    year, _ = contested
    chances = chances_compute(year=year, mechanism="rsd", seed=3, draws=6000)
    # Everyone ranks the weeks the same way: each of the three gets each of the first three weeks a third of the time.
    np.testing.assert_allclose(chances.probabilities[:, :3], 1 / 3, atol=4.5 * np.sqrt(2 / 9 / 6000))
    assert (chances.probabilities[:, 3] == 0).all()
    np.testing.assert_allclose(chances.top[:, 0], chances.probabilities[:, 0])


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_run_the_same_recomputation(tiny):
    if connection.vendor != "postgresql":
        pytest.skip("row locks across threads need PostgreSQL")
    year, _ = tiny
    ChanceRecomputation.objects.update_or_create(
        year=year, defaults={"state": ChanceRecomputation.State.PENDING, "due_at": T0}
    )
    compute = Counting(pause=0.5)
    outcomes, barrier = [], threading.Barrier(3)

    def worker():
        try:
            barrier.wait()
            outcomes.append(chances_run_due(year_id=year.pk, now=T0 + dt.timedelta(seconds=1), compute=compute))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert compute.calls == 1
    assert sorted(outcomes) == ["done", "running", "running"]
    assert ChanceRecomputation.objects.get(year=year).state == ChanceRecomputation.State.IDLE


def test_the_default_clock_is_now(tiny):
    year, _ = tiny
    record = chances_request(year_id=year.pk)
    assert abs((record.requested_at - timezone.now()).total_seconds()) < 5
