"""Coordinator pages beside the runs: pre-assigning weeks with a reason on the allocation page (permission matrix,
POST only, CSRF, field errors, HTMX region and full-page fallback) and a schedule week by week (rotations as
columns, empty seats and holidays marked, linked from the run and stability pages)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from allocation.models import PreAssignment, Schedule
from allocation.services import preassignment_add
from allocation.services.grid import schedule_week_grid
from preferences.models import Rotation
from tests.conftest import cast_user
from tests.factories import AllocationRunFactory, ScheduleFactory, make_year

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
REASON = "Covers the accreditation visit, agreed with the chief"
NOT_COORDINATORS = [("anonymous", 302), ("faculty", 403), ("other_faculty", 403)]


def _form(year, person, week_index: int, rotation: str, reason: str = REASON) -> dict:
    return {"faculty": person.pk, "week": year.weeks.get(index=week_index).pk,
            "rotation": Rotation.objects.get(name=rotation).pk, "reason": reason}


@pytest.fixture
def preassigned(year, faculty, coordinator):
    return preassignment_add(year=year, faculty=faculty, week=year.weeks.get(index=2),
                             rotation=Rotation.objects.get(name="inpatient"), reason=REASON, actor=coordinator)


@pytest.fixture
def draft(year, faculty, other_faculty):
    """Alice in week 1 (inpatient) and week 2 (clinic), Bob in week 2 (inpatient): 13 of the 16 seats empty."""
    return ScheduleFactory(year=year, name="2026 draft", rows=[
        (faculty, 0, "inpatient"), (faculty, 1, "clinic"), (other_faculty, 1, "inpatient"),
    ])


# --- pre-assignments: permissions ---------------------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize(("who", "expected"), NOT_COORDINATORS)
def test_only_coordinators_pre_assign_or_remove(request, client_as, year, faculty, preassigned, who, expected, htmx):
    client = client_as(cast_user(request, who))
    extra = HX if htmx else {}
    add = client.post(reverse("preassignment_create", args=[year.label]), _form(year, faculty, 5, "clinic"), **extra)
    remove = client.post(reverse("preassignment_delete", args=[year.label, preassigned.pk]), **extra)
    for response in (add, remove):
        assert response.status_code == expected
        if who == "anonymous":
            assert "/accounts/login/" in response["Location"]
    assert list(PreAssignment.objects.values_list("pk", flat=True)) == [preassigned.pk]


def test_pre_assignment_forms_take_post_only(client_as, coordinator, year, preassigned):
    client = client_as(coordinator)
    assert client.get(reverse("preassignment_create", args=[year.label])).status_code == 405
    assert client.get(reverse("preassignment_delete", args=[year.label, preassigned.pk])).status_code == 405
    assert PreAssignment.objects.count() == 1


def test_pre_assigning_without_the_csrf_token_is_refused(coordinator, year, faculty, preassigned):
    client = Client(enforce_csrf_checks=True)
    client.force_login(coordinator)
    assert client.post(reverse("preassignment_create", args=[year.label]),
                       _form(year, faculty, 5, "clinic")).status_code == 403
    assert client.post(reverse("preassignment_delete", args=[year.label, preassigned.pk])).status_code == 403
    assert list(PreAssignment.objects.values_list("pk", flat=True)) == [preassigned.pk]


def test_a_pre_assignment_of_another_year_is_not_found_under_this_one(client_as, coordinator, rotations, preassigned):
    other = make_year(label=2027, num_weeks=4, rotations=rotations)
    client = client_as(coordinator)
    assert client.post(reverse("preassignment_delete", args=[other.label, preassigned.pk])).status_code == 404
    assert client.post(reverse("preassignment_create", args=[1999]), {}).status_code == 404
    assert PreAssignment.objects.count() == 1


# --- pre-assignments: effect ----------------------------------------------------------------------------------------


def test_the_allocation_page_offers_the_form_and_lists_the_years_pre_assignments(client_as, coordinator, year, preassigned):
    html = client_as(coordinator).get(reverse("allocation_home", args=[year.label])).content.decode()
    assert 'id="preassignments"' in html and reverse("preassignment_create", args=[year.label]) in html
    for name in ('name="faculty"', 'name="week"', 'name="rotation"', 'name="reason"', "Independence Day"):
        assert name in html, name
    assert REASON in html and "Dr. Alice Owner" in html
    assert reverse("preassignment_delete", args=[year.label, preassigned.pk]) in html


def test_a_coordinator_pre_assigns_a_week_with_a_reason(client_as, coordinator, year, other_faculty):
    response = client_as(coordinator).post(reverse("preassignment_create", args=[year.label]),
                                           _form(year, other_faculty, 4, "inpatient"), follow=True)
    assert response.redirect_chain[0] == (f"{reverse('allocation_home', args=[year.label])}#preassignments", 302)
    created = PreAssignment.objects.get()
    assert (created.faculty, created.week.index, created.rotation.name) == (other_faculty, 4, "inpatient")
    assert created.reason == REASON and created.created_by == coordinator
    html = response.content.decode()
    assert "Pre-assigned Dr. Bob Outsider to inpatient in week 5" in html and REASON in html


def test_under_htmx_the_region_alone_comes_back_with_the_new_row(client_as, coordinator, year, other_faculty):
    response = client_as(coordinator).post(reverse("preassignment_create", args=[year.label]),
                                           _form(year, other_faculty, 4, "inpatient"), **HX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert 'id="preassignments"' in html and "Pre-assigned Dr. Bob Outsider" in html and REASON in html
    assert PreAssignment.objects.count() == 1


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"reason": "   "}, "reason", "Give the reason for this pre-assignment"),
    ({"week": 2}, "week", "is already pre-assigned in the week of"),
    ({"rotation": "clinic", "person": "other_faculty"}, "rotation", "is not qualified for clinic"),
    ({"rotation": "inpatient", "person": "other_faculty"}, "rotation", "is already full of pre-assignments"),
])
def test_a_refused_pre_assignment_shows_the_services_message_on_its_field(
    request, client_as, coordinator, year, faculty, preassigned, change, field, message,
):
    person = request.getfixturevalue(change.get("person", "faculty"))
    data = _form(year, person, change.get("week", 2 if "person" in change else 6), change.get("rotation", "inpatient"),
                 reason=change.get("reason", REASON))
    client = client_as(coordinator)
    page = client.post(reverse("preassignment_create", args=[year.label]), data)
    region = client.post(reverse("preassignment_create", args=[year.label]), data, **HX)
    assert page.status_code == 400 and "Start a run" in page.content.decode()  # the whole page, as a fallback
    assert region.status_code == 200 and "<html" not in region.content.decode()
    for response in (page, region):
        form = response.context["preassignment_form"]
        assert any(message in e for e in form.errors[field]), form.errors
        assert message in response.content.decode().replace("&#x27;", "'")
    assert list(PreAssignment.objects.values_list("pk", flat=True)) == [preassigned.pk]


def test_a_faculty_member_off_the_years_roster_is_not_offered(client_as, coordinator, year, faculty, other_faculty):
    year.roster.set([faculty])
    response = client_as(coordinator).post(reverse("preassignment_create", args=[year.label]),
                                           _form(year, other_faculty, 4, "inpatient"))
    assert response.status_code == 400 and "faculty" in response.context["preassignment_form"].errors
    assert not PreAssignment.objects.exists()


@pytest.mark.parametrize("htmx", [False, True])
def test_a_coordinator_removes_a_pre_assignment(client_as, coordinator, year, preassigned, htmx):
    response = client_as(coordinator).post(reverse("preassignment_delete", args=[year.label, preassigned.pk]),
                                           **(HX if htmx else {}))
    assert not PreAssignment.objects.exists()
    if htmx:
        html = response.content.decode()
        assert response.status_code == 200 and "<html" not in html
        assert "Removed the pre-assignment of Dr. Alice Owner in week 3" in html and "No weeks pre-assigned" in html
    else:
        assert response.status_code == 302 and response["Location"].endswith("#preassignments")


# --- a schedule week by week --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [Schedule.Status.DRAFT, Schedule.Status.PUBLISHED])
@pytest.mark.parametrize(("who", "expected"), [*NOT_COORDINATORS, ("coordinator", 200)])
def test_the_week_by_week_page_is_for_coordinators_only(request, client_as, year, faculty, status, who, expected):
    schedule = ScheduleFactory(year=year, rows=[(faculty, 0, "inpatient")], status=status)
    response = client_as(cast_user(request, who)).get(reverse("schedule_weeks", args=[schedule.pk]), **HX)
    assert response.status_code == expected


def test_an_unknown_schedule_is_404(client_as, coordinator):
    assert client_as(coordinator).get(reverse("schedule_weeks", args=[999999])).status_code == 404


def test_the_grid_puts_weeks_in_rows_rotations_in_columns_and_counts_empty_seats(draft, faculty, other_faculty):
    grid = schedule_week_grid(schedule=draft)
    assert [r.name for r in grid.rotations] == ["clinic", "inpatient"]
    assert len(grid.rows) == 8 and grid.assignments == 3
    week2 = grid.rows[1]
    assert [(c.rotation.name, c.faculty, c.demand, c.empty) for c in week2.cells] == [
        ("clinic", ("Dr. Alice Owner",), 1, 0), ("inpatient", ("Dr. Bob Outsider",), 1, 0),
    ]
    assert grid.rows[0].empty == 1 and grid.rows[3].week.is_holiday
    assert grid.empty_seats == 13 and grid.weeks_with_empty_seats == 7


def test_without_coverage_demand_the_grid_reads_the_even_spread(rotations, faculty):
    year = make_year(label=2033, num_weeks=4, rotations=rotations, demand=None)
    year.roster.set([faculty])  # target load 4 over 4 weeks × 2 rotations: one seat in each of the first 4 slots
    schedule = ScheduleFactory(year=year, rows=[(faculty, 0, "clinic")])
    grid = schedule_week_grid(schedule=schedule)
    assert [[c.demand for c in row.cells] for row in grid.rows] == [[1, 1], [1, 1], [0, 0], [0, 0]]
    assert grid.empty_seats == 3


def test_the_page_shows_names_empty_seats_and_holidays(client_as, coordinator, draft):
    html = client_as(coordinator).get(reverse("schedule_weeks", args=[draft.pk])).content.decode()
    assert "13 empty seats in 7 weeks" in html and html.count('class="empty-seat"') == 13 + 1  # + the legend
    assert '<th scope="col">clinic</th><th scope="col">inpatient</th>' in html
    assert "Dr. Alice Owner" in html and "Dr. Bob Outsider" in html
    assert 'class="holiday missing"' in html and "Independence Day" in html
    assert 'class="table-scroll"' in html and reverse("stability_report", args=[draft.pk]) in html


def test_the_run_page_and_the_stability_year_page_link_the_week_by_week_view(client_as, coordinator, year, draft):
    run = AllocationRunFactory(year=year, status="completed")
    Schedule.objects.filter(pk=draft.pk).update(run=run)
    client = client_as(coordinator)
    url = reverse("schedule_weeks", args=[draft.pk])
    assert url in client.get(reverse("run_detail", args=[run.pk])).content.decode()
    assert url in client.get(reverse("stability_year", args=[year.label])).content.decode()
    assert url in client.get(reverse("stability_report", args=[draft.pk])).content.decode()
