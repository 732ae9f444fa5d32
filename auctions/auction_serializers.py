"""Serializers of the auctions API (DESIGN §8, §10): auctions as a viewer may see them, one's own bids, and the seed's
one-shot Vickrey auction. Amounts are whole points; the services validate again and have the last word."""

from __future__ import annotations

from rest_framework import serializers

from auctions.algorithms.vickrey import MAX_POINTS
from auctions.auction_models import Bid, VickreyAuction
from gtsched_site.api import StrictFieldsMixin
from gtsched_site.limits import ID_MAX

POINTS = {"min_value": 0, "max_value": MAX_POINTS}
MAX_BIDDERS = 5000


class AuctionOutcomeSerializer(serializers.Serializer):
    winner = serializers.CharField(allow_null=True, help_text="The winner's external id; null when no bid met the reserve")
    winner_name = serializers.CharField(allow_null=True)
    price = serializers.IntegerField(allow_null=True, help_text="Paid by the winner (desirable) or credited (reverse)")
    winning_bid = serializers.IntegerField(allow_null=True,
                                           help_text="The winner's own bid: shown to coordinators and the winner only")
    num_bidders = serializers.IntegerField()
    settled_at = serializers.DateTimeField()
    note = serializers.CharField()


class MyBidSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Bid.Status.choices)


class AuctionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    academic_year = serializers.IntegerField()
    week = serializers.DateField(help_text="Monday of the week auctioned")
    week_number = serializers.IntegerField()
    rotation = serializers.CharField()
    kind = serializers.ChoiceField(choices=VickreyAuction.Kind.choices)
    is_desirable = serializers.BooleanField()
    reserve_price = serializers.IntegerField()
    holder = serializers.CharField(allow_null=True, help_text="External id of the faculty member offering their seat")
    closes_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=VickreyAuction.Status.choices)
    rule = serializers.CharField(help_text="The auction's rule in one sentence")
    outcome = AuctionOutcomeSerializer(allow_null=True, help_text="Once settled: the winner and the price, never a losing bid")
    my_bid = MyBidSerializer(allow_null=True, help_text="Your own bid in this auction, if you bid")


class AuctionFilterSerializer(serializers.Serializer):
    academic_year = serializers.IntegerField(required=False, min_value=0, max_value=9999)
    status = serializers.ChoiceField(required=False, choices=VickreyAuction.Status.choices)


class AuctionCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    academic_year = serializers.IntegerField(min_value=0, max_value=9999)
    week = serializers.DateField(help_text="A day of the week to auction (its Monday, e.g. 2026-07-20)")
    rotation = serializers.CharField(max_length=40, help_text="The rotation's name, e.g. inpatient")
    is_desirable = serializers.BooleanField(default=True, help_text="true: Vickrey for a wanted slot; false: reverse")
    reserve_price = serializers.IntegerField(default=0, **POINTS, help_text="Whole points ≥ 0")
    closes_at = serializers.DateTimeField(help_text="The deadline, in the future")
    holder = serializers.CharField(required=False, allow_null=True, max_length=64,
                                   help_text="External id of the faculty member offering their seat; omit for a free seat")


class BidSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    auction = serializers.IntegerField(source="auction_id")
    amount = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Bid.Status.choices)
    held = serializers.SerializerMethodField(help_text="Points of yours this bid holds now")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_held(self, bid: Bid) -> int:
        return bid.hold.amount if bid.hold_id and bid.hold.status == "pending" else 0


class BidFilterSerializer(serializers.Serializer):
    auction = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    status = serializers.ChoiceField(required=False, choices=Bid.Status.choices)


class BidCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    auction = serializers.IntegerField(min_value=1, max_value=ID_MAX, help_text="The auction's id")
    amount = serializers.IntegerField(**POINTS, help_text="Whole points ≥ 0, at most your available points")


class BidChangeSerializer(StrictFieldsMixin, serializers.Serializer):
    amount = serializers.IntegerField(**POINTS, help_text="The new amount: whole points ≥ 0")


class OneShotSerializer(StrictFieldsMixin, serializers.Serializer):
    academic_year = serializers.IntegerField(min_value=0, max_value=9999)
    shift_week = serializers.DateField(help_text="A day of the week auctioned (its Monday)")
    shift_type = serializers.CharField(max_length=40, help_text="The rotation, e.g. inpatient")
    is_desirable = serializers.BooleanField(default=True)
    bids = serializers.DictField(child=serializers.JSONField(), allow_empty=True,
                                 help_text="Faculty external id → whole points ≥ 0")
    reserve_price = serializers.IntegerField(default=0, **POINTS)

    def validate_bids(self, value: dict) -> dict:
        if len(value) > MAX_BIDDERS:
            raise serializers.ValidationError(f"At most {MAX_BIDDERS} bids in one auction.")
        return value


class OneShotAnswerSerializer(serializers.Serializer):
    auction_id = serializers.IntegerField()
    winner_faculty_id = serializers.CharField(allow_null=True)
    winning_bid = serializers.IntegerField(allow_null=True)
    payment = serializers.IntegerField()
    num_bidders = serializers.IntegerField()
    is_strategyproof = serializers.BooleanField()
    winner_points_deducted = serializers.IntegerField()
    winner_new_balance = serializers.IntegerField(allow_null=True)
