"""Sealed bids (DESIGN §8): nobody learns another's bid through any auctions page, endpoint, admin list or error
message. Every route of the auctions app is fetched as the coordinator, a superuser, each bidder, a colleague who
did not bid and anonymous — before settlement no response shows an amount to anyone but its bidder, and after
settlement no losing amount appears except to its own bidder (the price, being the runner-up's bid or the reserve,
is public by the rule itself)."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from auctions.models import PriorityPointHold
from auctions.services import auction_close, auction_settle, bid_place
from tests.auctions.auction_helpers import grant, open_auction

pytestmark = pytest.mark.django_db

# Amounts no page shows for any other reason: eight digits, so no row id of a long test session (PostgreSQL's
# sequences are not reset between tests, and ids appear in links and JSON) can be one of them.
FUNDS = 90_000_000
ALICE, BOB, CAROL = 48_170_917, 39_230_561, 27_110_443


def shows(text: str, amount: int) -> bool:
    """Whether `amount` appears in `text` as a number of its own, not as digits inside a longer number (a random
    seed, a token)."""
    return re.search(rf"(?<![\d.,]){amount}(?![\d])", text) is not None


@pytest.fixture
def sealed(year, faculty, other_faculty, carol, dave, coordinator):
    for person in (faculty, other_faculty, carol, dave):
        grant(person, year, FUNDS, coordinator)
    auction = open_auction(year, actor=coordinator)
    bids = {
        "alice": bid_place(auction=auction, faculty=faculty, amount=ALICE),
        "bob": bid_place(auction=auction, faculty=other_faculty, amount=BOB),
        "carol": bid_place(auction=auction, faculty=carol, amount=CAROL),
    }
    return auction, bids


def routes(auction, bids) -> list[str]:
    ids = [b.pk for b in bids.values()]
    return [
        "/points/", "/auctions/", f"/auctions/?year={auction.year.label}", "/coordinator/auctions/",
        f"/coordinator/years/{auction.year.label}/auctions/", "/coordinator/points/",
        f"/coordinator/years/{auction.year.label}/points/",
        *[f"/coordinator/years/{auction.year.label}/points/{b.faculty.external_id}/" for b in bids.values()],
        "/api/v1/auctions/", f"/api/v1/auctions/{auction.pk}/", "/api/v1/auctions/?status=open",
        "/api/v1/bids/", *[f"/api/v1/bids/{pk}/" for pk in ids], f"/api/v1/bids/?auction={auction.pk}",
        "/admin/auctions/bid/", *[f"/admin/auctions/bid/{pk}/change/" for pk in ids],
        "/admin/auctions/vickreyauction/", f"/admin/auctions/vickreyauction/{auction.pk}/change/",
    ]


def auctions_route_names() -> set[str]:
    """Every named route the auctions app serves (pages and API), so a new one must join this test."""
    names = set()

    def walk(patterns, app: bool) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                module = getattr(p.urlconf_module, "__name__", "")
                walk(p.url_patterns, app or module.startswith("auctions."))
            elif isinstance(p, URLPattern) and app and p.name:
                names.add(p.name)

    walk(get_resolver().url_patterns, False)
    return names


def test_this_test_knows_every_auctions_route():
    covered_by_get = {"my_points", "auctions_page", "coordinator_auctions_overview", "coordinator_auctions",
                      "auction-list", "auction-detail", "bid-list", "bid-detail", "priority-points",
                      "coordinator_points_overview", "coordinator_points", "coordinator_points_account"}
    covered_by_post = {"bid_submit", "bid_withdraw", "coordinator_auction_create", "coordinator_auction_close",
                       "coordinator_auction_settle", "coordinator_auction_cancel", "auction-close", "auction-settle",
                       "auction-cancel", "bid-change", "bid-withdraw", "vickrey-auction", "priority-points-grant",
                       "coordinator_points_grant"}
    assert {"auctions_page", "bid-detail", "vickrey-auction", "coordinator_auction_settle"} <= auctions_route_names()
    assert auctions_route_names() <= covered_by_get | covered_by_post, auctions_route_names() - covered_by_get - covered_by_post


def seen_by(client, urls: list[str]) -> str:
    texts = []
    for url in urls:
        response = client.get(url, follow=True)
        assert response.status_code < 500, url
        texts.append(response.content.decode())
    return "\n".join(texts)


def viewers(request, superuser):
    return {"coordinator": request.getfixturevalue("coordinator"), "root": superuser,
            "alice": request.getfixturevalue("faculty").user, "bob": request.getfixturevalue("other_faculty").user,
            "carol": request.getfixturevalue("carol").user, "dave": request.getfixturevalue("dave").user,
            "anonymous": None}


def test_before_settlement_nobody_sees_another_bidders_amount(client, request, sealed, superuser):
    auction, bids = sealed
    own = {"alice": ALICE, "bob": BOB, "carol": CAROL}
    for who, user in viewers(request, superuser).items():
        client.logout()
        if user is not None:
            client.force_login(user)
        text = seen_by(client, routes(auction, bids))
        for bidder, amount in own.items():
            if bidder == who:
                assert shows(text, amount), f"{who} should see their own bid"
            else:
                assert not shows(text, amount), f"{who} sees {bidder}'s bid"


def test_writes_and_their_errors_tell_nobody_another_bid(client, request, sealed, year, other_faculty):
    auction, bids = sealed
    client.force_login(other_faculty.user)
    answers = [
        client.post(f"/auctions/{auction.pk}/bid/", {"amount": str(FUNDS + 1)}),  # above his available points
        client.post(f"/auctions/{auction.pk}/bid/", {"amount": "12"}, HTTP_HX_REQUEST="true"),
        client.post("/api/v1/bids/", {"auction": auction.pk, "amount": 1}, content_type="application/json"),
        client.post(f"/api/v1/bids/{bids['alice'].pk}/change", {"amount": 1}, content_type="application/json"),
        client.post(f"/api/v1/bids/{bids['alice'].pk}/withdraw"),
        client.post(f"/auctions/{auction.pk}/withdraw/"),
    ]
    text = "\n".join(a.content.decode() for a in answers)
    assert not shows(text, ALICE) and not shows(text, CAROL)


def test_after_settlement_everyone_sees_the_winner_and_price_and_no_losing_bid(client, request, sealed, superuser,
                                                                              coordinator):
    auction, bids = sealed
    auction_close(auction=auction, actor=coordinator)
    coordinator_view = client
    coordinator_view.force_login(coordinator)
    settle_answer = coordinator_view.post(f"/api/v1/auctions/{auction.pk}/settle").content.decode()
    assert not shows(settle_answer, CAROL)
    settled = auction_settle(auction=auction, actor=coordinator)
    assert (settled.winner.user.username, settled.price) == ("alice", BOB)
    for who, user in viewers(request, superuser).items():
        client.logout()
        if user is not None:
            client.force_login(user)
        text = seen_by(client, routes(auction, bids))
        if who != "anonymous":
            assert "Dr. Alice Owner" in text and shows(text, BOB), who  # the winner and the price
        assert shows(text, CAROL) == (who == "carol"), f"{who} and carol's losing bid"


def test_the_ledgers_own_pages_do_not_reveal_open_bids_to_coordinators(client, sealed, superuser, faculty):
    """The points API and the ledger's admin (lists and record pages) show a coordinator, even a superuser, neither
    the points held by open bids nor what is left available."""
    client.force_login(superuser)
    holds = PriorityPointHold.objects.filter(status=PriorityPointHold.Status.PENDING)
    accounts = {h.account_id for h in holds}
    assert holds.exists()
    text = seen_by(client, [f"/api/v1/priority-points/{faculty.external_id}", "/admin/auctions/prioritypointhold/",
                            "/admin/auctions/prioritypointaccount/"]
                   + [f"/admin/auctions/prioritypointhold/{h.pk}/change/" for h in holds]
                   + [f"/admin/auctions/prioritypointaccount/{pk}/change/" for pk in accounts])
    assert not shows(text, ALICE) and not shows(text, FUNDS - ALICE)
    assert "sealed" in text
