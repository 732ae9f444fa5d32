"""Allocation pages: start runs, watch them, compare mechanisms, and each faculty member's schedule with its "why".

Function-based; every page renders one of its partials for HTMX requests; permission checks happen here in the
view, so a partial request is guarded exactly like the page. Polled partials answer 286 once nothing is running.
"""

from __future__ import annotations

from itertools import groupby
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from allocation.algorithms.registry import MECHANISM_LABELS
from allocation.charts import comparison_svg, metric_bars_svg, rank_distribution_svg
from allocation.choices import listed_weeks
from allocation.forms import MECHANISM_HELP, ComparisonForm, RunForm
from allocation.models import AllocationRun, Assignment, Comparison, Schedule
from allocation.preassignment_forms import preassignment_context
from allocation.querysets import assignments_explained_to, current_schedule_for
from allocation.services import (
    allocation_run_cancel,
    allocation_run_start,
    assignment_explain,
    comparison_start,
    schedule_coverage,
)
from gtsched_site.charts import ordinal
from gtsched_site.pages import render_page
from gtsched_site.permissions import coordinator_required
from preferences.models import AcademicYear, Faculty
from preferences.querysets import access_year, faculty_for_user, is_coordinator
from preferences.shortcuts import current_year_page

STOP_POLLING = 286  # htmx cancels an `every` trigger on this status
STAT_KEYS = ("welfare", "total_regret", "average_regret", "max_regret", "unassigned", "uncovered", "envy", "assignments",
             "compute_ms")


def _poll_status(active: bool) -> int:
    return 200 if active else STOP_POLLING


def _runs_for_year(year: AcademicYear) -> QuerySet[AllocationRun]:
    return AllocationRun.objects.filter(year=year).select_related("created_by", "comparison").order_by("-created_at", "-pk")


def _run_schedule(run: AllocationRun) -> Schedule | None:
    return Schedule.objects.filter(run=run).first()


# --- coordinator: start runs -------------------------------------------------------------------


allocation_overview = current_year_page("allocation_home", section="allocation")


def _decorate(run: AllocationRun) -> AllocationRun:
    """Display helpers for templates: the mechanism's plain name and stats with None for what is not there yet."""
    run.mechanism_label = MECHANISM_LABELS.get(run.mechanism, run.mechanism)
    stats = run.stats or {}
    run.s = {key: _round(stats.get(key)) for key in STAT_KEYS}
    if isinstance(run.s["compute_ms"], float) and run.s["compute_ms"] >= 100:
        run.s["compute_ms"] = round(run.s["compute_ms"])
    return run


def _home_context(year: AcademicYear, run_form: RunForm, comparison_form: ComparisonForm) -> dict[str, Any]:
    runs = [_decorate(r) for r in _runs_for_year(year)[:50]]
    return {
        "year": year,
        "years": AcademicYear.objects.order_by("-label"),
        "form": run_form,
        "comparison_form": comparison_form,
        "mechanism_help": MECHANISM_HELP.get(run_form.selected_mechanism, ""),
        "runs": runs,
        "any_active": any(r.is_active for r in runs),
        "comparisons": list(Comparison.objects.filter(year=year).order_by("-created_at", "-pk")[:10]),
        **preassignment_context(year),
    }


@coordinator_required
@require_http_methods(["GET", "POST"])
def allocation_home(request: HttpRequest, label: int) -> HttpResponse:
    year = access_year(label)
    if request.method == "POST":
        form = RunForm(request.POST)
        if form.is_valid():
            try:
                run, created = allocation_run_start(
                    year=year, mechanism=form.cleaned_data["mechanism"], options=form.options(),
                    seed=form.cleaned_data["seed"], actor=request.user,
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                if created:
                    _started_message(request, run)
                else:
                    messages.info(request, f"Run #{run.pk} on the same inputs is already under way; showing it instead of starting another.")
                return redirect("run_detail", pk=run.pk)
        context = _home_context(year, form, ComparisonForm())
        return render(request, "allocation/home.html", {**context, "section": "allocation"}, status=400)

    mechanism = request.GET.get("mechanism", "rsd")
    form = RunForm(initial={"mechanism": mechanism if mechanism in MECHANISM_LABELS else "rsd", "seed": request.GET.get("seed")})
    context = _home_context(year, form, ComparisonForm())
    if request.htmx and request.htmx.target == "run-options":
        return render(request, "allocation/home.html#run_options", context)
    if request.htmx and request.htmx.target == "run-list":
        return render(request, "allocation/home.html#run_list", context, status=_poll_status(context["any_active"]))
    return render(request, "allocation/home.html", {**context, "section": "allocation"})


def _started_message(request: HttpRequest, run: AllocationRun) -> None:
    """Say what became of the run: without a worker it may have finished (or failed) before the page answers."""
    run.refresh_from_db(fields=["status", "error"])
    name = f"Run #{run.pk} ({MECHANISM_LABELS[run.mechanism]})"
    if run.status == AllocationRun.Status.COMPLETED:
        messages.success(request, f"{name} finished.")
    elif run.status == AllocationRun.Status.FAILED:
        messages.error(request, f"{name} failed: {run.error}")
    elif run.status == AllocationRun.Status.CANCELLED:
        messages.info(request, f"{name} was cancelled.")
    else:
        messages.info(request, f"{name} started; its progress shows below.")


@coordinator_required
@require_POST
def comparison_create(request: HttpRequest, label: int) -> HttpResponse:
    year = access_year(label)
    form = ComparisonForm(request.POST)
    if form.is_valid():
        try:
            comparison = comparison_start(
                year=year, mechanisms=form.cleaned_data["mechanisms"], seed=form.cleaned_data["seed"],
                options_by_mechanism=None, actor=request.user,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Comparing {len(form.cleaned_data['mechanisms'])} mechanisms on the same preferences.")
            return redirect("comparison_detail", pk=comparison.pk)
    return render(request, "allocation/home.html", {**_home_context(year, RunForm(), form), "section": "allocation"}, status=400)


# --- coordinator: one run ----------------------------------------------------------------------


def _lottery_rows(details: dict[str, Any]) -> list[dict[str, Any]]:
    """The RSD draw order; the run stores the programme's external ids."""
    order = [str(ref) for ref in details.get("lottery_order") or []]
    names = dict(Faculty.objects.filter(external_id__in=order).values_list("external_id", "display_name"))
    return [{"position": k, "external_id": ref, "name": names.get(ref, ref)} for k, ref in enumerate(order, start=1)]


def _payment_rows(details: dict[str, Any]) -> list[dict[str, Any]]:
    """VCG's per-faculty report, highest payment first."""
    rows = [
        {
            "name": p.get("name") or p.get("faculty"),
            "weeks": len(p.get("allocated_weeks") or []),
            "value": _round(p.get("reported_value")),
            "payment": _round(p.get("vcg_payment")),
            "others_with": _round(p.get("others_welfare_with")),
            "others_without": _round(p.get("others_welfare_without")),
        }
        for p in details.get("payments") or []
        if isinstance(p, dict)
    ]
    rows.sort(key=lambda r: (-(r["payment"] or 0), str(r["name"])))
    return rows


def _solver_status(details: dict[str, Any]) -> str:
    """CP-SAT's status per lexicographic level, runs of the same status collapsed: "OPTIMAL ×11 → FEASIBLE"."""
    status = details.get("solver_status")
    if details.get("proof"):  # the relaxation decided every level: no CP-SAT solve ran
        return f"optimal at all {len(status or [])} levels, proven by the flow relaxation (no CP-SAT solve needed)"
    if not isinstance(status, list):
        return str(status) if status else ""
    if not status:
        return "not solved"
    groups = [(name, len(list(run))) for name, run in groupby(str(s) for s in status)]
    if len(groups) == 1:
        name, count = groups[0]
        return f"{name} at all {count} levels" if count > 1 else name
    return " → ".join(f"{name} ×{count}" if count > 1 else name for name, count in groups)


def _stat_cards(run: AllocationRun) -> list[tuple[str, Any, str]]:
    s = run.s
    compute = None if s["compute_ms"] is None else f"{s['compute_ms']} ms"
    return [
        ("Welfare", s["welfare"], "sum of utilities, higher is better"),
        ("Total regret", s["total_regret"], "Σ (rank − 1), lower is better"),
        ("Average regret", s["average_regret"], "per assignment"),
        ("Worst regret", s["max_regret"], "rank − 1 of the worst placement"),
        ("Envy", s["envy"], "faculty preferring a week someone else got"),
        ("Unassigned", s["unassigned"], "weeks of demand left unmet"),
        ("Uncovered", s["uncovered"], "slot seats left empty"),
        ("Compute", compute, "time in the algorithm"),
        ("Seed", run.seed, "drawn at random" if run.seed_drawn else "given when started"),
        ("Fingerprint", run.input_fingerprint[:10], "of the inputs, mechanism, options and seed"),
    ]


def _parameter_rows(run: AllocationRun) -> list[tuple[str, str]]:
    """The run's options in the start form's words: ("Regret cost", "Squared — (rank − 1)²")."""
    form = RunForm()
    rows = []
    for name, value in sorted((run.parameters or {}).items()):
        if name == "time_limit_s" and run.mechanism == "cp_sat":
            continue  # shown from the run's details, which also carry the default when none was given
        field = form.fields.get(name)
        if field is None:
            rows.append((name.replace("_", " ").capitalize(), str(value)))
            continue
        shown = dict(getattr(field, "choices", [])).get(value, value)
        if isinstance(value, bool):
            shown = "yes" if value else "no"
        rows.append((str(field.label), str(shown)))
    return rows


def _round(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else value


def _unmet_demand(run: AllocationRun, coverage) -> dict[str, Any] | None:
    """What the run left unfilled, and the run that could fill it: min-cost flow with fill_unlisted (assign eligible
    weeks nobody listed) on the same seed, unless this run was already that."""
    unassigned = int((run.stats or {}).get("unassigned") or 0)
    if coverage is None or not (coverage.uncovered or unassigned):
        return None
    parameters = run.parameters or {}
    already = run.mechanism == "min_cost_flow" and bool(parameters.get("fill_unlisted"))
    return {
        "seats": coverage.missing_seats,
        "weeks": coverage.uncovered_weeks,
        "unassigned": unassigned,
        "suggest_fill": not already,
        "rerun": {"mechanism": "min_cost_flow", "fill_unlisted": "on", "allow_unassigned": "on",
                  "seed": run.seed if run.seed is not None else "",
                  "non_respondents": parameters.get("non_respondents", "neutral")},
    }


def _run_context(run: AllocationRun) -> dict[str, Any]:
    _decorate(run)
    context: dict[str, Any] = {"run": run, "label": run.mechanism_label}
    if run.status != AllocationRun.Status.COMPLETED:
        return context
    details = run.details or {}
    schedule = _run_schedule(run)
    assignments = (schedule.assignments.select_related("week", "rotation", "faculty").order_by("week__index", "rotation__name", "faculty__display_name")
                   if schedule else Assignment.objects.none())
    distribution = (run.stats or {}).get("rank_distribution") or {}
    coverage = schedule_coverage(schedule=schedule) if schedule else None
    context.update({
        "schedule": schedule,
        "coverage": coverage,
        "unmet": _unmet_demand(run, coverage),
        "assignments": assignments,
        "stat_cards": _stat_cards(run),
        "chart": rank_distribution_svg(distribution, title=f"Rank distribution of run #{run.pk} ({context['label']})"),
        "lottery": _lottery_rows(details) if run.mechanism == "rsd" else [],
        "payments": _payment_rows(details) if run.mechanism == "vcg" else [],
        "details": details,
        "solver_status": _solver_status(details),
        "parameters": _parameter_rows(run),
    })
    return context


@coordinator_required
@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(AllocationRun.objects.select_related("year", "created_by", "comparison"), pk=pk)
    context = _run_context(run)
    return render_page(request, "allocation/run_detail.html", context,
                       partial="run_live", section="allocation",
                       partial_status=_poll_status(run.is_active))


@coordinator_required
@require_POST
def run_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(AllocationRun, pk=pk)
    try:
        allocation_run_cancel(run=run, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Run #{run.pk} cancelled.")
    return redirect("run_detail", pk=run.pk)


# --- coordinator: comparisons ------------------------------------------------------------------


COMPARISON_METRICS = (
    # key, label, hint, higher is better?
    ("welfare", "Welfare", "sum of utilities", True),
    ("total_regret", "Total regret", "Σ (rank − 1)", False),
    ("average_regret", "Average regret", "per assignment", False),
    ("max_regret", "Worst regret", "rank − 1 of the worst placement", False),
    ("unassigned", "Unassigned", "weeks of demand unmet", False),
    ("uncovered", "Uncovered", "slot seats left empty", False),
    ("envy", "Envy", "faculty preferring someone else's week", False),
    ("compute_ms", "Compute", "milliseconds", None),
)
SMALL_MULTIPLES = ("welfare", "total_regret", "max_regret", "envy")


def _comparison_context(comparison: Comparison) -> dict[str, Any]:
    runs = [_decorate(r) for r in AllocationRun.objects.filter(comparison=comparison).order_by("pk")]
    done = [r for r in runs if r.status == AllocationRun.Status.COMPLETED]
    table = []
    for key, label, hint, higher in COMPARISON_METRICS:
        values = [r.s[key] for r in done if r.s[key] is not None]
        best = (max(values) if higher else min(values)) if values and higher is not None and len(done) > 1 else None
        cells = [{"value": r.s[key], "best": best is not None and r.s[key] == best, "done": r in done} for r in runs]
        table.append({"key": key, "label": label, "hint": hint, "cells": cells})
    distributions = []
    for run in runs:
        distribution = (run.stats or {}).get("rank_distribution") or {}
        distributions.append([(ordinal(int(k)), distribution[k]) for k in sorted(distribution, key=int)])
    series = {r.mechanism: (r.stats or {}).get("rank_distribution") or {} for r in done}
    small = [
        {"label": label, "better": "higher is better" if higher else "lower is better",
         "svg": metric_bars_svg({r.mechanism: r.s[key] or 0 for r in done}, title=f"{label} by mechanism")}
        for key, label, _, higher in COMPARISON_METRICS if key in SMALL_MULTIPLES
    ] if done else []
    return {
        "comparison": comparison,
        "year": comparison.year,
        "runs": runs,
        "finished": sum(1 for r in runs if not r.is_active),
        "table": table,
        "distributions": distributions,
        "any_active": any(r.is_active for r in runs),
        "chart": comparison_svg(series, title=f"Rank distribution by mechanism, comparison #{comparison.pk}") if done else "",
        "small_multiples": small,
    }


@coordinator_required
@require_GET
def comparison_detail(request: HttpRequest, pk: int) -> HttpResponse:
    comparison = get_object_or_404(Comparison.objects.select_related("year"), pk=pk)
    context = _comparison_context(comparison)
    return render_page(request, "allocation/comparison_detail.html", context,
                       partial="comparison_live", section="allocation",
                       partial_status=_poll_status(context["any_active"]))


# --- faculty: my schedule and why --------------------------------------------------------------


def _years_with_schedules(user) -> list[AcademicYear]:
    years = AcademicYear.objects.order_by("-label")
    return [y for y in years if current_schedule_for(user, year=y) is not None]


@login_required
@require_GET
def my_schedule(request: HttpRequest) -> HttpResponse:
    coordinator = is_coordinator(request.user)
    faculty_id = request.GET.get("faculty")
    if faculty_id and faculty_id.isdigit():
        faculty = get_object_or_404(faculty_for_user(request.user), pk=int(faculty_id))
    else:
        faculty = faculty_for_user(request.user).filter(user=request.user).first()
    if faculty is None and not coordinator:
        return render(request, "preferences/no_profile.html", status=403)

    years = _years_with_schedules(request.user)
    year_label = request.GET.get("year")
    year = next((y for y in years if str(y.label) == year_label), years[0] if years else None)
    schedule = current_schedule_for(request.user, year=year) if year else None
    rows = []
    if schedule is not None and faculty is not None:
        choices = listed_weeks(year=schedule.year_id, faculty_id=faculty.pk)
        for a in schedule.assignments.filter(faculty=faculty).select_related("week", "rotation").order_by("week__index"):
            rows.append({"assignment": a, "rank_phrase": choices.phrase(rank=a.rank, week_index=a.week.index),
                         "numbered": choices.numbered(rank=a.rank, week_index=a.week.index),
                         "utility_percent": round(100 * a.utility) if a.utility is not None else None})
    context = {
        "faculty": faculty,
        "years": years,
        "year": year,
        "schedule": schedule,
        "rows": rows,
        "is_draft": schedule is not None and schedule.status != Schedule.Status.PUBLISHED,
        "choosable": list(year.faculty_queryset().order_by("display_name")) if coordinator and year else [],
        "top_choices": sum(1 for r in rows if r["numbered"] and r["assignment"].rank <= 3),
    }
    return render(request, "allocation/my_schedule.html", {**context, "section": "schedule"})


@login_required
@require_GET
def assignment_why(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = get_object_or_404(assignments_explained_to(request.user), pk=pk)
    explanation = assignment_explain(assignment=assignment)
    choices = listed_weeks(year=assignment.schedule.year_id, faculty_id=assignment.faculty_id)
    context = {"assignment": assignment, "explanation": explanation,
               "rank_phrase": choices.phrase(rank=assignment.rank, week_index=assignment.week.index)}
    return render_page(request, "allocation/assignment_why.html", context, partial="explanation", section="schedule")
