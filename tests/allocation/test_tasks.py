"""The Celery task around a run: queued on commit, eager by default, progress on the row, time limits, lost runs."""

from __future__ import annotations

import datetime as dt

from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from allocation.algorithms import registry
from allocation.models import AllocationRun, Schedule
from allocation.services import allocation_run_start
from allocation.tasks import TIME_LIMIT_MESSAGE, allocation_run_execute_task


def test_a_started_run_is_queued_on_commit_and_runs_eagerly(tiny, django_capture_on_commit_callbacks):
    year, _ = tiny
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run, created = allocation_run_start(year=year, mechanism="rsd", options={}, seed=3, actor=None)
    assert created and run.status == AllocationRun.Status.PENDING and run.celery_task_id
    assert len(callbacks) == 1  # nothing runs before the transaction commits
    callbacks[0]()
    run.refresh_from_db()
    assert run.status == AllocationRun.Status.COMPLETED and run.progress == 100
    assert Schedule.objects.filter(run=run).count() == 1


def test_the_task_is_configured_for_at_least_once_delivery():
    assert allocation_run_execute_task.acks_late is True
    assert allocation_run_execute_task.reject_on_worker_lost is True
    assert 0 < allocation_run_execute_task.soft_time_limit < allocation_run_execute_task.time_limit


def test_the_task_returns_quietly_when_the_run_is_gone(db):
    assert allocation_run_execute_task.apply(args=[987654]).get() is None


def test_the_task_is_idempotent(tiny):
    year, _ = tiny
    run, _ = allocation_run_start(year=year, mechanism="least_regret", options={}, seed=3, actor=None, enqueue=False)
    assert allocation_run_execute_task.apply(args=[run.pk]).get() == "completed"
    assert allocation_run_execute_task.apply(args=[run.pk]).get() == "completed"
    assert Schedule.objects.filter(run=run).count() == 1


def test_progress_is_written_on_the_run_row_while_solving(tiny, monkeypatch):
    year, _ = tiny
    real = registry.strategy("least_regret")
    seen = {}

    def watched(problem, **kwargs):
        row = AllocationRun.objects.get()
        seen.update(status=row.status, progress=row.progress, message=row.progress_message)
        return real(problem, **kwargs)

    run, _ = allocation_run_start(year=year, mechanism="least_regret", options={}, seed=3, actor=None, enqueue=False)
    monkeypatch.setattr("allocation.algorithms.least_regret.least_regret", watched)
    allocation_run_execute_task.apply(args=[run.pk])
    assert seen == {"status": "running", "progress": 30, "message": "Solving with Least regret"}
    run.refresh_from_db()
    assert (run.progress, run.progress_message) == (100, "Done: 3 assignments")


def test_the_soft_time_limit_fails_the_run_with_a_clear_message(tiny, monkeypatch):
    def slow(problem, **kwargs):
        raise SoftTimeLimitExceeded()

    year, _ = tiny
    run, _ = allocation_run_start(year=year, mechanism="least_regret", options={}, seed=3, actor=None, enqueue=False)
    monkeypatch.setattr("allocation.algorithms.least_regret.least_regret", slow)
    assert allocation_run_execute_task.apply(args=[run.pk]).get() == "failed"
    run.refresh_from_db()
    assert run.status == AllocationRun.Status.FAILED and run.error == TIME_LIMIT_MESSAGE
    assert "minute limit" in run.error and not Schedule.objects.filter(run=run).exists()


def test_a_task_failure_never_leaves_the_run_running(tiny):
    year, _ = tiny
    run, _ = allocation_run_start(year=year, mechanism="rsd", options={}, seed=3, actor=None, enqueue=False)
    AllocationRun.objects.filter(pk=run.pk).update(status=AllocationRun.Status.RUNNING, started_at=timezone.now())
    allocation_run_execute_task.on_failure(RuntimeError("worker lost"), "task-id", (run.pk,), {}, None)
    run.refresh_from_db()
    assert run.status == AllocationRun.Status.FAILED and "worker lost" in run.error


def test_a_redelivered_task_restarts_a_run_its_lost_worker_left_running(tiny):
    year, _ = tiny
    run, _ = allocation_run_start(year=year, mechanism="rsd", options={}, seed=3, actor=None, enqueue=False)
    AllocationRun.objects.filter(pk=run.pk).update(status=AllocationRun.Status.RUNNING, started_at=timezone.now())
    assert allocation_run_execute_task.apply(args=[run.pk]).get() == "running"  # a duplicate delivery does nothing
    allocation_run_execute_task.push_request(delivery_info={"redelivered": True})
    try:
        assert allocation_run_execute_task.run(run.pk) == "completed"
    finally:
        allocation_run_execute_task.pop_request()
    assert Schedule.objects.filter(run=run).count() == 1


def test_a_run_stuck_past_the_time_limit_stops_blocking_new_starts(tiny):
    year, _ = tiny
    run, _ = allocation_run_start(year=year, mechanism="rsd", options={}, seed=3, actor=None, enqueue=False)
    AllocationRun.objects.filter(pk=run.pk).update(
        status=AllocationRun.Status.RUNNING, started_at=timezone.now() - dt.timedelta(hours=2)
    )
    again, created = allocation_run_start(year=year, mechanism="rsd", options={}, seed=3, actor=None, enqueue=False)
    assert created and again.pk != run.pk
    run.refresh_from_db()
    assert run.status == AllocationRun.Status.FAILED and "stopped without finishing" in run.error


def test_a_run_that_cannot_be_queued_fails_instead_of_waiting_for_ever(
    tiny, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = False

    def unreachable(*args, **kwargs):
        raise ConnectionRefusedError("redis down")

    monkeypatch.setattr(allocation_run_execute_task, "apply_async", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = allocation_run_start(year=tiny[0], mechanism="rsd", options={}, seed=3, actor=None)
    run.refresh_from_db()
    assert run.status == AllocationRun.Status.FAILED and "broker is unreachable" in run.error


def test_a_run_nobody_picked_up_stops_blocking_new_starts(tiny):
    year, _ = tiny
    run, _ = allocation_run_start(year=year, mechanism="rsd", options={}, seed=None, actor=None, enqueue=False)
    AllocationRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - dt.timedelta(hours=2))
    again, created = allocation_run_start(year=year, mechanism="rsd", options={}, seed=None, actor=None, enqueue=False)
    assert created and again.pk != run.pk
    run.refresh_from_db()
    assert run.status == AllocationRun.Status.FAILED and "Celery worker" in run.error


# --- the new draft's price-of-anarchy estimate -------------------------------------------------------------------


def test_a_completed_run_stores_the_price_of_anarchy_estimate_its_reports_reuse(tiny):
    from stability.models import PriceOfAnarchyEstimate
    from stability.reports import stability_report_for

    year, _ = tiny
    run, _ = allocation_run_start(year=year, mechanism="least_regret", options={}, seed=3, actor=None, enqueue=False)
    allocation_run_execute_task.apply(args=[run.pk])
    [estimate] = PriceOfAnarchyEstimate.objects.all()
    assert estimate.year == year and estimate.restarts == 20 and estimate.price_of_anarchy >= 1.0
    report = stability_report_for(schedule=Schedule.objects.get(run=run))
    assert report.payload["price_of_anarchy_status"].startswith("reused")
    assert report.parameters["price_of_anarchy_estimate"] == estimate.pk


def test_no_estimate_when_precomputing_is_off(tiny, settings):
    from stability.models import PriceOfAnarchyEstimate

    settings.GTSCHED_STABILITY = {**settings.GTSCHED_STABILITY, "precompute_price_of_anarchy": False}
    year, _ = tiny
    run, _ = allocation_run_start(year=year, mechanism="rsd", options={}, seed=3, actor=None, enqueue=False)
    assert allocation_run_execute_task.apply(args=[run.pk]).get() == "completed"
    assert not PriceOfAnarchyEstimate.objects.exists()


def test_a_failing_estimate_leaves_the_run_completed(tiny, monkeypatch, caplog):
    def broken(**kwargs):
        raise RuntimeError("solver unavailable")

    monkeypatch.setattr("stability.estimates.price_estimate_ensure", broken)
    year, _ = tiny
    run, _ = allocation_run_start(year=year, mechanism="rsd", options={}, seed=3, actor=None, enqueue=False)
    assert allocation_run_execute_task.apply(args=[run.pk]).get() == "completed"
    run.refresh_from_db()
    assert run.status == AllocationRun.Status.COMPLETED and Schedule.objects.filter(run=run).exists()
    assert "Could not estimate the price of anarchy" in caplog.text
