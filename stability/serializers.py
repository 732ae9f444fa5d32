"""API shapes of the stability app: reports with the field names integrations expect, the publish gate, analytics.

A faculty member reading a published schedule's report gets the aggregate numbers and only their own
instabilities and recommended swaps; colleagues' names, ids and gains are null (they reveal preferences).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from gtsched_site.api import StrictFieldsMixin
from gtsched_site.limits import ID_MAX
from stability.algorithms.types import ACCEPTABLE_POA
from stability.models import NashStabilityReport, PublicationRecord
from stability.parameters import MAX_RESTARTS
from stability.recommendations import recommendation_sentences
from stability.summaries import PUBLICATION_SUMMARY_FIELDS, STABILITY_SUMMARY_FIELDS


class InstabilitySerializer(serializers.Serializer):
    """One beneficial deviation: the holder of `assignment` would rather have the partner's week."""

    assignment = serializers.IntegerField(help_text="The assignment its holder wants to swap away (id)")
    faculty_id = serializers.IntegerField()
    faculty = serializers.CharField(help_text="Faculty external_id")
    faculty_name = serializers.CharField()
    week = serializers.DateField(help_text="Start date of the week held now")
    week_index = serializers.IntegerField()
    week_id = serializers.IntegerField()
    rotation = serializers.CharField()
    wanted_week = serializers.DateField(help_text="Start date of the week wanted")
    wanted_week_index = serializers.IntegerField()
    wanted_week_id = serializers.IntegerField()
    wanted_rotation = serializers.CharField()
    partner_assignment = serializers.IntegerField(allow_null=True, help_text="The assignment holding the wanted week")
    partner_faculty_id = serializers.IntegerField(allow_null=True)
    partner_faculty = serializers.CharField(allow_null=True)
    partner_faculty_name = serializers.CharField(allow_null=True)
    gain_self = serializers.FloatField(help_text="u[i, wanted] − u[i, held]")
    gain_partner = serializers.FloatField(allow_null=True, help_text="The partner's gain from the same swap")
    is_blocking = serializers.BooleanField(help_text="Both gain: the pair would swap on their own")


def _swap_side(side: str) -> dict[str, serializers.Field]:
    """The fields of one side ("a" or "b") of a recommended swap; null where hidden from a faculty member (own_view)."""
    return {
        f"assignment_{side}": serializers.IntegerField(allow_null=True),
        f"{side}_faculty_id": serializers.IntegerField(allow_null=True),
        f"{side}_faculty": serializers.CharField(allow_null=True),
        f"{side}_faculty_name": serializers.CharField(allow_null=True),
        f"{side}_week": serializers.DateField(),
        f"{side}_week_index": serializers.IntegerField(),
        f"{side}_rotation": serializers.CharField(),
    }


class RecommendedSwapSerializer(serializers.Serializer):
    """One swap of the conflict-free set of best blocking swaps; both holders gain."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            **_swap_side("a"), **_swap_side("b"),
            "gain_a": serializers.FloatField(allow_null=True),
            "gain_b": serializers.FloatField(allow_null=True),
            "total_gain": serializers.FloatField(allow_null=True),
        }


PARTNER_FIELDS = ("partner_assignment", "partner_faculty_id", "partner_faculty", "partner_faculty_name", "gain_partner")


def own_view(payload: dict[str, Any], faculty_id: int | None) -> dict[str, list[dict[str, Any]]]:
    """A faculty member's slice of a report: their instabilities (partner hidden), their recommended swaps (the
    colleague hidden)."""
    mine = [
        {**row, **dict.fromkeys(PARTNER_FIELDS)}
        for row in payload.get("deviations", payload.get("top_instabilities", []))
        if row.get("faculty_id") == faculty_id
    ]
    swaps = []
    for row in payload.get("recommended_swaps", []):
        if row.get("a_faculty_id") == faculty_id:
            hidden = "b"
        elif row.get("b_faculty_id") == faculty_id:
            hidden = "a"
        else:
            continue
        swaps.append({
            **row, f"assignment_{hidden}": None, f"{hidden}_faculty_id": None, f"{hidden}_faculty": None,
            f"{hidden}_faculty_name": None, f"gain_{hidden}": None, "total_gain": None,
        })
    return {"top_instabilities": mine, "recommended_swaps": swaps}


def _names(payload: dict[str, Any]) -> set[str]:
    rows = [*payload.get("deviations", []), *payload.get("top_instabilities", [])]
    names = {row.get(key) for row in rows for key in ("faculty_name", "partner_faculty_name")}
    names |= {row.get(key) for row in payload.get("recommended_swaps", []) for key in ("a_faculty_name", "b_faculty_name")}
    return {str(n) for n in names if n}


class StabilityReportSerializer(serializers.ModelSerializer):
    """A stored stability report (DESIGN §9) with the field names integrations expect."""

    url = serializers.SerializerMethodField(help_text="This report in the stability-reports resource (coordinators)")
    academic_year = serializers.IntegerField(source="schedule.year.label", read_only=True)
    schedule_status = serializers.CharField(source="schedule.status", read_only=True)
    num_beneficial_swaps = serializers.IntegerField(
        source="num_beneficial_deviations", read_only=True,
        help_text="Beneficial deviations (DESIGN §9): ordered (assignment, partner) feasible swaps where the first "
                  "holder gains, whether or not the partner does; num_blocking_swaps counts the pairs where both gain",
    )
    beneficial_swaps = serializers.SerializerMethodField(help_text="The most beneficial swaps for integrations: the same rows as top_instabilities, each a blocking "
                  "swap (both holders gain), largest combined gain first")
    top_instabilities = serializers.SerializerMethodField(help_text="Each unstable assignment's best blocking swap, largest combined gain first")
    recommended_swaps = serializers.SerializerMethodField(help_text="A conflict-free set of the best blocking swaps")
    stability_forecast = serializers.CharField(
        source="forecast", read_only=True, help_text="stable, minor_adjustments (< 10 blocking swaps) or major_revision"
    )
    warnings = serializers.SerializerMethodField()
    recommendations = serializers.SerializerMethodField()
    max_gain = serializers.SerializerMethodField()
    avg_gain = serializers.SerializerMethodField()
    is_acceptable = serializers.SerializerMethodField(help_text=f"Price of anarchy below {ACCEPTABLE_POA}")
    scope = serializers.SerializerMethodField(help_text="full (coordinators) or own (a faculty member's own rows only)")

    class Meta:
        model = NashStabilityReport
        fields = [
            "id", "url", "schedule", "academic_year", "schedule_status", "created_at", "assignments_hash", "scope",
            "is_nash_equilibrium", "nash_distance", "stability_level", "num_blocking_swaps", "num_beneficial_swaps",
            "num_beneficial_deviations", "beneficial_swaps", "total_assignments", "predicted_swap_requests",
            "current_welfare", "optimal_welfare", "efficiency_ratio", "price_of_anarchy", "price_of_stability",
            "is_acceptable", "restarts", "stability_forecast", "max_gain", "avg_gain", "top_instabilities",
            "recommended_swaps", "warnings", "recommendations", "parameters", "compute_ms",
        ]
        read_only_fields = fields

    def _own(self) -> bool:
        return not self.context.get("is_coordinator")

    def _rows(self, report: NashStabilityReport) -> dict[str, list[dict[str, Any]]]:
        payload = report.payload or {}
        if self._own():
            return own_view(payload, self.context.get("faculty_id"))
        return {"top_instabilities": payload.get("top_instabilities", []),
                "recommended_swaps": payload.get("recommended_swaps", [])}

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_url(self, report: NashStabilityReport) -> str | None:
        if self._own():
            return None
        return reverse("stability-report-detail", args=[report.pk], request=self.context.get("request"))

    @extend_schema_field(InstabilitySerializer(many=True))
    def get_top_instabilities(self, report: NashStabilityReport) -> list[dict[str, Any]]:
        return self._rows(report)["top_instabilities"]

    @extend_schema_field(InstabilitySerializer(many=True))
    def get_beneficial_swaps(self, report: NashStabilityReport) -> list[dict[str, Any]]:
        return self._rows(report)["top_instabilities"]

    @extend_schema_field(RecommendedSwapSerializer(many=True))
    def get_recommended_swaps(self, report: NashStabilityReport) -> list[dict[str, Any]]:
        return self._rows(report)["recommended_swaps"]

    def _sentences(self, report: NashStabilityReport, key: str) -> list[str]:
        """Warnings or recommendations; for a faculty member, without the sentences that name anyone."""
        payload = report.payload or {}
        sentences = recommendation_sentences(payload) if key == "recommendations" else [str(s) for s in payload.get(key, [])]
        if not self._own():
            return sentences
        names = {name for name in _names(payload) if name}
        return [s for s in sentences if not any(name in s for name in names)]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_warnings(self, report: NashStabilityReport) -> list[str]:
        return self._sentences(report, "warnings")

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_recommendations(self, report: NashStabilityReport) -> list[str]:
        return self._sentences(report, "recommendations")

    @extend_schema_field(serializers.FloatField(help_text="Largest beneficial-deviation gain"))
    def get_max_gain(self, report: NashStabilityReport) -> float:
        return float((report.payload or {}).get("max_gain") or 0.0)

    @extend_schema_field(serializers.FloatField(help_text="Mean gain over beneficial deviations"))
    def get_avg_gain(self, report: NashStabilityReport) -> float:
        return float((report.payload or {}).get("avg_gain") or 0.0)

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_is_acceptable(self, report: NashStabilityReport) -> bool | None:
        return report.is_acceptable

    @extend_schema_field(serializers.ChoiceField(choices=["full", "own"]))
    def get_scope(self, report: NashStabilityReport) -> str:
        return "own" if self._own() else "full"

    def to_representation(self, report: NashStabilityReport) -> dict[str, Any]:
        data = super().to_representation(report)
        if self._own():
            data["parameters"] = {}
        return data


class ReportFilterSerializer(serializers.Serializer):
    schedule = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX, help_text="Only this schedule (id)")
    year = serializers.IntegerField(required=False, help_text="Only this academic year (label)")
    stability_level = serializers.ChoiceField(choices=NashStabilityReport._meta.get_field("stability_level").choices,
                                              required=False)


class PublishSerializer(StrictFieldsMixin, serializers.Serializer):
    force = serializers.BooleanField(
        required=False, default=False, help_text="Publish even over a CRITICAL report (needs a reason)"
    )
    reason = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=2000, trim_whitespace=True,
        help_text="Why a CRITICAL or incompletely covered schedule is published anyway; kept with the schedule",
    )


class PublicationSerializer(serializers.ModelSerializer):
    schedule = serializers.PrimaryKeyRelatedField(read_only=True)
    schedule_status = serializers.CharField(source="schedule.status", read_only=True)
    academic_year = serializers.IntegerField(source="schedule.year.label", read_only=True)
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    report = serializers.PrimaryKeyRelatedField(read_only=True)
    archived = serializers.SerializerMethodField(help_text="Ids of the year's earlier published schedules now archived")

    class Meta:
        model = PublicationRecord
        fields = [
            "schedule", "schedule_status", "academic_year", "published_at", "published_by", "channel",
            "nash_distance", "stability_level", "predicted_swap_requests", "forced", "override_reason", "warnings",
            "coverage", "report", "archived",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_archived(self, record: PublicationRecord) -> list[int]:
        return list(self.context.get("archived", []))


class NashStableScheduleSerializer(StrictFieldsMixin, serializers.Serializer):
    schedule = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX, help_text="Schedule id")
    academic_year = serializers.IntegerField(
        required=False, help_text="Year label: its published schedule, else its newest draft"
    )
    restarts = serializers.IntegerField(required=False, min_value=1, max_value=MAX_RESTARTS,
                                        help_text="K random restarts for price of anarchy / stability")
    refresh = serializers.BooleanField(required=False, default=False, help_text="Recompute even if a fresh report exists")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if ("schedule" in data) == ("academic_year" in data):
            raise serializers.ValidationError(
                {"schedule": ["Give either schedule (an id) or academic_year (a label), not both and not neither."]}
            )
        return data


class PriceOfAnarchyQuerySerializer(serializers.Serializer):
    restarts = serializers.IntegerField(required=False, min_value=1, max_value=MAX_RESTARTS,
                                        help_text="K random restarts (default from settings)")


class PriceOfAnarchySerializer(serializers.Serializer):
    academic_year = serializers.IntegerField()
    schedule = serializers.IntegerField(help_text="The schedule analysed: the year's published one, else its newest draft")
    schedule_status = serializers.CharField()
    report = serializers.IntegerField(help_text="The stability report the numbers come from")
    restarts = serializers.IntegerField(help_text="K random feasible schedules the blocking-swap dynamics ran from")
    current_welfare = serializers.FloatField()
    optimal_welfare = serializers.FloatField()
    efficiency_ratio = serializers.FloatField(help_text="current / optimal welfare")
    price_of_anarchy = serializers.FloatField(allow_null=True, help_text="optimal / worst stable welfare found")
    price_of_stability = serializers.FloatField(allow_null=True, help_text="optimal / best stable welfare found")
    is_acceptable = serializers.BooleanField(allow_null=True, help_text=f"price_of_anarchy < {ACCEPTABLE_POA}")
    converged = serializers.IntegerField(allow_null=True, help_text="Restarts whose dynamics reached an equilibrium")
    estimated_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the dynamics ran: one estimate is kept per set of preferences, eligibility, capacities and "
                  "demands, and reused through swaps and by every schedule of the year with the same inputs",
    )


class PriceOfAnarchyPendingSerializer(serializers.Serializer):
    """202: a large schedule's dynamics run as a background job; GET the same URL again for the result."""

    status = serializers.CharField(help_text="pending")
    academic_year = serializers.IntegerField()
    schedule = serializers.IntegerField()
    restarts = serializers.IntegerField()
    detail = serializers.CharField()
    poll = serializers.URLField(help_text="The URL to ask again")


class RegretSummarySerializer(serializers.Serializer):
    assignments = serializers.IntegerField()
    ranked = serializers.IntegerField(help_text="Assignments with a stored rank")
    total_regret = serializers.IntegerField(help_text="Σ (rank − 1)")
    average_regret = serializers.FloatField()
    max_regret = serializers.IntegerField()
    rank_distribution = serializers.DictField(child=serializers.IntegerField(), help_text="rank → assignments")
    welfare = serializers.FloatField(help_text="Σ u over assignments")


# A model field's plain serializer type (first match; PositiveIntegerField is an IntegerField).
_PLAIN_TYPES = (
    (models.BooleanField, serializers.BooleanField),
    (models.DateTimeField, serializers.DateTimeField),
    (models.FloatField, serializers.FloatField),
    (models.IntegerField, serializers.IntegerField),
    (models.CharField, serializers.CharField),
    (models.TextField, serializers.CharField),
)


def _plain_field(field: models.Field) -> serializers.Field:
    kind = next(plain for column, plain in _PLAIN_TYPES if isinstance(field, column))
    kwargs = {"allow_null": True} if field.null else {}
    if kind is serializers.CharField and field.blank:
        kwargs["allow_blank"] = True
    return kind(**kwargs)


def summary_fields(model: type[models.Model], names: tuple[str, ...], **declared: serializers.Field) -> dict[str, serializers.Field]:
    """The fields of a summary dictionary, in the order of `names`: `declared` where given, else the model field's plain
    type — nullable where the column is, blank where it may be — without its choices, limits or help text."""
    return {name: declared[name] if name in declared else _plain_field(model._meta.get_field(name)) for name in names}


class StabilitySummarySerializer(serializers.Serializer):  # stability.summaries.stability_summary
    def get_fields(self) -> dict[str, serializers.Field]:
        return summary_fields(
            NashStabilityReport, ("report", "created_at", *STABILITY_SUMMARY_FIELDS), report=serializers.IntegerField(),
        )


class PublicationSummarySerializer(serializers.Serializer):  # stability.summaries.publication_summary
    def get_fields(self) -> dict[str, serializers.Field]:
        return summary_fields(
            PublicationRecord, ("published_at", "published_by", *PUBLICATION_SUMMARY_FIELDS, "warnings", "report"),
            published_by=serializers.CharField(allow_null=True),
            warnings=serializers.ListField(child=serializers.CharField()),
            report=serializers.IntegerField(),
        )


class AnalyticsSerializer(serializers.Serializer):
    schedule = serializers.IntegerField()
    academic_year = serializers.IntegerField()
    status = serializers.CharField()
    stability = StabilitySummarySerializer()
    regret = RegretSummarySerializer()
    fairness = serializers.JSONField(allow_null=True, help_text="Shapley fairness: null until the fairness app computes it")
    fairness_status = serializers.CharField(help_text="Why fairness is null")
    publication = PublicationSummarySerializer(allow_null=True)
