"""Sealed bids (DESIGN §8): placed, raised, lowered and withdrawn until the auction closes. In a desirable auction a
bid is a hold of its amount on the bidder's account (never more than their available points); a change voids the old
hold and places the new one in the same transaction, so the points are held exactly once. In a reverse auction a
bid is an ask and holds nothing. Refusals name the field and change nothing; none mentions anyone else's bid."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone

from auctions.algorithms.vickrey import BidError, points
from auctions.auction_models import Bid, VickreyAuction
from auctions.ledger import hold_place, hold_void, points_account_get_or_create
from auctions.services.lifecycle import auction_lock
from auctions.services.slots import bidder_refusal, field_error, when
from gtsched_site.transactions import retried_atomic
from preferences.models import Faculty


def _amount(value) -> int:
    try:
        return points("amount", value)
    except BidError as exc:
        raise field_error(exc, "The amount") from None


def _open(auction: VickreyAuction, now: dt.datetime) -> None:
    if auction.status != VickreyAuction.Status.OPEN or now >= auction.closes_at:
        raise ValidationError({"auction": f"Auction #{auction.pk} is closed; bids were taken until "
                                          f"{timezone.localtime(auction.closes_at):%d %b %Y %H:%M}."})


def _hold(bid: Bid, auction: VickreyAuction) -> None:
    """Hold the bid's amount on the bidder's account (desirable auctions; nothing for 0 points)."""
    bid.hold = None
    if auction.is_desirable and bid.amount > 0:
        account = points_account_get_or_create(faculty=bid.faculty, year=auction.year)
        bid.hold = hold_place(
            account=account, amount=bid.amount, idempotency_key=f"bid:{bid.pk}:r{bid.revision}", auction_id=auction.pk,
            reason=f"Bid in auction #{auction.pk}: {auction.rotation}, {when(auction.week)}",
        ).hold


def bid_place_locked(*, auction: VickreyAuction, faculty: Faculty, amount: int) -> Bid:
    """Place a bid on an auction already locked by the caller, without the deadline rule."""
    if (refusal := bidder_refusal(auction=auction, faculty=faculty)) is not None:
        raise ValidationError({"faculty": refusal})
    if Bid.objects.filter(auction=auction, faculty=faculty, status=Bid.Status.ACTIVE).exists():
        raise ValidationError({"auction": "You already have a bid in this auction; change or withdraw it instead."})
    bid = Bid.objects.create(auction=auction, faculty=faculty, amount=amount)
    _hold(bid, auction)
    bid.save(update_fields=["hold"])
    return bid


@retried_atomic
def bid_place(*, auction: VickreyAuction, faculty: Faculty, amount, now: dt.datetime | None = None) -> Bid:
    """A sealed bid (desirable: the points offered, held until settlement) or ask (reverse: the points wanted) of
    whole points ≥ 0, while the auction is open. Only an eligible faculty member bids: qualified for the rotation,
    not blocking the week, not already serving it, not the holder offering the slot; one active bid each."""
    amount = _amount(amount)
    locked = auction_lock(auction=auction)
    _open(locked, now or timezone.now())
    return bid_place_locked(auction=locked, faculty=faculty, amount=amount)


def _active(bid: Bid) -> tuple[VickreyAuction, Bid]:
    locked = auction_lock(auction=bid.auction_id)
    current = Bid.objects.select_for_update(of=("self",)).select_related("faculty").get(pk=bid.pk)
    current.auction = locked
    return locked, current


@retried_atomic
def bid_change(*, bid: Bid, amount, now: dt.datetime | None = None) -> Bid:
    """Raise or lower an active bid before the auction closes: the old hold is voided and the new one placed in one
    transaction (a raise beyond the available points is refused on `amount`, the old bid standing)."""
    amount = _amount(amount)
    auction, current = _active(bid)
    _open(auction, now or timezone.now())
    if current.status != Bid.Status.ACTIVE:
        raise ValidationError({"bid": f"This bid was {current.get_status_display().lower()}; place a new one."})
    if current.amount == amount:
        return current
    if current.hold_id is not None:
        hold_void(hold=current.hold)
    current.amount, current.revision = amount, current.revision + 1
    current.save(update_fields=["amount", "revision", "updated_at"])
    _hold(current, auction)
    current.save(update_fields=["hold"])
    return current


@retried_atomic
def bid_withdraw(*, bid: Bid, now: dt.datetime | None = None) -> Bid:
    """Take an active bid back before the auction closes; its hold is voided. Withdrawing twice is a no-op."""
    auction, current = _active(bid)
    if current.status == Bid.Status.WITHDRAWN:
        return current
    _open(auction, now or timezone.now())
    if current.status != Bid.Status.ACTIVE:
        raise ValidationError({"bid": f"This bid was {current.get_status_display().lower()}."})
    if current.hold_id is not None:
        hold_void(hold=current.hold)
    current.status, current.resolved_at = Bid.Status.WITHDRAWN, timezone.now()
    current.save(update_fields=["status", "resolved_at", "updated_at"])
    return current
