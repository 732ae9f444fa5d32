"""Forms of the stability pages; the publish gate and the swap service validate again and have the last word."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError

from allocation.services.coverage import COVERAGE_KEYS
from gtsched_site.limits import ID_MAX
from stability.gate import PublishRefused, schedule_publish


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
        """The gate's refusal on the field it names, else on the form, without the key in words (unlike
        gtsched_site.forms.add_service_errors): its messages are whole sentences. The coverage findings are listed
        beside the form, so they are not repeated on it."""
        for field, texts in exc.message_dict.items():
            if field in COVERAGE_KEYS:
                continue
            for text in texts:
                self.add_error(field if field in self.fields else None, text)

    def publish(self, *, schedule, actor, channel: str):
        """Run the gate on the valid form: (result, 200), or (None, 409/400) with the refusal on the form's fields."""
        try:
            result = schedule_publish(
                schedule=schedule, actor=actor, force=self.cleaned_data["force"],
                reason=self.cleaned_data["reason"], channel=channel,
            )
        except PublishRefused as exc:
            self.add_service_errors(exc)
            return None, 409 if exc.conflict else 400
        except ValidationError as exc:
            self.add_service_errors(exc)
            return None, 400
        return result, 200


def publication_messages(result) -> list[tuple[int, str]]:
    """(message level, text) for a publication, as the page and the admin both show it."""
    over = " and ".join((["the CRITICAL report"] if result.record.stability_level == "CRITICAL" else [])
                        + (["the coverage check"] if result.coverage.refused else []))
    out = [(messages.SUCCESS, f"“{result.schedule.name}” is published for {result.schedule.year}"
            + (f" over {over}; the override and its reason are recorded." if result.forced else "."))]
    out += [(messages.WARNING, w) for w in result.warnings if not result.forced or "override reason recorded" not in w]
    return out


class SwapApplyForm(forms.Form):
    assignment_a = forms.IntegerField(min_value=1, max_value=ID_MAX, widget=forms.HiddenInput)
    assignment_b = forms.IntegerField(min_value=1, max_value=ID_MAX, widget=forms.HiddenInput)

    def error_text(self) -> str:
        return " ".join(str(e) for errors in self.errors.values() for e in errors) or "Choose a recommended swap."



class ApplyAllSwapsForm(forms.Form):
    """The report the coordinator looked at: its recommended swaps are the ones applied, not a newer report's."""

    report = forms.IntegerField(min_value=1, max_value=ID_MAX, widget=forms.HiddenInput)
