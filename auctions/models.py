"""Priority points (DESIGN §8): one account per faculty member and academic year, its append-only entries and its
two-phase holds. Written only through auctions.ledger; the database keeps the invariants (check constraints, and on
PostgreSQL a trigger refusing UPDATE and DELETE of entries) even against code that bypasses it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from gtsched_site.idempotency import IdempotentRequestBase
from preferences.models import AcademicYear, Faculty, Week


class AppendOnly(Exception):
    """An attempt to change or delete a ledger entry: corrections are new reversing entries."""


class PriorityPointAccount(models.Model):
    """balance: the sum of posted entries; held: the sum of pending holds; available = balance − held. version rises
    by one with every write (entry or hold) and is recorded on each entry."""

    faculty = models.ForeignKey(Faculty, on_delete=models.PROTECT, related_name="point_accounts")
    year = models.ForeignKey(AcademicYear, on_delete=models.PROTECT, related_name="point_accounts")
    balance = models.BigIntegerField(default=0)
    held = models.BigIntegerField(default=0)
    lifetime_earned = models.BigIntegerField(default=0, help_text="Sum of the positive entries")
    lifetime_spent = models.BigIntegerField(default=0, help_text="Sum of the negative entries, as a positive number")
    version = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["year", "faculty"]
        constraints = [
            models.UniqueConstraint(fields=["faculty", "year"], name="points_one_account_per_faculty_year"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="points_balance_not_negative"),
            models.CheckConstraint(condition=Q(held__gte=0), name="points_held_not_negative"),
            models.CheckConstraint(condition=Q(held__lte=F("balance")), name="points_held_within_balance"),
            models.CheckConstraint(condition=Q(lifetime_earned__gte=0, lifetime_spent__gte=0),
                                   name="points_lifetime_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.faculty} · {self.year}: {self.balance} points"

    @property
    def available(self) -> int:
        return self.balance - self.held


class EntryQuerySet(models.QuerySet):
    """Entries are appended, never changed: bulk update and delete are refused like the row methods."""

    def update(self, **kwargs):
        raise AppendOnly("Ledger entries are append-only; post a reversing entry instead.")

    def delete(self):
        raise AppendOnly("Ledger entries are append-only; post a reversing entry instead.")

    def _raw_delete(self, using):
        raise AppendOnly("Ledger entries are append-only; post a reversing entry instead.")


class PriorityPointTransaction(models.Model):
    """One immutable ledger entry. amount > 0 earns, < 0 spends; balance_after = balance_before + amount; the
    idempotency key is unique per account and request_hash tells a replay from a different request under it."""

    class Type(models.TextChoices):
        AWARD = "award", "Award for an unwanted or holiday week"
        GRANT = "grant", "Coordinator grant"
        AUCTION_PAYMENT = "auction_payment", "Auction payment"
        AUCTION_CREDIT = "auction_credit", "Reverse-auction credit"
        VCG_PAYMENT = "vcg_payment", "VCG payment"
        REVERSAL = "reversal", "Correction (reversing entry)"

    account = models.ForeignKey(PriorityPointAccount, on_delete=models.PROTECT, related_name="entries")
    amount = models.BigIntegerField()
    type = models.CharField(max_length=16, choices=Type.choices)
    description = models.CharField(max_length=300, blank=True)
    auction_id = models.BigIntegerField(null=True, blank=True, db_index=True,
                                        help_text="The auction this entry settles, if any")
    week = models.ForeignKey(Week, null=True, blank=True, on_delete=models.PROTECT, related_name="point_entries")
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by",
                                    help_text="The entry this one corrects")
    processed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")
    balance_before = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    account_version = models.BigIntegerField(help_text="The account's version after this entry")
    idempotency_key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64, help_text="sha256 of what was asked under the key")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EntryQuerySet.as_manager()

    class Meta:
        ordering = ["account", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "idempotency_key"], name="points_entry_key_once_per_account"),
            models.CheckConstraint(condition=~Q(amount=0), name="points_entry_amount_not_zero"),
            models.CheckConstraint(condition=Q(balance_before__gte=0, balance_after__gte=0),
                                   name="points_entry_balances_not_negative"),
            models.CheckConstraint(condition=Q(balance_after=F("balance_before") + F("amount")),
                                   name="points_entry_balance_after_adds_up"),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+d} {self.type} · {self.account}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise AppendOnly("Ledger entries are append-only; post a reversing entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("Ledger entries are append-only; post a reversing entry instead.")


class PriorityPointHold(models.Model):
    """A pending transfer (TigerBeetle's two phases): placed for `amount`, then posted (at most `amount`, the rest
    released) or voided, exactly once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        POSTED = "posted", "Posted"
        VOIDED = "voided", "Voided"

    account = models.ForeignKey(PriorityPointAccount, on_delete=models.PROTECT, related_name="holds")
    amount = models.BigIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    posted_amount = models.BigIntegerField(null=True, blank=True, help_text="What was posted (≤ amount)")
    entry = models.OneToOneField(PriorityPointTransaction, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="hold", help_text="The entry that posted it")
    auction_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    reason = models.CharField(max_length=300, blank=True)
    idempotency_key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["account", "id"]
        constraints = [
            models.UniqueConstraint(fields=["account", "idempotency_key"], name="points_hold_key_once_per_account"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="points_hold_amount_positive"),
            models.CheckConstraint(
                condition=Q(status="pending", posted_amount__isnull=True, resolved_at__isnull=True)
                | Q(status="voided", posted_amount__isnull=True, resolved_at__isnull=False)
                | Q(status="posted", posted_amount__gte=0, posted_amount__lte=F("amount"), resolved_at__isnull=False),
                name="points_hold_resolution_consistent",
            ),
        ]

    def __str__(self) -> str:  # no amount: a pending or voided hold is a sealed bid
        return f"hold #{self.pk} ({self.status}) · {self.account}"


class IdempotentRequest(IdempotentRequestBase):
    """The first answer to each (user, Idempotency-Key) of the points and auctions API, replayed on a repeat."""

    class Meta(IdempotentRequestBase.Meta):
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="auctions_idempotent_request_once")]


# The auctions and bids live in their own module; imported here so Django registers them with the app.
from auctions.auction_models import Bid, VickreyAuction  # noqa: E402, F401
