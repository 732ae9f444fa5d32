from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count

from allocation.models import (
    AllocationRun,
    Assignment,
    CalendarFeed,
    ChanceMatrix,
    ChanceRecomputation,
    Comparison,
    PreAssignment,
    Schedule,
    ScheduleChange,
)
from allocation.services import allocation_run_cancel, preassignment_validate
from gtsched_site.admin import ReadOnlyAdmin


class AssignmentInline(admin.TabularInline):
    model = Assignment
    extra = 0
    fields = ("faculty", "week", "rotation", "rank", "utility")
    raw_id_fields = ("faculty", "week")

    def has_change_permission(self, request, obj=None):
        return obj is None or obj.status == Schedule.Status.DRAFT

    has_add_permission = has_delete_permission = has_change_permission


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("name", "year", "status", "source", "assignment_count", "created_at", "published_at", "published_by")
    list_filter = ("year", "status", "source")
    search_fields = ("name",)
    inlines = [AssignmentInline]
    # Status changes only through the stability gate (the action below), never by editing the field.
    readonly_fields = ("status", "content_hash", "run", "created_at", "created_by", "published_at", "published_by")
    actions: list = []  # the stability app adds its publish-through-the-gate action

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_assignments=Count("assignments"))

    @admin.display(description="assignments", ordering="_assignments")
    def assignment_count(self, obj):
        return obj._assignments

    def has_change_permission(self, request, obj=None):
        return obj is None or obj.status == Schedule.Status.DRAFT


class AssignmentAdminForm(forms.ModelForm):
    class Meta:
        model = Assignment
        fields = ("schedule", "faculty", "week", "rotation", "rank", "utility", "mechanism_data")

    def clean_schedule(self):
        schedule = self.cleaned_data["schedule"]
        if schedule is not None and schedule.status != Schedule.Status.DRAFT:
            raise ValidationError(
                f"“{schedule.name}” is {schedule.get_status_display().lower()}: its assignments change only through "
                "an audited swap. Pick a draft schedule."
            )
        return schedule


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    form = AssignmentAdminForm
    list_display = ("schedule", "faculty", "week", "rotation", "rank", "utility")
    list_filter = ("schedule__year", "schedule__status", "rotation")
    search_fields = ("faculty__display_name", "faculty__external_id")
    list_select_related = ("schedule", "faculty", "week", "rotation")
    raw_id_fields = ("faculty", "week", "schedule")

    def has_change_permission(self, request, obj=None):
        return obj is None or obj.schedule.status == Schedule.Status.DRAFT

    has_delete_permission = has_change_permission


# --- runs, comparisons, pre-assignments: an operations console over the services ---------------------------------

RUN_RESULT_FIELDS = (
    "year", "mechanism", "parameters", "seed", "seed_drawn", "input_fingerprint", "inputs_digest", "status", "progress",
    "progress_message", "created_by", "created_at", "started_at", "finished_at", "timings", "stats", "details", "error",
    "celery_task_id", "comparison",
)


@admin.register(AllocationRun)
class AllocationRunAdmin(admin.ModelAdmin):
    list_display = ("id", "year", "mechanism", "status", "progress", "created_at", "duration", "welfare", "total_regret",
                    "max_regret", "schedule_link")
    list_filter = ("year", "mechanism", "status")
    search_fields = ("=id", "input_fingerprint", "error")
    list_select_related = ("year", "schedule")
    readonly_fields = RUN_RESULT_FIELDS
    actions = ["cancel_runs"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False  # runs start through the coordinator page, the API or `manage.py allocate`

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Runs are the record behind schedules: only finished runs whose schedule was never published may go.
        if obj is None:
            return super().has_delete_permission(request)
        schedule = getattr(obj, "schedule", None)
        published = schedule is not None and schedule.status != Schedule.Status.DRAFT
        return not obj.is_active and not published and super().has_delete_permission(request, obj)

    @admin.display(description="duration")
    def duration(self, obj):
        ms = obj.duration_ms
        return "—" if ms is None else (f"{ms} ms" if ms < 10_000 else f"{ms / 1000:.1f} s")

    @admin.display(description="welfare")
    def welfare(self, obj):
        value = (obj.stats or {}).get("welfare")
        return "—" if value is None else f"{value:.2f}"

    @admin.display(description="total regret")
    def total_regret(self, obj):
        return (obj.stats or {}).get("total_regret", "—")

    @admin.display(description="max regret")
    def max_regret(self, obj):
        return (obj.stats or {}).get("max_regret", "—")

    @admin.display(description="schedule")
    def schedule_link(self, obj):
        schedule = getattr(obj, "schedule", None)
        return schedule.name if schedule is not None else "—"

    @admin.action(description="Cancel the selected pending or running runs")
    def cancel_runs(self, request, queryset):
        cancelled = 0
        for run in queryset:
            try:
                allocation_run_cancel(run=run, actor=request.user)
                cancelled += 1
            except ValidationError as exc:
                self.message_user(request, " ".join(exc.messages), messages.WARNING)
        if cancelled:
            self.message_user(request, f"Cancelled {cancelled} run(s).", messages.SUCCESS)


class ComparisonRunInline(admin.TabularInline):
    model = AllocationRun
    fields = ("mechanism", "status", "progress", "seed", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Comparison)
class ComparisonAdmin(admin.ModelAdmin):
    list_display = ("id", "year", "seed", "mechanism_list", "created_by", "created_at")
    list_filter = ("year",)
    readonly_fields = ("year", "seed", "mechanisms", "options_by_mechanism", "created_by", "created_at")
    inlines = [ComparisonRunInline]

    def has_add_permission(self, request):
        return False

    @admin.display(description="mechanisms")
    def mechanism_list(self, obj):
        return ", ".join(obj.mechanisms or [])


class PreAssignmentForm(forms.ModelForm):
    class Meta:
        model = PreAssignment
        fields = ("year", "faculty", "week", "rotation", "reason")

    def clean(self):
        data = super().clean()
        if all(data.get(k) is not None for k in ("year", "faculty", "week", "rotation")):
            try:
                data["reason"] = preassignment_validate(
                    year=data["year"], faculty=data["faculty"], week=data["week"], rotation=data["rotation"],
                    reason=data.get("reason", ""), exclude_pk=self.instance.pk,
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for message in errors:
                        self.add_error(field if field in self.fields else None, message)
        return data


@admin.register(PreAssignment)
class PreAssignmentAdmin(admin.ModelAdmin):
    form = PreAssignmentForm
    list_display = ("year", "week", "faculty", "rotation", "reason", "created_by", "created_at")
    list_filter = ("year", "rotation")
    search_fields = ("faculty__display_name", "faculty__external_id", "reason")
    list_select_related = ("year", "week", "faculty", "rotation", "created_by")
    raw_id_fields = ("faculty", "week")
    readonly_fields = ("created_by", "created_at")

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ScheduleChange)
class ScheduleChangeAdmin(ReadOnlyAdmin):
    """The audit trail of schedule changes: append-only."""

    list_display = ("schedule", "kind", "at", "actor", "reason", "nash_distance_before", "nash_distance_after")
    list_filter = ("kind", "schedule__year", "schedule__status")
    search_fields = ("schedule__name", "reason", "actor__username")
    list_select_related = ("schedule", "actor")
    date_hierarchy = "at"


@admin.register(ChanceMatrix)
class ChanceMatrixAdmin(ReadOnlyAdmin):
    """A year's chances per lottery mechanism: computed by the recomputation, never edited."""

    list_display = ("year", "mechanism", "computed_at", "draws", "seed", "stale")
    list_filter = ("mechanism", "stale", "year")
    readonly_fields = ("fingerprint", "details")
    exclude = ("probabilities", "stderr", "summary", "faculty_ids", "week_ids")


@admin.register(ChanceRecomputation)
class ChanceRecomputationAdmin(ReadOnlyAdmin):
    """Where each year's debounced recomputation of chances stands."""

    list_display = ("year", "state", "due_at", "requests", "started_at", "finished_at", "error")
    list_filter = ("state",)


@admin.register(CalendarFeed)
class CalendarFeedAdmin(ReadOnlyAdmin):
    """Who has a calendar feed. The token is never stored, so it cannot be shown here; deleting a feed kills its
    URL (the person gets a new one on their next visit to /calendar/)."""

    list_display = ("user", "created_at", "regenerated_at")
    search_fields = ("user__username", "user__faculty__display_name")
    fields = ("user", "created_at", "regenerated_at")

    def has_delete_permission(self, request, obj=None):
        return True
