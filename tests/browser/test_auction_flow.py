"""A faculty member bids in a sealed auction, the coordinator closes and settles it, the winner sees the week in
their schedule and the payment in their ledger, and a loser sees the outcome and the price but not the other bids.
Screenshots of each page in the screenshot dir."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from auctions.services import bid_place
from tests.auctions.auction_helpers import grant, open_auction
from tests.browser.session import log_in
from tests.stability.helpers import publish

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"
ALICE_BID, BOB_BID, CAROL_BID = 17, 11, 6


@pytest.fixture
def auction(year, faculty, other_faculty, carol, coordinator):
    publish(year, [(other_faculty, 1, "inpatient"), (carol, 0, "inpatient")])
    for person in (faculty, other_faculty, carol):
        grant(person, year, 25, coordinator)
    auction = open_auction(year, week=4, reserve=2, actor=coordinator)
    bid_place(auction=auction, faculty=other_faculty, amount=BOB_BID)
    bid_place(auction=auction, faculty=carol, amount=CAROL_BID)
    return auction


def as_user(browser, live_server, username: str, viewport=None):
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    log_in(page, live_server, username)
    return context, page


def test_a_bid_settled_by_the_coordinator_gives_the_winner_the_week_and_the_loser_only_the_price(
        browser, live_server, auction, screenshot_dir):
    context, page = as_user(browser, live_server, "alice")
    page.goto(f"{live_server.url}/auctions/")
    card = page.locator(f"#auction-{auction.pk}")
    expect(card).to_contain_text("wins and pays the second-highest bid")
    card.locator("input[name=amount]").fill("30")  # more than her 25 points: refused beside the field
    card.locator("button[type=submit]").first.click()
    expect(page.locator(f"#auction-{auction.pk} .field-error")).to_contain_text("available")
    page.locator(f"#auction-{auction.pk} input[name=amount]").fill("12")
    page.locator(f"#auction-{auction.pk} button.primary").click()
    expect(page.locator(f"#auction-{auction.pk} .your-bid")).to_contain_text("12 points")
    page.locator(f"#auction-{auction.pk} input[name=amount]").fill(str(ALICE_BID))
    page.locator(f"#auction-{auction.pk} button.primary").click()
    expect(page.locator(f"#auction-{auction.pk} .your-bid")).to_contain_text(f"{ALICE_BID} points")
    body = page.content()
    assert f">{BOB_BID} " not in body and f"{BOB_BID} points" not in body
    page.screenshot(path=str(screenshot_dir / "auctions-bid.png"), full_page=True)
    page.goto(f"{live_server.url}/points/")
    expect(page.locator(".points-stats")).to_contain_text(str(25 - ALICE_BID))
    context.close()

    context, page = as_user(browser, live_server, "coordinator")
    page.goto(f"{live_server.url}/coordinator/years/2026/auctions/")
    expect(page.locator("#auction-list")).to_contain_text("sealed")
    for amount in (ALICE_BID, BOB_BID, CAROL_BID):
        assert f"{amount} pts" not in page.inner_text("main")
    page.screenshot(path=str(screenshot_dir / "coordinator-auctions-open.png"), full_page=True)
    page.locator("#auction-list button", has_text="Close").click()
    page.locator("#auction-list button", has_text="Settle").click()
    expect(page.locator("#auction-list")).to_contain_text(f"Dr. Alice Owner · {BOB_BID} pts")
    page.screenshot(path=str(screenshot_dir / "coordinator-auctions-settled.png"), full_page=True)
    context.close()

    context, page = as_user(browser, live_server, "alice")
    page.goto(f"{live_server.url}/schedule/")
    expect(page.locator("main")).to_contain_text("3 Aug")  # week 5, the week she won
    page.screenshot(path=str(screenshot_dir / "auction-winner-schedule.png"), full_page=True)
    page.goto(f"{live_server.url}/points/")
    expect(page.locator(".ledger")).to_contain_text(f"-{BOB_BID}")
    expect(page.locator(".ledger")).to_contain_text(f"Auction #{auction.pk}")
    page.screenshot(path=str(screenshot_dir / "auction-winner-points.png"), full_page=True)
    context.close()

    context, page = as_user(browser, live_server, "carol", viewport=PHONE)
    page.goto(f"{live_server.url}/auctions/")
    outcomes = page.locator(".outcomes")
    expect(outcomes).to_contain_text("Dr. Alice Owner")
    expect(outcomes).to_contain_text(str(BOB_BID))  # the price: the runner-up's bid
    expect(outcomes).to_contain_text(f"{CAROL_BID} · lost")  # her own bid
    assert str(ALICE_BID) not in page.inner_text("main")
    assert page.evaluate(NO_SIDEWAYS_SCROLL)
    page.screenshot(path=str(screenshot_dir / "auction-loser-phone.png"), full_page=True)
    context.close()
