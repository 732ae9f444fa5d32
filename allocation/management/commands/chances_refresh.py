"""manage.py chances_refresh [YEAR] [--force] — compute and store a year's chances now (DESIGN §6), e.g. after
`manage.py demo_year`, whose debounced recomputation would otherwise wait for the server's first chances page."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from allocation.services.chances import chances_refresh
from preferences.querysets import year_from_label, year_open_for_preferences

OUTCOMES = {
    "current": "already current; nothing computed",
    "running": "a recomputation is running elsewhere; left to it",
    "done": "computed and stored under every lottery mechanism",
    "dispatched": "sent to the workers",
    "failed": "failed",
}


class Command(BaseCommand):
    help = (
        "Compute and store the chances of a year (default: the year open for preferences) under every lottery "
        "mechanism, when they are missing, out of date or waiting to be recomputed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("year", nargs="?", help="Academic year label, e.g. 2026 (default: the open year)")
        parser.add_argument("--force", action="store_true", help="Recompute even when the chances are current")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            year = year_from_label(options["year"]) if options["year"] else year_open_for_preferences()
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        if year is None:
            self.stdout.write("No academic year yet; no chances to compute.")
            return
        eager = getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
        if eager:  # the RSD chunks run here: one log line per chunk with all its counts is noise
            logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
        outcome = chances_refresh(year=year, force=options["force"])
        if outcome == "dispatched" and eager:
            outcome = "done"
        message = f"Chances of {year}: {OUTCOMES.get(outcome, outcome)}."
        if outcome == "failed":
            raise CommandError(message + " See the recomputation's error in the admin or on the chances page.")
        self.stdout.write(self.style.SUCCESS(message))
