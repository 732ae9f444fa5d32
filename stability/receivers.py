"""How the stability app reacts to what allocation signals (DESIGN §2); connected in StabilityConfig.ready()."""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from django.db import transaction
from django.dispatch import receiver

from allocation.models import Schedule, ScheduleChange
from allocation.signals import draft_schedule_created, schedule_changed
from stability import parameters, reports, tasks
from stability.market import lifecycle

logger = logging.getLogger(__name__)


@receiver(draft_schedule_created, dispatch_uid="stability.estimate_price_of_anarchy")
def estimate_price_of_anarchy(sender, *, schedule_id: int, **kwargs) -> None:
    """Queue the new draft's price-of-anarchy estimate, so its stability report has it when first opened. The run
    is done whatever happens here: a failure to queue (or, with eager tasks, to compute) is logged, not raised."""
    if not parameters.price_estimate_precompute_enabled():
        return
    try:
        tasks.price_of_anarchy_estimate_task.delay(schedule_id)
    except Exception:
        logger.exception("Could not estimate the price of anarchy of schedule %s", schedule_id)


@receiver(schedule_changed, dispatch_uid="stability.after_schedule_change")
def after_schedule_change(sender, *, change: ScheduleChange, published: bool, **kwargs) -> None:
    """A published schedule changed: swap requests its moves made impossible close (the market closes those of
    its own swaps in the same transaction; this catches every other changer), then a fresh stability report."""
    if not published:
        return
    with transaction.atomic():
        lifecycle.swap_requests_after_change(change=change)
    schedule = Schedule.objects.filter(pk=change.schedule_id).first()
    if schedule is None:
        return
    actor = get_user_model().objects.filter(pk=change.actor_id).first() if change.actor_id else None
    try:
        with transaction.atomic():
            reports.stability_report_create(schedule=schedule, actor=actor)
    except Exception:  # logged for the operators; the schedule change itself is already recorded
        logger.exception("Refreshing the stability report of schedule %s failed after a swap", change.schedule_id)
