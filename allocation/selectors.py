"""Reads for allocation pages, the API and the admin: runs, their schedules, comparisons, pre-assignments.

No permission logic here: callers decide who may see a year's runs (coordinators) or an assignment (its faculty).
"""

from __future__ import annotations

from django.db.models import QuerySet

from allocation.models import AllocationRun, Assignment, Comparison, PreAssignment, Schedule
from preferences.models import AcademicYear


def runs_for_year(*, year: AcademicYear) -> QuerySet[AllocationRun]:
    """A year's runs, newest first, with what a run list shows."""
    return (AllocationRun.objects.filter(year=year).select_related("created_by", "comparison", "schedule")
            .order_by("-created_at", "-pk"))


def runs_active(*, year: AcademicYear | None = None) -> QuerySet[AllocationRun]:
    """Pending or running runs (a page polls while any exist)."""
    runs = AllocationRun.objects.filter(status__in=AllocationRun.ACTIVE_STATUSES)
    return runs.filter(year=year) if year is not None else runs


def run_schedule(*, run: AllocationRun) -> Schedule | None:
    """The draft a completed run produced; None before it completes (or when it failed or was cancelled)."""
    return Schedule.objects.filter(run=run).first()


def run_assignments(*, run: AllocationRun) -> QuerySet[Assignment]:
    """A run's assignments in calendar order, ready to render."""
    return (Assignment.objects.filter(schedule__run=run).select_related("faculty", "week", "rotation")
            .order_by("week__index", "rotation__name", "faculty__display_name"))


def comparison_runs(*, comparison: Comparison) -> list[AllocationRun]:
    """The comparison's runs in the order its mechanisms were asked for."""
    order = {name: k for k, name in enumerate(comparison.mechanisms or [])}
    runs = list(comparison.runs.select_related("schedule"))
    return sorted(runs, key=lambda r: (order.get(r.mechanism, len(order)), r.pk))


def preassignments_for_year(*, year: AcademicYear) -> QuerySet[PreAssignment]:
    return PreAssignment.objects.filter(year=year).select_related("faculty", "week", "rotation", "created_by")
