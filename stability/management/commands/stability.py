"""manage.py stability (--schedule ID | --year YEAR) — a schedule's swap-stability report (DESIGN §9, §13)."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from allocation.models import Schedule
from allocation.querysets import current_schedule
from gtsched_site.commands import field_errors, refuse
from preferences.querysets import year_from_label
from stability.models import NashStabilityReport
from stability.recommendations import recommendation_sentences
from stability.reports import stability_report_create, stability_report_for
from stability.summaries import stability_summary


class Command(BaseCommand):
    help = (
        "Print the swap-stability report of a schedule: nash distance, level, blocking swaps, welfare against the "
        "optimum, price of anarchy, top instabilities and recommended swaps. Reuses a fresh stored report unless "
        "--refresh or --seed is given. --year takes the year's published schedule, else its newest draft."
    )

    def add_arguments(self, parser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--schedule", metavar="ID", help="Schedule id")
        which.add_argument("--year", metavar="YEAR", help="Academic year label, e.g. 2026")
        parser.add_argument("--restarts", metavar="K", help="K random restarts for price of anarchy / stability")
        parser.add_argument("--seed", metavar="N", help="Seed of the restarts' random generator (forces a new report)")
        parser.add_argument("--refresh", action="store_true", help="Compute a new report even if a fresh one exists")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        as_json = options["json"]
        try:
            schedule = _schedule(options["schedule"]) if options["schedule"] is not None else _from_year(options["year"])
            restarts = _whole(options["restarts"], "restarts")
            seed = _whole(options["seed"], "seed")
            if options["refresh"] or seed is not None:
                report = stability_report_create(schedule=schedule, restarts=restarts, seed=seed)
            else:
                report = stability_report_for(schedule=schedule, restarts=restarts)
        except ValidationError as exc:
            self.fail(field_errors(exc), as_json=as_json)
        output = report_output(schedule, report)
        self.stdout.write(json.dumps(output, indent=2, ensure_ascii=False) if as_json else self.text(output))

    def fail(self, errors: dict[str, list[str]], *, as_json: bool) -> None:
        refuse(self.stdout, errors, as_json=as_json, head="Nothing was analysed; fix these fields:")

    def text(self, o: dict[str, Any]) -> str:
        style = {"STABLE": self.style.SUCCESS, "MARGINAL": self.style.WARNING, "UNSTABLE": self.style.WARNING,
                 "CRITICAL": self.style.ERROR}.get(o["stability_level"], str)
        poa = "—" if o["price_of_anarchy"] is None else f"{o['price_of_anarchy']:.3f}"
        pos = "—" if o["price_of_stability"] is None else f"{o['price_of_stability']:.3f}"
        lines = [
            style(f"Schedule #{o['schedule']} “{o['schedule_name']}” ({o['schedule_status']}, {o['academic_year']}): "
                  f"{o['stability_level']}, nash distance {o['nash_distance']:.3f}"),
            f"  Nash equilibrium:   {'yes' if o['is_nash_equilibrium'] else 'no'}",
            f"  Assignments:        {o['total_assignments']}",
            f"  Blocking swaps:     {o['blocking_swaps']} (pairs who would both gain); one-sided beneficial "
            f"deviations {o['beneficial_deviations']}",
            f"  Predicted requests: {o['predicted_swap_requests']}; forecast {o['forecast']}",
            f"  Welfare:            {o['current_welfare']:.3f} of optimal {o['optimal_welfare']:.3f}"
            f" (efficiency {o['efficiency_ratio']:.1%})",
            f"  Price of anarchy:   {poa}, of stability {pos} (K = {o['restarts']})",
            f"  Report #{o['report']} computed in {o['compute_ms']:.0f} ms",
        ]
        if o["top_instabilities"]:
            lines += ["", "  Top instabilities:"]
            lines += [f"    {t['faculty']:<8} has {t['week']} wants {t['wanted_week']} (held by {t['partner_faculty']}): "
                      f"+{t['gain_self']:.3f} / +{t['gain_partner']:.3f}" for t in o["top_instabilities"]]
        if o["recommended_swaps"]:
            lines += ["", "  Recommended swaps:"]
            lines += [f"    {s['a_faculty']} {s['a_week']} <-> {s['b_faculty']} {s['b_week']}: "
                      f"+{s['gain_a']:.3f} / +{s['gain_b']:.3f}" for s in o["recommended_swaps"]]
        for heading, items in (("Warnings", o["warnings"]), ("Recommendations", o["recommendations"])):
            if items:
                lines += ["", f"  {heading}:"] + [f"    - {item}" for item in items]
        return "\n".join(lines)


def _whole(raw: str | None, name: str) -> int | None:
    if raw is None:
        return None
    text = str(raw).strip()
    if not text.isdigit():
        raise ValidationError({name: f"{raw!r} is not a whole number ≥ 0; give e.g. --{name} 20."})
    return int(text)


def _schedule(raw: str) -> Schedule:
    text = str(raw).strip()
    if not text.isdigit():
        raise ValidationError({"schedule": f"{raw!r} is not a schedule id; give it as a number, e.g. --schedule 3."})
    schedule = Schedule.objects.select_related("year").filter(pk=int(text)).first()
    if schedule is None:
        raise ValidationError({"schedule": f"No schedule {text}."})
    return schedule


def _from_year(raw: str) -> Schedule:
    text = str(raw).strip()
    year = year_from_label(raw, example="--year 2026")
    schedule = current_schedule(year=year, include_drafts=True)  # a coordinator's command
    if schedule is None:
        raise ValidationError({"year": f"Academic year {text} has no published or draft schedule yet."})
    return schedule


# DESIGN §13's fields, in the order the command prints them as JSON.
OUTPUT_FIELDS = (
    "schedule", "schedule_name", "schedule_status", "academic_year", "report", "nash_distance", "is_nash_equilibrium",
    "stability_level", "blocking_swaps", "beneficial_deviations", "total_assignments", "predicted_swap_requests",
    "current_welfare", "optimal_welfare", "efficiency_ratio", "price_of_anarchy", "price_of_stability", "is_acceptable",
    "restarts", "forecast", "max_gain", "avg_gain", "top_instabilities", "recommended_swaps", "warnings",
    "recommendations", "compute_ms",
)


def report_output(schedule: Schedule, report: NashStabilityReport) -> dict[str, Any]:
    """The DESIGN §13 output: §9's report (its summary and more) under the field names of §13."""
    payload = report.payload or {}
    summary = stability_summary(report)
    values = {
        **summary,
        "schedule": schedule.pk,
        "schedule_name": schedule.name,
        "schedule_status": schedule.status,
        "academic_year": schedule.year.label,
        "blocking_swaps": summary["num_blocking_swaps"],
        "beneficial_deviations": summary["num_beneficial_deviations"],
        "total_assignments": report.total_assignments,
        "is_acceptable": report.is_acceptable,
        "max_gain": payload.get("max_gain", 0.0),
        "avg_gain": payload.get("avg_gain", 0.0),
        "top_instabilities": payload.get("top_instabilities", []),
        "recommended_swaps": payload.get("recommended_swaps", []),
        "warnings": payload.get("warnings", []),
        "recommendations": recommendation_sentences(payload),
        "compute_ms": report.compute_ms,
    }
    return {name: values[name] for name in OUTPUT_FIELDS}
