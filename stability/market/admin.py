"""The swap market in the admin: requests (read-only, with actions that call the market services) and the
strategies' replicator dynamics. Imported from StabilityConfig.ready(), beside stability/admin.py."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from gtsched_site.admin import ReadOnlyAdmin
from stability.market.approval import swap_request_approve
from stability.market.matching import swap_request_match, swap_requests_clear_cycles
from stability.market.requests import swap_request_cancel
from stability.market.strategy import strategy_performance_update
from stability.models import StrategyPerformance, SwapRequest


@admin.action(description="Look for a match for the selected open requests")
def match_requests(modeladmin, request, queryset):
    matched = 0
    for swap in queryset.filter(status=SwapRequest.Status.OPEN):
        matched += swap_request_match(swap=swap).status == SwapRequest.Status.MATCHED
    modeladmin.message_user(request, f"{matched} request(s) matched; the others stay open.", messages.SUCCESS)


@admin.action(description="Clear trading cycles on the selected requests' schedules")
def clear_cycles(modeladmin, request, queryset):
    total = 0
    for schedule_id in queryset.values_list("schedule_id", flat=True).distinct():
        swap = queryset.filter(schedule_id=schedule_id).select_related("schedule").first()
        try:
            total += len(swap_requests_clear_cycles(schedule=swap.schedule, actor=request.user))
        except (ValidationError, PermissionDenied) as exc:
            modeladmin.message_user(request, " ".join(getattr(exc, "messages", [str(exc)])), messages.ERROR)
    modeladmin.message_user(request, f"{total} trading cycle(s) proposed.", messages.SUCCESS)


@admin.action(description="Cancel the selected active requests")
def cancel_requests(modeladmin, request, queryset):
    done = 0
    for swap in queryset.filter(status__in=SwapRequest.ACTIVE):
        swap_request_cancel(swap=swap, actor=request.user)
        done += 1
    modeladmin.message_user(request, f"{done} request(s) cancelled.", messages.SUCCESS)


@admin.action(description="Approve the selected swaps awaiting approval (refuse with a reason on the approval page)")
def approve_requests(modeladmin, request, queryset):
    done = 0
    for swap in queryset.filter(status=SwapRequest.Status.AWAITING_APPROVAL):
        try:
            done += swap_request_approve(swap=swap, actor=request.user).status == SwapRequest.Status.EXECUTED
        except (ValidationError, PermissionDenied) as exc:  # e.g. approved already with its trading cycle
            modeladmin.message_user(request, " ".join(getattr(exc, "messages", [str(exc)])), messages.WARNING)
    modeladmin.message_user(request, f"{done} swap(s) approved and executed.", messages.SUCCESS)


@admin.register(SwapRequest)
class SwapRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "schedule", "requester", "give_week", "strategy", "status", "counterparty", "take_week",
                    "mutual_gain", "distance_reduction", "short_cycle", "created_at", "closed_at")
    list_filter = ("status", "strategy", "schedule__year", "schedule")
    search_fields = ("=id", "requester__display_name", "counterparty__display_name", "note")
    list_select_related = ("schedule", "requester", "counterparty", "give_week", "take_week")
    readonly_fields = [f.name for f in SwapRequest._meta.fields] + ["wanted"]
    actions = [match_requests, clear_cycles, cancel_requests, approve_requests]

    @admin.display(description="cycle")
    def short_cycle(self, obj):
        return str(obj.cycle)[:8] if obj.cycle else ""

    @admin.display(description="wanted weeks")
    def wanted(self, obj):
        return ", ".join(str(w) for w in obj.wanted_weeks.order_by("index"))


@admin.action(description="Recompute for the selected years (one replicator step)")
def recompute_performance(modeladmin, request, queryset):
    years = {p.year for p in queryset.select_related("year")}
    for year in years:
        strategy_performance_update(year=year)
    modeladmin.message_user(request, f"Recomputed {len(years)} year(s).", messages.SUCCESS)


@admin.register(StrategyPerformance)
class StrategyPerformanceAdmin(ReadOnlyAdmin):
    list_display = ("year", "strategy", "attempts", "successes", "rate", "share", "fitness", "growth", "frequency",
                    "updated_at")
    list_filter = ("year", "strategy")
    actions = [recompute_performance]
    list_select_related = ("year",)

    @admin.display(description="success rate")
    def rate(self, obj):
        return f"{obj.success_rate:.2f}"
