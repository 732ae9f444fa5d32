"""Shapley computations, values and fair-target changes: records computed or audited by the services, read-only."""

from __future__ import annotations

from django.contrib import admin

from fairness.models import FairTargetChange, ShapleyComputation, ShapleyValue
from gtsched_site.admin import ReadOnlyAdmin


@admin.register(ShapleyComputation)
class ShapleyComputationAdmin(ReadOnlyAdmin):
    list_display = ("pk", "year", "method", "samples", "status", "progress", "grand_value", "total_demand",
                    "fairness_score", "compute_ms", "created_at")
    list_filter = ("status", "method", "year")
    search_fields = ("fingerprint",)


@admin.register(ShapleyValue)
class ShapleyValueAdmin(ReadOnlyAdmin):
    list_display = ("faculty", "year", "computation", "shapley_value", "ci_low", "ci_high", "expected_workload",
                    "expected_weeks", "actual_workload", "is_overloaded", "is_underloaded", "coverage_capacity")
    list_filter = ("year", "is_overloaded", "is_underloaded")
    list_select_related = ("faculty", "year", "computation")
    search_fields = ("faculty__display_name", "faculty__external_id")


@admin.register(FairTargetChange)
class FairTargetChangeAdmin(ReadOnlyAdmin):
    list_display = ("year", "at", "actor", "reason", "computation")
    list_filter = ("year",)
    list_select_related = ("year", "actor")
