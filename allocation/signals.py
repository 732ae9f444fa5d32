"""What allocation tells the apps above it (DESIGN §2): a lower app never imports a higher one, so it sends these
once its transaction has committed and the higher apps connect receivers in their `AppConfig.ready()`."""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

# A completed allocation run saved its draft schedule. Arguments: schedule_id, run_id.
draft_schedule_created = Signal()
# An audited change rewrote assignments of a schedule (a swap, a trading cycle, a recommended swap, an auction
# settlement). Arguments: change (the ScheduleChange), published (whether the schedule was published).
schedule_changed = Signal()


def send(signal: Signal, sender: type, **kwargs) -> None:
    """Send `signal` to every receiver; a failing receiver is logged and never breaks the action that caused it."""
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, Exception):
            logger.error("Receiver %r of %r failed", receiver, sender, exc_info=result)


def send_on_commit(signal: Signal, sender: type, **kwargs) -> None:
    """`send` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send(signal, sender, **kwargs))
