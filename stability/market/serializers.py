"""API shapes of the swap market: swap requests, suggestions, cleared cycles, strategy performance.

Payload serializers check only the shape; the stability.market services apply the rules, so the pages and the API refuse the
same things. A colleague appears by name and week only: their gains (and so the mutual gain, which would reveal
them) and the weeks a requester wants are shown to coordinators and to the requester, never to the other party.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from gtsched_site.api import StrictFieldsMixin
from gtsched_site.limits import ID_MAX
from preferences.serializers import WeekRefField
from stability.market.selectors import awaits_confirmation_from, swap_request_role
from stability.models import StrategyPerformance, SwapRequest


class PersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SlotSerializer(serializers.Serializer):
    """An assignment as the market shows it: its id, the week's start date and the rotation."""

    assignment = serializers.IntegerField(help_text="Assignment id")
    week = serializers.DateField(help_text="Start date (Monday) of the week")
    week_id = serializers.IntegerField()
    rotation = serializers.CharField()


def _person(faculty) -> dict[str, Any] | None:
    return None if faculty is None else {"id": faculty.pk, "name": faculty.display_name}


def _slot(assignment, week=None) -> dict[str, Any] | None:
    if assignment is None:
        return None
    week = week or assignment.week
    return {"assignment": assignment.pk, "week": week.start_date, "week_id": week.pk, "rotation": assignment.rotation.name}


class SwapRequestSerializer(serializers.ModelSerializer):
    """A swap request: what the requester gives, what they want, and where it stands. `give` and `take` show the
    weeks as they were when posted and proposed. Private parts (the other party's gain, the mutual gain, the
    requester's wanted weeks) are null for a counterparty."""

    url = serializers.HyperlinkedIdentityField(view_name="swap-request-detail")
    academic_year = serializers.IntegerField(source="schedule.year.label", read_only=True)
    requester = serializers.SerializerMethodField()
    counterparty = serializers.SerializerMethodField()
    give = serializers.SerializerMethodField()
    take = serializers.SerializerMethodField()
    wanted_weeks = serializers.SerializerMethodField(help_text="Start dates; null when you are the counterparty")
    your_role = serializers.SerializerMethodField(help_text="requester, counterparty, or null (coordinators)")
    awaiting_your_confirmation = serializers.SerializerMethodField()
    your_gain = serializers.SerializerMethodField(help_text="How much better the week you would get fits you (utility)")
    requester_gain = serializers.SerializerMethodField()
    counterparty_gain = serializers.SerializerMethodField()
    mutual_gain = serializers.SerializerMethodField()
    confirm_url = serializers.SerializerMethodField()

    class Meta:
        model = SwapRequest
        fields = [
            "id", "url", "schedule", "academic_year", "requester", "give", "wanted_weeks", "strategy", "note",
            "status", "outcome", "counterparty", "take", "cycle", "requester_confirmed", "counterparty_confirmed",
            "your_role", "awaiting_your_confirmation", "your_gain", "requester_gain", "counterparty_gain",
            "mutual_gain", "distance_reduction", "created_at", "matched_at", "closed_at", "change", "confirm_url",
        ]
        read_only_fields = fields

    def _viewer(self) -> tuple[Any, bool]:
        return self.context.get("faculty"), bool(self.context.get("is_coordinator"))

    def _sees_private(self, r: SwapRequest) -> bool:
        faculty, coordinator = self._viewer()
        return coordinator or swap_request_role(r, faculty) == "requester"

    @extend_schema_field(PersonSerializer)
    def get_requester(self, r: SwapRequest) -> dict[str, Any]:
        return _person(r.requester)

    @extend_schema_field(PersonSerializer(allow_null=True))
    def get_counterparty(self, r: SwapRequest) -> dict[str, Any] | None:
        return _person(r.counterparty)

    @extend_schema_field(SlotSerializer)
    def get_give(self, r: SwapRequest) -> dict[str, Any]:
        return _slot(r.give, r.give_week)

    @extend_schema_field(SlotSerializer(allow_null=True))
    def get_take(self, r: SwapRequest) -> dict[str, Any] | None:
        return _slot(r.take, r.take_week)

    @extend_schema_field(serializers.ListField(child=serializers.DateField(), allow_null=True))
    def get_wanted_weeks(self, r: SwapRequest) -> list[Any] | None:
        if not self._sees_private(r):
            return None
        return [w.start_date for w in sorted(r.wanted_weeks.all(), key=lambda w: w.index)]

    @extend_schema_field(serializers.ChoiceField(choices=["requester", "counterparty"], allow_null=True))
    def get_your_role(self, r: SwapRequest) -> str | None:
        return swap_request_role(r, self._viewer()[0])

    def get_awaiting_your_confirmation(self, r: SwapRequest) -> bool:
        return awaits_confirmation_from(r, self._viewer()[0])

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_your_gain(self, r: SwapRequest) -> float | None:
        role = swap_request_role(r, self._viewer()[0])
        return r.requester_gain if role == "requester" else r.counterparty_gain if role == "counterparty" else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_requester_gain(self, r: SwapRequest) -> float | None:
        faculty, coordinator = self._viewer()
        return r.requester_gain if coordinator or swap_request_role(r, faculty) == "requester" else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_counterparty_gain(self, r: SwapRequest) -> float | None:
        faculty, coordinator = self._viewer()
        return r.counterparty_gain if coordinator or swap_request_role(r, faculty) == "counterparty" else None

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_mutual_gain(self, r: SwapRequest) -> float | None:
        return r.mutual_gain if self._viewer()[1] else None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_confirm_url(self, r: SwapRequest) -> str | None:
        if r.status != SwapRequest.Status.MATCHED:
            return None
        return reverse("swap-request-confirm", args=[r.pk], request=self.context.get("request"))


class SwapRequestCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    give = serializers.IntegerField(min_value=1, max_value=ID_MAX, help_text="Id of the assignment you offer")
    wanted_weeks = serializers.ListField(
        child=WeekRefField(), required=False, default=list,
        help_text="Weeks you would take instead, as start dates or week ids (may be empty for any_better)",
    )
    strategy = serializers.ChoiceField(choices=SwapRequest.Strategy.choices, default=SwapRequest.Strategy.FLEXIBLE)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)
    take = serializers.IntegerField(
        required=False, min_value=1, max_value=ID_MAX,
        help_text="A colleague's assignment from your swap suggestions: posts a `suggested` request for exactly that swap",
    )
    match = serializers.BooleanField(default=True, help_text="Look for a counterparty at once (default)")


class SuggestionSerializer(serializers.Serializer):
    give = SlotSerializer()
    take = SlotSerializer()
    partner = PersonSerializer()
    gain = serializers.FloatField(help_text="How much better the week fits you (utility, 0–1 scale)")
    partner_gain = serializers.FloatField(allow_null=True, help_text="Coordinators only")
    mutual_gain = serializers.FloatField(allow_null=True, help_text="Coordinators only")
    distance_reduction = serializers.FloatField(help_text="How much the swap lowers nash_distance")
    distance_after = serializers.FloatField()


class SuggestionQuerySerializer(serializers.Serializer):
    faculty = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX,
                                       help_text="Coordinators: whose suggestions (faculty id)")


class ClearedCyclesSerializer(serializers.Serializer):
    cleared = serializers.IntegerField(help_text="Cycles proposed")
    cycles = serializers.ListField(child=SwapRequestSerializer(many=True), help_text="Each cycle's requests")


class StrategyPerformanceSerializer(serializers.ModelSerializer):
    academic_year = serializers.IntegerField(source="year.label", read_only=True)
    success_rate = serializers.FloatField(read_only=True)

    class Meta:
        model = StrategyPerformance
        fields = ["academic_year", "strategy", "attempts", "successes", "success_rate", "share", "fitness", "growth",
                  "frequency", "updated_at"]
        read_only_fields = fields


class StrategyPerformanceQuerySerializer(serializers.Serializer):
    year = serializers.IntegerField(required=False, min_value=0, help_text="Only this academic year (label)")


class SwapRequestFilterSerializer(serializers.Serializer):
    schedule = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    status = serializers.ChoiceField(choices=SwapRequest.Status.choices, required=False)
