"""The seed's one-shot Vickrey auction (DESIGN §8, `POST /api/v1/game-theory/vickrey-auction`): create an auction of
a free seat, place the given bids, close and settle it — all in one transaction, so a refused bid stores nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone

from auctions.algorithms.vickrey import BidError, points
from auctions.auction_models import VickreyAuction
from auctions.ledger import InsufficientPoints
from auctions.models import PriorityPointAccount
from auctions.services.bids import bid_place_locked
from auctions.services.lifecycle import auction_lock, auction_new, close_locked
from auctions.services.settlement import auction_settle
from gtsched_site.limits import echo
from gtsched_site.transactions import retried_atomic
from preferences.models import AcademicYear, Faculty, Rotation

RENAMED = {"week": "shift_week", "rotation": "shift_type"}


@dataclass(frozen=True)
class OneShotResult:
    auction: VickreyAuction
    num_bidders: int
    winner_new_balance: int | None

    @property
    def winner_points_deducted(self) -> int:
        return (self.auction.price or 0) if self.auction.is_desirable and self.auction.winner_id else 0


def _bid_errors(bids: Mapping, known: Mapping[str, Faculty]) -> tuple[dict[str, int], dict[str, str]]:
    amounts, errors = {}, {}
    for external_id, amount in bids.items():
        field = f"bids.{echo(external_id)}"
        if external_id not in known:
            errors[field] = f"No faculty member {echo(external_id)!r}."
            continue
        try:
            amounts[external_id] = points(field, amount)
        except BidError as exc:
            errors[field] = f"The bid {exc.message}"
    return amounts, errors


@retried_atomic
def auction_run_once(
    *, year: AcademicYear, shift_week: dt.date, shift_type: str, is_desirable: bool, bids: Mapping,
    reserve_price, actor, seed: int | None = None,
) -> OneShotResult:
    """Run and settle an auction of a free seat of (week containing shift_week, rotation shift_type) on the given
    bids (faculty external id → whole points ≥ 0). Refused with the field named — `shift_week`, `shift_type`,
    `reserve_price`, `bids.F002` (unknown, negative or fractional, more than the bidder's available points, or not
    eligible for the slot) — and nothing stored."""
    week = year.weeks.filter(start_date__lte=shift_week, start_date__gt=shift_week - dt.timedelta(days=7)).first()
    errors: dict[str, str] = {}
    if week is None:
        errors["shift_week"] = f"No week of {year} contains {shift_week:%Y-%m-%d}."
    rotation = Rotation.objects.filter(name=shift_type).first()
    if rotation is None:
        names = ", ".join(Rotation.objects.order_by("name").values_list("name", flat=True)) or "none yet"
        errors["shift_type"] = f"No rotation {echo(shift_type)!r}; the rotations are {names}."
    if not isinstance(bids, Mapping):
        errors["bids"] = "Give the bids as an object of faculty external id → points."
        bids = {}
    known = {f.external_id: f for f in Faculty.objects.filter(external_id__in=[str(k) for k in bids])}
    amounts, bid_errors = _bid_errors(bids, known)
    errors.update(bid_errors)
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    kind = VickreyAuction.Kind.DESIRABLE if is_desirable else VickreyAuction.Kind.REVERSE
    try:
        created = auction_new(year=year, week=week, rotation=rotation, kind=kind, reserve_price=reserve_price,
                              closes_at=now, holder=None, actor=actor)
    except ValidationError as exc:  # the request names the slot shift_week / shift_type
        raise ValidationError({RENAMED.get(k, k): v for k, v in exc.message_dict.items()}) from None
    auction = auction_lock(auction=created)
    for external_id, amount in amounts.items():
        field = f"bids.{external_id}"
        try:
            bid_place_locked(auction=auction, faculty=known[external_id], amount=amount)
        except InsufficientPoints:
            account = PriorityPointAccount.objects.filter(faculty=known[external_id], year=year).first()
            available = account.available if account else 0
            errors[field] = f"The bid of {amount} points is more than {external_id}'s {available} available points."
        except ValidationError as exc:
            errors[field] = " ".join(exc.messages)
    if errors:
        raise ValidationError(errors)
    close_locked(auction, actor=actor, at=now)
    auction = auction_settle(auction=auction, actor=actor, now=now, seed=seed)
    balance = None
    if auction.winner_id is not None:
        account = PriorityPointAccount.objects.filter(faculty_id=auction.winner_id, year=year).first()
        balance = account.balance if account else 0
    return OneShotResult(auction=auction, num_bidders=len(amounts), winner_new_balance=balance)
