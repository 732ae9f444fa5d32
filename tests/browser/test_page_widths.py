"""Every main page at phone width (390 × 844) and at desktop width: no page wider than the screen, nothing sticking
out of its card, the navigation behind a "Menu" button on a phone. Screenshots of each go to the screenshot dir."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from allocation.models import Schedule
from allocation.services.runs import allocation_run_execute, allocation_run_start
from auctions.services import auction_close, auction_settle, bid_place
from stability.market.approval import swap_approval_setting_update
from stability.market.requests import (
    swap_request_cancel,
    swap_request_confirm,
    swap_request_create,
    swap_request_decline,
    swap_request_post,
)
from tests.auctions.auction_helpers import grant, open_auction
from tests.browser.session import log_in
from tests.factories import FacultyFactory, UserFactory, make_year
from tests.fairness.conftest import compute
from tests.stability.helpers import slot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("few_restarts")]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# Elements that must stay inside their card: a table either fits or scrolls inside its .table-scroll wrapper.
OUTSIDE_THEIR_CARD = """() => {
  const out = [];
  for (const card of document.querySelectorAll('main .card')) {
    const box = card.getBoundingClientRect();
    for (const el of card.querySelectorAll('table, .table-scroll, button, .button, input, select, textarea, ol.lottery li')) {
      const scroller = el.parentElement.closest('.table-scroll');
      if (scroller && card.contains(scroller)) continue;  // scrolls inside its wrapper, which is checked itself
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;  // hidden
      if (r.right > box.right + 0.5 || r.left < box.left - 0.5) {
        out.push(`${el.tagName.toLowerCase()}.${el.className} [${Math.round(r.left)}, ${Math.round(r.right)}] outside `
                 + `${card.querySelector('h2, h1')?.innerText.slice(0, 40) ?? 'a card'} [${Math.round(box.left)}, ${Math.round(box.right)}]`);
      }
    }
  }
  return out;
}"""

# A lottery entry's text stays in its own column, clear of the next column's number.
LOTTERY_OVERLAPS = """() => {
  const items = [...document.querySelectorAll('ol.lottery li')];
  const boxes = items.map(li => { const range = document.createRange(); range.selectNodeContents(li);
                                  return {li: li.getBoundingClientRect(), text: range.getBoundingClientRect(), name: li.innerText}; });
  const out = [];
  for (const b of boxes) {
    if (b.text.right > b.li.right + 0.5) out.push(`${b.name} runs past its column`);
    for (const o of boxes) {
      // the next column's number ("10. ") sits left of its item: keep 2em clear of this item's text
      if (o.li.left > b.li.left + 1 && o.li.left - b.text.right < 32 && o.li.top < b.text.bottom && o.li.bottom > b.text.top)
        out.push(`${b.name} is within the marker of ${o.name}`);
    }
  }
  return out;
}"""


@pytest.fixture
def busy_market(market, rotations, faculty, other_faculty, carol, dave, coordinator):
    """The published 2026 market with requests closed (cancelled, declined), one proposed and one open,
    and a completed random-serial-dictatorship run of a 2028 draft year with a dozen long names (its lottery order)."""
    weeks = {w.index: w for w in market.year.weeks.all()}
    first = swap_request_create(actor=faculty.user, give=slot(market, faculty, 4), wanted_weeks=[weeks[5]],
                                strategy="targeted", note="")
    swap_request_cancel(swap=first, actor=faculty.user)
    proposed = swap_request_post(actor=faculty.user, give=slot(market, faculty, 0), wanted_weeks=None, strategy="any_better")
    if proposed.counterparty_id:
        swap_request_decline(swap=proposed, actor=proposed.counterparty.user)
    else:
        swap_request_cancel(swap=proposed, actor=coordinator)
    # Bob proposes his week 1 for Alice's week 0: Alice sees Confirm / Decline, the coordinator a matched request.
    swap_request_post(actor=other_faculty.user, give=slot(market, other_faculty, 1), wanted_weeks=[weeks[0]],
                      strategy="targeted")
    swap_request_create(actor=dave.user, give=slot(market, dave, 2), wanted_weeks=[weeks[3], weeks[5], weeks[6], weeks[7]],
                        strategy="flexible", note="")
    # Swaps need approval: Carol asks for Alice's clinic week 4, Alice confirms, and it waits in the coordinators' queue.
    swap_approval_setting_update(year=market.year, required=True, actor=coordinator)
    waiting = swap_request_post(actor=carol.user, give=slot(market, carol, 1), take=slot(market, faculty, 4))
    swap_request_confirm(swap=waiting, actor=faculty.user)

    draft = make_year(label=2028, num_weeks=12, rotations=rotations)
    names = ["Dr. Maximiliana Featherstonehaugh-Wolcott", "Dr. Bartholomew Oyelaran-Castellanos", "Dr. Li Wei",
             "Dr. Anneliese van der Westhuizen", "Dr. Guðmundur Sigurðsson", "Dr. Priyanka Raghunathan-Iyer",
             "Dr. Jo Ng", "Dr. Konstantinos Papadopoulos", "Dr. Oluwaseun Adebayo-Williams",
             "Dr. Marie-Hélène Beauchesne", "Dr. Ahmad Al-Khatib", "Dr. Siobhán Ní Bhriain"]
    for k, name in enumerate(names):
        FacultyFactory(user=UserFactory(username=f"long{k}"), external_id=f"F2{k:02d}", display_name=name,
                       rotations=rotations)
    run, _ = allocation_run_start(year=draft, mechanism="rsd", options={}, seed=11, actor=coordinator, enqueue=False)
    allocation_run_execute(run_id=run.pk)

    # Auctions: one open with Alice's bid in it, one settled that Dave won over Alice.
    for person in (faculty, other_faculty, carol, dave):
        grant(person, market.year, 40, coordinator)
    bid_place(auction=open_auction(market.year, week=5, reserve=2, actor=coordinator), faculty=faculty, amount=9)
    settled = open_auction(market.year, week=6, actor=coordinator)
    bid_place(auction=settled, faculty=faculty, amount=5)
    bid_place(auction=settled, faculty=dave, amount=8)
    auction_close(auction=settled, actor=coordinator)
    auction_settle(auction=settled, actor=coordinator)
    return {"schedule": market, "run": run}


def _accessible_roles(page, name: str) -> set[str]:
    """The roles of the elements named `name` in Chromium's accessibility tree (a <summary> is a DisclosureTriangle,
    which screen readers announce as a button; its <details> a group of the same name)."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    return {n["role"]["value"] for n in nodes if not n.get("ignored") and n.get("name", {}).get("value") == name}


def _check(page, live_server, screenshot_dir, path: str, name: str) -> list[str]:
    """Visit path at phone and desktop width; screenshot both; return what is wrong."""
    problems = []
    for label, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(viewport)
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        page.screenshot(path=str(screenshot_dir / f"width-{name}-{label}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > viewport["width"]:
            problems.append(f"{name} at {label} width is {width} px wide")
        problems += [f"{name} at {label} width: {p}" for p in page.evaluate(OUTSIDE_THEIR_CARD)]
        problems += [f"{name} at {label} width: {p}" for p in page.evaluate(LOTTERY_OVERLAPS)]
    return problems


def test_faculty_pages_fit_a_phone_and_the_desktop(page, live_server, faculty, busy_market, screenshot_dir):
    log_in(page, live_server, faculty.user.username, lands_on="/preferences/")
    problems = []
    compute(busy_market["run"].year)  # the 2028 draft year: the one faculty are asked about
    for path, name in (("/preferences/", "my-preferences"), ("/schedule/", "my-schedule"),
                       ("/swaps/", "swap-suggestions"), ("/swaps/requests/", "swap-my-requests"),
                       ("/fairness/", "my-fair-share"), ("/points/", "my-points"), ("/auctions/", "auctions"),
                       ("/calendar/", "calendar-feed"), ("/settings/notifications/", "notification-settings")):
        problems += _check(page, live_server, screenshot_dir, path, name)
    assert not problems, "\n".join(problems)


def test_coordinator_pages_fit_a_phone_and_the_desktop(page, live_server, coordinator, busy_market, screenshot_dir):
    schedule, run = busy_market["schedule"], busy_market["run"]
    assert Schedule.objects.filter(run=run).exists()
    compute(run.year)  # thirteen faculty with long names, compared with the run's draft
    log_in(page, live_server, coordinator.username, lands_on="/coordinator/")
    problems = []
    for path, name in (
        ("/coordinator/", "year-overview"),
        (f"/coordinator/years/{schedule.year.label}/", "year"),
        ("/coordinator/years/2028/allocation/", "allocation"),
        (f"/coordinator/runs/{run.pk}/", "run"),
        (f"/coordinator/years/{schedule.year.label}/stability/", "stability-year"),
        (f"/coordinator/schedules/{schedule.pk}/stability/", "stability-report"),
        (f"/coordinator/schedules/{schedule.pk}/swaps/", "swap-market"),
        ("/coordinator/swaps/approvals/", "swap-approvals"),
        (f"/coordinator/schedules/{Schedule.objects.get(run=run).pk}/weeks/", "schedule-weeks"),
        ("/coordinator/years/2028/fairness/", "fairness"),
        ("/coordinator/years/2028/fairness/targets/", "fairness-targets"),
        (f"/coordinator/years/{schedule.year.label}/auctions/", "coordinator-auctions"),
        (f"/coordinator/years/{schedule.year.label}/points/", "coordinator-points"),
        ("/coordinator/years/2028/utility/", "utility-weights"),
    ):
        problems += _check(page, live_server, screenshot_dir, path, name)
    assert not problems, "\n".join(problems)


def test_the_navigation_folds_behind_a_menu_button_on_a_phone(browser, live_server, coordinator, year, screenshot_dir):
    for javascript in (True, False):
        context = browser.new_context(viewport=PHONE, java_script_enabled=javascript)
        page = context.new_page()
        try:
            log_in(page, live_server, coordinator.username, lands_on="/coordinator/")
            menu = page.locator("header details.menu > summary")
            expect(menu).to_be_visible()
            assert _accessible_roles(page, "Menu") & {"DisclosureTriangle", "button"}, _accessible_roles(page, "Menu")
            link = page.locator("header nav >> text=Swap market")
            expect(link).to_be_hidden()
            menu.click()
            expect(link).to_be_visible()
            page.screenshot(path=str(screenshot_dir / f"width-menu-open-{'js' if javascript else 'nojs'}.png"))
            link.click()
            page.wait_for_url(f"{live_server.url}/coordinator/swaps/**")
            assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        finally:
            context.close()
    # At desktop width the links show without a menu button.
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        log_in(page, live_server, coordinator.username, lands_on="/coordinator/")
        expect(page.locator("header details.menu > summary")).to_be_hidden()
        expect(page.locator("header nav >> text=Swap market")).to_be_visible()
    finally:
        context.close()
