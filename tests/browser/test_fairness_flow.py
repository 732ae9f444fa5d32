"""The coordinator opens the fairness page of the demo year from its year page, computes the Shapley values (Monte
Carlo: 40 faculty) and sees the chart, the table and the recommendations; a faculty member sees their own fair share.
Both at desktop and phone width, screenshots of each in the screenshot dir.

No worker here (the test settings): the computation runs eagerly when the compute request commits.
"""

from __future__ import annotations

import pytest
from django.db import models
from playwright.sync_api import expect

from allocation.services.runs import allocation_run_execute, allocation_run_start
from fairness.models import ShapleyComputation
from preferences.demo import demo_year_create
from preferences.models import AcademicYear, Faculty
from tests.browser.session import log_in
from tests.factories import PASSWORD
from tests.fairness.conftest import compute

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
NO_SIDEWAYS_SCROLL = "() => document.documentElement.scrollWidth <= window.innerWidth"
LABEL = 2031


@pytest.fixture
def demo(coordinator):
    """The demo year (40 faculty, 52 weeks, 3 rotations) with a random-serial-dictatorship draft to compare with."""
    demo_year_create(label=LABEL, seed=7)
    year = AcademicYear.objects.get(label=LABEL)
    run, _ = allocation_run_start(year=year, mechanism="rsd", options={}, seed=11, actor=coordinator, enqueue=False)
    allocation_run_execute(run_id=run.pk)
    return year


def test_the_coordinator_computes_the_demo_years_fairness_and_sees_the_chart(page, live_server, coordinator, demo,
                                                                              screenshot_dir):
    log_in(page, live_server, coordinator.username)
    page.goto(f"{live_server.url}/coordinator/years/{LABEL}/")
    page.click("text=Fairness by Shapley value")
    expect(page.locator("h1")).to_contain_text("Fairness")
    expect(page.locator("#fairness-live")).to_contain_text(f"No Shapley values for {LABEL}–")
    page.screenshot(path=str(screenshot_dir / "fairness-empty.png"), full_page=True)

    page.select_option("select[name=method]", "monte_carlo")
    page.fill("input[name=samples]", "1000")
    page.fill("input[name=seed]", "7")
    page.click("button:has-text('Compute')")
    expect(page.locator(".messages")).to_contain_text("Computed the Shapley values", timeout=60_000)
    computation = ShapleyComputation.objects.get()
    assert (computation.status, computation.method, computation.samples) == ("completed", "monte_carlo", 1000)

    chart = page.locator(".fairness-chart-scroll svg")
    expect(chart).to_be_visible()
    assert chart.locator("g.fair-row").count() == 40
    # sampled: an interval on every row whose marginal contributions varied between the orders drawn
    varied = computation.values.filter(ci_high__gt=models.F("ci_low")).count()
    assert chart.locator("line.interval").count() == varied
    expect(page.locator("table.fairness-table tbody tr")).to_have_count(40)
    expect(page.locator(".score-definition")).to_contain_text("total-variation distance")
    expect(page.locator("text=Rebalancing recommendations")).to_be_visible()
    assert page.locator("#fairness-live").get_attribute("hx-trigger") is None  # done: not polling
    page.screenshot(path=str(screenshot_dir / "fairness-year.png"), full_page=True)
    page.locator(".fairness-chart-scroll").screenshot(path=str(screenshot_dir / "fairness-chart.png"))

    page.click("text=Use as target loads…")
    expect(page.locator("table.targets-preview tbody tr")).to_have_count(40)
    page.click("text=Apply these target loads")  # no reason: refused, named on the field
    expect(page.locator(".field-error")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "fairness-targets.png"), full_page=True)

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/coordinator/years/{LABEL}/fairness/")
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "the fairness page scrolls sideways on a phone"
    page.screenshot(path=str(screenshot_dir / "fairness-year-phone.png"), full_page=True)
    page.locator(".fairness-stats").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "fairness-year-phone-stats.png"))
    page.locator("table.fairness-table").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshot_dir / "fairness-year-phone-table.png"))


def test_a_faculty_member_sees_their_fair_share(page, live_server, coordinator, demo, screenshot_dir):
    compute(demo, method="monte_carlo", samples=1000, seed=7)
    person = Faculty.objects.filter(user__isnull=False).order_by("external_id").first()
    person.user.set_password(PASSWORD)  # the demo's own password is hashed at full strength: slow to check
    person.user.save()
    log_in(page, live_server, person.user.username, lands_on="/preferences/")
    page.click("nav >> text=My fair share")
    expect(page.locator("h1")).to_contain_text("My fair share")
    expect(page.locator(".meaning")).to_contain_text("Your fair share is")
    expect(page.locator(".fair-share-stats .stat")).to_have_count(3)
    others = Faculty.objects.exclude(pk=person.pk).values_list("display_name", flat=True)
    text = page.locator("main").inner_text()
    assert not [name for name in others if name in text]  # nobody else's name
    page.screenshot(path=str(screenshot_dir / "my-fair-share.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate(NO_SIDEWAYS_SCROLL), "My fair share scrolls sideways on a phone"
    page.screenshot(path=str(screenshot_dir / "my-fair-share-phone.png"), full_page=True)
