"""Shared by the auction tests: grants, an auction of a 2026 slot, and the ledger figures of a faculty member."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from auctions.auction_models import VickreyAuction
from auctions.ledger import points_grant
from auctions.models import PriorityPointAccount
from auctions.services import auction_create
from preferences.models import Rotation


def grant(person, year, amount: int, coordinator=None) -> None:
    points_grant(faculty=person, year=year, amount=amount, reason="test grant", processed_by=coordinator)


def figures(person, year) -> tuple[int, int, int]:
    """(balance, held, available) of the faculty member's account; zeros before its first use."""
    account = PriorityPointAccount.objects.filter(faculty=person, year=year).first()
    return (0, 0, 0) if account is None else (account.balance, account.held, account.available)


def open_auction(year, *, week: int = 2, rotation: str = "inpatient", kind: str = "desirable", reserve: int = 0,
                 holder=None, actor=None, hours: int = 24) -> VickreyAuction:
    return auction_create(
        year=year, week=year.weeks.get(index=week), rotation=Rotation.objects.get(name=rotation), kind=kind,
        reserve_price=reserve, closes_at=timezone.now() + dt.timedelta(hours=hours), holder=holder, actor=actor,
    )


def after_deadline(auction: VickreyAuction) -> dt.datetime:
    return auction.closes_at + dt.timedelta(seconds=1)
