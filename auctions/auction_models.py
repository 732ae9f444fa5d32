"""Vickrey auctions and their sealed bids (DESIGN §8). Written only through auctions.services; read through
auctions.selectors, which never shows a bid's amount to anyone but its bidder before settlement, and after it only
the winner and the price to everyone.

Imported by auctions.models so Django registers them with the app."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from allocation.models import PreAssignment, ScheduleChange
from gtsched_site.fields import actor_field
from preferences.models import AcademicYear, Faculty, Rotation, Week


class VickreyAuction(models.Model):
    """One (week, rotation) slot sold for priority points: desirable (the highest bid at or above the reserve wins and
    pays max(second bid, reserve)) or reverse (the lowest ask at or below the reserve wins and is credited
    min(second ask, reserve)). holder: the faculty member offering their seat; null = a free seat of the programme."""

    class Kind(models.TextChoices):
        DESIRABLE = "desirable", "Desirable slot (Vickrey)"
        REVERSE = "reverse", "Undesirable slot (reverse Vickrey)"

    class Status(models.TextChoices):
        OPEN = "open", "Open for bids"
        CLOSED = "closed", "Closed, awaiting settlement"
        SETTLED = "settled", "Settled"
        CANCELLED = "cancelled", "Cancelled"

    year = models.ForeignKey(AcademicYear, on_delete=models.PROTECT, related_name="auctions")
    week = models.ForeignKey(Week, on_delete=models.PROTECT, related_name="auctions")
    rotation = models.ForeignKey(Rotation, on_delete=models.PROTECT, related_name="auctions")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DESIRABLE)
    reserve_price = models.BigIntegerField(
        default=0, help_text="Desirable: the lowest bid that can win. Reverse: the most the programme will pay.")
    holder = models.ForeignKey(Faculty, null=True, blank=True, on_delete=models.PROTECT, related_name="offered_auctions",
                               help_text="The faculty member offering their seat; empty = a free seat of the programme")
    closes_at = models.DateTimeField(help_text="Bids are taken until then; the auction then closes and settles")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    seed = models.BigIntegerField(null=True, blank=True, help_text="The seed of the tie-break draw, recorded at settlement")
    tie_draw = models.JSONField(default=list, blank=True,
                                help_text="Faculty ids tied at the winning amount, in the order the draw put them")
    winner = models.ForeignKey(Faculty, null=True, blank=True, on_delete=models.PROTECT, related_name="won_auctions")
    winning_bid = models.BigIntegerField(null=True, blank=True)
    price = models.BigIntegerField(null=True, blank=True,
                                   help_text="What the winner paid (desirable) or was credited (reverse)")
    num_bidders = models.PositiveIntegerField(default=0, help_text="Valid bids at settlement")
    created_by = actor_field()
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = actor_field()
    settled_at = models.DateTimeField(null=True, blank=True)
    settled_by = actor_field()
    preassignment = models.ForeignKey(PreAssignment, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="+", help_text="The pre-assignment the settlement made (before publication)")
    schedule_change = models.ForeignKey(ScheduleChange, null=True, blank=True, on_delete=models.PROTECT,
                                        related_name="+", help_text="The audited change the settlement made (after publication)")
    note = models.CharField(max_length=300, blank=True, help_text="What the settlement did, in words")

    class Meta:
        ordering = ["-closes_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(reserve_price__gte=0), name="auction_reserve_not_negative"),
            models.CheckConstraint(condition=Q(price__isnull=True) | Q(price__gte=0), name="auction_price_not_negative"),
            models.CheckConstraint(condition=~Q(status="settled") | Q(settled_at__isnull=False, seed__isnull=False),
                                   name="auction_settled_has_time_and_seed"),
            models.CheckConstraint(condition=Q(winner__isnull=True) | Q(status="settled"),
                                   name="auction_winner_only_when_settled"),
        ]

    def __str__(self) -> str:
        return f"Auction #{self.pk}: {self.rotation} · week {self.week.index + 1} ({self.get_kind_display()})"

    @property
    def is_desirable(self) -> bool:
        return self.kind == self.Kind.DESIRABLE

    @property
    def is_settled(self) -> bool:
        return self.status == self.Status.SETTLED


class Bid(models.Model):
    """A sealed bid (desirable: the points offered, held on the bidder's account) or ask (reverse: the points wanted,
    nothing held). One active bid per faculty member per auction; a change replaces its hold in one transaction."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        WITHDRAWN = "withdrawn", "Withdrawn"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    auction = models.ForeignKey(VickreyAuction, on_delete=models.PROTECT, related_name="bids")
    faculty = models.ForeignKey(Faculty, on_delete=models.PROTECT, related_name="bids")
    amount = models.BigIntegerField()
    hold = models.OneToOneField("auctions.PriorityPointHold", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="bid", help_text="The hold of the amount (desirable auctions, amount > 0)")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    revision = models.PositiveIntegerField(default=1, help_text="How many times the amount was set")
    note = models.CharField(max_length=300, blank=True, help_text="Why the bid lost without being compared, if so")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["auction", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["auction", "faculty"], condition=Q(status="active"),
                                    name="bid_one_active_per_faculty_auction"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="bid_amount_not_negative"),
        ]

    def __str__(self) -> str:  # never the amount: the admin and logs print this
        return f"Bid #{self.pk} of {self.faculty} in auction #{self.auction_id} ({self.status})"
