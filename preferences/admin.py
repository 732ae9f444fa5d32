from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Q

from gtsched_site.admin import ReadOnlyAdmin
from preferences.models import (
    AcademicYear,
    CoverageDemand,
    Faculty,
    Notification,
    NotificationOptOut,
    PreferenceSubmission,
    Rotation,
    TimeOff,
    Week,
)
from preferences.time_off import time_off_create, time_off_delete, time_off_update, time_off_validate


@admin.register(AcademicYear)
class AcademicYearAdmin(admin.ModelAdmin):
    list_display = ("__str__", "label", "first_monday", "num_weeks", "preference_opens", "preference_closes", "status", "respondents")
    list_filter = ("status", "swaps_need_approval")
    search_fields = ("label",)
    date_hierarchy = "first_monday"
    filter_horizontal = ("roster",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _respondents=Count("submissions__faculty", distinct=True)
        )

    @admin.display(description="faculty submitted", ordering="_respondents")
    def respondents(self, obj):
        return obj._respondents


@admin.register(Week)
class WeekAdmin(admin.ModelAdmin):
    list_display = ("__str__", "year", "index", "start_date", "is_holiday", "holiday_name")
    list_filter = ("year", "is_holiday")
    search_fields = ("holiday_name",)
    ordering = ("year", "index")


@admin.register(Rotation)
class RotationAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "qualified_faculty")
    search_fields = ("name", "description")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_qualified=Count("faculty", filter=Q(faculty__active=True)))

    @admin.display(description="qualified active faculty", ordering="_qualified")
    def qualified_faculty(self, obj):
        return obj._qualified


@admin.register(CoverageDemand)
class CoverageDemandAdmin(admin.ModelAdmin):
    list_display = ("week", "rotation", "count")
    list_filter = ("week__year", "rotation", "week__is_holiday")
    list_select_related = ("week", "rotation")
    list_editable = ("count",)


@admin.register(Faculty)
class FacultyAdmin(admin.ModelAdmin):
    list_display = ("display_name", "external_id", "email", "target_load", "active", "qualifications")
    list_filter = ("active", "rotations")
    search_fields = ("display_name", "external_id", "user__email", "user__username")
    filter_horizontal = ("rotations",)
    list_select_related = ("user",)
    raw_id_fields = ("user",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("rotations")

    @admin.display(ordering="user__email")
    def email(self, obj):
        return obj.user.email

    @admin.display(description="qualified rotations")
    def qualifications(self, obj):
        return ", ".join(r.name for r in obj.rotations.all())


@admin.register(PreferenceSubmission)
class PreferenceSubmissionAdmin(ReadOnlyAdmin):
    """Read-only: submissions are immutable evidence of what each person asked for."""

    list_display = ("faculty", "year", "version", "preference_type", "entry_count", "blocked_count", "collected_at", "collection_method")
    list_filter = ("year", "preference_type", "collection_method")
    search_fields = ("faculty__display_name", "faculty__external_id")
    list_select_related = ("faculty", "year")
    date_hierarchy = "collected_at"

    @admin.display(description="listed weeks")
    def entry_count(self, obj):
        return len(obj.entries)

    @admin.display(description="blocked weeks")
    def blocked_count(self, obj):
        return len(obj.blocked_weeks)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    """The e-mail outbox (DESIGN §14): what was sent to whom, and what is still pending or failed."""

    list_display = ("created_at", "kind", "recipient", "to_address", "subject", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("recipient__display_name", "to_address", "subject", "event_key")
    list_select_related = ("recipient",)


@admin.register(NotificationOptOut)
class NotificationOptOutAdmin(admin.ModelAdmin):
    list_display = ("faculty", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("faculty__display_name",)
class TimeOffAdminForm(forms.ModelForm):
    class Meta:
        model = TimeOff
        fields = ("faculty", "year", "start", "end", "kind", "note")

    def clean(self):
        data = super().clean()
        if self.errors or not data.get("faculty") or not data.get("year"):
            return data
        try:
            time_off_validate(faculty=data["faculty"], year=data["year"], start=data.get("start"), end=data.get("end"),
                              kind=data.get("kind"), note=data.get("note", ""), exclude=self.instance)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(field if field in self.fields else None, message)
        return data


@admin.register(TimeOff)
class TimeOffAdmin(admin.ModelAdmin):
    """Coordinators see and edit everyone's time off; every save goes through the time-off services."""

    form = TimeOffAdminForm
    list_display = ("faculty", "year", "kind", "start", "end", "days", "note")
    list_filter = ("year", "kind")
    search_fields = ("faculty__display_name", "faculty__external_id", "note")
    date_hierarchy = "start"
    autocomplete_fields = ("faculty",)

    def save_model(self, request, obj, form, change):
        fields = {k: form.cleaned_data[k] for k in ("start", "end", "kind", "note")}
        if change:
            time_off_update(time_off=obj, actor=request.user, **fields)
        else:
            obj.pk = time_off_create(faculty=form.cleaned_data["faculty"], year=form.cleaned_data["year"],
                                     actor=request.user, **fields).pk

    def delete_model(self, request, obj):
        time_off_delete(time_off=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for row in queryset:
            time_off_delete(time_off=row, actor=request.user)
