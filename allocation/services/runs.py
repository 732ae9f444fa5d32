"""An allocation run's life: start (or find the same run already active), queue, execute, fail, cancel, reap."""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from allocation.algorithms import feasibility, registry
from allocation.algorithms import stats as run_stats
from allocation.algorithms.registry import MECHANISM_LABELS
from allocation.algorithms.types import Allocation
from allocation.models import AllocationRun, Comparison
from allocation.problem import YearProblem, mechanism_options, run_fingerprint, run_year_problem
from allocation.services.infeasibility import infeasible_message
from allocation.services.options import (
    options_clean,
    options_probe,
)
from allocation.services.results import schedule_save
from gtsched_site.background import eager, run_in_background, runs_in_background
from gtsched_site.limits import seed_clean, seed_draw
from gtsched_site.permissions import user_or_none
from gtsched_site.serialization import jsonable
from preferences.models import AcademicYear

logger = logging.getLogger(__name__)

EXECUTE_TASK = "allocation.tasks.allocation_run_execute_task"  # queued by name (the task calls these services);
# AllocationConfig.ready() registers it

# The Celery task's limits live here so the service can tell a dead worker's run from a slow one.
RUN_SOFT_TIME_LIMIT_S = 840
RUN_TIME_LIMIT_S = 900
STALE_AFTER = dt.timedelta(seconds=RUN_TIME_LIMIT_S + 60)
PENDING_STALE_AFTER = dt.timedelta(hours=1)  # queued but never picked up: no worker, or the broker lost it

PROGRESS_LOADING, PROGRESS_SOLVING, PROGRESS_SAVING, PROGRESS_DONE = 10, 30, 80, 100

def allocation_run_start(
    *,
    year: AcademicYear,
    mechanism: str,
    options: Mapping[str, Any] | None,
    seed: int | None,
    actor,
    comparison: Comparison | None = None,
    enqueue: bool = True,
) -> tuple[AllocationRun, bool]:
    """Create a pending run and queue it, unless one on the same inputs is pending or running: then return that one.

    Returns (run, created). A missing seed is drawn and stored. With enqueue=False nothing is queued (the caller runs
    allocation_run_execute itself, as the allocate command does).
    """
    clean = options_clean(mechanism=mechanism, options=options)
    seed = seed_clean(seed)
    with transaction.atomic():
        AcademicYear.objects.select_for_update().filter(pk=year.pk).first()  # serialise starts per year
        _reap_stale_runs(year=year)
        drawn = seed is None
        if drawn:
            seed = seed_draw()
        built = run_year_problem(year=year, seed=seed, parameters=clean)
        options_probe(mechanism=mechanism, problem=built.problem, options=mechanism_options(clean))
        fingerprint = run_fingerprint(
            problem_fingerprint=built.fingerprint, mechanism=mechanism, options=clean, seed=seed
        )
        existing = _active_run_on_same_inputs(
            year=year, mechanism=mechanism, fingerprint=fingerprint, drawn=drawn, inputs_digest=built.inputs_digest,
            parameters=clean,
        )
        if existing is not None:
            if comparison is not None and existing.comparison_id is None:
                existing.comparison = comparison
                existing.save(update_fields=["comparison"])
            return existing, False
        task_id = str(uuid.uuid4()) if enqueue else ""
        try:
            with transaction.atomic():
                run = AllocationRun.objects.create(
                    year=year,
                    mechanism=mechanism,
                    parameters=clean,
                    seed=seed,
                    seed_drawn=drawn,
                    input_fingerprint=fingerprint,
                    inputs_digest=built.inputs_digest,
                    status=AllocationRun.Status.PENDING,
                    progress=0,
                    progress_message="Waiting for a worker" if enqueue else "Starting",
                    created_by=user_or_none(actor),
                    celery_task_id=task_id,
                    comparison=comparison,
                )
        except IntegrityError:
            # Another request inserted the same run between our check and our insert (no row lock on SQLite).
            existing = AllocationRun.objects.filter(
                year=year, mechanism=mechanism, input_fingerprint=fingerprint,
                status__in=AllocationRun.ACTIVE_STATUSES,
            ).first()
            if existing is None:
                raise
            return existing, False
        if enqueue:
            transaction.on_commit(partial(_enqueue, run.pk, task_id))
    return run, True


def _active_run_on_same_inputs(
    *, year: AcademicYear, mechanism: str, fingerprint: str, drawn: bool, inputs_digest: str, parameters: dict,
) -> AllocationRun | None:
    active = AllocationRun.objects.filter(year=year, mechanism=mechanism, status__in=AllocationRun.ACTIVE_STATUSES)
    same = active.filter(input_fingerprint=fingerprint).first()
    if same is not None or not drawn:
        return same
    # No seed given: a repeated click draws a new seed, but it is still the same request on the same inputs.
    for run in active.filter(seed_drawn=True, inputs_digest=inputs_digest).order_by("pk"):
        if run.parameters == parameters:
            return run
    return None


def _enqueue(run_id: int, task_id: str) -> None:
    if runs_in_background():
        # No worker: run it on a thread of this process so the request that started it answers at once.
        run_in_background(_send, run_id, task_id)
    else:
        _send(run_id, task_id)


def _eager() -> bool:
    return eager()


def _send(run_id: int, task_id: str) -> None:
    try:
        current_app.tasks[EXECUTE_TASK].apply_async(args=[run_id], task_id=task_id)
    except Exception as exc:
        # The run row is committed: record why it will not run rather than leave it pending for ever.
        logger.exception("Allocation run %s could not be queued or run", run_id)
        if _eager():
            error = f"The run stopped with an unexpected error: {_exception_text(exc)}"
        else:
            error = "The run could not be queued: the task broker is unreachable. Try again in a moment."
        allocation_run_fail(run_id=run_id, error=error)


def _reap_stale_runs(*, year: AcademicYear) -> None:
    """Fail runs that can no longer finish, so they stop blocking a new start on the same inputs.

    RUNNING past the task's hard time limit: the worker was killed or lost. PENDING for an hour: no worker took it.
    """
    now = timezone.now()
    runs = AllocationRun.objects.filter(year=year)
    runs.filter(status=AllocationRun.Status.RUNNING, started_at__lt=now - STALE_AFTER).update(
        status=AllocationRun.Status.FAILED,
        finished_at=now,
        error="The worker running this allocation stopped without finishing (time limit or crash). Start it again.",
        progress_message="Failed",
    )
    runs.filter(status=AllocationRun.Status.PENDING, created_at__lt=now - PENDING_STALE_AFTER).update(
        status=AllocationRun.Status.FAILED,
        finished_at=now,
        error="No worker picked this run up within an hour; check that a Celery worker is running, then start it again.",
        progress_message="Failed",
    )


def allocation_run_fail(*, run_id: int, error: str) -> bool:
    """Mark a pending or running run FAILED with a message for people; False when it had already finished."""
    return bool(
        AllocationRun.objects.filter(pk=run_id, status__in=AllocationRun.ACTIVE_STATUSES).update(
            status=AllocationRun.Status.FAILED, error=error, finished_at=timezone.now(), progress_message="Failed"
        )
    )


def _progress(run_id: int, progress: int, message: str, *, started_at: dt.datetime) -> bool:
    """Write progress on the run row; False when the run is no longer ours to run (cancelled, reclaimed)."""
    return bool(
        AllocationRun.objects.filter(pk=run_id, status=AllocationRun.Status.RUNNING, started_at=started_at).update(
            progress=progress, progress_message=message
        )
    )


def allocation_run_execute(*, run_id: int, reclaim: bool = False) -> AllocationRun:
    """Run a pending run to the end: build the problem, solve, check, save a draft schedule — or record why not.

    Idempotent by run id: anything but a PENDING run is returned unchanged (reclaim=True also restarts a RUNNING run
    whose worker was lost, for a redelivered task). Same seed and inputs give the same schedule.
    """
    run = AllocationRun.objects.select_related("year").get(pk=run_id)
    started_at = timezone.now()
    claimable = [AllocationRun.Status.PENDING] + ([AllocationRun.Status.RUNNING] if reclaim else [])
    claimed = AllocationRun.objects.filter(pk=run_id, status__in=claimable).update(
        status=AllocationRun.Status.RUNNING, started_at=started_at, progress=PROGRESS_LOADING,
        progress_message="Loading preferences and demand", error="",
    )
    if not claimed:
        run.refresh_from_db()
        return run
    label = MECHANISM_LABELS.get(run.mechanism, run.mechanism)
    timings: dict[str, float] = {}
    try:
        clock = time.perf_counter()
        built = run_year_problem(year=run.year, seed=run.seed, parameters=run.parameters)
        timings["load_ms"] = _ms_since(clock)
        if not _progress(run_id, PROGRESS_SOLVING, f"Solving with {label}", started_at=started_at):
            return _refreshed(run)
        strategy = registry.strategy(run.mechanism)
        clock = time.perf_counter()
        try:
            allocation = strategy(built.problem, rng=np.random.default_rng(run.seed), **mechanism_options(run.parameters))
        except ValueError as exc:
            return _fail(run, f"{label} refused the inputs: {exc}", timings)
        timings["solve_ms"] = _ms_since(clock)
        if not allocation.ok:
            return _fail(run, infeasible_message(label=label, built=built, allocation=allocation, parameters=run.parameters,
                                                 mechanism=run.mechanism, seed=run.seed), timings)
        broken = feasibility.violations(built.problem, allocation)
        if broken:
            return _fail(
                run,
                f"{label} returned a schedule that breaks a hard constraint ({'; '.join(broken)}), so it was not saved. "
                "This is a bug in the mechanism; please report it with the run id.",
                timings,
            )
        if not _progress(run_id, PROGRESS_SAVING, "Saving the schedule", started_at=started_at):
            return _refreshed(run)
        return _save(run_id=run_id, started_at=started_at, built=built, allocation=allocation, timings=timings)
    except SoftTimeLimitExceeded:
        raise  # the task records the time limit in its own words
    except Exception as exc:
        logger.exception("Allocation run %s failed", run_id)
        return _fail(run, f"The run stopped with an unexpected error: {_exception_text(exc)}", timings)


def _ms_since(clock: float) -> float:
    return round((time.perf_counter() - clock) * 1000, 3)


def _exception_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _refreshed(run: AllocationRun) -> AllocationRun:
    run.refresh_from_db()
    return run


def _fail(run: AllocationRun, error: str, timings: Mapping[str, float]) -> AllocationRun:
    AllocationRun.objects.filter(pk=run.pk, status=AllocationRun.Status.RUNNING).update(
        status=AllocationRun.Status.FAILED, error=error, finished_at=timezone.now(), timings=dict(timings),
        progress_message="Failed",
    )
    return _refreshed(run)

@transaction.atomic
def _save(*, run_id: int, started_at: dt.datetime, built: YearProblem, allocation: Allocation, timings: dict) -> AllocationRun:
    clock = time.perf_counter()
    run = AllocationRun.objects.select_for_update().get(pk=run_id)
    if run.status != AllocationRun.Status.RUNNING or run.started_at != started_at:
        return run  # cancelled (or reclaimed by a redelivered task) while we solved: write nothing
    details = schedule_save(run=run, built=built, allocation=allocation)
    stats = run_stats.allocation_stats(built.problem, allocation)
    stats["compute_ms"] = timings.get("solve_ms", 0.0)
    timings["save_ms"] = _ms_since(clock)
    run.status = AllocationRun.Status.COMPLETED
    run.progress = PROGRESS_DONE
    run.progress_message = f"Done: {len(np.asarray(allocation.assignments).reshape(-1, 3))} assignments"
    run.finished_at = timezone.now()
    run.stats = jsonable(stats)
    run.details = details
    run.timings = timings
    run.save(update_fields=["status", "progress", "progress_message", "finished_at", "stats", "details", "timings"])
    return run


@transaction.atomic
def allocation_run_cancel(*, run: AllocationRun, actor) -> AllocationRun:
    """Cancel a pending or running run (its worker stops before saving); a finished run cannot be cancelled."""
    locked = AllocationRun.objects.select_for_update().get(pk=run.pk)
    if not locked.is_active:
        raise ValidationError(
            {"status": f"Run #{locked.pk} is already {locked.get_status_display().lower()}; only pending or running runs can be cancelled."}
        )
    who = getattr(user_or_none(actor), "username", None)
    locked.status = AllocationRun.Status.CANCELLED
    locked.finished_at = timezone.now()
    locked.progress_message = f"Cancelled by {who}" if who else "Cancelled"
    locked.save(update_fields=["status", "finished_at", "progress_message"])
    if locked.celery_task_id:
        transaction.on_commit(partial(_revoke, locked.celery_task_id))
    run.refresh_from_db()
    return locked


def _revoke(task_id: str) -> None:
    if _eager():
        return  # nothing is queued; the run already stopped or will see the cancellation
    try:
        current_app.control.revoke(task_id, terminate=False)
    except Exception:  # the run row already says cancelled; the worker checks it before solving and saving
        logger.warning("Could not revoke task %s", task_id, exc_info=True)

