"""The "My preferences" form: one input and one block box per week, checked by the same service as API and import."""

from __future__ import annotations

import math
import re
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from preferences.models import AcademicYear, PreferenceSubmission, Week
from preferences.services import ENTRY_FIELDS, CleanSubmission, preferences_validate

TYPE_HELP = {
    "ordinal": "Rank the weeks you want to serve: 1 for your favourite, then 2, 3 … with no gaps. Leave the rest empty.",
    "cardinal": "Give each week you care about a value from 0 (would rather not) to 100 (ideal). Empty weeks count as 50.",
    "binary": "Mark weeks you accept or reject. Rejected weeks are treated as blocked; empty weeks are neutral.",
}


WEEK_FIELD = re.compile(r"(?:w|block)_")


class PreferenceForm(forms.Form):
    preference_type = forms.ChoiceField(
        choices=PreferenceSubmission.Type.choices,
        error_messages={"invalid_choice": "Preference type must be ordinal, cardinal or binary."},
    )

    def __init__(self, *args: Any, year: AcademicYear, weeks: list[Week], target_load: int | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.year, self.weeks, self.target_load = year, weeks, target_load
        self.clean_submission: CleanSubmission | None = None
        for week in weeks:
            self.fields[f"w_{week.index}"] = forms.CharField(required=False, max_length=10)
            self.fields[f"block_{week.index}"] = forms.BooleanField(required=False)

    @property
    def cannot_reach_load(self) -> bool:
        """Valid, but fewer weeks are left open than the faculty member serves: never "Looks good"."""
        if self.clean_submission is None or self.target_load is None:
            return False
        return self.clean_submission.summary["available"] < self.target_load

    def week_rows(self) -> list[dict[str, Any]]:
        """What the template needs per week: the week, its bound fields and its own errors."""
        return [
            {"week": w, "value": self[f"w_{w.index}"], "block": self[f"block_{w.index}"],
             "errors": self.errors.get(f"w_{w.index}", []) + self.errors.get(f"block_{w.index}", [])}
            for w in self.weeks
        ]

    def general_errors(self) -> list[str]:
        """Errors not about one week: form-wide ones and those on other fields (the preference type)."""
        week_fields = {name for name in self.fields if WEEK_FIELD.match(name)}
        return [*self.non_field_errors(),
                *(m for name, ms in self.errors.items() if name != NON_FIELD_ERRORS and name not in week_fields for m in ms)]

    def _refuse_unknown_week_fields(self) -> None:
        """A posted w_/block_ field for a week the year does not have is an error, never silently dropped."""
        last = self.weeks[-1].index if self.weeks else None
        for name in self.data:
            if WEEK_FIELD.match(name) and name not in self.fields:
                weeks = f"w_0 … w_{last}" if last is not None else "none"
                self.add_error(None, f"Unknown field “{name[:40]}”: {self.year} has no such week (its week fields are {weeks}).")

    def _parse(self, preference_type: str, raw: str, field: str) -> Any:
        raw = raw.strip()
        if preference_type == "binary":
            if raw not in ("accept", "reject"):
                self.add_error(field, "Choose accept, reject or leave it empty.")
                return None
            return raw == "accept"
        try:
            number = float(raw)
        except ValueError:
            self.add_error(field, f"“{raw}” is not a number.")
            return None
        if not math.isfinite(number):
            self.add_error(field, f"“{raw}” is not a finite number.")
            return None
        return int(number) if number.is_integer() else number

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._refuse_unknown_week_fields()
        preference_type = data.get("preference_type")
        if not preference_type:
            return data
        list_name, key = ENTRY_FIELDS[preference_type]
        entries, positions, blocked = [], [], []
        for week in self.weeks:
            if data.get(f"block_{week.index}"):
                blocked.append(week)
            raw = data.get(f"w_{week.index}") or ""
            if raw.strip() == "":
                continue
            value = self._parse(preference_type, raw, f"w_{week.index}")
            if value is not None:
                positions.append(week)
                entries.append({"week": week, key: value})
        if self.errors:
            return data
        try:
            self.clean_submission = preferences_validate(
                year=self.year, preference_type=preference_type, entries=entries, blocked_weeks=blocked,
                target_load=self.target_load,
            )
        except ValidationError as exc:
            self._attach(exc, list_name, positions)
        return data

    def _attach(self, exc: ValidationError, list_name: str, positions: list[Week]) -> None:
        """Put the service's messages on the week they are about; list-wide ones stay form-wide."""
        for field, messages in exc.message_dict.items():
            target = None
            if field.startswith(f"{list_name}["):
                position = int(field[len(list_name) + 1 : field.index("]")])
                target = f"w_{positions[position].index}"
            for message in messages:
                self.add_error(target, message)
