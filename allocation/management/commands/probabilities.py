"""manage.py probabilities YEAR [--mechanism rsd|probabilistic_serial|rsd_trading] [--draws N] [--seed N] [--json]
— every faculty member's chance of each week before anything is drawn (DESIGN §6, §13)."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from allocation.algorithms.chances import MAX_DRAWS
from allocation.algorithms.registry import CHANCE_MECHANISMS, MECHANISM_LABELS
from allocation.services.chances import Chances, chances_compute
from gtsched_site.commands import field_errors, refuse
from gtsched_site.limits import SEED_MAX
from preferences.models import Faculty, Week
from preferences.querysets import year_from_label


class Command(BaseCommand):
    help = (
        "Print each faculty member's probability of getting each week under a lottery mechanism, with the Monte "
        "Carlo standard error (0 for an exact mechanism). Computes in this process and stores nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("year", help="Academic year label, e.g. 2026")
        parser.add_argument("--mechanism", default="rsd", help=f"One of {', '.join(CHANCE_MECHANISMS)} (default rsd)")
        parser.add_argument("--draws", help="Monte Carlo lotteries (default 10,000; rsd and rsd_trading)")
        parser.add_argument("--seed", help="Seed of the lotteries and the tie-breaking (default: the product's fixed seed)")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        as_json = options["json"]
        try:
            year = year_from_label(options["year"])
            mechanism, draws, seed = _clean(options)
        except ValidationError as exc:
            refuse(self.stdout, field_errors(exc), as_json=as_json, head="Nothing was computed; fix these fields:")
        try:
            chances = chances_compute(year=year, mechanism=mechanism, draws=draws, seed=seed)
        except ValueError as exc:
            refuse(self.stdout, {"year": [f"The year's inputs cannot be computed: {exc}"]}, as_json=as_json,
                   head="Nothing was computed:")
        output = probabilities_output(chances)
        if as_json:
            self.stdout.write(json.dumps(output, indent=2, ensure_ascii=False))
        else:
            self.stdout.write(self.text(year, chances, output))

    def text(self, year, chances: Chances, output: dict[str, Any]) -> str:
        how = f"{chances.draws:,} lotteries" if chances.draws else "exact"
        lines = [self.style.SUCCESS(f"{MECHANISM_LABELS[chances.mechanism]} on {year}: {how}, seed {chances.seed}")]
        for row in output["faculty"]:
            likely = sorted(row["weeks"], key=lambda w: -w["probability"])[:5]
            shown = ", ".join(f"{w['week']} {w['probability']:.1%}" for w in likely if w["probability"] > 0) or "no week"
            lines.append(f"  {row['faculty']:<10} {shown}")
        return "\n".join(lines)


def _clean(options: dict[str, Any]) -> tuple[str, int | None, int | None]:
    errors: dict[str, str] = {}
    mechanism = options["mechanism"]
    if mechanism not in CHANCE_MECHANISMS:
        errors["mechanism"] = f"{mechanism!r} has no chances; choose one of {', '.join(CHANCE_MECHANISMS)}."
    draws = _whole(options["draws"], "draws", 1, MAX_DRAWS, errors)
    seed = _whole(options["seed"], "seed", 0, SEED_MAX, errors)
    if errors:
        raise ValidationError(errors)
    return mechanism, draws, seed


def _whole(raw: str | None, name: str, low: int, high: int, errors: dict[str, str]) -> int | None:
    if raw is None:
        return None
    text = str(raw).strip().replace("_", "").replace(",", "")
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        errors[name] = f"{raw!r} is not a whole number from {low:,} to {high:,}."
        return None
    return int(text)


def probabilities_output(chances: Chances) -> dict[str, Any]:
    """DESIGN §13: {"mechanism", "draws", "seed", "faculty": [{"faculty", "weeks": [{"week", "probability",
    "stderr"}]}]} — every week of the year for every faculty member, in the year's order."""
    built = chances.built
    external = dict(Faculty.objects.filter(pk__in=built.faculty_ids.tolist()).values_list("pk", "external_id"))
    starts = dict(Week.objects.filter(pk__in=built.week_ids.tolist()).values_list("pk", "start_date"))
    weeks = [starts[int(pk)].isoformat() for pk in built.week_ids.tolist()]
    faculty = []
    for i, pk in enumerate(built.faculty_ids.tolist()):
        faculty.append({
            "faculty": external[int(pk)],
            "weeks": [
                {"week": week, "probability": round(float(p), 6), "stderr": round(float(s), 6)}
                for week, p, s in zip(weeks, chances.probabilities[i], chances.stderr[i], strict=True)
            ],
        })
    return {"mechanism": chances.mechanism, "draws": chances.draws, "seed": chances.seed, "faculty": faculty}
