"""A faculty member records a conference on the preference page (HTMX), is refused a period ending before it starts,
and deletes it; a coordinator previews new utility weights."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from preferences.models import TimeOff
from tests.browser.session import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_faculty_record_and_delete_time_off_on_the_preference_page(page, live_server, faculty, year, screenshot_dir):
    log_in(page, live_server, faculty.user.username, lands_on="/preferences/")
    section = page.locator("#time-off")
    section.locator("input[name=start]").fill("2026-07-24")
    section.locator("input[name=end]").fill("2026-07-21")
    section.locator("button", has_text="Add time off").click()
    expect(page.locator("#time-off .field-error")).to_contain_text("before the first day")
    assert not TimeOff.objects.exists()
    page.screenshot(path=str(screenshot_dir / "time-off-refused.png"), full_page=True)

    section = page.locator("#time-off")
    section.locator("input[name=start]").fill("2026-07-22")
    section.locator("input[name=end]").fill("2026-07-24")
    section.locator("select[name=kind]").select_option("conference")
    section.locator("input[name=note]").fill("Society meeting")
    section.locator("button", has_text="Add time off").click()
    expect(page.locator("#time-off .history")).to_contain_text("Conference")
    assert TimeOff.objects.get().note == "Society meeting"
    page.locator("#time-off").screenshot(path=str(screenshot_dir / "time-off-added.png"))

    page.locator("#time-off button", has_text="Delete").click()
    expect(page.locator("#time-off")).to_contain_text("No time off recorded")
    assert not TimeOff.objects.exists()


def test_a_coordinator_previews_utility_weights(page, live_server, coordinator, faculty, year, screenshot_dir):
    log_in(page, live_server, coordinator.username, lands_on="/coordinator/")
    page.goto(f"{live_server.url}/coordinator/years/{year.label}/utility/")
    page.fill("input[name=preference]", "50")
    page.click("button[value=preview]")
    expect(page.locator("#weights-form")).to_contain_text("add up to 100 %")
    page.fill("input[name=workload_balance]", "30")
    page.click("button[value=preview]")
    expect(page.locator(".weights-preview")).to_contain_text("utilities")
    page.screenshot(path=str(screenshot_dir / "utility-weights-preview.png"), full_page=True)
    page.click("button[value=save]")
    page.locator(".messages li").wait_for()
    assert "Saved the utility weights" in page.locator(".messages").inner_text()
