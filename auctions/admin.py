"""The points ledger in the admin: read-only (DESIGN §8, §11). Grants and corrections go through the coordinator's
services (the API), never through an edit form; there is no add, change or delete, and no bulk action."""

from django.contrib import admin

from auctions.models import IdempotentRequest, PriorityPointAccount, PriorityPointHold, PriorityPointTransaction
from gtsched_site.admin import ReadOnlyAdmin


class LedgerAdmin(ReadOnlyAdmin):
    actions = None  # not even "delete selected"

    def get_actions(self, request):
        return {}


SEALED = "sealed"  # shown instead of figures that would give an open bid away


@admin.register(PriorityPointAccount)
class PriorityPointAccountAdmin(LedgerAdmin):
    """Bids are sealed from everyone, superusers included: while an account holds points for open bids, its held
    and available points are not shown."""

    list_display = ("faculty", "year", "balance", "held_points", "available_points", "lifetime_earned",
                    "lifetime_spent", "version")
    exclude = ("held",)
    readonly_fields = ("held_points", "available_points")

    @admin.display(description="held")
    def held_points(self, account):
        return SEALED if account.held else 0

    @admin.display(description="available")
    def available_points(self, account):
        return SEALED if account.held else account.available
    list_filter = ("year",)
    search_fields = ("faculty__display_name", "faculty__external_id")
    list_select_related = ("faculty", "year")


@admin.register(PriorityPointTransaction)
class PriorityPointTransactionAdmin(LedgerAdmin):
    list_display = ("id", "account", "amount", "type", "description", "balance_before", "balance_after",
                    "auction_id", "week", "processed_by", "created_at")
    list_filter = ("type", "account__year")
    search_fields = ("account__faculty__display_name", "account__faculty__external_id", "description",
                     "idempotency_key")
    list_select_related = ("account__faculty", "account__year", "week", "processed_by")


@admin.register(PriorityPointHold)
class PriorityPointHoldAdmin(LedgerAdmin):
    """A pending hold is an open, sealed bid: its amount is not shown until the hold is posted or voided (a posted
    hold shows what was paid; a voided one, a losing bid, never its amount)."""

    list_display = ("id", "account", "hold_amount", "status", "posted_amount", "auction_id", "reason", "created_at",
                    "resolved_at")
    exclude = ("amount",)
    readonly_fields = ("hold_amount",)

    @admin.display(description="amount")
    def hold_amount(self, hold):
        return hold.amount if hold.status == PriorityPointHold.Status.POSTED else SEALED
    list_filter = ("status", "account__year")
    search_fields = ("account__faculty__display_name", "account__faculty__external_id")
    list_select_related = ("account__faculty", "account__year")


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(LedgerAdmin):
    list_display = ("created_at", "user", "method", "path", "status_code", "key")
    search_fields = ("key", "path")

# The auctions and bids (sealed) are registered in their own module.
from auctions import auction_admin  # noqa: E402, F401
