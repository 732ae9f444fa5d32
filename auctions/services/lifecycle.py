"""An auction's life before settlement (DESIGN §8): a coordinator creates it, it closes at its deadline or when a
coordinator closes it, or a coordinator cancels it (every hold voided). One transaction per call, the auction row
locked first (then any accounts, in the ledger's ascending order), retried whole on a serialization failure."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.utils import timezone

from auctions.algorithms.vickrey import BidError, points
from auctions.auction_models import Bid, VickreyAuction
from auctions.ledger import holds_settle
from auctions.services.slots import field_error, slot_check
from gtsched_site.permissions import user_or_none
from gtsched_site.transactions import retried_atomic
from preferences.models import AcademicYear, Faculty, Rotation, Week

logger = logging.getLogger(__name__)


def auction_lock(*, auction: VickreyAuction | int) -> VickreyAuction:
    """The auction row, locked (SELECT … FOR UPDATE) for the rest of the transaction."""
    pk = auction if isinstance(auction, int) else auction.pk
    return VickreyAuction.objects.select_for_update(of=("self",)).select_related("year", "week", "rotation", "holder").get(pk=pk)


def auction_new(
    *, year: AcademicYear, week: Week, rotation: Rotation, kind: str, reserve_price, closes_at: dt.datetime,
    holder: Faculty | None, actor,
) -> VickreyAuction:
    """Validate and store an auction, without the deadline rule (the one-shot API's auction closes at once)."""
    if kind not in VickreyAuction.Kind.values:
        raise ValidationError({"kind": f"{kind!r} is not a kind of auction; use 'desirable' or 'reverse'."})
    try:
        reserve = points("reserve_price", reserve_price)
    except BidError as exc:
        raise field_error(exc, "The reserve price") from None
    if holder is not None and not year.faculty_queryset().filter(pk=holder.pk).exists():
        raise ValidationError({"holder": f"{holder} is not an active faculty member of {year}."})
    slot_check(year=year, week=week, rotation=rotation, holder=holder)
    return VickreyAuction.objects.create(
        year=year, week=week, rotation=rotation, kind=kind, reserve_price=reserve, holder=holder, closes_at=closes_at,
        created_by=user_or_none(actor),
    )


@retried_atomic
def auction_create(
    *, year: AcademicYear, week: Week, rotation: Rotation, kind: str, reserve_price, closes_at: dt.datetime,
    holder: Faculty | None = None, actor, now: dt.datetime | None = None,
) -> VickreyAuction:
    """Open an auction of one seat of (week, rotation): desirable (Vickrey) or reverse, a reserve of whole points
    ≥ 0, a deadline in the future. The slot must exist in the year and, on a published schedule, be free or offered
    by its holder (before publication: a seat no pre-assignment takes, or the holder's pre-assigned one)."""
    now = now or timezone.now()
    if closes_at is None or closes_at <= now:
        raise ValidationError({"closes_at": "The deadline must be in the future."})
    return auction_new(year=year, week=week, rotation=rotation, kind=kind, reserve_price=reserve_price,
                       closes_at=closes_at, holder=holder, actor=actor)


def close_locked(auction: VickreyAuction, *, actor, at: dt.datetime) -> VickreyAuction:
    if auction.status == VickreyAuction.Status.OPEN:
        auction.status, auction.closed_at, auction.closed_by = VickreyAuction.Status.CLOSED, at, user_or_none(actor)
        auction.save(update_fields=["status", "closed_at", "closed_by"])
    return auction


@retried_atomic
def auction_close(*, auction: VickreyAuction, actor, now: dt.datetime | None = None) -> VickreyAuction:
    """Stop taking bids (a coordinator, before or at the deadline). Closing a closed or settled auction is a no-op;
    a cancelled one cannot close."""
    locked = auction_lock(auction=auction)
    if locked.status == VickreyAuction.Status.CANCELLED:
        raise ValidationError({"status": f"Auction #{locked.pk} was cancelled."})
    return close_locked(locked, actor=actor, at=now or timezone.now())


@retried_atomic
def auction_cancel(*, auction: VickreyAuction, actor, now: dt.datetime | None = None) -> VickreyAuction:
    """Call the auction off before settlement: every active bid is withdrawn and its hold voided, nothing posted.
    Cancelling a cancelled auction is a no-op; a settled one cannot be cancelled."""
    locked = auction_lock(auction=auction)
    if locked.status == VickreyAuction.Status.SETTLED:
        raise ValidationError({"status": f"Auction #{locked.pk} is settled; it cannot be cancelled."})
    if locked.status == VickreyAuction.Status.CANCELLED:
        return locked
    now = now or timezone.now()
    bids = list(Bid.objects.select_for_update().filter(auction=locked, status=Bid.Status.ACTIVE).order_by("pk"))
    holds = [b.hold_id for b in bids if b.hold_id is not None]
    if holds:
        holds_settle(post={}, void=holds)
    Bid.objects.filter(pk__in=[b.pk for b in bids]).update(
        status=Bid.Status.WITHDRAWN, note="The auction was cancelled.", resolved_at=now)
    locked.status, locked.closed_at = VickreyAuction.Status.CANCELLED, locked.closed_at or now
    locked.closed_by = locked.closed_by or user_or_none(actor)
    locked.save(update_fields=["status", "closed_at", "closed_by"])
    return locked
