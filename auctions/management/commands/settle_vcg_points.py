"""manage.py settle_vcg_points RUN_ID [--points-per-unit X] [--json] — debit a completed VCG run's Clarke payments
from the faculty's priority-point accounts, all or nothing, exactly once per run (DESIGN §8)."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from allocation.models import AllocationRun
from auctions.vcg_points import vcg_points_settle
from gtsched_site.commands import field_errors, refuse


class Command(BaseCommand):
    help = ("Settle a completed VCG run's payments in priority points: each payment (0–100 value scale) times "
            "--points-per-unit, rounded to whole points, is debited as a vcg_payment entry. Refuses, posting nothing, "
            "when anyone cannot pay; a repeat posts nothing and prints the first entries.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("run", help="The allocation run's id")
        parser.add_argument("--points-per-unit", type=float, default=1.0, help="Points per unit of payment (default 1)")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        as_json = options["json"]
        run = AllocationRun.objects.filter(pk=int(options["run"])).first() if str(options["run"]).isdigit() else None
        if run is None:
            refuse(self.stdout, {"run": [f"No allocation run {options['run']!r}."]}, as_json=as_json,
                   head="Nothing was settled:")
        try:
            settled = vcg_points_settle(run=run, points_per_unit=options["points_per_unit"])
        except ValidationError as exc:
            refuse(self.stdout, field_errors(exc), as_json=as_json, head="Nothing was settled:")
        entries = [{"faculty": p.entry.account.faculty.external_id, "amount": p.entry.amount,
                    "balance_after": p.entry.balance_after} for p in settled.posted]
        body = {"run": run.pk, "points_per_unit": settled.points_per_unit, "replayed": settled.replayed,
                "total": settled.total, "entries": entries}
        if as_json:
            self.stdout.write(json.dumps(body, indent=2))
            return
        verb = "Already settled" if settled.replayed else "Settled"
        self.stdout.write(f"{verb}: run {run.pk}, {settled.total} points from {len(entries)} faculty.")
        for e in entries:
            self.stdout.write(f"  {e['faculty']}: {e['amount']} (balance {e['balance_after']})")
