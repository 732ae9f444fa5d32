"""Celery tasks of the preferences app: thin wrappers over one service call each."""

from __future__ import annotations

from celery import shared_task

from preferences.notifications import notification_send, notifications_send_pending, notifications_window_due

RETRY_BACKOFF_S = 60


@shared_task(bind=True, acks_late=True, max_retries=5, time_limit=120, soft_time_limit=100)
def notification_send_task(self, notification_id: int) -> str:
    """Send one outbox message; on failure retry later with a growing delay (with a worker). Eager execution (the
    embedded default, the tests) does not wait in the request: the message stays pending for the sweep."""
    outcome = notification_send(notification_id=notification_id)
    if outcome == "retry" and not self.request.is_eager:
        raise self.retry(countdown=RETRY_BACKOFF_S * 2 ** self.request.retries)
    return outcome


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def notifications_due_task() -> dict[str, int]:
    """Celery beat (CELERY_BEAT_SCHEDULE): the preference-window messages that are due, and a resend of pending
    messages whose task was lost or ran out of retries."""
    return {"queued": notifications_window_due(), "resent": notifications_send_pending()}
