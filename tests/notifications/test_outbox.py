"""The e-mail outbox (DESIGN §14): one message per person and event however often the event fires or the task is
delivered, a plain-text and an HTML part with an absolute link, opt-outs per kind, a mail server that is down never
failing the action and a later sweep sending what it could not; the preference window's two messages from the beat."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from preferences.models import Notification, NotificationOptOut
from preferences.notifications import (
    MAX_ATTEMPTS,
    Kind,
    notification_enqueue,
    notification_send,
    notification_settings_update,
    notifications_send_pending,
    notifications_window_due,
)
from preferences.tasks import notification_send_task, notifications_due_task
from tests.factories import make_year
from tests.notifications.helpers import BROKEN_BACKEND, html_part, recipients
from tests.stability.helpers import submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(year, faculty, other_faculty):
    return faculty, other_faculty


def _enqueue(people, key="test:1", kind=Kind.SCHEDULE_PUBLISHED):
    return notification_enqueue(kind=kind, event_key=key, recipients=people, subject="Subject",
                                link_path="/schedule/", context={"year": "2026–27"},
                                per_recipient=lambda p: {"weeks": [f"week of {p.display_name}"]})


def test_an_event_sends_one_message_to_each_recipient_with_text_html_and_an_absolute_link(
    cast, mailoutbox, settings, django_capture_on_commit_callbacks,
):
    settings.GTSCHED_SITE_URL = "https://gtsched.example.org"
    with django_capture_on_commit_callbacks(execute=True):
        _enqueue(cast)
    assert recipients(mailoutbox) == ["alice@example.org", "bob@example.org"]
    alice = next(m for m in mailoutbox if m.to == ["alice@example.org"])
    assert "https://gtsched.example.org/schedule/" in alice.body
    assert 'href="https://gtsched.example.org/schedule/"' in html_part(alice)
    assert "week of Dr. Alice Owner" in alice.body and "Dr. Bob Outsider" not in alice.body, "each gets their own"
    assert "https://gtsched.example.org/settings/notifications/" in alice.body
    assert Notification.objects.filter(status="sent").count() == 2


def test_nothing_is_sent_before_the_transaction_commits(cast, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _enqueue(cast)
    assert mailoutbox == [] and len(callbacks) == 2
    for callback in callbacks:
        callback()
    assert len(mailoutbox) == 2


def test_the_same_event_twice_sends_once(cast, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _enqueue(cast)
        _enqueue(cast)
    with django_capture_on_commit_callbacks(execute=True):
        assert _enqueue(cast) == []
    assert len(mailoutbox) == 2 and Notification.objects.count() == 2


def test_a_redelivered_or_retried_task_sends_once(cast, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        rows = _enqueue(cast[:1])
    for _ in range(3):  # the broker hands the same task over again (acks_late), or a retry runs after a success
        notification_send_task.apply(args=[rows[0].pk])
    assert len(mailoutbox) == 1
    assert notification_send(notification_id=rows[0].pk) == "already"


def test_a_kind_turned_off_is_not_sent_and_other_kinds_still_are(cast, mailoutbox, django_capture_on_commit_callbacks):
    alice, bob = cast
    notification_settings_update(faculty=alice, enabled={Kind.SCHEDULE_PUBLISHED: False})
    with django_capture_on_commit_callbacks(execute=True):
        _enqueue(cast)
        _enqueue(cast, key="test:2", kind=Kind.AUCTION_SETTLED)
    assert recipients(mailoutbox) == ["alice@example.org", "bob@example.org", "bob@example.org"]
    assert [m.subject for m in mailoutbox if m.to == [alice.user.email]] == ["Subject"]
    assert not Notification.objects.filter(recipient=alice, kind=Kind.SCHEDULE_PUBLISHED).exists()


def test_a_failing_mail_server_leaves_the_message_pending_and_the_sweep_sends_it_once(
    cast, mailoutbox, settings, django_capture_on_commit_callbacks,
):
    settings.EMAIL_BACKEND = BROKEN_BACKEND
    with django_capture_on_commit_callbacks(execute=True):
        rows = _enqueue(cast[:1])  # no exception reaches the caller
    row = Notification.objects.get(pk=rows[0].pk)
    assert (row.status, row.attempts) == ("pending", 1) and "mail server down" in row.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications_send_pending(older_than=dt.timedelta(0)) == 1
    assert notifications_send_pending(older_than=dt.timedelta(0)) == 0
    assert len(mailoutbox) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_pending_message_is_not_sent_after_its_recipient_turned_the_kind_off(
    cast, mailoutbox, settings, django_capture_on_commit_callbacks,
):
    settings.EMAIL_BACKEND = BROKEN_BACKEND
    with django_capture_on_commit_callbacks(execute=True):
        rows = _enqueue(cast)  # both pending: the mail server is down
    alice, bob = cast
    notification_settings_update(faculty=alice, enabled={Kind.SCHEDULE_PUBLISHED: False})
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications_send_pending(older_than=dt.timedelta(0)) == 1  # bob's only
    assert recipients(mailoutbox) == ["bob@example.org"]
    mine = Notification.objects.get(pk=next(r.pk for r in rows if r.recipient_id == alice.pk))
    assert mine.status == Notification.Status.SKIPPED
    assert notification_send(notification_id=mine.pk) == "already" and len(mailoutbox) == 1


def test_a_message_is_given_up_after_the_last_attempt(cast, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = BROKEN_BACKEND
    with django_capture_on_commit_callbacks(execute=False):
        row = _enqueue(cast[:1])[0]
    outcomes = [notification_send(notification_id=row.pk) for _ in range(MAX_ATTEMPTS + 1)]
    assert outcomes == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed", "already"]
    assert Notification.objects.get(pk=row.pk).status == "failed"


def test_the_sweep_leaves_recent_pending_messages_to_their_task(cast, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        _enqueue(cast)
    assert notifications_send_pending() == 0 and mailoutbox == []


def test_a_recipient_without_an_email_address_gets_no_row(cast, mailoutbox, django_capture_on_commit_callbacks):
    alice, bob = cast
    bob.user.email = ""
    bob.user.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        _enqueue(cast)
    assert recipients(mailoutbox) == ["alice@example.org"]


# --- the preference window (beat) ---------------------------------------------------------------------------


def test_the_window_opened_message_goes_once_to_every_faculty_member_of_the_open_year(
    year, cast, mailoutbox, django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications_due_task.apply().get() == {"queued": 2, "resent": 0}
    with django_capture_on_commit_callbacks(execute=True):
        assert notifications_window_due() == 0, "the next beat sends nothing again"
    assert recipients(mailoutbox) == ["alice@example.org", "bob@example.org"]
    assert all("open until" in m.subject and "/preferences/" in m.body for m in mailoutbox)


def test_48_hours_before_the_deadline_only_those_who_have_not_submitted_are_reminded(
    year, cast, mailoutbox, django_capture_on_commit_callbacks,
):
    alice, bob = cast
    submit(alice, year, {0: 80})
    year.preference_closes = timezone.now() + dt.timedelta(hours=47)
    year.save(update_fields=["preference_closes"])
    with django_capture_on_commit_callbacks(execute=True):
        notifications_window_due()
        notifications_window_due()
    reminders = [m for m in mailoutbox if m.subject.startswith("Reminder")]
    assert recipients(reminders) == ["bob@example.org"]
    assert len(mailoutbox) == 3, "two 'opened' and one reminder"


def test_no_reminder_earlier_than_48_hours_and_none_for_a_closed_window(
    rotations, cast, mailoutbox, django_capture_on_commit_callbacks,
):
    make_year(label=2027, rotations=rotations, window_open=False)  # beside `year` (2026), which closes in 14 days
    with django_capture_on_commit_callbacks(execute=True):
        notifications_window_due()
    assert {m.subject.split(" ")[0] for m in mailoutbox} == {"Preferences"}
    assert len(mailoutbox) == 2, "only the open year's 'opened', no reminder, nothing for the closed year"


def test_a_moved_deadline_is_a_new_reminder(year, cast, mailoutbox, django_capture_on_commit_callbacks):
    NotificationOptOut.objects.create(faculty=cast[0], kind=Kind.WINDOW_OPENED)
    NotificationOptOut.objects.create(faculty=cast[1], kind=Kind.WINDOW_OPENED)
    for hours in (40, 30):
        year.preference_closes = timezone.now() + dt.timedelta(hours=hours)
        year.save(update_fields=["preference_closes"])
        with django_capture_on_commit_callbacks(execute=True):
            notifications_window_due()
    assert len(mailoutbox) == 4, "each of the two deadlines reminded each non-submitter once"


def test_the_plain_text_part_is_not_html_escaped_and_the_html_part_is(cast, mailoutbox, django_capture_on_commit_callbacks):
    alice, _ = cast
    alice.display_name = "Dr. Aoife O'Brien <Chief>"
    alice.save(update_fields=["display_name"])
    with django_capture_on_commit_callbacks(execute=True):
        _enqueue([alice])
    (message,) = mailoutbox
    assert "Dear Dr. Aoife O'Brien <Chief>," in message.body
    assert "O&#x27;Brien &lt;Chief&gt;" in html_part(message)


def test_the_outbox_is_read_only_in_the_admin(admin_console, cast, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        (row,) = _enqueue(cast[:1])
    page = admin_console.get("/admin/preferences/notification/")
    assert page.status_code == 200 and "alice@example.org" in page.content.decode()
    assert admin_console.get("/admin/preferences/notification/add/").status_code == 403
    assert admin_console.post(f"/admin/preferences/notification/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Notification.objects.filter(pk=row.pk).exists()
