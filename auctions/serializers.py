"""Serializers of the priority-points API (DESIGN §8, §10): the account with its ledger, and the grant request."""

from __future__ import annotations

from rest_framework import serializers

from auctions.algorithms.vickrey import MAX_POINTS
from auctions.models import PriorityPointTransaction
from gtsched_site.api import StrictFieldsMixin

YEAR_HELP = "Academic year label, e.g. 2026 (default: the year open for preferences, else the newest)"


class PointsQuerySerializer(serializers.Serializer):
    academic_year = serializers.IntegerField(required=False, min_value=0, max_value=9999, help_text=YEAR_HELP)


class PointsEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.IntegerField(help_text="Points: positive earns, negative spends")
    type = serializers.ChoiceField(choices=PriorityPointTransaction.Type.choices)
    description = serializers.CharField()
    balance_before = serializers.IntegerField()
    balance_after = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    auction = serializers.IntegerField(allow_null=True, help_text="The auction this entry settles, if any")
    week = serializers.DateField(allow_null=True, help_text="Monday of the week this entry is about, if any")


class PointsAccountSerializer(serializers.Serializer):
    faculty = serializers.CharField(help_text="The faculty member's external id")
    academic_year = serializers.IntegerField()
    balance = serializers.IntegerField(help_text="Posted points: the sum of the entries")
    held = serializers.IntegerField(allow_null=True, help_text=(
        "Points held by open bids (null for anyone but the owner while bids are open: bids are sealed)"))
    available = serializers.IntegerField(allow_null=True, help_text=(
        "balance − held: what can be bid or spent (null like held)"))
    lifetime_earned = serializers.IntegerField()
    lifetime_spent = serializers.IntegerField()
    transactions = PointsEntrySerializer(many=True, help_text="Every entry of the year's ledger, oldest first")


class PointsGrantSerializer(StrictFieldsMixin, serializers.Serializer):
    amount = serializers.IntegerField(
        min_value=-MAX_POINTS, max_value=MAX_POINTS,
        help_text="Whole points, not 0: positive grants, negative corrects (never below the points held by bids)",
    )
    reason = serializers.CharField(max_length=300, help_text="Why: kept in the ledger as the entry's description")
    academic_year = serializers.IntegerField(required=False, min_value=0, max_value=9999, help_text=YEAR_HELP)

    def validate_amount(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("The amount must not be 0: give the points to grant, or a negative "
                                              "number to correct.")
        return value


class PointsGrantAnswerSerializer(serializers.Serializer):
    faculty = serializers.CharField()
    academic_year = serializers.IntegerField()
    balance = serializers.IntegerField()
    held = serializers.IntegerField(allow_null=True)
    available = serializers.IntegerField(allow_null=True)
    lifetime_earned = serializers.IntegerField()
    lifetime_spent = serializers.IntegerField()
    entry = PointsEntrySerializer(help_text="The entry the grant posted")
