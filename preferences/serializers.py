"""API shapes for years, weeks, rotations, faculty and preference submissions.

Payload serializers check only the shape of a request; the rules (ranks, values, weeks of the year,
the window) live in preferences.services so the web form, the API and imports apply the same ones.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from gtsched_site import api_errors
from gtsched_site.api import StrictFieldsMixin
from preferences.models import AcademicYear, Faculty, PreferenceSubmission, Rotation, Week
from preferences.services import ENTRY_FIELDS

MECHANISM_NOTE = (
    "Under random serial dictatorship (RSD) allocation, ranking weeks truthfully is a dominant strategy: "
    "no misreport can get you a better schedule, whatever the others submit."
)
LIST_FIELDS = tuple(name for name, _ in ENTRY_FIELDS.values())

# The one error shape (gtsched_site.api_errors): {"<field>": ["message", ...]}, nested fields named like
# "ordinal_rankings[2].rank"; errors about the request itself (401, 403, 404) under "detail".
FIELD_ERRORS_SCHEMA = {
    **api_errors.FIELD_ERRORS_SCHEMA,
    "example": {"ordinal_rankings": ["Rank 1 is used more than once (weeks 2026-07-06 and 2026-07-13)."]},
}
DETAIL_SCHEMA = api_errors.DETAIL_ERRORS_SCHEMA


def week_dates(year: AcademicYear) -> dict[int, dt.date]:
    """Week index -> start date; uses prefetched weeks when the queryset has them."""
    return {week.index: week.start_date for week in year.weeks.all()}


def window_open(year: AcademicYear) -> bool:
    """The API's view of AcademicYear.window, the rule every page shows."""
    return year.window().is_open


def render_entries(preference_type: str, entries: list[dict[str, Any]], dates: dict[int, dt.date]) -> dict[str, Any]:
    """Stored entries (by week index) as the integration lists: the submission's own list, the other two null."""
    list_name, key = ENTRY_FIELDS[preference_type]
    rendered: dict[str, Any] = dict.fromkeys(LIST_FIELDS)
    rendered[list_name] = [{"week": dates[e["week"]], key: e[key]} for e in entries]
    return rendered


# --- resources ------------------------------------------------------------------------------------

class AcademicYearSerializer(serializers.ModelSerializer):
    window_open = serializers.SerializerMethodField(help_text="Submissions are accepted right now.")
    utility_weights = serializers.SerializerMethodField(
        help_text="The weights of the utility's four factors for this year (DESIGN §4), summing to 1: preference, "
                  "workload_balance, time_off_proximity, swap_out_rate. Coordinators edit them on the year's "
                  "utility weights page.")
    swaps_need_approval = serializers.BooleanField(
        read_only=True, help_text="A swap every party confirmed waits for a coordinator's approval before it executes.")

    class Meta:
        model = AcademicYear
        fields = ["label", "first_monday", "num_weeks", "preference_opens", "preference_closes", "status", "window_open",
                  "utility_weights", "swaps_need_approval"]
        read_only_fields = fields

    def get_window_open(self, year: AcademicYear) -> bool:
        return window_open(year)

    def get_utility_weights(self, year: AcademicYear) -> dict[str, float]:
        return year.weights


class WeekSerializer(serializers.ModelSerializer):
    year = serializers.SlugRelatedField(slug_field="label", read_only=True, help_text="Academic year label")

    class Meta:
        model = Week
        fields = ["id", "year", "index", "start_date", "is_holiday", "holiday_name"]
        read_only_fields = fields


class RotationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rotation
        fields = ["id", "name", "description"]
        read_only_fields = fields


class FacultySerializer(serializers.ModelSerializer):
    rotations = serializers.SlugRelatedField(
        many=True, read_only=True, slug_field="name", help_text="Names of the rotations this person is qualified for"
    )

    class Meta:
        model = Faculty
        fields = ["id", "external_id", "display_name", "rotations", "target_load", "active"]
        read_only_fields = fields


class RankEntrySerializer(serializers.Serializer):
    week = serializers.DateField(help_text="Start date (Monday) of the week")
    rank = serializers.IntegerField(min_value=1, help_text="1 is the most wanted week")


class ValueEntrySerializer(serializers.Serializer):
    week = serializers.DateField(help_text="Start date (Monday) of the week")
    value = serializers.FloatField(min_value=0, max_value=100, help_text="How much the week is wanted, 0–100")


class AcceptEntrySerializer(serializers.Serializer):
    week = serializers.DateField(help_text="Start date (Monday) of the week")
    accept = serializers.BooleanField(help_text="true: happy to serve; false: rejected (treated as blocked)")


class ValidationSummarySerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    listed = serializers.IntegerField(help_text="Weeks listed in the preference list")
    blocked = serializers.IntegerField(help_text="Weeks blocked")
    available = serializers.IntegerField(help_text="Weeks left available to serve")
    warnings = serializers.ListField(child=serializers.CharField())


@extend_schema_field(ValidationSummarySerializer)
class ValidationSummaryField(serializers.JSONField):
    """The stored validation summary, documented with its shape."""


class SubmissionSerializer(serializers.ModelSerializer):
    validation_result = ValidationSummaryField(read_only=True)
    faculty = serializers.SlugRelatedField(slug_field="external_id", read_only=True, help_text="Faculty external_id")
    year = serializers.SlugRelatedField(slug_field="label", read_only=True, help_text="Academic year label")
    ordinal_rankings = serializers.SerializerMethodField(help_text="Set when preference_type is ordinal, else null")
    cardinal_valuations = serializers.SerializerMethodField(help_text="Set when preference_type is cardinal, else null")
    binary_accepts = serializers.SerializerMethodField(help_text="Set when preference_type is binary, else null")
    blocked_weeks = serializers.SerializerMethodField(help_text="Start dates of the weeks that cannot be served")
    is_current = serializers.SerializerMethodField(
        help_text="This is the latest version collected before the window closed: the one that counts."
    )

    class Meta:
        model = PreferenceSubmission
        fields = [
            "id", "faculty", "year", "version", "preference_type",
            "ordinal_rankings", "cardinal_valuations", "binary_accepts", "blocked_weeks",
            "collected_at", "collection_method", "validation_result", "is_current",
        ]
        read_only_fields = fields

    def _rendered(self, submission: PreferenceSubmission) -> dict[str, Any]:
        cached = getattr(submission, "_api_rendered", None)
        if cached is None:
            dates = week_dates(submission.year)
            cached = render_entries(submission.preference_type, submission.entries, dates)
            cached["blocked_weeks"] = [dates[i] for i in submission.blocked_weeks]
            submission._api_rendered = cached
        return cached

    @extend_schema_field(RankEntrySerializer(many=True, allow_null=True))
    def get_ordinal_rankings(self, submission: PreferenceSubmission) -> list[dict[str, Any]] | None:
        return self._rendered(submission)["ordinal_rankings"]

    @extend_schema_field(ValueEntrySerializer(many=True, allow_null=True))
    def get_cardinal_valuations(self, submission: PreferenceSubmission) -> list[dict[str, Any]] | None:
        return self._rendered(submission)["cardinal_valuations"]

    @extend_schema_field(AcceptEntrySerializer(many=True, allow_null=True))
    def get_binary_accepts(self, submission: PreferenceSubmission) -> list[dict[str, Any]] | None:
        return self._rendered(submission)["binary_accepts"]

    @extend_schema_field(serializers.ListField(child=serializers.DateField()))
    def get_blocked_weeks(self, submission: PreferenceSubmission) -> list[dt.date]:
        return self._rendered(submission)["blocked_weeks"]

    def get_is_current(self, submission: PreferenceSubmission) -> bool:
        if not hasattr(submission, "current_version"):  # querysets from submissions_visible_to() annotate it
            submission.current_version = (
                PreferenceSubmission.objects.filter(faculty_id=submission.faculty_id, year_id=submission.year_id)
                .counting().order_by("-version").values_list("version", flat=True).first()
            )
        return submission.version == submission.current_version


class StrategyproofSubmissionSerializer(SubmissionSerializer):
    is_strategyproof = serializers.SerializerMethodField()
    mechanism_note = serializers.SerializerMethodField()
    expected_allocation_probability = serializers.SerializerMethodField(
        help_text="Chance of getting your top-choice week under RSD, from the year's stored chances when they are "
                  "current; null otherwise (see expected_allocation_probability_reason)"
    )
    expected_allocation_probability_reason = serializers.SerializerMethodField(
        help_text="Why expected_allocation_probability is null; empty when it is a number"
    )

    class Meta(SubmissionSerializer.Meta):
        fields = [*SubmissionSerializer.Meta.fields, "is_strategyproof", "mechanism_note",
                  "expected_allocation_probability", "expected_allocation_probability_reason"]

    def get_expected_allocation_probability(self, submission: PreferenceSubmission) -> float | None:
        return self.context.get("top_choice", (None, ""))[0]

    def get_expected_allocation_probability_reason(self, submission: PreferenceSubmission) -> str:
        return self.context.get("top_choice", (None, "Not computed."))[1]

    def get_is_strategyproof(self, submission: PreferenceSubmission) -> bool:
        return True

    def get_mechanism_note(self, submission: PreferenceSubmission) -> str:
        return MECHANISM_NOTE


class SubmissionFilterSerializer(serializers.Serializer):
    year = serializers.IntegerField(required=False, help_text="Only this academic year (label)")
    faculty = serializers.CharField(required=False, help_text="Only this faculty member (external_id)")


class WeekFilterSerializer(serializers.Serializer):
    year = serializers.IntegerField(required=False, help_text="Only this academic year (label)")


# --- the preference payload ----------------------------------------------------------------------

class _RawField(serializers.Field):
    """An entry's value, passed unchanged so the service applies the same rules as for the web form."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "format": "date", "description": "Start date (Monday) of the week"},
            {"type": "integer", "description": "Week id"},
        ],
        "example": "2026-07-13",
    }
)
class WeekRefField(_RawField):
    """A week given as its ISO start date or its id; the service resolves it against the year."""


@extend_schema_field({"type": "integer", "minimum": 1})
class RankField(_RawField):
    pass


@extend_schema_field({"type": "number", "minimum": 0, "maximum": 100})
class ValueField(_RawField):
    pass


@extend_schema_field({"type": "boolean"})
class AcceptField(_RawField):
    pass


class RankInSerializer(StrictFieldsMixin, serializers.Serializer):
    week = WeekRefField()
    rank = RankField(help_text="1 is the most wanted; ranks run 1..M without gaps or repeats")


class ValueInSerializer(StrictFieldsMixin, serializers.Serializer):
    week = WeekRefField()
    value = ValueField(help_text="How much the week is wanted, 0–100")


class AcceptInSerializer(StrictFieldsMixin, serializers.Serializer):
    week = WeekRefField()
    accept = AcceptField(help_text="true: happy to serve; false: rejected (treated as blocked)")


class PreferencesInSerializer(StrictFieldsMixin, serializers.Serializer):
    """One faculty member's preferences for a year; send only the list matching preference_type."""

    academic_year = serializers.IntegerField(help_text="Academic year label, e.g. 2026")
    faculty = serializers.CharField(
        required=False, allow_null=True, allow_blank=True,
        help_text="external_id of the faculty member; defaults to the caller. Only coordinators may name someone else.",
    )
    preference_type = serializers.ChoiceField(choices=PreferenceSubmission.Type.choices)
    # ListField, not many=True: DRF hands a many=True serializer's allow_null to its child too, so [null] got through
    # to the service as an entry of None (a 500). The list may be null; an entry may not.
    ordinal_rankings = serializers.ListField(child=RankInSerializer(), required=False, allow_null=True)
    cardinal_valuations = serializers.ListField(child=ValueInSerializer(), required=False, allow_null=True)
    binary_accepts = serializers.ListField(child=AcceptInSerializer(), required=False, allow_null=True)
    blocked_weeks = serializers.ListField(
        child=WeekRefField(), required=False, allow_null=True, help_text="Weeks that cannot be served"
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        list_name, _ = ENTRY_FIELDS[attrs["preference_type"]]
        wrong = {
            name: f"preference_type is {attrs['preference_type']}: send {list_name}, not {name}."
            for name in LIST_FIELDS
            if name != list_name and attrs.get(name) is not None
        }
        if wrong:
            raise serializers.ValidationError(wrong)
        return attrs

    @property
    def entries(self) -> list[dict[str, Any]]:
        list_name, _ = ENTRY_FIELDS[self.validated_data["preference_type"]]
        return [dict(entry) for entry in self.validated_data.get(list_name) or []]


class PreferencesCheckSerializer(ValidationSummarySerializer):
    """The normalised preference set a dry run would store, with the validation summary."""

    window_open = serializers.BooleanField(help_text="A submission would be accepted right now")
    preference_type = serializers.ChoiceField(choices=PreferenceSubmission.Type.choices)
    ordinal_rankings = RankEntrySerializer(many=True, allow_null=True)
    cardinal_valuations = ValueEntrySerializer(many=True, allow_null=True)
    binary_accepts = AcceptEntrySerializer(many=True, allow_null=True)
    blocked_weeks = serializers.ListField(child=serializers.DateField())
