"""The allocation admin is an operations console over the services: it lists runs, comparisons and pre-assignments;
the cancel action calls the cancel service and leaves finished runs alone; a pre-assignment the service would refuse
is refused; runs and comparisons are records that cannot be added or edited, and a run behind a published schedule
cannot be deleted; a published schedule and its rows refuse edits."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from allocation.models import AllocationRun, Assignment, PreAssignment, Schedule
from allocation.services import allocation_run_start, comparison_start
from tests.allocation.helpers import run_now, week
from tests.factories import ScheduleFactory

RUNS = reverse("admin:allocation_allocationrun_changelist")


def _row(obj) -> dict:
    return type(obj).objects.filter(pk=obj.pk).values().get()


def test_admin_lists_runs_comparisons_and_preassignments(tiny, client):
    year, people = tiny
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    run_now(year, "least_regret")
    comparison_start(year=year, mechanisms=["rsd", "least_regret"], seed=3, options_by_mechanism=None, actor=None)
    client.force_login(admin)
    for url in ("/admin/allocation/allocationrun/", "/admin/allocation/comparison/",
                "/admin/allocation/preassignment/", "/admin/allocation/preassignment/add/",
                f"/admin/allocation/allocationrun/{AllocationRun.objects.first().pk}/change/"):
        assert client.get(url).status_code == 200, url


def test_admin_refuses_a_preassignment_the_service_would_refuse(tiny, inpatient, client):
    year, people = tiny
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "pw"))
    data = {"year": year.pk, "faculty": people["T0"].pk, "week": week(year, 0).pk, "rotation": inpatient.pk, "reason": ""}
    response = client.post("/admin/allocation/preassignment/add/", data)
    assert response.status_code == 200 and not PreAssignment.objects.exists()
    response = client.post("/admin/allocation/preassignment/add/", {**data, "reason": "Visiting professor"})
    assert response.status_code == 302
    assert PreAssignment.objects.get().created_by.username == "root"


# --- the cancel action -------------------------------------------------------------------------------------------


def test_admin_cancel_action_calls_the_service(tiny, client):
    year, _ = tiny
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "pw"))
    run, _ = allocation_run_start(year=year, mechanism="rsd", options={}, seed=1, actor=None, enqueue=False)
    client.post("/admin/allocation/allocationrun/", {"action": "cancel_runs", "_selected_action": [run.pk]})
    run.refresh_from_db()
    assert run.status == AllocationRun.Status.CANCELLED


def test_the_cancel_action_cancels_every_selected_pending_run_in_the_staff_members_name(tiny, admin_console):
    year, _ = tiny
    runs = [allocation_run_start(year=year, mechanism=m, options={}, seed=1, actor=None, enqueue=False)[0]
            for m in ("rsd", "least_regret")]
    response = admin_console.post(RUNS, {"action": "cancel_runs", "_selected_action": [r.pk for r in runs]}, follow=True)
    assert "Cancelled 2 run(s)." in response.content.decode()
    for run in runs:
        run.refresh_from_db()
        assert run.status == AllocationRun.Status.CANCELLED and run.progress_message == "Cancelled by root"
        assert run.finished_at is not None


def test_the_cancel_action_leaves_a_finished_run_alone_and_says_why(tiny, admin_console):
    run = run_now(tiny[0], "least_regret")
    before = _row(run)
    response = admin_console.post(RUNS, {"action": "cancel_runs", "_selected_action": [run.pk]}, follow=True)
    html = response.content.decode()
    assert f"Run #{run.pk} is already completed; only pending or running runs can be cancelled." in html
    assert "run(s)." not in html  # no success message
    assert _row(run) == before and Schedule.objects.filter(run=run).exists()


# --- runs and comparisons are records ----------------------------------------------------------------------------


def test_runs_cannot_be_added_in_the_admin(tiny, admin_console):
    assert admin_console.get(reverse("admin:allocation_allocationrun_add")).status_code == 403
    response = admin_console.post(reverse("admin:allocation_allocationrun_add"),
                                  {"year": tiny[0].pk, "mechanism": "rsd", "seed": 1})
    assert response.status_code == 403 and not AllocationRun.objects.exists()


def test_a_post_to_a_runs_change_page_does_not_alter_it(tiny, admin_console):
    run = run_now(tiny[0], "least_regret")
    before = _row(run)
    response = admin_console.post(reverse("admin:allocation_allocationrun_change", args=[run.pk]),
                                  {"seed": 99, "status": "failed", "error": "tampered"})
    assert response.status_code == 403
    assert _row(run) == before


def test_a_finished_run_whose_schedule_was_never_published_may_be_deleted(tiny, admin_console):
    run = run_now(tiny[0], "least_regret")
    response = admin_console.post(reverse("admin:allocation_allocationrun_delete", args=[run.pk]), {"post": "yes"})
    assert response.status_code == 302 and not AllocationRun.objects.filter(pk=run.pk).exists()


def test_a_run_behind_a_published_schedule_cannot_be_deleted(tiny, admin_console):
    run = run_now(tiny[0], "least_regret")
    Schedule.objects.filter(run=run).update(status=Schedule.Status.PUBLISHED)
    response = admin_console.post(reverse("admin:allocation_allocationrun_delete", args=[run.pk]), {"post": "yes"})
    assert response.status_code == 403 and AllocationRun.objects.filter(pk=run.pk).exists()


def test_a_pending_run_cannot_be_deleted(tiny, admin_console):
    run, _ = allocation_run_start(year=tiny[0], mechanism="rsd", options={}, seed=1, actor=None, enqueue=False)
    response = admin_console.post(reverse("admin:allocation_allocationrun_delete", args=[run.pk]), {"post": "yes"})
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.status == AllocationRun.Status.PENDING


def test_comparisons_cannot_be_added_in_the_admin(tiny, admin_console):
    assert admin_console.get(reverse("admin:allocation_comparison_add")).status_code == 403


# --- a published schedule refuses edits --------------------------------------------------------------------------


@pytest.fixture
def published(year, faculty, other_faculty):
    return ScheduleFactory(year=year, name="Final", rows=[(faculty, 0, "inpatient"), (other_faculty, 1, "inpatient")],
                           status=Schedule.Status.PUBLISHED)


def test_a_post_to_a_published_schedules_change_page_does_not_alter_it(published, admin_console):
    before = _row(published)
    response = admin_console.post(reverse("admin:allocation_schedule_change", args=[published.pk]),
                                  {"name": "Renamed", "year": published.year_id, "source": "manual"})
    assert response.status_code == 403
    assert _row(published) == before


def test_a_published_schedules_rows_cannot_be_changed_or_deleted_in_the_admin(published, other_faculty, admin_console):
    row = published.assignments.order_by("week__index").first()
    before = _row(row)
    response = admin_console.post(reverse("admin:allocation_assignment_change", args=[row.pk]), {
        "schedule": published.pk, "faculty": other_faculty.pk, "week": row.week_id, "rotation": row.rotation_id,
        "mechanism_data": "{}",
    })
    assert response.status_code == 403 and _row(row) == before
    response = admin_console.post(reverse("admin:allocation_assignment_delete", args=[row.pk]), {"post": "yes"})
    assert response.status_code == 403 and Assignment.objects.filter(pk=row.pk).exists()
    assert published.assignments.count() == 2
