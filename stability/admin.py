"""Stability in the admin: reports, price-of-anarchy estimates, publication records, the audit trail and
calibrations, all read-only (an estimate may be deleted, to be recomputed), and the
"Publish through the stability gate" action, which this module adds to allocation's ScheduleAdmin.

The action calls the same gate as the coordinator page and the API (stability.gate.schedule_publish), after an
intermediate confirmation page that shows the report and the coverage findings; CRITICAL, and a failed coverage
check, need "force" ticked and a written reason.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse

from allocation.admin import ScheduleAdmin
from allocation.models import Schedule
from allocation.services.coverage import schedule_coverage
from gtsched_site.admin import ReadOnlyAdmin
from stability.forms import PublishForm, publication_messages
from stability.gate import critical_refusal
from stability.models import (
    NashStabilityReport,
    PredictionCalibration,
    PriceOfAnarchyEstimate,
    PublicationRecord,
    StabilityLevel,
)
from stability.reports import stability_report_for


@admin.register(NashStabilityReport)
class NashStabilityReportAdmin(ReadOnlyAdmin):
    list_display = ("id", "schedule", "stability_level", "distance", "num_blocking_swaps", "num_beneficial_deviations",
                    "total_assignments", "predicted_swap_requests", "efficiency", "price_of_anarchy", "restarts",
                    "created_at", "compute_ms")
    list_filter = ("stability_level", "is_nash_equilibrium", "forecast", "schedule__year", "schedule__status")
    search_fields = ("=id", "schedule__name", "assignments_hash")
    list_select_related = ("schedule",)
    date_hierarchy = "created_at"

    @admin.display(description="nash distance", ordering="nash_distance")
    def distance(self, obj):
        return f"{obj.nash_distance:.3f}"

    @admin.display(description="efficiency", ordering="efficiency_ratio")
    def efficiency(self, obj):
        return f"{obj.efficiency_ratio:.1%}"


@admin.register(PriceOfAnarchyEstimate)
class PriceOfAnarchyEstimateAdmin(ReadOnlyAdmin):
    """Computed once per feasible set and reused by every report; deleting one only makes the next report
    compute it again."""

    list_display = ("year", "restarts", "converged", "status", "price_of_anarchy", "price_of_stability",
                    "optimal_welfare", "worst_stable_welfare", "best_stable_welfare", "compute_ms", "created_at")
    list_filter = ("year", "status")
    search_fields = ("problem_key",)
    list_select_related = ("year",)

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("stability.delete_priceofanarchyestimate")


@admin.register(PublicationRecord)
class PublicationRecordAdmin(ReadOnlyAdmin):
    list_display = ("schedule", "published_at", "published_by", "channel", "stability_level", "nash_distance",
                    "predicted_swap_requests", "forced", "override_reason")
    list_filter = ("forced", "stability_level", "channel", "schedule__year")
    search_fields = ("schedule__name", "override_reason", "published_by__username")
    list_select_related = ("schedule", "published_by")
    date_hierarchy = "published_at"


@admin.register(PredictionCalibration)
class PredictionCalibrationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "base", "pressure", "r_squared", "samples", "created_by")
    list_select_related = ("created_by",)


# --- the publish action ------------------------------------------------------------------------------------------


@admin.action(description="Publish through the stability gate")
def publish_through_stability_gate(modeladmin, request, queryset):
    """Confirm with the report, then publish one draft through the gate (channel "admin")."""
    schedules = list(queryset.select_related("year")[:2])
    if len(schedules) != 1:
        modeladmin.message_user(request, "Select exactly one draft schedule to publish; each goes through the gate on its own.",
                                messages.ERROR)
        return None
    schedule = schedules[0]
    if schedule.status != Schedule.Status.DRAFT:
        modeladmin.message_user(
            request, f"“{schedule.name}” is {schedule.get_status_display().lower()}; only a draft can be published.",
            messages.ERROR,
        )
        return None
    form = PublishForm(request.POST if request.POST.get("post") == "yes" else None)
    status = 200
    if form.is_bound and form.is_valid():
        result, status = form.publish(schedule=schedule, actor=request.user, channel="admin")
        if result is not None:
            for level, text in publication_messages(result):
                modeladmin.message_user(request, text, level)
            return None
    report = stability_report_for(schedule=schedule, actor=request.user)
    critical = report.stability_level == StabilityLevel.CRITICAL
    coverage = schedule_coverage(schedule=schedule)
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": f"Publish “{schedule.name}” through the stability gate",
        "opts": modeladmin.model._meta,
        "schedule": schedule,
        "report": report,
        "payload": report.payload or {},
        "critical": critical,
        "refusal": critical_refusal(report) if critical else "",
        "coverage": coverage,
        "coverage_refusal": coverage.refusal(),
        "gate_refuses": critical or coverage.refused,
        "replaces": Schedule.objects.filter(year_id=schedule.year_id, status=Schedule.Status.PUBLISHED).first(),
        "form": form if form.is_bound else PublishForm(),
        "action_name": "publish_through_stability_gate",
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/stability/publish_confirmation.html", context, status=status)


# Schedules are allocation's; publishing them is the stability gate's, so the action is attached from here.
ScheduleAdmin.actions = [*ScheduleAdmin.actions, publish_through_stability_gate]
