"""manage.py reconcile_points [--year Y] [--json] — check every invariant of the points ledger (DESIGN §8) and exit
non-zero naming each account that breaks one."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from auctions.reconcile import points_reconcile
from gtsched_site.commands import field_errors, refuse
from preferences.querysets import year_from_label


class Command(BaseCommand):
    help = ("Check every priority-point account: balance = Σ entries, held = Σ pending holds, the last entry's "
            "balance_after = balance, the entries chain, no negative balance ever recorded. Exits 1 naming each "
            "broken account. Changes nothing.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--year", help="Academic year label, e.g. 2026 (default: every year)")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        as_json = options["json"]
        year = None
        if options["year"] is not None:
            try:
                year = year_from_label(options["year"])
            except ValidationError as exc:
                refuse(self.stdout, field_errors(exc), as_json=as_json, head="Nothing was checked:")
        result = points_reconcile(year=year)
        if as_json:
            self.stdout.write(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        scope = f"academic year {year.label}" if year else "every year"
        summary = f"{result.accounts} accounts, {result.entries} entries, {result.holds} holds ({scope})"
        if result.ok:
            if not as_json:
                self.stdout.write(self.style.SUCCESS(f"Ledger reconciles: {summary}."))
            return
        lines = [f"{len(result.broken)} of {result.accounts} accounts break the ledger's invariants ({summary}):"]
        for broken in result.broken:
            lines.append(f"  account {broken.account_id} ({broken.faculty}, {broken.year}):")
            lines += [f"    {check}: {message}" for check, messages in broken.problems.items() for message in messages]
        raise CommandError("\n".join(lines))
