"""Auctions under real concurrency on PostgreSQL (threads, each with its own connection): concurrent settle calls make
one settlement; concurrent bids from one account never hold more than it has; a bid racing the close either lands
before it or is refused. Skipped on SQLite, which serialises every writer."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from auctions.auction_models import Bid, VickreyAuction
from auctions.models import PriorityPointHold, PriorityPointTransaction
from auctions.services import auction_close, auction_settle, bid_place
from tests.auctions.auction_helpers import figures, grant, open_auction
from tests.auctions.conftest import assert_reconciles
from tests.auctions.test_concurrency import race
from tests.factories import FacultyFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks across threads need PostgreSQL")


def test_ten_concurrent_settle_calls_make_one_settlement(year, faculty, other_faculty, coordinator):
    grant(faculty, year, 30, coordinator)
    grant(other_faculty, year, 30, coordinator)
    auction = open_auction(year, actor=coordinator)
    bid_place(auction=auction, faculty=faculty, amount=12)
    bid_place(auction=auction, faculty=other_faculty, amount=8)
    auction_close(auction=auction, actor=coordinator)
    results = race(10, lambda i: auction_settle(auction=VickreyAuction.objects.get(pk=auction.pk), actor=coordinator,
                                                seed=i))
    assert all(isinstance(r, VickreyAuction) for r in results), results
    assert {(r.winner_id, r.price, r.seed, r.settled_at) for r in results} == {
        (faculty.pk, 8, results[0].seed, results[0].settled_at)}
    assert PriorityPointTransaction.objects.filter(type="auction_payment").count() == 1
    assert figures(faculty, year) == (22, 0, 22) and figures(other_faculty, year) == (30, 0, 30)
    assert not PriorityPointHold.objects.filter(status="pending").exists()
    assert_reconciles()


def test_concurrent_bids_from_one_account_hold_only_what_it_has(year, faculty, rotations, coordinator):
    grant(faculty, year, 50, coordinator)
    auctions = [open_auction(year, week=w, rotation=r.name, actor=coordinator)
                for w in range(8) for r in rotations][:12]  # 12 auctions in different slots
    # one faculty member cannot bid in two rotations of one week only if they serve it; bids do not serve: all eligible
    results = race(12, lambda i: bid_place(auction=auctions[i], faculty=faculty, amount=9))
    placed = [r for r in results if isinstance(r, Bid)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(placed) == 5 and len(refused) == 7, results  # 5 × 9 = 45 ≤ 50 < 54
    assert all("amount" in r.message_dict for r in refused)
    assert figures(faculty, year) == (50, 45, 5)
    assert_reconciles()


def test_bids_racing_the_close_either_land_before_it_or_are_refused(year, rotations, coordinator):
    people = [FacultyFactory(user=UserFactory(username=f"racer{i}"), external_id=f"R{i:03d}", rotations=rotations)
              for i in range(8)]
    for person in people:
        grant(person, year, 10, coordinator)
    auction = open_auction(year, actor=coordinator)

    def work(i: int):
        if i == 8:
            return auction_close(auction=auction, actor=coordinator)
        return bid_place(auction=auction, faculty=people[i], amount=i + 1)

    results = race(9, work)
    placed = [r for r in results[:8] if isinstance(r, Bid)]
    refused = [r for r in results[:8] if isinstance(r, ValidationError)]
    assert len(placed) + len(refused) == 8
    assert all(set(r.message_dict) == {"auction"} for r in refused)
    assert Bid.objects.filter(status="active").count() == len(placed)
    assert sum(figures(p, year)[1] for p in people) == sum(b.amount for b in placed)
    assert_reconciles()
