"""E-mail notifications (DESIGN §14): an outbox row per (recipient, event), sent by Celery once the transaction that
caused it commits, retried on failure, never twice for one event, never breaking the action that caused it.

The public services every app calls: `notification_enqueue` (the senders in allocation, stability and auctions),
`notification_send` (the task), `notifications_window_due` (the beat task: window opened, 48 h before it closes),
and the faculty member's opt-outs (`notification_settings`, `notification_settings_update`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from preferences.models import AcademicYear, Faculty, PreferenceSubmission
from preferences.notification_models import Notification, NotificationKind, NotificationOptOut

logger = logging.getLogger(__name__)

SEND_TASK = "preferences.tasks.notification_send_task"
MAX_ATTEMPTS = 5
CLOSING_NOTICE = dt.timedelta(hours=48)
Kind = NotificationKind


def site_url(path: str) -> str:
    """An absolute link into the site (settings.GTSCHED_SITE_URL), for messages read outside it."""
    return settings.GTSCHED_SITE_URL.rstrip("/") + path


# --- opt-outs -----------------------------------------------------------------------------------------------------


def notification_settings(*, faculty: Faculty) -> dict[str, bool]:
    """Kind -> on, for every kind (all on unless turned off)."""
    off = set(NotificationOptOut.objects.filter(faculty=faculty).values_list("kind", flat=True))
    return {kind: kind not in off for kind in Kind.values}


@transaction.atomic
def notification_settings_update(*, faculty: Faculty, enabled: Mapping[str, Any]) -> dict[str, bool]:
    """Turn kinds on (True) or off (False); kinds not named keep their setting. An unknown kind or a value that is
    not a boolean is refused naming it, and nothing changes."""
    errors = {}
    for kind, value in enabled.items():
        if kind not in Kind.values:
            errors[kind] = f"{kind!r} is not a kind of notification; use one of {', '.join(Kind.values)}."
        elif not isinstance(value, bool):
            errors[kind] = "Give true (send it) or false (turn it off)."
    if errors:
        raise ValidationError(errors)
    Faculty.objects.select_for_update().filter(pk=faculty.pk).first()  # one update of a person's settings at a time
    off = [kind for kind, on in enabled.items() if not on]
    NotificationOptOut.objects.filter(faculty=faculty, kind__in=[k for k, on in enabled.items() if on]).delete()
    existing = set(NotificationOptOut.objects.filter(faculty=faculty, kind__in=off).values_list("kind", flat=True))
    NotificationOptOut.objects.bulk_create([NotificationOptOut(faculty=faculty, kind=k) for k in off if k not in existing])
    return notification_settings(faculty=faculty)


# --- the outbox ---------------------------------------------------------------------------------------------------


def _render(kind: str, context: dict[str, Any]) -> tuple[str, str]:
    return (render_to_string(f"notifications/{kind}.txt", context).strip() + "\n",
            render_to_string(f"notifications/{kind}.html", context))


def notification_enqueue(
    *, kind: str, event_key: str, recipients: Iterable[Faculty], subject: str, link_path: str,
    context: Mapping[str, Any] | None = None, per_recipient: Callable[[Faculty], Mapping[str, Any]] | None = None,
) -> list[Notification]:
    """Store one message per recipient for the event `event_key` (a recipient who already has a row for that key,
    who turned `kind` off, or who has no e-mail address gets none) and send each once the transaction commits.
    The templates notifications/<kind>.txt and .html get `context`, plus `per_recipient(person)` when given.

    Never raises: a failure here is logged and the action that caused the event stands. The rows are the outbox;
    a message whose send fails stays pending for the task's retries and the periodic sweep."""
    try:
        with transaction.atomic():
            return _enqueue(kind, event_key, recipients, subject, link_path, dict(context or {}), per_recipient)
    except Exception:
        logger.exception("Could not queue %s notifications for %s", kind, event_key)
        return []


def _enqueue(kind: str, event_key: str, recipients: Iterable[Faculty], subject: str, link_path: str,
             context: dict[str, Any], per_recipient: Callable[[Faculty], Mapping[str, Any]] | None) -> list[Notification]:
    if kind not in Kind.values:
        raise ValueError(f"{kind!r} is not a kind of notification")
    people = {p.pk: p for p in recipients if p is not None}
    muted = set(NotificationOptOut.objects.filter(kind=kind, faculty_id__in=people).values_list("faculty_id", flat=True))
    done = set(Notification.objects.filter(event_key=event_key, recipient_id__in=people)
               .values_list("recipient_id", flat=True))
    link, settings_link = site_url(link_path), site_url(reverse("notification_settings"))
    created = []
    for person in Faculty.objects.filter(pk__in=set(people) - muted - done).select_related("user").order_by("pk"):
        address = (person.user.email or "").strip()
        if not address:
            logger.info("No e-mail address for %s; %s not sent", person, kind)
            continue
        own = dict(per_recipient(person)) if per_recipient is not None else {}
        text, html = _render(kind, {**context, **own, "recipient": person, "link": link, "settings_link": settings_link,
                                    "subject": subject, "kind_label": Kind(kind).label})
        try:
            with transaction.atomic():
                row = Notification.objects.create(
                    recipient=person, kind=kind, event_key=event_key[:200], to_address=address, subject=subject[:200],
                    body_text=text, body_html=html, link=link,
                )
        except IntegrityError:  # the same event fired concurrently: that one sends it
            continue
        transaction.on_commit(partial(_dispatch, row.pk), robust=True)
        created.append(row)
    return created


def _dispatch(notification_id: int) -> None:
    """Hand one message to Celery (eagerly: send it now). A broker that is down leaves it pending for the sweep."""
    current_app.tasks[SEND_TASK].apply_async(args=[notification_id])


def notification_send(*, notification_id: int) -> str:
    """Send one pending message: "sent", "already" (sent before, gone, or its kind turned off by the recipient since
    it was queued: then it is marked skipped), "retry" (failed, will be retried) or
    "failed" (failed MAX_ATTEMPTS times; given up). The row is locked while sending, so two workers handed the same
    message send it once."""
    with transaction.atomic():
        row = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if row is None or row.status != Notification.Status.PENDING:
            return "already"
        if NotificationOptOut.objects.filter(faculty_id=row.recipient_id, kind=row.kind).exists():
            # turned off while the message waited (a mail server down, a queue behind): an opt-out is never overridden
            row.status = Notification.Status.SKIPPED
            row.save(update_fields=["status"])
            return "already"
        message = EmailMultiAlternatives(
            subject=row.subject, body=row.body_text, from_email=settings.DEFAULT_FROM_EMAIL, to=[row.to_address],
        )
        message.attach_alternative(row.body_html, "text/html")
        row.attempts += 1
        try:
            message.send(fail_silently=False)
        except Exception as exc:  # any mail backend error: count it, keep the row for the next attempt
            row.last_error = f"{type(exc).__name__}: {exc}"[:500]
            row.status = Notification.Status.FAILED if row.attempts >= MAX_ATTEMPTS else Notification.Status.PENDING
            row.save(update_fields=["attempts", "last_error", "status"])
            logger.warning("Sending notification %s failed (attempt %s): %s", row.pk, row.attempts, row.last_error)
            return "failed" if row.status == Notification.Status.FAILED else "retry"
        row.status, row.sent_at = Notification.Status.SENT, timezone.now()
        row.save(update_fields=["attempts", "status", "sent_at"])
        return "sent"


def notifications_send_pending(*, older_than: dt.timedelta = dt.timedelta(minutes=5)) -> int:
    """The sweep: send again every pending message queued more than `older_than` ago (its task was lost, or its
    retries ran out while the mail server was down). The number sent."""
    cutoff = timezone.now() - older_than
    pending = Notification.objects.filter(status=Notification.Status.PENDING, created_at__lte=cutoff)
    return sum(notification_send(notification_id=pk) == "sent" for pk in pending.values_list("pk", flat=True))


# --- the preference window (celery beat) ----------------------------------------------------------------------


def _when(moment: dt.datetime) -> str:
    return f"{timezone.localtime(moment):%A %d %B %Y, %H:%M} ({settings.TIME_ZONE})"


def notifications_window_due(*, now: dt.datetime | None = None) -> int:
    """Every year whose preference window is open: "the window opened" to its faculty, and within 48 hours of the
    deadline "it closes soon" to those who have not submitted. Keyed by the window's dates, so each is sent once
    (again only when a coordinator moves the dates). The number of messages queued."""
    now = now or timezone.now()
    queued = 0
    years = AcademicYear.objects.filter(status=AcademicYear.Status.COLLECTING, preference_opens__lte=now,
                                        preference_closes__gt=now)
    link = reverse("my_preferences")
    for year in years:
        faculty = list(year.faculty_queryset())
        context = {"year": year, "closes": _when(year.preference_closes)}
        queued += len(notification_enqueue(
            kind=Kind.WINDOW_OPENED, event_key=f"window_opened:{year.pk}:{year.preference_opens.isoformat()}",
            recipients=faculty, subject=f"Preferences for {year} are open until {context['closes']}",
            link_path=link, context=context,
        ))
        if year.preference_closes - now <= CLOSING_NOTICE:
            submitted = set(PreferenceSubmission.objects.counting().filter(year=year).values_list("faculty_id", flat=True))
            queued += len(notification_enqueue(
                kind=Kind.WINDOW_CLOSING, event_key=f"window_closing:{year.pk}:{year.preference_closes.isoformat()}",
                recipients=[f for f in faculty if f.pk not in submitted],
                subject=f"Reminder: preferences for {year} close {context['closes']}", link_path=link, context=context,
            ))
    return queued
