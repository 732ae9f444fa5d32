"""The "post a swap request" form; the stability.market services validate again and has the last word."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from allocation.models import Assignment, Schedule
from preferences.models import Faculty, Week
from stability.models import SwapRequest

STRATEGY_HELP = {
    SwapRequest.Strategy.TARGETED: "tick exactly one week.",
    SwapRequest.Strategy.FLEXIBLE: "tick several; any of them will do.",
    SwapRequest.Strategy.ANY_BETTER: "leave the weeks unticked and we offer every week that fits you better than "
                                     "the one you give.",
}


class ScheduleYearForm(forms.Form):
    """The `year` a faculty swap page is asked for (query or posted): a year with a published schedule of theirs.

    Blank means the latest; anything else that names no such year is an error, never silently the latest.
    cleaned_data["year"] is the chosen Schedule, or None when blank.
    """

    year = forms.CharField(required=False, strip=True)

    def __init__(self, *args: Any, schedules: list[Schedule], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.schedules = schedules

    def clean_year(self) -> Schedule | None:
        raw = self.cleaned_data["year"]
        if not raw:
            return None
        schedule = next((s for s in self.schedules if str(s.year.label) == raw), None)
        if schedule is None:
            shown = raw if len(raw) <= 20 else raw[:20] + "…"
            years = ", ".join(str(s.year.label) for s in self.schedules) or "none yet"
            raise ValidationError(f"Year “{shown}” has no published schedule of yours; choose one of: {years}.")
        return schedule

    def error(self) -> str | None:
        return self.errors["year"][0] if not self.is_valid() else None


class _WeekChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, week: Week) -> str:
        text = f"Week {week.index + 1} · {week.start_date:%a} {week.start_date.day} {week.start_date:%b}"
        return f"{text} · {week.holiday_name}" if week.is_holiday else text


class _GiveChoice(forms.ModelChoiceField):
    def label_from_instance(self, a: Assignment) -> str:
        day = a.week.start_date
        return f"Week {a.week.index + 1} · {day:%a} {day.day} {day:%b %Y} · {a.rotation.name}"


class SwapRequestForm(forms.Form):
    give = _GiveChoice(label="Week I give", queryset=Assignment.objects.none(), empty_label=None)
    strategy = forms.ChoiceField(
        label="I would take", widget=forms.RadioSelect, initial=SwapRequest.Strategy.FLEXIBLE,
        choices=[(s.value, s.label) for s in SwapRequest.Strategy if s != SwapRequest.Strategy.SUGGESTED],
    )
    wanted_weeks = _WeekChoice(
        label="Weeks I want", queryset=Week.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(label="Note (optional)", max_length=300, required=False,
                           widget=forms.TextInput(attrs={"placeholder": "e.g. family wedding on the 14th"}))

    def __init__(self, *args: Any, faculty: Faculty, schedule: Schedule, excluded_week_ids: set[int] = frozenset(),
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["give"].queryset = (
            schedule.assignments.filter(faculty=faculty).select_related("week", "rotation").order_by("week__index")
        )
        self.fields["wanted_weeks"].queryset = (
            Week.objects.filter(year=schedule.year).exclude(pk__in=excluded_week_ids).order_by("index")
        )
