"""A faculty member opens their calendar feed page, copies the link with the Copy button, and the link (fetched
like a calendar client would, without a login) is their published weeks; making a new link kills the old one."""

from __future__ import annotations

import urllib.error
import urllib.request

import icalendar
import pytest
from playwright.sync_api import expect

from allocation.models import Assignment
from tests.browser.session import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (the live test server)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_faculty_copies_their_calendar_link_and_it_serves_their_weeks(browser, live_server, market, faculty,
                                                                      screenshot_dir):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        log_in(page, live_server, faculty.user.username, lands_on="/preferences/")
        page.click("nav >> text=My schedule")
        page.click("text=Add my weeks to my calendar")
        expect(page.locator("h1")).to_contain_text("Calendar feed")
        copy = page.locator("button[data-copy=feed-url]")
        expect(copy).to_be_visible()
        page.screenshot(path=str(screenshot_dir / "calendar-feed.png"), full_page=True)
        copy.click()
        expect(copy).to_have_text("Copied")
        expect(page.locator("#feed-url-status")).to_have_text("Copied to the clipboard.")
        url = page.evaluate("navigator.clipboard.readText()")
        assert url == page.locator("#feed-url").input_value()
        assert url.startswith(live_server.url) and url.endswith(".ics")
        page.screenshot(path=str(screenshot_dir / "calendar-feed-copied.png"), full_page=True)

        status, body = fetch(url)
        assert status == 200
        events = icalendar.Calendar.from_ical(body).walk("VEVENT")
        mine = Assignment.objects.filter(schedule=market, faculty=faculty).select_related("week", "rotation")
        assert sorted((e.decoded("DTSTART"), str(e["SUMMARY"]).split(" · ")[0]) for e in events) == \
            sorted((a.week.start_date, a.rotation.name) for a in mine)

        page.once("dialog", lambda dialog: dialog.accept())
        page.click("button:has-text('Make a new link')")
        expect(page.locator("#feed-link .flash")).to_contain_text("the old one has stopped working")
        new_url = page.locator("#feed-url").input_value()
        assert new_url != url and new_url.endswith(".ics")
        page.screenshot(path=str(screenshot_dir / "calendar-feed-regenerated.png"), full_page=True)
        assert fetch(url)[0] == 404
        assert fetch(new_url)[0] == 200
    finally:
        context.close()


def test_the_calendar_page_works_without_javascript(browser, live_server, market, faculty, screenshot_dir):
    context = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, faculty.user.username, lands_on="/preferences/")
        page.goto(f"{live_server.url}/calendar/")
        expect(page.locator("button[data-copy=feed-url]")).to_be_hidden()
        old = page.locator("#feed-url").input_value()
        page.click("button:has-text('Make a new link')")
        page.wait_for_url(f"{live_server.url}/calendar/")
        expect(page.locator(".messages")).to_contain_text("the old one has stopped working")
        assert page.locator("#feed-url").input_value() != old
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(screenshot_dir / "calendar-feed-phone-nojs.png"), full_page=True)
    finally:
        context.close()
