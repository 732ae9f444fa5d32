"""Celery tasks for stability: ids in, one service call. The price of anarchy of a large schedule runs here."""

from __future__ import annotations

from celery import shared_task

POA_TIME_LIMIT_S = 1800


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=POA_TIME_LIMIT_S, soft_time_limit=POA_TIME_LIMIT_S - 60)
def stability_report_task(schedule_id: int, restarts: int, actor_id: int | None = None) -> int | None:
    """Compute and store a schedule's report with K = restarts dynamics restarts; the report id, None if gone."""
    from stability.services import stability_report_background

    return stability_report_background(schedule_id=schedule_id, restarts=restarts, actor_id=actor_id)
