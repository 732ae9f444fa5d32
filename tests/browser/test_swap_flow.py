"""A faculty member on a published schedule opens "Swap suggestions", requests the best one; the colleague confirms
in their own browser, and the published schedule shows the new week."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from stability.models import ScheduleChange, SwapRequest
from tests.browser.session import log_in
from tests.stability.helpers import slot, weeks_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_faculty_requests_a_suggested_swap_and_the_colleague_confirms_it(
    page, browser, live_server, market, faculty, other_faculty, screenshot_dir,
):
    log_in(page, live_server, faculty.user.username, lands_on="/preferences/")
    page.click("nav >> text=Swaps")
    expect(page.locator("h1")).to_contain_text("Swap suggestions")
    rows = page.locator("table.suggestions tbody tr")
    expect(rows).to_have_count(3)
    best = rows.first
    expect(best).to_contain_text(other_faculty.display_name)
    expect(best).to_contain_text("Week 2")
    page.screenshot(path=str(screenshot_dir / "swap-suggestions.png"), full_page=True)

    best.locator("button:has-text('Request this swap')").click()
    expect(best.locator(".requested")).to_contain_text(f"Waiting for {other_faculty.display_name} to confirm")
    assert page.url.endswith("/swaps/"), "the request answers in the row; the page stays"
    swap = SwapRequest.objects.get()
    assert swap.status == SwapRequest.Status.MATCHED and swap.requester_confirmed
    page.screenshot(path=str(screenshot_dir / "swap-suggestion-requested.png"), full_page=True)

    # Bob, in his own browser, finds the proposal waiting for him and confirms it.
    bob_context = browser.new_context(viewport={"width": 1280, "height": 900})
    bob = bob_context.new_page()
    bob.set_default_timeout(15_000)
    try:
        log_in(bob, live_server, other_faculty.user.username, lands_on="/preferences/")
        bob.click("nav >> text=Swaps")
        bob.click("text=My swap requests")
        proposal = bob.locator(".proposals li.request.awaiting")
        expect(proposal).to_contain_text(faculty.display_name)
        expect(proposal).to_contain_text("Week 1")
        bob.screenshot(path=str(screenshot_dir / "swap-proposal-for-counterparty.png"), full_page=True)
        proposal.locator("button:has-text('Confirm swap')").click()
        expect(bob.locator(".proposals")).to_contain_text("Executed")
    finally:
        bob_context.close()

    swap.refresh_from_db()
    assert swap.status == SwapRequest.Status.EXECUTED
    assert ScheduleChange.objects.filter(pk=swap.change_id, kind=ScheduleChange.Kind.SWAP).exists()
    assert weeks_of(market, faculty) == [1, 4]

    page.click("nav >> text=My schedule")
    weeks = page.locator("table.my-weeks tbody tr:not(.why-row)")
    expect(weeks).to_have_count(2)
    expect(weeks.first).to_contain_text("Mon 13 Jul")
    page.click("nav >> text=Swaps")
    page.click("text=My swap requests")
    expect(page.locator("#request-lists")).to_contain_text("Executed")
    page.screenshot(path=str(screenshot_dir / "swap-my-requests.png"), full_page=True)


def test_coordinator_clears_a_trading_cycle_from_the_market_page(
    page, live_server, cycle_market, coordinator, faculty, other_faculty, carol, screenshot_dir,
):
    from stability.market.requests import swap_request_create

    weeks = {w.index: w for w in cycle_market.year.weeks.all()}
    for person, give, want in ((faculty, 1, 2), (other_faculty, 2, 3), (carol, 3, 1)):
        swap_request_create(actor=person.user, give=slot(cycle_market, person, give), wanted_weeks=[weeks[want]],
                            strategy="targeted", note="")
    log_in(page, live_server, coordinator.username, lands_on="/coordinator/")
    page.click("nav >> text=Swap market")
    expect(page.locator("h1")).to_contain_text("Swap market")
    expect(page.locator("#market-requests")).to_contain_text("3 open")
    page.click("button:has-text('Clear trading cycles')")
    expect(page.locator("#market-requests")).to_contain_text("cycle")
    expect(page.locator("#market-requests .badge.status-matched")).to_have_count(3)
    assert set(SwapRequest.objects.values_list("status", flat=True)) == {SwapRequest.Status.MATCHED}
    page.screenshot(path=str(screenshot_dir / "swap-market-coordinator.png"), full_page=True)
