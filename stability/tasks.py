"""Celery tasks for stability: ids in, one service call. Price of anarchy runs here: for a large schedule on request,
and for every new draft as soon as it is saved."""

from __future__ import annotations

from celery import shared_task

from allocation.models import Schedule
from stability import estimates, reports

POA_TIME_LIMIT_S = 1800


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=POA_TIME_LIMIT_S, soft_time_limit=POA_TIME_LIMIT_S - 60)
def stability_report_task(schedule_id: int, restarts: int, actor_id: int | None = None) -> int | None:
    """Compute and store a schedule's report with K = restarts dynamics restarts; the report id, None if gone."""
    return reports.stability_report_background(schedule_id=schedule_id, restarts=restarts, actor_id=actor_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=POA_TIME_LIMIT_S, soft_time_limit=POA_TIME_LIMIT_S - 60)
def price_of_anarchy_estimate_task(schedule_id: int) -> int | None:
    """Store the price-of-anarchy estimate of a schedule's feasible set unless one exists; its id, None if the
    schedule is gone or empty."""
    schedule = Schedule.objects.filter(pk=schedule_id).select_related("year").first()
    if schedule is None:
        return None
    estimate = estimates.price_estimate_ensure(schedule=schedule)
    return estimate.pk if estimate else None
