"""A faculty member states preferences and watches their chances page update itself after the debounced
recomputation; the coordinator reads the whole year's chances. Both pages at desktop and phone width, screenshots
of each in the screenshot dir.

No worker and no timer thread here (the test settings): the polled partial runs the recomputation once it is due,
as `chances_catch_up` does for the embedded test mode.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from allocation.models import ChanceMatrix
from allocation.services.chances import chances_refresh
from tests.allocation.helpers import submit
from tests.browser.session import log_in
from tests.factories import FacultyFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"
BEING_RECOMPUTED = "Your chances are being recomputed after recent changes"


@pytest.fixture
def colleagues(year, rotations, other_faculty):
    """Bob and four more colleagues who have stated preferences, and the chances computed from them."""
    people = [other_faculty] + [
        FacultyFactory(user=UserFactory(username=name.lower()), external_id=f"C-{name}", display_name=f"Dr. {name}",
                       rotations=rotations,
                       target_load=2)
        for name in ("Carol", "Dave", "Erin", "Frank")
    ]
    orders = [[0, 1, 4], [0, 2, 5, 6], [1, 0, 7], [4, 0, 1, 2], [6, 7, 0]]
    for person, order in zip(people, orders, strict=True):
        submit(person, year, order, blocked=[3] if person.display_name.endswith("Erin") else [])
    chances_refresh(year=year)
    return people


@pytest.fixture
def quick_chances(settings):
    settings.GTSCHED_CHANCES = {"draws": 2000, "chunks": 2, "debounce_s": 2, "seed": 7}


def test_a_faculty_member_submits_and_sees_their_chances_update(page, live_server, faculty, year, quick_chances,
                                                               colleagues, screenshot_dir):
    log_in(page, live_server, faculty.user.username, lands_on="/preferences/")
    page.click("nav >> text=My chances")
    expect(page.locator(".no-submission")).to_contain_text("You have not stated your preferences")
    page.click(".no-submission >> text=State my preferences")

    page.wait_for_url(f"{live_server.url}/preferences/**")
    page.fill("input[name=w_0]", "1")
    page.fill("input[name=w_1]", "2")
    page.fill("input[name=w_4]", "3")
    page.check("input[name=block_3]")
    expect(page.locator("#validation.valid")).to_be_visible()
    page.click("text=Save preferences")
    page.locator(".messages li").wait_for()
    page.click("text=See my chances of each week")

    # Saved a moment ago: the recomputation waits out its 2 s debounce, and the page says so and polls.
    live = page.locator("#chances-live")
    expect(live).to_contain_text(BEING_RECOMPUTED)
    page.screenshot(path=str(screenshot_dir / "my-chances-updating.png"), full_page=True)
    expect(live).not_to_contain_text(BEING_RECOMPUTED, timeout=20_000)
    rows = page.locator("table.chances tbody tr")
    expect(rows).to_have_count(3)
    assert [rows.nth(k).locator(".week-cell").inner_text() for k in range(3)] == [
        "Mon 6 Jul 2026", "Mon 13 Jul 2026", "Mon 3 Aug 2026"]
    assert "from 2,000 lotteries" in page.locator(".computed").inner_text()
    matrix = ChanceMatrix.objects.get(year=year, mechanism="rsd")
    assert faculty.pk in matrix.faculty_ids and not matrix.stale
    # the live region stopped polling: it was swapped for one without a trigger
    assert live.get_attribute("hx-trigger") is None
    page.screenshot(path=str(screenshot_dir / "my-chances.png"), full_page=True)

    page.click(".chance-tabs >> text=Probabilistic serial")
    expect(page.locator(".computed")).to_contain_text("exact, no lotteries drawn")

    page.set_viewport_size(PHONE)
    page.click(".chance-tabs >> text=Random serial dictatorship")
    expect(page.locator(".computed")).to_contain_text("lotteries")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the chances page scrolls sideways on a phone"
    page.screenshot(path=str(screenshot_dir / "my-chances-phone.png"), full_page=True)


def test_the_coordinator_reads_the_years_chances_and_recomputes(page, live_server, coordinator, year, quick_chances,
                                                                colleagues, screenshot_dir):
    log_in(page, live_server, coordinator.username)
    page.goto(f"{live_server.url}/coordinator/years/{year.label}/allocation/")
    page.click("text=Chances before the draw")
    expect(page.locator("h1")).to_contain_text("Chances")
    heatmap = page.locator(".heatmap-scroll svg")
    expect(heatmap).to_be_visible()
    assert heatmap.locator("rect.cell").count() > 0
    expect(page.locator("table.chance-compare tbody tr")).to_have_count(3)
    expect(page.locator("table.contested tbody tr").first).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "year-chances.png"), full_page=True)

    before = ChanceMatrix.objects.get(year=year, mechanism="rsd").computed_at
    page.click("text=Recompute now")
    expect(page.locator(".messages")).to_contain_text("Recomputed the chances")
    assert ChanceMatrix.objects.get(year=year, mechanism="rsd").computed_at > before

    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the coordinator chances page scrolls sideways on a phone"
    page.screenshot(path=str(screenshot_dir / "year-chances-phone.png"), full_page=True)
