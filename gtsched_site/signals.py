"""Sending an app's signals to the apps above it (DESIGN §2): robustly, and once the transaction commits."""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)


def send(signal: Signal, sender: type, **kwargs) -> None:
    """Send `signal` to every receiver; a failing receiver is logged and never breaks the action that caused it."""
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, Exception):
            logger.error("Receiver %r of %r failed", receiver, sender, exc_info=result)


def send_on_commit(signal: Signal, sender: type, **kwargs) -> None:
    """`send` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: send(signal, sender, **kwargs))
