"""Auctions and bids in the admin: read-only, and sealed. A bid's amount is never listed or shown while its auction
is unsettled — not even to a superuser — and after settlement only the winning amount is; a losing amount stays
sealed for good (DESIGN §8: "never the losing bids"). Bids are not searchable or sortable by amount either, which
would leak it by order. Imported by auctions.admin."""

from __future__ import annotations

from django.contrib import admin

from auctions.auction_models import Bid, VickreyAuction
from gtsched_site.admin import ReadOnlyAdmin

SEALED = "sealed"


@admin.register(VickreyAuction)
class VickreyAuctionAdmin(ReadOnlyAdmin):
    actions = None
    list_display = ("id", "year", "week", "rotation", "kind", "reserve_price", "holder", "closes_at", "status",
                    "winner", "price", "settled_at")
    list_filter = ("status", "kind", "year")
    list_select_related = ("year", "week", "rotation", "holder", "winner")
    fields = ("year", "week", "rotation", "kind", "reserve_price", "holder", "closes_at", "status", "seed", "tie_draw",
              "winner", "winning_bid", "price", "num_bidders", "created_by", "closed_at", "closed_by", "settled_at",
              "settled_by", "preassignment", "schedule_change", "note")

    def get_actions(self, request):
        return {}


@admin.register(Bid)
class BidAdmin(ReadOnlyAdmin):
    actions = None
    list_display = ("id", "auction", "faculty", "sealed_amount", "status", "created_at", "resolved_at")
    list_filter = ("status", "auction__year")
    list_select_related = ("auction__week", "auction__rotation", "faculty")
    fields = ("auction", "faculty", "sealed_amount", "status", "note", "created_at", "updated_at", "resolved_at")
    readonly_fields = fields

    def get_actions(self, request):
        return {}

    @admin.display(description="amount")
    def sealed_amount(self, bid: Bid) -> str:
        if bid.status == Bid.Status.WON:
            return str(bid.amount)
        return SEALED
