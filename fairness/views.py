"""Fairness pages (DESIGN §7, §11): the coordinators' fairness page of a year (chart, table, score, rebalancing, a
compute form whose progress the page polls, fair targets with a preview and a confirmation) and a faculty member's
"My fair share".

Function-based; the live region of the year page is a partial that HTMX polls while a computation is pending or
running, answered with 286 (and without its trigger) once none is. Every form is a plain POST that redirects.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fairness.charts import WorkloadRow, workload_chart_svg
from fairness.forms import ComputeForm, TargetsForm
from fairness.models import ShapleyComputation
from fairness.reads import (
    METHOD_NOTES,
    SCORE_DEFINITION,
    YearFairness,
    expected_interval,
    faculty_fairness,
    fairness_read,
)
from fairness.services import shapley_request
from fairness.targets import shapley_targets_apply, shapley_targets_preview
from gtsched_site.forms import add_service_errors
from gtsched_site.pages import render_page
from gtsched_site.permissions import coordinator_required
from preferences.models import AcademicYear
from preferences.querysets import access_year, is_coordinator, own_faculty, year_open_for_preferences

STOP_POLLING = 286  # htmx cancels an `every` trigger on this status
PAGE = "fairness/year_fairness.html"


def _poll_status(view: YearFairness) -> int:
    return 200 if view.updating else STOP_POLLING


def _rows(view: YearFairness) -> list[dict[str, Any]]:
    report = view.report
    rows = []
    for row in report.faculty if report else ():
        low, high = expected_interval(report, row)
        rows.append({"row": row, "low": low, "high": high, "no_interval": row.ci_low == row.ci_high})
    return rows


def _year_context(year: AcademicYear, view: YearFairness, form: ComputeForm) -> dict[str, Any]:
    report = view.report
    rows = _rows(view)
    context = {
        "year": year, "view": view, "report": report, "latest": view.latest, "form": form, "rows": rows,
        "years": AcademicYear.objects.order_by("-label"), "score_definition": SCORE_DEFINITION,
        "method_note": METHOD_NOTES.get(report.method, "") if report else "",
    }
    if report is not None:
        context["score"] = "—" if report.fairness_score is None else f"{report.fairness_score:.2f}"
        context["chart"] = workload_chart_svg(
            [WorkloadRow(name=r["row"].faculty_name, actual=r["row"].actual_workload,
                         expected=r["row"].expected_workload, low=r["low"], high=r["high"],
                         over=r["row"].is_overloaded, under=r["row"].is_underloaded) for r in rows],
            title=f"Weeks served against the fair share by Shapley value, {year}",
        )
    return context


@coordinator_required
@require_GET
def year_fairness(request: HttpRequest, label: int) -> HttpResponse:
    year = access_year(label)
    view = fairness_read(year=year)
    return render_page(request, PAGE, _year_context(year, view, ComputeForm()), partial="fairness_live",
                       section="allocation", partial_status=_poll_status(view))


@coordinator_required
@require_POST
def year_fairness_compute(request: HttpRequest, label: int) -> HttpResponse:
    """Start a computation (it runs in this request without a worker) and go back to the page, which polls it."""
    year = access_year(label)
    form = ComputeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            computation, _ = shapley_request(year=year, method=data["method"], samples=data["samples"],
                                             seed=data["seed"], actor=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            computation.refresh_from_db()
            if computation.status == ShapleyComputation.Status.COMPLETED:
                messages.success(request, f"Computed the Shapley values of {year} "
                                          f"({computation.get_method_display().lower()}).")
            elif computation.status == ShapleyComputation.Status.FAILED:
                messages.error(request, f"Computing the Shapley values of {year} failed; the error is shown below.")
            else:
                messages.info(request, f"Computing the Shapley values of {year}; this page updates itself.")
            return redirect("year_fairness", label=year.label)
    context = _year_context(year, fairness_read(year=year), form)
    return render(request, PAGE, {**context, "section": "allocation"}, status=400)


@coordinator_required
@require_http_methods(["GET", "POST"])
def year_fairness_targets(request: HttpRequest, label: int) -> HttpResponse:
    """The fair targets: current against proposed loads; applied only when the form is sent with a reason."""
    year = access_year(label)
    page = reverse("year_fairness", kwargs={"label": year.label})
    try:
        proposals = shapley_targets_preview(year=year)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(page)
    form = TargetsForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            change = shapley_targets_apply(year=year, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            changed = sum(1 for c in change.changes if c["before"] != c["after"])
            messages.success(request, f"Applied the fair target loads of {year}: {changed} faculty member"
                                      f"{'s' if changed != 1 else ''} changed. The Shapley values are now stale: "
                                      "target loads are one of their inputs.")
            return redirect(page)
    context = {
        "year": year, "form": form, "proposals": proposals, "section": "allocation",
        "rows": [{"p": p, "delta": p.proposed - p.current} for p in proposals],
        "changes": sum(p.changes for p in proposals),
        "total_current": sum(p.current for p in proposals), "total_proposed": sum(p.proposed for p in proposals),
    }
    return render(request, "fairness/targets.html", context, status=400 if form.errors else 200)


# --- faculty: my fair share -------------------------------------------------------------------------------------


def _meaning(row, *, total_demand: int, published: bool) -> str:
    """One plain sentence on what the faculty member's fair share means against their load."""
    share = (f"Your fair share is {row.expected_weeks} of the year's {total_demand} service weeks: the part that "
             "matches how much coverage you add, on average, to any group of colleagues, given your qualifications, "
             "free weeks and load")
    if not published:
        return share + "; no schedule has been published yet, so there is no load to compare it with."
    gap = row.actual_workload - row.expected_workload
    if row.is_overloaded:
        return share + f"; you are scheduled for {row.actual_workload}, {gap:.1f} more than your share."
    if row.is_underloaded:
        return share + f"; you are scheduled for {row.actual_workload}, {-gap:.1f} fewer than your share."
    return share + f"; you are scheduled for {row.actual_workload}, within 10 % of it."


@login_required
@require_GET
def my_fair_share(request: HttpRequest) -> HttpResponse:
    faculty = own_faculty(request.user)
    year = year_open_for_preferences()
    if faculty is None:
        if is_coordinator(request.user) and year is not None:
            return redirect("year_fairness", label=year.label)
        if is_coordinator(request.user):
            return render(request, "preferences/no_year.html", {"section": "fairness"})
        return render(request, "preferences/no_profile.html", status=403)
    if year is None:
        return render(request, "preferences/no_year.html", {"section": "fairness"})
    view = fairness_read(year=year)
    report = view.report
    row = faculty_fairness(report, faculty.pk)
    published = report is not None and report.schedule_status == "published"
    context = {
        "faculty": faculty, "year": year, "row": row, "stale": view.stale, "published": published,
        "computed_at": report.computed_at if report else None, "computed": report is not None,
        "sampled": report is not None and report.method == ShapleyComputation.Method.MONTE_CARLO,
        "samples": report.samples if report else 0,
        "meaning": _meaning(row, total_demand=report.total_demand, published=published) if row is not None else "",
        "section": "fairness",
    }
    return render(request, "fairness/my_fair_share.html", context)
