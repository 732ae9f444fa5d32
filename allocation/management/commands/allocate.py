"""manage.py allocate YEAR --mechanism NAME — run a mechanism on a year synchronously and print the result (DESIGN §13)."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from allocation.algorithms.registry import MECHANISMS
from allocation.models import AllocationRun
from allocation.services import NON_RESPONDENT_POLICIES, allocation_run_execute, allocation_run_start
from gtsched_site.commands import field_errors, refuse
from preferences.querysets import year_from_label

STATS_KEYS = ("total_regret", "average_regret", "max_regret", "rank_distribution", "welfare", "unassigned", "uncovered",
              "compute_ms")
PAYMENT_KEYS = ("faculty", "allocated_weeks", "reported_value", "vcg_payment", "others_welfare_with",
                "others_welfare_without")
WAIT_FOR_WORKER_S = 3600


class Command(BaseCommand):
    help = (
        "Run an allocation mechanism on an academic year and print the schedule, its statistics, the RSD lottery "
        "order and the VCG payments. Runs in this process; a refused request changes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("year", help="Academic year label, e.g. 2026")
        parser.add_argument("--mechanism", required=True, help=f"One of {', '.join(MECHANISMS)}")
        parser.add_argument("--seed", type=int, help="Seed of the run's random generator (default: drawn and reported)")
        parser.add_argument(
            "--option", action="append", default=[], metavar="KEY=VALUE",
            help="A mechanism option; the value is read as JSON when it parses (true, 3, \"x\", [[0,1]]), else as text",
        )
        parser.add_argument("--non-respondents", choices=NON_RESPONDENT_POLICIES, help="Treat faculty who submitted "
                            "nothing as neutral on every unblocked week (default) or leave them out")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        as_json = options["json"]
        try:
            year = year_from_label(options["year"])
            run_options = parse_options(options["option"])
            if options["non_respondents"]:
                run_options["non_respondents"] = options["non_respondents"]
            run, _ = allocation_run_start(
                year=year, mechanism=options["mechanism"], options=run_options, seed=options["seed"], actor=None,
                enqueue=False,
            )
        except ValidationError as exc:
            self.fail(field_errors(exc), as_json=as_json)
        run = allocation_run_execute(run_id=run.pk)
        run = _wait(run)
        output = run_output(run)
        if as_json:
            self.stdout.write(json.dumps(output, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(self.text(run, output))
        if run.status != AllocationRun.Status.COMPLETED:
            raise CommandError(f"Run #{run.pk} {run.status}: {run.error or run.progress_message}")

    def fail(self, errors: dict[str, list[str]], *, as_json: bool) -> None:
        refuse(self.stdout, errors, as_json=as_json, head="Nothing was run; fix these fields:")

    def text(self, run: AllocationRun, output: dict[str, Any]) -> str:
        head = f"Run #{run.pk}: {run.get_mechanism_display()} on {run.year}, seed {run.seed} — {run.get_status_display()}"
        if run.status != AllocationRun.Status.COMPLETED:
            return self.style.ERROR(head) + (f"\n  {run.error}" if run.error else "")
        s = output["stats"]
        distribution = ", ".join(f"{k}: {v}" for k, v in s["rank_distribution"].items()) or "none"
        lines = [
            self.style.SUCCESS(head),
            f"  Assignments: {len(output['assignments'])}; unassigned demand {s['unassigned']}, uncovered seats {s['uncovered']}",
            f"  Regret:      total {s['total_regret']}, average {s['average_regret']:.3f}, max {s['max_regret']}",
            f"  Ranks:       {distribution}",
            f"  Welfare:     {s['welfare']:.3f}; computed in {s['compute_ms']:.1f} ms",
        ]
        if output["lottery_order"] is not None:
            lines.append(f"  Lottery:     {' '.join(output['lottery_order'])}")
        if output["payments"] is not None:
            lines.append("  VCG payments (0–100 value scale):")
            lines += [f"    {p['faculty']:<10} value {p['reported_value']:>8.2f}  pays {p['vcg_payment']:>8.2f}"
                      for p in output["payments"]]
        lines.append("")
        lines.append(f"  {'week':<11} {'rotation':<14} {'faculty':<10} {'rank':>4} {'utility':>7}")
        lines += [f"  {a['week']:<11} {a['rotation']:<14} {a['faculty']:<10} {a['rank']:>4} {a['utility']:>7.3f}"
                  for a in output["assignments"]]
        return "\n".join(lines)


def parse_options(pairs: list[str]) -> dict[str, Any]:
    """KEY=VALUE pairs; VALUE read as JSON when it parses, else kept as text."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValidationError({"option": f"{pair!r} is not KEY=VALUE, e.g. --option cost=linear."})
        if key in options:
            raise ValidationError({f"options.{key}": "Given more than once; give each option once."})
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def _wait(run: AllocationRun) -> AllocationRun:
    """A run already claimed by a worker (the same inputs were queued before): wait for it to finish."""
    deadline = time.monotonic() + WAIT_FOR_WORKER_S
    while run.is_active and time.monotonic() < deadline:
        time.sleep(0.5)
        run.refresh_from_db()
    return run


def run_output(run: AllocationRun) -> dict[str, Any]:
    """The DESIGN §13 output of one run."""
    schedule = getattr(run, "schedule", None)
    assignments = []
    if schedule is not None:
        for faculty, week, rotation, rank, utility in schedule.assignments.order_by(
            "week__index", "rotation__name", "faculty__external_id"
        ).values_list("faculty__external_id", "week__start_date", "rotation__name", "rank", "utility"):
            assignments.append({"faculty": faculty, "week": week.isoformat(), "rotation": rotation, "rank": rank,
                                "utility": utility})
    stats = run.stats or {}
    details = run.details or {}
    payments = details.get("payments")
    return {
        "run_id": run.pk,
        "mechanism": run.mechanism,
        "seed": run.seed,
        "status": run.status,
        "error": run.error or None,
        "assignments": assignments,
        "stats": {key: stats.get(key) for key in STATS_KEYS} if stats else None,
        "lottery_order": details.get("lottery_order"),
        "payments": [{key: p.get(key) for key in PAYMENT_KEYS} for p in payments] if payments is not None else None,
    }
