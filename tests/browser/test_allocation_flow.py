"""A coordinator starts a run and watches its progress bar finish, compares mechanisms; a faculty member then opens
their schedule and asks why they got a week.

The run goes pending → completed asynchronously, as with a real worker: the task's ``delay`` is replaced by a timer
thread that calls the same service a little later (the live server shares the database in transactional tests).
"""

from __future__ import annotations

import re
import threading

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone
from playwright.sync_api import expect

from allocation import tasks
from allocation.algorithms.registry import MECHANISM_LABELS, MECHANISMS
from allocation.models import AllocationRun, Assignment, Schedule
from preferences.services import preferences_submit
from tests.browser.session import log_in
from tests.factories import FacultyFactory, UserFactory, make_year

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORKER_DELAY_S = 1.5




@pytest.fixture
def slow_worker(monkeypatch):
    """Queuing a run starts a timer thread that runs the task WORKER_DELAY_S later, one run at a time like one worker."""
    lock = threading.Lock()
    timers: list[threading.Timer] = []
    errors: list[BaseException] = []

    def work(run_id: int) -> None:
        with lock:
            try:
                close_old_connections()
                tasks.allocation_run_execute_task(run_id)
            except BaseException as exc:  # surfaced by the test, not lost in the thread
                errors.append(exc)
            finally:
                connection.close()

    def apply_async(args=(), kwargs=None, **options):
        timer = threading.Timer(WORKER_DELAY_S, work, args=(args[0],))
        timers.append(timer)
        timer.start()

    monkeypatch.setattr(tasks.allocation_run_execute_task, "apply_async", apply_async)
    monkeypatch.setattr(tasks.allocation_run_execute_task, "delay", lambda run_id, *a, **k: apply_async(args=(run_id,)))
    yield errors
    for timer in timers:
        timer.join(timeout=60)


@pytest.fixture
def contested_year(rotations, faculty):
    """12 weeks × 2 rotations, one seat each; six faculty with four weeks each, all keen on the same summer weeks."""
    year = make_year(label=2026, num_weeks=12, holidays={3: "Independence Day", 9: "Labor Day"}, rotations=rotations)
    others = [
        FacultyFactory(user=UserFactory(username=u), external_id=f"F10{k}", display_name=name, rotations=rotations)
        for k, (u, name) in enumerate([("bchen", "Dr. Bo Chen"), ("cdiaz", "Dr. Carmen Díaz"), ("dokafor", "Dr. Dayo Okafor"),
                                       ("erossi", "Dr. Elena Rossi"), ("fkhan", "Dr. Farah Khan")])
    ]
    weeks = list(year.weeks.order_by("index"))
    orders = [[0, 1, 4, 5, 6, 2], [0, 2, 1, 7, 8], [1, 0, 4, 10, 11], [4, 5, 0, 1, 2, 6], [6, 7, 0, 1], [0, 1, 2, 4, 5, 10, 11]]
    for person, order in zip([faculty, *others], orders, strict=True):
        preferences_submit(
            faculty=person, year=year, preference_type="ordinal",
            entries=[{"week": weeks[w], "rank": r} for r, w in enumerate(order, start=1)],
            blocked_weeks=[], method="web_form", actor=person.user,
        )
    return year


def test_coordinator_watches_a_run_finish_and_compares_then_faculty_asks_why(
    page, live_server, coordinator, faculty, contested_year, slow_worker, screenshot_dir,
):
    year = contested_year
    log_in(page, live_server, coordinator.username)
    page.wait_for_url(f"{live_server.url}/coordinator/**")
    page.goto(f"{live_server.url}/coordinator/years/{year.label}/allocation/")
    expect(page.locator("h1")).to_contain_text("Allocation")

    # Switching mechanism re-renders the options in place; a bad option comes back beside its field, nothing starts.
    page.select_option("#id_mechanism", "cp_sat")
    expect(page.locator("#run-options")).to_contain_text("Fairness reading")
    page.fill("#id_time_limit_s", "0")
    page.click(".run-form button[type=submit]")
    expect(page.locator(".field.has-error")).to_contain_text("Time limit")
    expect(page.locator(".field.has-error .field-error")).to_contain_text("greater than or equal to 0.1")
    assert not AllocationRun.objects.exists()
    page.screenshot(path=str(screenshot_dir / "allocation-start-error.png"), full_page=True)
    page.select_option("#id_mechanism", "rsd")
    expect(page.locator("#run-options")).not_to_contain_text("Fairness reading")
    page.fill("#id_seed", "2026")
    page.screenshot(path=str(screenshot_dir / "allocation-start.png"), full_page=True)
    page.click(".run-form button[type=submit]")

    # The run page polls the progress bar until the worker finishes.
    page.wait_for_url(f"{live_server.url}/coordinator/runs/**")
    run = AllocationRun.objects.get()
    expect(page.locator("#run-live .progress-card")).to_be_visible()
    expect(page.locator("#run-live [role=progressbar]")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "allocation-run-progress.png"), full_page=True)
    expect(page.locator("#run-live .done-card")).to_be_visible(timeout=20_000)
    expect(page.locator("#run-live")).to_contain_text("Which choice did people get?")
    assert not page.locator("#run-live[hx-trigger]").count(), "polling must stop once the run is finished"
    assert not slow_worker, slow_worker
    run.refresh_from_db()
    assert run.status == AllocationRun.Status.COMPLETED and run.seed == 2026
    expect(page.locator("svg[role=img]")).to_have_count(1)
    expect(page.locator("ol.lottery li")).to_have_count(6)
    page.screenshot(path=str(screenshot_dir / "allocation-run-result.png"), full_page=True)

    # Compare every mechanism on the same inputs.
    page.click("text=All runs for")
    expect(page.locator("#run-list")).to_contain_text(f"#{run.pk}")
    page.fill("#compare_seed", "7")
    page.click(".compare-form button[type=submit]")
    page.wait_for_url(f"{live_server.url}/coordinator/comparisons/**")
    expect(page.locator("#comparison-live .progress-card")).to_be_visible()
    expect(page.locator("#comparison-live .progress-card")).to_have_count(0, timeout=40_000)
    assert not slow_worker, slow_worker
    for label in MECHANISM_LABELS.values():
        expect(page.locator("table.compare thead")).to_contain_text(label)
    expect(page.locator("table.compare .badge.status-completed")).to_have_count(len(MECHANISMS))
    expect(page.locator("#comparison-live svg[role=img]")).to_have_count(5)  # the rank chart and four small multiples
    page.screenshot(path=str(screenshot_dir / "allocation-comparison.png"), full_page=True)

    page.click("text=All runs for")
    expect(page.locator("#run-list tbody tr")).to_have_count(1 + len(MECHANISMS))  # the first run and one per mechanism compared
    page.screenshot(path=str(screenshot_dir / "allocation-runs.png"), full_page=True)

    # The newest run's draft is published (the stability flow publishes through the gate); a faculty member opens
    # their schedule and asks why. Faculty never see drafts.
    newest = AllocationRun.objects.filter(status="completed").order_by("-finished_at", "-pk").first()
    Schedule.objects.filter(run=newest).update(status=Schedule.Status.PUBLISHED, published_at=timezone.now())
    page.click("button:has-text('Log out')")
    log_in(page, live_server, faculty.user.username)
    page.goto(f"{live_server.url}/schedule/")
    expect(page.locator("h1")).to_contain_text("My schedule")
    expect(page.locator(".deadline.open")).to_be_visible()
    rows = page.locator("table.my-weeks tbody tr:not(.why-row)")
    mine = Assignment.objects.filter(schedule__run=newest, faculty=faculty).order_by("week__index")
    expect(rows).to_have_count(mine.count())
    first = mine.first()
    # A week the faculty member ranked reads "your Nth choice"; any other "a week you did not rank" (never a number).
    expect(rows.first).to_contain_text(re.compile(r"your \d+\w\w choice|a week you did not rank"))
    rows.first.locator("text=Why did I get this?").click()
    expect(page.locator(f"#why-{first.pk} .why-box")).to_be_visible()
    assert page.url.endswith("/schedule/"), "the explanation loads into the row, the page stays"
    page.screenshot(path=str(screenshot_dir / "allocation-my-schedule.png"), full_page=True)

    # The same link works as a plain page.
    page.goto(f"{live_server.url}/schedule/assignments/{first.pk}/why/")
    expect(page.locator("h1")).to_contain_text("Why did I get week")
    expect(page.locator(".why-box .why-summary")).not_to_be_empty()
