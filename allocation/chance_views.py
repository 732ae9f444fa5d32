"""Chances pages (DESIGN §6, §11): a faculty member's chance of each week they asked for, and the coordinators'
view of the whole year (heatmap, contested weeks, the three lottery mechanisms side by side).

Function-based; the live region of each page is a partial that HTMX polls while a recomputation is pending or
running, answered with 286 (and without its trigger) once the chances are current. Without a worker or timer (the
test settings) the polled request runs a due recomputation itself (chances_catch_up).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from allocation.algorithms.registry import CHANCE_MECHANISMS, MECHANISM_LABELS
from allocation.chance_charts import chances_heatmap_svg
from allocation.chance_reads import (
    MECHANISM_NOTES,
    YearChances,
    chances_read,
    contested_weeks,
    faculty_row,
    listed_chances,
    matrix_weeks,
    week_seats,
)
from allocation.models import ChanceRecomputation
from allocation.services.chances import chances_catch_up, chances_current, chances_request
from gtsched_site.pages import render_page
from gtsched_site.permissions import coordinator_required
from preferences.models import AcademicYear, Faculty, PreferenceSubmission
from preferences.querysets import access_year, faculty_for_user, is_coordinator, year_open_for_preferences

STOP_POLLING = 286  # htmx cancels an `every` trigger on this status
COMPARISON_METRICS = (
    # key in details.comparison, label, hint, shown as ("rank", "percent" or "number"), higher is better?
    ("expected_rank", "Expected rank", "mean over faculty of the average position of the weeks they can expect; "
     "1 = first choice", "rank", False),
    ("top3_share", "Top-3 week", "mean chance of getting at least one top-3 week, among those who listed weeks",
     "percent", True),
    ("envious_share", "Envious", "share of faculty who would rather have someone else's chances", "percent", False),
    ("mean_envy", "Mean envy", "expected utility a person would gain from the chances they envy most", "number",
     False),
)


def _mechanism(request: HttpRequest) -> str:
    mechanism = request.GET.get("mechanism", "rsd")
    return mechanism if mechanism in CHANCE_MECHANISMS else "rsd"


def _poll_status(chances: YearChances) -> int:
    return 200 if chances.updating else STOP_POLLING


def _status_context(chances: YearChances) -> dict[str, Any]:
    matrix = chances.matrix
    return {
        "chances": chances,
        "matrix": matrix,
        "label": chances.label,
        "mechanism": chances.mechanism,
        "mechanism_note": MECHANISM_NOTES[chances.mechanism],
        "tabs": [(m, MECHANISM_LABELS[m]) for m in chances.available] if len(chances.available) > 1 else [],
        "computed_at": matrix.computed_at if matrix else None,
        "draws": matrix.draws if matrix else None,
    }


# --- faculty: my chances -----------------------------------------------------------------------


def _refresh_if_stale(year: AcademicYear, mechanism: str) -> YearChances:
    """The chances as they stand after letting a due recomputation run; chances nobody is recomputing — missing or
    stale, and no failure to report — are asked for, so a faculty member never waits on nothing."""
    chances_catch_up(year=year)
    chances = chances_read(year=year, mechanism=mechanism)
    if (chances.matrix is None or chances.stale) and not chances.updating and not chances.error:
        chances_request(year_id=year.pk)
        chances_catch_up(year=year)
        chances = chances_read(year=year, mechanism=mechanism)
    return chances


def _faculty_context(faculty: Faculty, year: AcademicYear, chances: YearChances) -> dict[str, Any]:
    matrix = chances.matrix
    counting = PreferenceSubmission.objects.filter(faculty=faculty, year=year).counting().order_by("-version").first()
    submitted = counting is not None
    # An accept list has no order: its weeks get no choice numbers, and "first choice" / "top 3" would only name
    # the seeded tie-break, so the page shows how many accepted weeks to expect instead.
    unordered = counting is not None and counting.preference_type == "binary"
    row = faculty_row(matrix, faculty.pk) if matrix is not None else None
    # chances from before their first submission list no week of theirs: they would read as 0 %, so wait instead
    before_them = row is not None and submitted and chances.stale and not matrix.summary[row].get("listed")
    if before_them:
        row = None
    summary = matrix.summary[row] if row is not None else {}
    weeks = listed_chances(matrix, row, matrix_weeks(matrix)) if row is not None else []
    return {
        **_status_context(chances),
        "faculty": faculty,
        "year": year,
        "submitted": submitted,
        "in_year": row is not None or before_them,
        "before_them": before_them,
        "rows": weeks,
        "summary": summary,
        "unordered": unordered,
        "accepted_expected": f"{sum(w['probability'] for w in weeks):.1f}",
        "top1": _percent(summary.get("top1")),
        "top3": _percent(summary.get("top3")),
        "expected_rank": "—" if summary.get("expected_rank") is None else f"{summary['expected_rank']:.2f}",
        "any_margin": any(w["stderr"] > 0 for w in weeks),
    }


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * float(value):.1f} %"


@login_required
@require_GET
def my_chances(request: HttpRequest) -> HttpResponse:
    faculty_id = request.GET.get("faculty")
    if faculty_id and faculty_id.isascii() and faculty_id.isdigit() and is_coordinator(request.user):
        faculty = get_object_or_404(faculty_for_user(request.user), pk=int(faculty_id))
    else:
        faculty = faculty_for_user(request.user).filter(user=request.user).first()
    if faculty is None:
        if is_coordinator(request.user):
            year = year_open_for_preferences()
            return redirect("year_chances", label=year.label) if year else render(
                request, "preferences/no_year.html", {"section": "chances"})
        return render(request, "preferences/no_profile.html", status=403)
    year = year_open_for_preferences()
    if year is None:
        return render(request, "preferences/no_year.html", {"section": "chances"})
    chances = _refresh_if_stale(year, _mechanism(request))
    context = _faculty_context(faculty, year, chances)
    return render_page(request, "allocation/my_chances.html", context, partial="chances_live", section="chances",
                       partial_status=_poll_status(chances))


# --- coordinators: the year's chances -----------------------------------------------------------


def _comparison(year: AcademicYear) -> list[dict[str, Any]]:
    """One row per lottery mechanism: its details.comparison numbers and whether its matrix is current; the best
    value of each column marked when more than one mechanism has it."""
    rows = []
    for mechanism in CHANCE_MECHANISMS:
        matrix, fresh = chances_current(year=year, mechanism=mechanism)
        numbers = ((matrix.details or {}).get("comparison") or {}) if matrix else {}
        rows.append({
            "mechanism": mechanism, "label": MECHANISM_LABELS[mechanism], "matrix": matrix, "fresh": fresh,
            "cells": [_metric(numbers.get(key), kind) for key, _, _, kind, _ in COMPARISON_METRICS],
        })
    for column, (*_, higher) in enumerate(COMPARISON_METRICS):
        values = [r["cells"][column]["value"] for r in rows if r["cells"][column]["value"] is not None]
        differ = len(values) > 1 and max(values) - min(values) > 1e-9
        best = (max(values) if higher else min(values)) if differ else None
        for r in rows:
            r["cells"][column]["best"] = best is not None and r["cells"][column]["value"] == best
    return rows


def _metric(value: Any, kind: str) -> dict[str, Any]:
    if not isinstance(value, int | float) or value != value:  # missing or NaN
        return {"value": None, "shown": "—"}
    if kind == "percent":
        return {"value": value, "shown": f"{100 * value:.1f} %"}
    return {"value": value, "shown": f"{value:.2f}" if kind == "rank" else f"{value:.3f}"}


def _year_context(year: AcademicYear, chances: YearChances) -> dict[str, Any]:
    context = {**_status_context(chances), "year": year, "years": AcademicYear.objects.order_by("-label"),
               "comparison": _comparison(year), "metrics": COMPARISON_METRICS}
    matrix = chances.matrix
    if matrix is None:
        return context
    weeks = matrix_weeks(matrix)
    people = Faculty.objects.in_bulk(matrix.faculty_ids)
    names = [people[pk].display_name if pk in people else f"#{pk}" for pk in matrix.faculty_ids]
    context.update({
        "heatmap": chances_heatmap_svg(
            matrix.probabilities, names=names, weeks=[w.start_date for w in weeks],
            holidays=[w.is_holiday for w in weeks],
            title=f"Chance of each week for each faculty member under {chances.label}, {year}",
        ),
        "contested": contested_weeks(matrix, weeks, week_seats(year, matrix)),
        "details": matrix.details or {},
        "faculty_count": len(matrix.faculty_ids),
        "week_count": len(weeks),
    })
    return context


@coordinator_required
@require_GET
def year_chances(request: HttpRequest, label: int) -> HttpResponse:
    year = access_year(label)
    chances_catch_up(year=year)
    chances = chances_read(year=year, mechanism=_mechanism(request))
    return render_page(request, "allocation/year_chances.html", _year_context(year, chances), partial="chances_live",
                       section="allocation", partial_status=_poll_status(chances))


@coordinator_required
@require_POST
def year_chances_recompute(request: HttpRequest, label: int) -> HttpResponse:
    """Recompute at once, skipping the debounce: in this request without a worker, else on the worker or timer."""
    year = access_year(label)
    chances_request(year_id=year.pk, delay_s=0)
    chances_catch_up(year=year)  # without a worker, the recomputation (its RSD chunks too) runs here
    record = ChanceRecomputation.objects.get(year=year)
    if record.state == ChanceRecomputation.State.IDLE and not record.error:
        messages.success(request, f"Recomputed the chances of {year} under all three lottery mechanisms.")
    elif record.state == ChanceRecomputation.State.IDLE:
        messages.error(request, f"Recomputing the chances of {year} failed; the error is shown below.")
    else:
        messages.info(request, f"Recomputing the chances of {year}; this page updates itself when they are ready.")
    mechanism = request.POST.get("mechanism", "rsd")
    url = reverse("year_chances", kwargs={"label": year.label})
    return redirect(f"{url}?mechanism={mechanism}" if mechanism in CHANCE_MECHANISMS[1:] else url)
