"""Settling an auction exactly once, in one transaction (DESIGN §8): the outcome of the pure rule with a recorded
seed, the ledger entries, every hold released, and the schedule effect — before the year's schedule is published a
pre-assignment with the auction as its reason (every later run honours it), after publication an audited slot
transfer. A second call returns the first outcome and changes nothing."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import ValidationError
from django.utils import timezone

from allocation.models import PreAssignment
from allocation.services.preassignments import slot_capacity
from allocation.transfers import schedule_slot_transfer
from auctions.algorithms.vickrey import reverse_vickrey, vickrey
from auctions.auction_models import Bid, VickreyAuction
from auctions.ledger import EntryType, holds_settle, ledger_post, points_account_get_or_create
from auctions.services.lifecycle import auction_close, auction_lock, close_locked
from auctions.services.slots import bidder_refusal, published_schedule, when
from auctions.signals import auction_settled
from gtsched_site.limits import seed_draw
from gtsched_site.permissions import user_or_none
from gtsched_site.signals import send_on_commit
from gtsched_site.transactions import retried_atomic

logger = logging.getLogger(__name__)


def _describe(auction: VickreyAuction) -> str:
    return f"Auction #{auction.pk}: {auction.rotation}, {when(auction.week)}"


@retried_atomic
def auction_settle(
    *, auction: VickreyAuction, actor, now: dt.datetime | None = None, seed: int | None = None,
) -> VickreyAuction:
    """Settle a closed auction (an open one whose deadline has passed is closed first). Exactly once: a settled
    auction is returned as it is. Bidders who are no longer eligible lose without being compared. The winner's hold
    is posted at the price (never more than it), every other hold voided; a reverse winner is credited the price,
    the holder of a desirable slot sold is credited it; nothing is posted when no bid meets the reserve."""
    now = now or timezone.now()
    locked = auction_lock(auction=auction)
    if locked.status == VickreyAuction.Status.SETTLED:
        return locked
    if locked.status == VickreyAuction.Status.CANCELLED:
        raise ValidationError({"status": f"Auction #{locked.pk} was cancelled; there is nothing to settle."})
    if locked.status == VickreyAuction.Status.OPEN:
        if now < locked.closes_at:
            raise ValidationError({"status": f"Auction #{locked.pk} is still open until "
                                             f"{timezone.localtime(locked.closes_at):%d %b %Y %H:%M}; close it first."})
        close_locked(locked, actor=None, at=locked.closes_at)
    bids = list(Bid.objects.select_for_update(of=("self",)).select_related("faculty").filter(
        auction=locked, status=Bid.Status.ACTIVE).order_by("pk"))
    valid: dict[int, Bid] = {}
    for bid in bids:
        refusal = bidder_refusal(auction=locked, faculty=bid.faculty)
        if refusal is None:
            valid[bid.faculty_id] = bid
        else:
            bid.status, bid.note = Bid.Status.LOST, f"Not compared: {refusal}"[:300]
    seed = seed_draw() if seed is None else seed
    rule = vickrey if locked.is_desirable else reverse_vickrey
    outcome = rule({f: b.amount for f, b in valid.items()}, reserve=locked.reserve_price, seed=seed)
    winner = valid[outcome.winner] if outcome.winner is not None else None
    description = f"{_describe(locked)} — {'won' if winner else 'settled'}"
    post = {winner.hold_id: outcome.price} if winner is not None and winner.hold_id is not None else {}
    void = [b.hold_id for b in bids if b.hold_id is not None and b.hold_id not in post]
    if post or void:
        holds_settle(post=post, void=void, type=EntryType.AUCTION_PAYMENT, description=description, processed_by=actor)
    if winner is not None:
        _credits(locked, winner, outcome.price, actor)
        _schedule_effect(locked, winner, actor)
    for bid in bids:
        if bid.status == Bid.Status.ACTIVE:
            bid.status = Bid.Status.WON if bid is winner else Bid.Status.LOST
        bid.resolved_at = now
        bid.save(update_fields=["status", "note", "resolved_at", "updated_at"])
    locked.status, locked.settled_at, locked.settled_by = VickreyAuction.Status.SETTLED, now, user_or_none(actor)
    locked.seed, locked.tie_draw = seed, [int(f) for f in outcome.tied]
    locked.winner = winner.faculty if winner else None
    locked.winning_bid = outcome.winning_bid
    locked.price = outcome.price if winner else None
    locked.num_bidders = outcome.bidders
    if winner is None:
        locked.note = "No valid bid met the reserve; nothing was posted and every hold was released."
    locked.save()
    send_on_commit(auction_settled, sender=VickreyAuction, auction_id=locked.pk)
    return locked


def _credits(auction: VickreyAuction, winner: Bid, price: int, actor) -> None:
    if price <= 0:
        return
    if not auction.is_desirable:
        account = points_account_get_or_create(faculty=winner.faculty, year=auction.year)
        ledger_post(account=account, amount=price, type=EntryType.AUCTION_CREDIT,
                    description=f"{_describe(auction)} — taken for {price} points", auction_id=auction.pk,
                    week_id=auction.week_id, idempotency_key=f"auction:{auction.pk}:credit", processed_by=actor)
    elif auction.holder_id is not None:
        account = points_account_get_or_create(faculty=auction.holder, year=auction.year)
        ledger_post(account=account, amount=price, type=EntryType.AUCTION_CREDIT,
                    description=f"{_describe(auction)} — your seat sold for {price} points", auction_id=auction.pk,
                    week_id=auction.week_id, idempotency_key=f"auction:{auction.pk}:sale", processed_by=actor)


def _schedule_effect(auction: VickreyAuction, winner: Bid, actor) -> None:
    """The winner gets the seat: an audited transfer on the published schedule, else a pre-assignment."""
    reason = f"Won auction #{auction.pk} ({auction.get_kind_display().lower()})"
    schedule = published_schedule(auction.year)
    if schedule is not None:
        auction.schedule_change = schedule_slot_transfer(
            schedule=schedule, week=auction.week, rotation=auction.rotation, to_faculty=winner.faculty,
            from_faculty=auction.holder, actor=actor, reason=reason,
        )
        auction.note = f"{winner.faculty} now serves {auction.rotation} in {when(auction.week)} (audited change)."
        return
    seats = list(PreAssignment.objects.select_for_update().filter(year=auction.year, week=auction.week,
                                                                  rotation=auction.rotation))
    if auction.holder_id is not None:
        offered = next((p for p in seats if p.faculty_id == auction.holder_id), None)
        if offered is None:
            raise ValidationError({"holder": f"{auction.holder} is no longer pre-assigned to this seat; cancel the auction."})
        offered.delete()
    elif len(seats) >= slot_capacity(year=auction.year, week=auction.week, rotation=auction.rotation):
        raise ValidationError({"week": f"Every seat of {auction.rotation} in {when(auction.week)} is now pre-assigned; "
                                       "cancel the auction."})
    auction.preassignment = PreAssignment.objects.create(
        year=auction.year, faculty=winner.faculty, week=auction.week, rotation=auction.rotation, reason=reason,
        created_by=user_or_none(actor),
    )
    auction.note = f"{winner.faculty} is pre-assigned to {auction.rotation} in {when(auction.week)}."


def auctions_settle_due(*, now: dt.datetime | None = None) -> list[int]:
    """Close and settle every open or closed auction whose deadline has passed (the beat task): the ids settled.
    One that cannot settle (its seat changed hands meanwhile) is logged and left closed for a coordinator."""
    now = now or timezone.now()
    settled = []
    due = VickreyAuction.objects.filter(
        status__in=[VickreyAuction.Status.OPEN, VickreyAuction.Status.CLOSED], closes_at__lte=now,
    ).order_by("closes_at", "pk").values_list("pk", flat=True)
    for pk in list(due):
        auction = VickreyAuction.objects.get(pk=pk)
        try:
            auction_close(auction=auction, actor=None, now=now)
            auction_settle(auction=auction, actor=None, now=now)
        except ValidationError as exc:
            logger.warning("Auction %s could not settle at its deadline: %s", pk, exc.messages)
            continue
        settled.append(pk)
    return settled
