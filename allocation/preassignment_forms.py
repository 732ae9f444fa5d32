"""The pre-assignment form on the coordinator's allocation page, and the page region's context; the service
(allocation.services.preassignments) validates again and has the last word."""

from __future__ import annotations

from typing import Any

from django import forms

from allocation.models import PreAssignment
from gtsched_site.forms import add_service_errors
from preferences.models import AcademicYear, Rotation


class WeekChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        holiday = f" – {obj.holiday_name}" if obj.is_holiday else ""
        return f"Week {obj.index + 1} · {obj.start_date.day} {obj.start_date:%b %Y}{holiday}"


class PreAssignmentForm(forms.Form):
    faculty = forms.ModelChoiceField(
        label="Faculty member", queryset=None, empty_label="Choose…",
        error_messages={"required": "Choose the faculty member to pre-assign.",
                        "invalid_choice": "Choose an active faculty member of this year."},
    )
    week = WeekChoiceField(label="Week", queryset=None, empty_label="Choose…",
                           error_messages={"required": "Choose the week.", "invalid_choice": "Choose a week of this year."})
    rotation = forms.ModelChoiceField(label="Rotation", queryset=Rotation.objects.order_by("name"), empty_label="Choose…",
                                      error_messages={"required": "Choose the rotation.",
                                                      "invalid_choice": "Choose one of the rotations listed."})
    reason = forms.CharField(  # not required here: the service says why a reason is needed
        label="Reason", required=False, max_length=PreAssignment._meta.get_field("reason").max_length,
        help_text="Kept for the record, e.g. “covers the conference week by agreement with the chief”.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args: Any, year: AcademicYear, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.year = year
        self.fields["faculty"].queryset = year.faculty_queryset().order_by("display_name")
        self.fields["week"].queryset = year.weeks.order_by("index")

    def add_service_errors(self, exc) -> None:
        add_service_errors(self, exc)


def preassignment_context(year: AcademicYear, form: PreAssignmentForm | None = None,
                          notice: str = "") -> dict[str, Any]:
    """What the page's pre-assignment region (allocation/_preassignments.html) reads."""
    return {
        "year": year,
        "preassignment_form": form or PreAssignmentForm(year=year),
        "preassignments": list(
            PreAssignment.objects.filter(year=year).select_related("faculty", "week", "rotation", "created_by")
            .order_by("week__index", "rotation__name", "faculty__display_name")
        ),
        "preassignment_notice": notice,
    }
