"""A coordinator opens a critical draft's stability report, recomputes it in place, tries to publish and is stopped by
the gate, then ticks force, writes a reason, publishes, and sees the published state with the override recorded."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from allocation.models import Schedule
from stability.models import NashStabilityReport, PublicationRecord
from tests.browser.session import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("few_restarts")]

REASON = "Approved by the programme director: Alice and Bob will swap in the first week."


def test_coordinator_publishes_a_critical_draft_only_with_a_recorded_override(
    page, live_server, coordinator, critical_draft, screenshot_dir,
):
    schedule = critical_draft
    log_in(page, live_server, coordinator.username)
    page.wait_for_url(f"{live_server.url}/coordinator/**")

    # The nav leads to the year's schedules, and from there to the report.
    page.click("header nav >> text=Stability")
    expect(page.locator("h1")).to_contain_text("Stability")
    expect(page.locator("table.schedules")).to_contain_text("Critical draft")
    page.click("table.schedules >> text=Critical draft")
    page.wait_for_url(f"{live_server.url}/coordinator/schedules/{schedule.pk}/stability/")
    expect(page.locator(".summary-card .level")).to_have_text("Critical")
    expect(page.locator(".summary-card")).to_contain_text("Nash distance 0.667")
    expect(page.locator(".chart.gauge svg[role=img]")).to_be_visible()
    expect(page.locator("table.recommended-swaps button.apply")).to_have_count(1)
    expect(page.locator("table.instabilities tbody tr")).to_have_count(2)
    page.screenshot(path=str(screenshot_dir / "stability-report-critical.png"), full_page=True)

    # Recompute swaps the report in place (HTMX): a new report, same page.
    reports = NashStabilityReport.objects.count()
    stamp = page.locator(".summary-card .computed").inner_text()
    page.click("button.recompute")
    expect(page.locator(".summary-card .computed")).not_to_have_text(stamp)
    expect(page.locator("#stability-report")).to_contain_text("Nash distance 0.667")
    assert page.url.endswith(f"/coordinator/schedules/{schedule.pk}/stability/")
    assert NashStabilityReport.objects.count() == reports + 1

    # Publishing without the override is refused and nothing changes.
    page.click("#publish button[type=submit]")
    expect(page.locator(".gate-refusal[role=alert]")).to_contain_text("Not published: the stability gate refused.")
    assert Schedule.objects.get(pk=schedule.pk).status == Schedule.Status.DRAFT
    page.screenshot(path=str(screenshot_dir / "stability-publish-refused.png"), full_page=True)

    # Ticking force alone is still refused: the reason is required.
    page.check("#id_force")
    page.click("#publish button[type=submit]")
    expect(page.locator("#publish .field.has-error")).to_contain_text("needs a written reason")
    assert not PublicationRecord.objects.exists()

    # Force and a reason publish; the override is on the page and in the record.
    page.check("#id_force")
    page.fill("#id_reason", REASON)
    page.screenshot(path=str(screenshot_dir / "stability-publish-override.png"), full_page=True)
    page.click("#publish button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("is published for")
    expect(page.locator("h1 .badge")).to_have_text("Published")
    expect(page.locator("#publication .override")).to_contain_text("Published over a CRITICAL report (override)")
    expect(page.locator("#publication .override-reason")).to_have_text(REASON)
    expect(page.locator("#publish")).to_have_count(0)
    page.screenshot(path=str(screenshot_dir / "stability-published-override.png"), full_page=True)

    record = PublicationRecord.objects.get(schedule=schedule)
    assert record.forced and record.override_reason == REASON and record.channel == "page"
    assert record.published_by == coordinator
    assert Schedule.objects.get(pk=schedule.pk).status == Schedule.Status.PUBLISHED

    # The year's list shows the published schedule with the level the gate saw, forced.
    page.click("text=All schedules of")
    expect(page.locator("table.schedules")).to_contain_text("Published")
    expect(page.locator("table.schedules")).to_contain_text("forced")
    page.screenshot(path=str(screenshot_dir / "stability-year.png"), full_page=True)


def test_the_admin_action_confirms_with_the_report_and_needs_an_override(
    page, live_server, coordinator, critical_draft, screenshot_dir,
):
    coordinator.is_superuser = True
    coordinator.save()
    log_in(page, live_server, coordinator.username)
    page.wait_for_url(f"{live_server.url}/coordinator/**")
    page.goto(f"{live_server.url}/admin/allocation/schedule/")
    page.check(f"input[name=_selected_action][value='{critical_draft.pk}']")
    page.select_option("select[name=action]", "publish_through_stability_gate")
    page.click("button[name=index]")
    expect(page.locator("#content")).to_contain_text("refuses a CRITICAL schedule")
    page.screenshot(path=str(screenshot_dir / "stability-admin-confirm.png"), full_page=True)
    page.click("input[type=submit][value='Publish over the gate']")
    expect(page.locator("#content .error-box[role=alert]")).to_contain_text("Not published")
    page.check("#id_force")
    page.fill("#id_reason", REASON)
    page.click("input[type=submit][value='Publish over the gate']")
    expect(page.locator(".messagelist")).to_contain_text("is published for")
    record = PublicationRecord.objects.get()
    assert record.channel == "admin" and record.forced and record.override_reason == REASON
