"""Starting a run from the coordinator page: without a worker (the embedded default) the run executes on a background
thread, so the page answers at once and the run page shows its progress and cancel; the message after starting says
what became of the run (started, finished, failed: why).

The background tests are transactional: the run's thread has a connection of its own and must see committed rows
(the in-memory test database is shared between connections, as for the live server)."""

from __future__ import annotations

import io
import threading
import time

import pytest
from django.core.management import call_command
from django.urls import reverse

from allocation.algorithms import registry
from allocation.models import AllocationRun, Schedule
from allocation.services import runs
from gtsched_site.background import in_process_worker

WAIT_S = 30


@pytest.fixture
def in_background(settings):
    settings.GTSCHED_RUNS_IN_BACKGROUND = True
    assert settings.CELERY_TASK_ALWAYS_EAGER  # no worker: the embedded default
    yield
    in_process_worker().submit(lambda: None).result(timeout=WAIT_S)  # the run's thread is done before teardown


@pytest.fixture
def held_solver(monkeypatch):
    """Least regret that waits, inside the run's solve, until the test releases it (the option check before a run
    starts calls the strategy too, in the request: that call goes straight through)."""
    solving, release = threading.Event(), threading.Event()
    real = registry.strategy("least_regret")

    def held(problem, **kwargs):
        if threading.current_thread() is threading.main_thread():
            return real(problem, **kwargs)
        solving.set()
        assert release.wait(WAIT_S), "the test never released the solver"
        return real(problem, **kwargs)

    monkeypatch.setattr("allocation.algorithms.least_regret.least_regret", held)
    yield solving, release
    release.set()  # never leave the thread waiting, whatever the test asserted


def _start(client, year, **data):
    return client.post(reverse("allocation_home", args=[year.label]),
                       {"mechanism": "least_regret", "cost": "squared", "non_respondents": "neutral", "seed": "3", **data})


def _settled(run: AllocationRun) -> AllocationRun:
    deadline = time.monotonic() + WAIT_S
    run.refresh_from_db()
    while run.is_active and time.monotonic() < deadline:
        time.sleep(0.05)
        run.refresh_from_db()
    return run


@pytest.mark.django_db(transaction=True)
def test_starting_a_run_answers_before_it_finishes_and_the_run_page_shows_its_progress(
    client_as, coordinator, tiny, in_background, held_solver,
):
    solving, release = held_solver
    client = client_as(coordinator)
    response = _start(client, tiny[0])
    run = AllocationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("run_detail", args=[run.pk])
    assert solving.wait(WAIT_S)  # the POST has answered while the solver is still inside the run
    run.refresh_from_db()
    assert run.status == AllocationRun.Status.RUNNING and run.progress == runs.PROGRESS_SOLVING
    page = client.get(response["Location"])
    html = page.content.decode()
    assert f"Run #{run.pk} (Least regret) started; its progress shows below." in html
    assert 'role="progressbar"' in html and "Computing the schedule" in html and "Cancel run" in html
    assert 'hx-trigger="every 1s"' in html
    assert client.get(response["Location"], HTTP_HX_REQUEST="true").status_code == 200  # polling goes on
    release.set()
    run = _settled(run)
    assert run.status == AllocationRun.Status.COMPLETED, run.error
    assert Schedule.objects.filter(run=run).count() == 1
    assert client.get(response["Location"], HTTP_HX_REQUEST="true").status_code == 286  # polling stops


@pytest.mark.django_db(transaction=True)
def test_a_run_in_the_background_is_cancelled_from_its_page_and_saves_nothing(
    client_as, coordinator, tiny, in_background, held_solver,
):
    solving, release = held_solver
    client = client_as(coordinator)
    response = _start(client, tiny[0])
    assert solving.wait(WAIT_S)
    run = AllocationRun.objects.get()
    assert client.post(reverse("run_cancel", args=[run.pk])).status_code == 302
    release.set()
    in_process_worker().submit(lambda: None).result(timeout=WAIT_S)
    run.refresh_from_db()
    assert run.status == AllocationRun.Status.CANCELLED and not Schedule.objects.exists()
    assert run.progress_message == "Cancelled by coordinator"
    assert "This run was cancelled" in client.get(response["Location"]).content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_allocate_command_still_runs_in_its_own_process_with_background_runs_on(tiny, in_background):
    out = io.StringIO()
    call_command("allocate", "2030", "--mechanism", "least_regret", "--seed", "3", stdout=out)
    assert AllocationRun.objects.get().status == AllocationRun.Status.COMPLETED


@pytest.mark.django_db(transaction=True)
def test_the_api_waits_inline_for_a_run_on_the_background_thread(as_, coordinator, tiny, in_background, settings):
    settings.GTSCHED_API_INLINE_WAIT_SECONDS = WAIT_S
    response = as_("coordinator").post("/api/v1/game-theory/rsd-allocation", {"academic_year": 2030, "seed": 3, "wait": True},
                                       format="json")
    assert response.status_code == 201, response.content
    assert AllocationRun.objects.get().status == AllocationRun.Status.COMPLETED


# --- the message after starting: what became of the run ---------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_a_run_that_finished_within_the_request_says_finished_never_started(client_as, coordinator, tiny):
    response = _start(client_as(coordinator), tiny[0])
    run = AllocationRun.objects.get()
    assert run.status == AllocationRun.Status.COMPLETED  # the tests run eager tasks inside the request
    html = client_as(coordinator).get(response["Location"]).content.decode()
    assert f'<li class="success" role="status">Run #{run.pk} (Least regret) finished.</li>' in html
    assert "started" not in html.split('class="messages"')[1].split("</ul>")[0]


@pytest.mark.django_db(transaction=True)
def test_a_run_that_failed_within_the_request_says_why_as_an_error(client_as, coordinator, tiny):
    year, people = tiny
    type(people["T0"]).objects.filter(pk__in=[p.pk for p in people.values()]).update(target_load=2)  # 6 weeks, 4 seats
    response = _start(client_as(coordinator), year, mechanism="min_cost_flow")  # allow_unassigned unticked: off
    run = AllocationRun.objects.get()
    assert run.status == AllocationRun.Status.FAILED and run.parameters["allow_unassigned"] is False
    html = client_as(coordinator).get(response["Location"]).content.decode()
    assert f'<li class="error" role="status">Run #{run.pk} (Min-cost flow) failed: Min-cost flow found no schedule' in html
    assert "With allow_unassigned off every faculty member must get their full target load" in html
