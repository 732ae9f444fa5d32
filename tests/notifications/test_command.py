"""manage.py notifications_due: the beat's work from a cron job, once."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tests.notifications.helpers import BROKEN_BACKEND, recipients

pytestmark = pytest.mark.django_db(transaction=True)  # the messages go out when each enqueue commits


def _run() -> dict:
    out = StringIO()
    call_command("notifications_due", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_command_queues_the_window_messages_once_and_resends_what_failed(year, faculty, other_faculty, mailoutbox,
                                                                             settings):
    settings.EMAIL_BACKEND = BROKEN_BACKEND
    assert _run() == {"queued": 2, "resent": 0}
    assert mailoutbox == []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert _run() == {"queued": 0, "resent": 2}
    assert _run() == {"queued": 0, "resent": 0}
    assert recipients(mailoutbox) == ["alice@example.org", "bob@example.org"]
