"""manage.py demo_year — seed a realistic demo academic year with logins and submitted preferences."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from preferences.demo import FACULTY_PASSWORD, demo_year_create


class Command(BaseCommand):
    help = (
        "Create a demo academic year: 52 weeks with US holidays, 3 rotations with demand, faculty logins and their "
        "submitted preferences. Does nothing if the year exists, unless --reset."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--label", type=int, help="Academic year label, e.g. 2027 (default: the year starting next July)")
        parser.add_argument("--seed", type=int, default=7, help="Seed of the random generator (default 7)")
        parser.add_argument("--faculty", type=int, default=40, help="Number of faculty (default 40)")
        parser.add_argument("--reset", action="store_true", help="Delete that year and all demo logins first")
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        try:
            result = demo_year_create(
                label=options["label"], seed=options["seed"], faculty_count=options["faculty"], reset=options["reset"],
            )
        except (ValueError, ValidationError) as exc:
            raise CommandError(str(exc.messages if isinstance(exc, ValidationError) else exc)) from None
        summary = {"created": result.created, **result.summary, "seconds": round(time.perf_counter() - started, 2)}
        if options["json"]:
            self.stdout.write(json.dumps(summary, indent=2))
        else:
            self.stdout.write(self._text(summary))

    def _text(self, s: dict[str, Any]) -> str:
        if not s["created"]:
            head = self.style.WARNING(
                f"Academic year {s['name']} already exists; nothing changed (use --reset to recreate it)."
            )
        else:
            head = self.style.SUCCESS(f"Created demo academic year {s['name']} (seed {s['seed']}) in {s['seconds']:.1f} s.")
        subs = s["submissions"]
        holidays = ", ".join(f"{h['name']} (week {h['week'] + 1}, {h['start']})" for h in s["holidays"]) or "none"
        rotations = ", ".join(f"{r['name']} {r['total_demand']}" for r in s["rotations"])
        lines = [
            head,
            f"  Weeks:       {s['weeks']} from Monday {s['first_monday']}; status {s['status']}",
            f"  Window:      open {_when(s['preference_window']['opens'])}, closes {_when(s['preference_window']['closes'])}",
            f"  Holidays:    {holidays}",
            f"  Demand:      {s['total_demand']} faculty-weeks ({rotations})",
            f"  Faculty:     {s['faculty']}, target loads totalling {s['total_target_load']} weeks",
            "  Preferences: {respondents} submitted ({types}), {non_respondents} not yet, {resubmitted} resubmitted".format(
                types=", ".join(f"{n} {t}" for t, n in subs["by_type"].items()), **subs
            ),
            "",
            f"Log in at {s['login_url']} (Django admin at {s['admin_url']}):",
        ]
        for login in s["logins"]:
            who = "coordinator, staff + superuser" if login["role"] == "coordinator" else login["name"]
            lines.append(f"  {login['username']:<14} {login['password']:<18} {who}")
        lines.append(f"  Every demo faculty member uses the password {FACULTY_PASSWORD}.")
        return "\n".join(lines)


def _when(iso: str) -> str:
    return f"{dt.datetime.fromisoformat(iso):%a %d %b %Y %H:%M %Z}"
