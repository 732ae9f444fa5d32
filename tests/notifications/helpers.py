"""Shared by the notification tests: a mail backend whose server is down, and reading the locmem outbox."""

from __future__ import annotations

import smtplib

from django.core.mail.backends.base import BaseEmailBackend

BROKEN_BACKEND = "tests.notifications.helpers.BrokenBackend"


class BrokenBackend(BaseEmailBackend):
    """A mail server that refuses every connection."""

    def send_messages(self, email_messages):
        raise smtplib.SMTPConnectError(421, "mail server down (test)")


def recipients(outbox) -> list[str]:
    return sorted(address for message in outbox for address in message.to)


def html_part(message) -> str:
    (html, mimetype), = message.alternatives
    assert mimetype == "text/html"
    return html
