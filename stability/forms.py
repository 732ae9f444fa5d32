"""Forms of the stability pages; the publish gate and the swap service validate again and have the last word."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

ID_MAX = 2**63 - 1


class PublishForm(forms.Form):
    force = forms.BooleanField(
        label="Publish anyway, over the CRITICAL report", required=False,
        help_text="Overrides the stability gate. The override and your reason are recorded with the schedule.",
    )
    reason = forms.CharField(
        label="Reason for publishing anyway", required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "e.g. Approved by the programme director; swaps handled in week 1"}),
        help_text="Required with the override; kept with the publication record.",
    )

    def add_service_errors(self, exc: ValidationError) -> None:
        for field, messages in exc.message_dict.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)


class SwapApplyForm(forms.Form):
    assignment_a = forms.IntegerField(min_value=1, max_value=ID_MAX, widget=forms.HiddenInput)
    assignment_b = forms.IntegerField(min_value=1, max_value=ID_MAX, widget=forms.HiddenInput)

    def error_text(self) -> str:
        return " ".join(str(e) for errors in self.errors.values() for e in errors) or "Choose a recommended swap."

