"""A coordinator approves a swap: with the year's swaps needing approval, a swap both parties confirmed waits in the
queue with its stability change; a refusal without a reason is refused in place; "Approve" executes it, both
parties are e-mailed, and the faculty member's requests show it executed."""

from __future__ import annotations

import pytest
from django.core import mail
from playwright.sync_api import expect

from stability.market.approval import swap_approval_setting_update
from stability.market.requests import swap_request_confirm, swap_request_post
from stability.models import ScheduleChange, SwapRequest
from tests.browser.session import log_in
from tests.stability.helpers import slot, weeks_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_coordinator_approves_a_confirmed_swap_from_the_queue(
    page, browser, live_server, market, faculty, other_faculty, coordinator, screenshot_dir,
):
    swap_approval_setting_update(year=market.year, required=True, actor=coordinator)
    swap = swap_request_post(actor=faculty.user, give=slot(market, faculty, 0), take=slot(market, other_faculty, 1))
    swap_request_confirm(swap=swap, actor=other_faculty.user)
    assert SwapRequest.objects.get(pk=swap.pk).status == SwapRequest.Status.AWAITING_APPROVAL
    mail.outbox.clear()

    log_in(page, live_server, coordinator.username, lands_on="/coordinator/")
    page.click("nav >> text=Swap approvals")
    expect(page.locator("h1")).to_contain_text("Swap approvals")
    card = page.locator(f"#approval-{swap.pk}")
    expect(card).to_contain_text("Dr. Alice Owner gives Week 1")
    expect(card).to_contain_text("Dr. Bob Outsider gives Week 2")
    expect(card.locator("dl.stability-change")).to_contain_text("80% →")
    expect(card.locator("dl.stability-change")).to_contain_text("(more stable)")
    page.screenshot(path=str(screenshot_dir / "swap-approval-queue.png"), full_page=True)

    card.locator("button:has-text('Refuse')").click()
    expect(page.locator(f"#approval-{swap.pk} .field-error")).to_contain_text("Say why")
    assert SwapRequest.objects.get(pk=swap.pk).status == SwapRequest.Status.AWAITING_APPROVAL
    page.screenshot(path=str(screenshot_dir / "swap-approval-refuse-needs-reason.png"), full_page=True)

    page.locator(f"#approval-{swap.pk} button:has-text('Approve')").click()
    expect(page.locator("#approval-queue .flash")).to_contain_text("Approved")
    expect(page.locator("#approval-queue")).to_contain_text("No swaps are waiting for approval.")
    page.screenshot(path=str(screenshot_dir / "swap-approval-approved.png"), full_page=True)

    swap.refresh_from_db()
    assert swap.status == SwapRequest.Status.EXECUTED and swap.reviewed_by == coordinator
    assert ScheduleChange.objects.filter(pk=swap.change_id, kind=ScheduleChange.Kind.SWAP).exists()
    assert weeks_of(market, faculty) == [1, 4] and weeks_of(market, other_faculty) == [0]
    approved = [m for m in mail.outbox if m.subject == "Your swap was approved"]
    assert sorted(m.to[0] for m in approved) == ["alice@example.org", "bob@example.org"]

    alice = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    try:
        log_in(alice, live_server, faculty.user.username, lands_on="/preferences/")
        alice.goto(f"{live_server.url}/swaps/requests/")
        expect(alice.locator("#request-lists")).to_contain_text("Executed")
        alice.screenshot(path=str(screenshot_dir / "swap-approval-faculty-requests.png"), full_page=True)
        alice.click("nav >> text=Settings")
        expect(alice.locator("h1")).to_contain_text("Notification settings")
        alice.locator("label:has-text('an auction you bid in settled') input").uncheck()
        alice.click("button:has-text('Save settings')")
        expect(alice.locator("#notification-settings .flash")).to_contain_text("Saved")
        alice.screenshot(path=str(screenshot_dir / "notification-settings.png"), full_page=True)
    finally:
        alice.context.close()
