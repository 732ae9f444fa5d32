"""Coordinator pages beside the allocation runs: pre-assigning weeks with a reason (a region of the allocation page)
and a whole schedule week by week.

Function-based; coordinators only, checked in every view so HTMX requests are guarded like the page. The
pre-assignment forms are POST-only: with HTMX they answer the page region alone, without it they redirect back to
the allocation page (or show it whole, status 400, with the errors beside the fields).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from allocation.forms import ComparisonForm, RunForm
from allocation.models import PreAssignment, Schedule
from allocation.preassignment_forms import PreAssignmentForm, preassignment_context
from allocation.services import preassignment_add, preassignment_remove
from allocation.services.grid import schedule_week_grid
from allocation.services.spreadsheets import XLSX, attachment, export_filename, schedule_csv, schedule_xlsx
from allocation.views import _home_context
from gtsched_site.permissions import coordinator_required
from preferences.querysets import access_year

REGION = "allocation/_preassignments.html"


def _back_to_page(label: int) -> HttpResponse:
    return redirect(f"{reverse('allocation_home', args=[label])}#preassignments")


@coordinator_required
@require_POST
def preassignment_create(request: HttpRequest, label: int) -> HttpResponse:
    year = access_year(label)
    form = PreAssignmentForm(request.POST, year=year)
    if form.is_valid():
        try:
            created = preassignment_add(year=year, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            notice = (f"Pre-assigned {created.faculty} to {created.rotation} in week {created.week.index + 1} "
                      f"({created.week.start_date:%d %b %Y}). Runs started from now on honour it.")
            if request.htmx:
                return render(request, REGION, preassignment_context(year, notice=notice))
            messages.success(request, notice)
            return _back_to_page(year.label)
    if request.htmx:  # htmx swaps only 2xx answers: the region with its errors is the answer
        return render(request, REGION, preassignment_context(year, form))
    context = {**_home_context(year, RunForm(), ComparisonForm()), **preassignment_context(year, form)}
    return render(request, "allocation/home.html", {**context, "section": "allocation"}, status=400)


@coordinator_required
@require_POST
def preassignment_delete(request: HttpRequest, label: int, pk: int) -> HttpResponse:
    year = access_year(label)
    preassignment = get_object_or_404(PreAssignment.objects.select_related("faculty", "week", "rotation"), year=year, pk=pk)
    notice = (f"Removed the pre-assignment of {preassignment.faculty} in week {preassignment.week.index + 1}; "
              "runs started from now on no longer honour it.")
    preassignment_remove(preassignment=preassignment, actor=request.user)
    if request.htmx:
        return render(request, REGION, preassignment_context(year, notice=notice))
    messages.success(request, notice)
    return _back_to_page(year.label)


@coordinator_required
@require_GET
def schedule_weeks(request: HttpRequest, pk: int) -> HttpResponse:
    """A schedule (draft, published or archived) as a table: weeks down, rotations across, empty seats marked."""
    schedule = get_object_or_404(Schedule.objects.select_related("year", "run"), pk=pk)
    grid = schedule_week_grid(schedule=schedule)
    return render(request, "allocation/schedule_weeks.html",
                  {"schedule": schedule, "grid": grid, "section": "allocation"})


@coordinator_required
@require_GET
def schedule_export(request: HttpRequest, pk: int, extension: str) -> HttpResponse:
    """The schedule as CSV (one row per assignment) or an XLSX workbook (a sheet per rotation)."""
    schedule = get_object_or_404(Schedule.objects.select_related("year"), pk=pk)
    if extension == "csv":
        return attachment(schedule_csv(schedule=schedule), "text/csv; charset=utf-8", export_filename(schedule, "csv"))
    return attachment(schedule_xlsx(schedule=schedule), XLSX, export_filename(schedule, "xlsx"))
