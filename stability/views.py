"""Coordinator pages of the stability app: a year's schedules with their stability, one schedule's report, applying
recommended swaps, recomputing, and publishing through the gate.

Function-based; coordinators only, checked in every view (HTMX partial requests included). Every form is a plain
POST that redirects; the recompute button also swaps the report partial in place when HTMX is on.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET, require_POST

from allocation.models import Schedule
from allocation.services.coverage import schedule_coverage
from gtsched_site.pages import render_page
from gtsched_site.permissions import coordinator_required
from preferences.models import AcademicYear
from preferences.querysets import access_year
from preferences.shortcuts import current_year_page
from stability.algorithms.types import ACCEPTABLE_POA
from stability.charts import distance_gauge_svg, gains_svg
from stability.forms import ApplyAllSwapsForm, PublishForm, SwapApplyForm, publication_messages
from stability.gate import critical_refusal, schedule_recommended_swap_apply, schedule_recommended_swaps_apply_all
from stability.models import NashStabilityReport, PublicationRecord, ScheduleChange, StabilityLevel
from stability.parameters import report_parameters
from stability.price_requests import price_of_anarchy_request
from stability.reports import stability_report_create, stability_report_for

LEVEL_SUMMARY = {
    StabilityLevel.STABLE: "Stable: hardly anyone would gain by swapping. Safe to publish.",
    StabilityLevel.MARGINAL: "Marginal: a few pairs would swap. It publishes, with a warning.",
    StabilityLevel.UNSTABLE: "Unstable: many pairs would swap soon after publication. It publishes, with a warning.",
    StabilityLevel.CRITICAL: "Critical: so many would swap that the gate refuses to publish without an override.",
}
AFTER_PUBLICATION = {
    StabilityLevel.STABLE: "Stable: hardly anyone would gain by swapping.",
    StabilityLevel.MARGINAL: "Marginal: a few pairs would gain by swapping; expect some swap requests.",
    StabilityLevel.UNSTABLE: "Unstable: many pairs would gain by swapping; applying the recommended swaps settles it.",
    StabilityLevel.CRITICAL: "Critical: most swap requests are still to come; applying the recommended swaps settles "
                             "the schedule through audited changes.",
}
FORECAST_LABELS = {"stable": "Stable", "minor_adjustments": "Minor adjustments", "major_revision": "Major revision"}


def _schedule(pk: int) -> Schedule:
    return get_object_or_404(Schedule.objects.select_related("year", "run", "published_by"), pk=pk)


# --- a year's schedules ----------------------------------------------------------------------------------------


stability_overview = current_year_page("stability_year", section="stability")


@coordinator_required
@require_GET
def stability_year(request: HttpRequest, label: int) -> HttpResponse:
    year = access_year(label)
    schedules = list(
        Schedule.objects.filter(year=year).select_related("run", "published_by")
        .annotate(_assignments=Count("assignments")).order_by("-created_at", "-pk")
    )
    latest: dict[int, NashStabilityReport] = {}
    for report in NashStabilityReport.objects.filter(schedule__in=schedules).order_by("schedule_id", "-created_at", "-pk"):
        latest.setdefault(report.schedule_id, report)
    records = {r.schedule_id: r for r in PublicationRecord.objects.filter(schedule__in=schedules)}
    order = {Schedule.Status.PUBLISHED: 0, Schedule.Status.DRAFT: 1, Schedule.Status.ARCHIVED: 2}
    rows = sorted(
        ({"schedule": s, "report": latest.get(s.pk), "publication": records.get(s.pk),
          "assignments": s._assignments} for s in schedules),
        key=lambda row: order.get(row["schedule"].status, 3),
    )
    bands = [f"{100 * t:g} %" for t in report_parameters()["thresholds"]]
    context = {"year": year, "years": AcademicYear.objects.order_by("-label"), "rows": rows, "bands": bands}
    return render(request, "stability/year.html", {**context, "section": "stability"})


# --- one schedule's report -------------------------------------------------------------------------------------


def _level_summary(schedule: Schedule, report: NashStabilityReport, *, coverage_refused: bool) -> str:
    if schedule.status != Schedule.Status.DRAFT:
        return AFTER_PUBLICATION.get(report.stability_level, "")
    if coverage_refused and report.stability_level != StabilityLevel.CRITICAL:
        # Never "safe to publish" beside empty seats or misplaced assignments.
        return (AFTER_PUBLICATION[report.stability_level].split(";")[0].rstrip(".") + ". Not safe to publish: the "
                "coverage check below refuses it, so it publishes only with an override and a written reason.")
    return LEVEL_SUMMARY.get(report.stability_level, "")


def _report_context(schedule: Schedule, report: NashStabilityReport, *, form: PublishForm | None = None,
                    refused: str = "") -> dict[str, Any]:
    payload = report.payload or {}
    thresholds = (report.parameters or {}).get("thresholds") or [0.05, 0.15, 0.30]
    top = payload.get("top_instabilities", [])
    published = Schedule.objects.filter(year_id=schedule.year_id, status=Schedule.Status.PUBLISHED).exclude(pk=schedule.pk).first()
    critical = report.stability_level == StabilityLevel.CRITICAL
    coverage = schedule_coverage(schedule=schedule)
    return {
        "schedule": schedule,
        "coverage": coverage,
        "gate_refuses": critical or coverage.refused,
        "report": report,
        "payload": payload,
        "level_summary": _level_summary(schedule, report, coverage_refused=coverage.refused),
        "forecast": FORECAST_LABELS.get(report.forecast, report.forecast),
        "gauge": distance_gauge_svg(report.nash_distance, thresholds=thresholds, level=report.stability_level),
        "gains_chart": gains_svg(top, title=f"Gains of the top instabilities of “{schedule.name}”") if top else "",
        "top": top,
        "recommended": payload.get("recommended_swaps", []),
        "can_apply": schedule.status in (Schedule.Status.DRAFT, Schedule.Status.PUBLISHED),
        "is_draft": schedule.status == Schedule.Status.DRAFT,
        "is_acceptable": report.is_acceptable,
        "acceptable_poa": ACCEPTABLE_POA,
        "critical": critical,
        "refusal": refused or (critical_refusal(report) if critical else ""),
        "coverage_refusal": coverage.refusal(),
        "form": form or PublishForm(),
        "replaces": published,
        "publication": PublicationRecord.objects.filter(schedule=schedule).select_related("published_by").first(),
        "changes": list(ScheduleChange.objects.filter(schedule=schedule).select_related("actor")[:10]),
        "thresholds": thresholds,
        "poa_detail": payload.get("price_of_anarchy_detail") or {},
        "poa_estimated_at": parse_datetime((payload.get("price_of_anarchy_detail") or {}).get("estimated_at") or ""),
    }


@coordinator_required
@require_GET
def stability_report_page(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = _schedule(pk)
    report = stability_report_for(schedule=schedule, actor=request.user)
    context = _report_context(schedule, report)
    return render_page(request, "stability/report.html", context, partial="report", section="stability")


@coordinator_required
@require_POST
def stability_recompute(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = _schedule(pk)
    report = stability_report_create(schedule=schedule, actor=request.user)
    if request.htmx:
        return render(request, "stability/report.html#report", _report_context(schedule, report))
    messages.success(request, f"Recomputed: {report.stability_level.lower()}, nash distance {report.nash_distance:.1%}.")
    return redirect("stability_report", pk=schedule.pk)


@coordinator_required
@require_POST
def stability_price_of_anarchy(request: HttpRequest, pk: int) -> HttpResponse:
    """Price of anarchy / stability for a schedule too large to get them with every report: a background job."""
    schedule = _schedule(pk)
    restarts = report_parameters()["restarts"]
    report = price_of_anarchy_request(schedule=schedule, actor=request.user, restarts=restarts)
    if report is None:
        messages.info(request, f"Running blocking-swap dynamics from {restarts} random schedules in the background; "
                               "reload this page in a minute to see the price of anarchy.")
    else:
        messages.success(request, f"Price of anarchy {report.price_of_anarchy:.3f}, of stability "
                                  f"{report.price_of_stability:.3f} (K = {report.restarts}).")
    return redirect("stability_report", pk=schedule.pk)


@coordinator_required
@require_POST
def stability_swap_apply(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = _schedule(pk)
    form = SwapApplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"That swap could not be applied: {form.error_text()}")
        return redirect("stability_report", pk=schedule.pk)
    try:
        change = schedule_recommended_swap_apply(
            schedule=schedule, assignment_a=form.cleaned_data["assignment_a"],
            assignment_b=form.cleaned_data["assignment_b"], actor=request.user,
        )
    except ValidationError as exc:
        messages.error(request, "That swap could not be applied: " + " ".join(exc.messages))
    else:
        before, after = change.nash_distance_before, change.nash_distance_after
        moved = f" Nash distance {before:.1%} → {after:.1%}." if before is not None and after is not None else ""
        messages.success(request, f"Swap applied and recorded in the audit trail.{moved}")
    return redirect("stability_report", pk=schedule.pk)


@coordinator_required
@require_POST
def stability_swaps_apply_all(request: HttpRequest, pk: int) -> HttpResponse:
    """Every recommended swap of the report on the page, in one request; all or none. The report is then recomputed."""
    schedule = _schedule(pk)
    form = ApplyAllSwapsForm(request.POST)
    report = (NashStabilityReport.objects.filter(schedule=schedule, pk=form.cleaned_data["report"]).first()
              if form.is_valid() else None)
    if report is None:
        messages.error(request, "The recommended swaps could not be applied: reload the report and try again.")
        return redirect("stability_report", pk=schedule.pk)
    try:
        applied = schedule_recommended_swaps_apply_all(schedule=schedule, report=report, actor=request.user)
    except ValidationError as exc:
        messages.error(request, "No swap was applied: " + " ".join(exc.messages)
                       + " Recompute the report to see the swaps that still help.")
        return redirect("stability_report", pk=schedule.pk)
    fresh = stability_report_create(schedule=schedule, actor=request.user)
    before, after = applied.distance_before, applied.distance_after
    moved = f" Nash distance {before:.1%} → {after:.1%}." if before is not None and after is not None else ""
    messages.success(request, f"Applied all {applied.swaps} recommended swap{'s' if applied.swaps != 1 else ''} and "
                              f"recorded {'them' if applied.swaps != 1 else 'it'} in the audit trail.{moved} "
                              f"The report is recomputed: {fresh.stability_level.lower()}.")
    return redirect("stability_report", pk=schedule.pk)


@coordinator_required
@require_POST
def stability_publish(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = _schedule(pk)
    form = PublishForm(request.POST)
    code = 400
    if form.is_valid():
        result, code = form.publish(schedule=schedule, actor=request.user, channel="page")
        if result is not None:
            for level, text in publication_messages(result):
                messages.add_message(request, level, text)
            return redirect("stability_report", pk=schedule.pk)
    schedule.refresh_from_db()
    report = stability_report_for(schedule=schedule, actor=request.user)
    return render(request, "stability/report.html", {**_report_context(schedule, report, form=form), "section": "stability"},
                  status=code)
