"""manage.py notifications_due [--json] — what the notifications beat task does, for a cron job where no celery beat
runs (the embedded default): queue the preference-window e-mails that are due and send every pending message again."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand

from preferences.notifications import notifications_send_pending, notifications_window_due


class Command(BaseCommand):
    help = ('Queue the "preference window opened" and "closes in 48 hours" e-mails that are due (each once), and '
            "send again every message still pending.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="Print {queued, resent} as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        queued = notifications_window_due()
        resent = notifications_send_pending(older_than=dt.timedelta(0))
        if options["json"]:
            self.stdout.write(json.dumps({"queued": queued, "resent": resent}))
        else:
            self.stdout.write(f"{queued} message(s) queued for the preference window; {resent} pending message(s) sent.")
