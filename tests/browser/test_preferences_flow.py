"""A faculty member logs in, states preferences in the browser, sees the live check and the saved version."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from preferences.models import PreferenceSubmission
from tests.browser.session import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]




def test_faculty_submits_ranked_preferences_and_sees_them_saved(page, live_server, faculty, year, screenshot_dir):
    log_in(page, live_server, faculty.user.username)
    page.wait_for_url(f"{live_server.url}/preferences/**")
    assert page.locator("h1").inner_text().startswith("My preferences")
    assert page.locator("tr.holiday").count() == 1

    # A gap first: the live check must complain before anything is saved.
    page.fill("input[name=w_1]", "2")
    expect(page.locator("#validation.invalid")).to_contain_text("missing 1")
    assert not PreferenceSubmission.objects.exists()

    page.fill("input[name=w_4]", "1")
    page.check("input[name=block_6]")
    expect(page.locator("#validation.valid")).to_contain_text("2 weeks ranked, 1 blocked")
    page.screenshot(path=str(screenshot_dir / "my-preferences-editing.png"), full_page=True)

    page.click("text=Save preferences")
    page.locator(".messages li").wait_for()
    assert "Saved version 1" in page.locator(".messages").inner_text()
    assert page.input_value("input[name=w_4]") == "1"
    assert page.is_checked("input[name=block_6]")
    assert "Version 1" in page.locator(".history").inner_text()
    page.screenshot(path=str(screenshot_dir / "my-preferences-saved.png"), full_page=True)

    saved = PreferenceSubmission.objects.get(faculty=faculty)
    assert saved.entries == [{"week": 1, "rank": 2}, {"week": 4, "rank": 1}]
    assert saved.blocked_weeks == [6]
    assert saved.collection_method == "web_form" and "Chrome" in saved.user_agent


def test_switching_to_values_keeps_the_page_working(page, live_server, faculty, year):
    log_in(page, live_server, faculty.user.username)
    page.click("text=Values 0–100")
    expect(page.locator("table.weeks thead")).to_contain_text("Value 0–100")
    assert page.url.endswith("?type=cardinal")
    # The swapped-in form shows before htmx has processed it (its settle step, 20 ms later, or more on a busy
    # machine); typing before that fires no live validation. Wait until nothing is settling.
    page.wait_for_load_state("load")
    page.wait_for_function("() => !document.querySelector('.htmx-swapping, .htmx-settling')")
    page.fill("input[name=w_0]", "150")
    expect(page.locator("#validation.invalid")).to_contain_text("outside 0–100")
    page.fill("input[name=w_0]", "90")
    expect(page.locator("#validation.valid")).to_contain_text("1 week valued")
    page.click("text=Save preferences")
    page.locator(".messages li").wait_for()
    assert PreferenceSubmission.objects.get(faculty=faculty).entries == [{"week": 0, "value": 90}]


def test_the_preference_page_works_without_javascript(browser, live_server, faculty, year):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        log_in(page, live_server, faculty.user.username)
        page.click("text=Accept / reject")  # a plain link without htmx
        assert page.url.endswith("?type=binary")
        page.select_option("select[name=w_2]", "accept")
        page.select_option("select[name=w_3]", "reject")
        page.click("text=Save preferences")
        assert "Saved version 1" in page.locator(".messages").inner_text()
        saved = PreferenceSubmission.objects.get(faculty=faculty)
        assert saved.preference_type == "binary"
        assert saved.entries == [{"week": 2, "accept": True}, {"week": 3, "accept": False}]
    finally:
        context.close()


def test_fixing_an_error_clears_it_from_the_form_and_a_short_load_is_not_looks_good(page, live_server, faculty, year,
                                                                                    screenshot_dir):
    log_in(page, live_server, faculty.user.username)
    page.wait_for_url(f"{live_server.url}/preferences/**")
    page.fill("input[name=w_0]", "1")
    page.check("input[name=block_0]")
    expect(page.locator("#validation.invalid")).to_contain_text("Mon 6 Jul is both blocked and ranked")
    page.click("text=Save preferences")  # a full POST: the page comes back with the error above the weeks
    expect(page.locator("#form-errors .error-box")).to_contain_text("Mon 6 Jul is both blocked and ranked; choose one.")
    assert "ordinal_rankings" not in page.content()

    page.uncheck("input[name=block_0]")  # fixed: the live check empties the form's error list too
    expect(page.locator("#validation")).not_to_have_class("validation invalid")
    expect(page.locator("#form-errors .error-box")).to_have_count(0)

    for k in (2, 4, 5, 6, 7):  # Alice serves 4 of the 8 weeks; 3 stay open
        page.check(f"input[name=block_{k}]")
    expect(page.locator("#validation.warning")).to_contain_text("Valid, but you cannot reach your load")
    expect(page.locator("#validation")).not_to_contain_text("Looks good")
    page.screenshot(path=str(screenshot_dir / "my-preferences-short-of-load.png"), full_page=True)
    assert not PreferenceSubmission.objects.exists()
