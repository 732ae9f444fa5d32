"""manage.py shapley YEAR [--samples N] [--exact] [--seed N] [--json] — every faculty member's Shapley value in the
year's coverage game, their fair share of the workload and how the schedule compares (DESIGN §7, §13)."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from fairness.algorithms.shapley import EXACT, EXACT_MAX, MAX_SAMPLES, MIN_SAMPLES
from fairness.models import ShapleyComputation
from fairness.reports import ShapleyReport, shapley_report
from fairness.services import shapley_execute, shapley_request
from gtsched_site.commands import field_errors, refuse
from gtsched_site.limits import SEED_MAX
from preferences.querysets import year_from_label


class Command(BaseCommand):
    help = (
        "Compute and store the Shapley values of a year's coverage game in this process: exact for at most "
        f"{EXACT_MAX} faculty, else Monte Carlo over antithetic permutations with 95 % intervals. Prints each "
        "faculty member's value, expected and actual workload. A refused request stores nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("year", help="Academic year label, e.g. 2026")
        parser.add_argument("--samples", help=f"Monte Carlo permutations, {MIN_SAMPLES:,} to {MAX_SAMPLES:,} "
                                              "(default 5,000)")
        parser.add_argument("--exact", action="store_true", help=f"Exact over all coalitions (at most {EXACT_MAX} faculty)")
        parser.add_argument("--seed", help="Seed of the permutations (default: the product's fixed seed)")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        as_json = options["json"]
        try:
            year = year_from_label(options["year"])
            samples, seed = _clean(options)
            computation, _ = shapley_request(year=year, method=EXACT if options["exact"] else "auto",
                                             samples=samples, seed=seed, enqueue=False)
        except ValidationError as exc:
            refuse(self.stdout, field_errors(exc), as_json=as_json, head="Nothing was computed; fix these fields:")
        computation = shapley_execute(computation_id=computation.pk, inline=True)
        if computation.status != ShapleyComputation.Status.COMPLETED:
            raise CommandError(f"Shapley computation #{computation.pk} {computation.status}: {computation.error}")
        report = shapley_report(year=year, computation=computation)
        output = shapley_output(report)
        if as_json:
            self.stdout.write(json.dumps(output, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(self.text(year, report))

    def text(self, year, report: ShapleyReport) -> str:
        how = "exact" if report.method == EXACT else f"{report.samples:,} permutations, seed {report.seed}"
        score = "n/a" if report.fairness_score is None else f"{report.fairness_score:.3f}"
        compared = f"schedule “{report.schedule_name}” ({report.schedule_status})" if report.schedule_id else "no schedule"
        lines = [
            self.style.SUCCESS(f"Shapley values of {year}: {how}; v(N) = {report.grand_value} of "
                               f"{report.total_demand} seats"),
            f"  Compared with {compared}; fairness score {score}",
            f"  {'faculty':<10} {'φ':>8} {'95 % interval':>19} {'expected':>9} {'actual':>7}  load",
        ]
        for row in report.faculty:
            flag = "over" if row.is_overloaded else "under" if row.is_underloaded else ""
            lines.append(f"  {row.external_id:<10} {row.shapley_value:8.3f} [{row.ci_low:8.3f}, {row.ci_high:8.3f}] "
                         f"{row.expected_workload:9.2f} {row.actual_workload:7d}  {flag}")
        return "\n".join(lines)


def _clean(options: dict[str, Any]) -> tuple[int | None, int | None]:
    errors: dict[str, str] = {}
    samples = _whole(options["samples"], "samples", MIN_SAMPLES, MAX_SAMPLES, errors)
    seed = _whole(options["seed"], "seed", 0, SEED_MAX, errors)
    if errors:
        raise ValidationError(errors)
    return samples, seed


def _whole(raw: str | None, name: str, low: int, high: int, errors: dict[str, str]) -> int | None:
    if raw is None:
        return None
    text = str(raw).strip().replace("_", "").replace(",", "")
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        errors[name] = f"{raw!r} is not a whole number from {low:,} to {high:,}."
        return None
    return int(text)


def shapley_output(report: ShapleyReport) -> dict[str, Any]:
    """DESIGN §13: {"method", "samples", "grand_coalition_value", "faculty": [{"faculty", "shapley_value", "ci_low",
    "ci_high", "expected_workload", "actual_workload", "is_overloaded", "is_underloaded"}]}; "faculty" is the
    faculty member's external id, as in the year file."""
    return {
        "method": report.method,
        "samples": report.samples,
        "grand_coalition_value": report.grand_value,
        "faculty": [
            {
                "faculty": row.external_id,
                "shapley_value": round(row.shapley_value, 6),
                "ci_low": round(row.ci_low, 6),
                "ci_high": round(row.ci_high, 6),
                "expected_workload": round(row.expected_workload, 6),
                "actual_workload": row.actual_workload,
                "is_overloaded": row.is_overloaded,
                "is_underloaded": row.is_underloaded,
            }
            for row in report.faculty
        ],
    }
