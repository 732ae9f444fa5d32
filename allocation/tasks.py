"""Celery tasks for allocation: ids in, fetch, one service call; progress lives on the run row."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from celery.exceptions import SoftTimeLimitExceeded

from allocation.models import AllocationRun, Schedule
from allocation.services import RUN_SOFT_TIME_LIMIT_S, RUN_TIME_LIMIT_S, allocation_run_execute, allocation_run_fail
from allocation.services.chances import chances_rsd_chunk, chances_rsd_merge, chances_run_due
from allocation.signals import draft_schedule_created, send

logger = logging.getLogger(__name__)

TIME_LIMIT_MESSAGE = (
    f"The run took longer than the {RUN_SOFT_TIME_LIMIT_S // 60}-minute limit and was stopped, so no schedule was saved. "
    "Try a shorter CP-SAT time limit, fewer constraints, or a faster mechanism such as min-cost flow."
)


class AllocationRunTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Whatever escaped the service (a database outage, the worker lost), the run must not stay RUNNING.
        run_id = args[0] if args else kwargs.get("run_id")
        if run_id is not None:
            allocation_run_fail(run_id=run_id, error=f"The run stopped with an unexpected error: {type(exc).__name__}: {exc}")


@shared_task(
    base=AllocationRunTask,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=RUN_TIME_LIMIT_S,
    soft_time_limit=RUN_SOFT_TIME_LIMIT_S,
)
def allocation_run_execute_task(self, run_id: int) -> str | None:
    """Execute one allocation run; a redelivered task (its worker was lost) restarts the run from scratch."""
    if not AllocationRun.objects.filter(pk=run_id).exists():
        return None
    redelivered = bool((getattr(self.request, "delivery_info", None) or {}).get("redelivered"))
    try:
        run = allocation_run_execute(run_id=run_id, reclaim=redelivered)
    except SoftTimeLimitExceeded:
        allocation_run_fail(run_id=run_id, error=TIME_LIMIT_MESSAGE)
        return AllocationRun.Status.FAILED
    if run.status == AllocationRun.Status.COMPLETED:
        schedule_id = Schedule.objects.filter(run_id=run.pk).values_list("pk", flat=True).first()
        if schedule_id is not None:
            # The service committed the draft before returning, so the apps above may read it now.
            send(draft_schedule_created, sender=Schedule, schedule_id=schedule_id, run_id=run.pk)
    return run.status



@shared_task(acks_late=True, reject_on_worker_lost=True)
def chances_recompute_task(year_id: int) -> str:
    """The debounced recomputation of a year's chances (it waits again when a later change moved it)."""
    return chances_run_due(year_id=year_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def chances_rsd_chunk_task(year_id: int, seed: int, start: int, stop: int, fingerprint: str) -> dict | None:
    """Count RSD draws [start, stop) of the year's seeded lottery sequence."""
    return chances_rsd_chunk(year_id=year_id, seed=seed, start=start, stop=stop, fingerprint=fingerprint)


@shared_task(acks_late=True)
def chances_rsd_merge_task(chunks: list, year_id: int, seed: int, fingerprint: str, token: str = "") -> str:
    """The chord's callback: add the chunks' counts, store RSD's chances, finish the recomputation."""
    return chances_rsd_merge(year_id=year_id, seed=seed, fingerprint=fingerprint, chunks=chunks, token=token)
