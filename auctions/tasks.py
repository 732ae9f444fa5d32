"""Celery tasks of the auctions: thin wrappers over one service call."""

from __future__ import annotations

from celery import shared_task

from auctions.services import auctions_settle_due


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def auctions_settle_due_task() -> list[int]:
    """Close and settle every auction past its deadline (celery beat, CELERY_BEAT_SCHEDULE); idempotent: a settled
    auction is never settled again."""
    return auctions_settle_due()
