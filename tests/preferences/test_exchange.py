"""Year files, the preference half (DESIGN §13): import is atomic and idempotent, bad files name the field and
change nothing, and the real WPI data imports whole. The schedule section and the whole file: tests/allocation/test_exchange.py."""

from __future__ import annotations

import copy
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from django.utils import timezone

from preferences.exchange import wpi_year_file, year_export, year_import
from preferences.models import AcademicYear, CoverageDemand, Faculty, PreferenceSubmission, Rotation, Week
from tests.yearfiles import (
    MONDAY,
    REFUSALS,
    duplicate_ranks,
    negative_demand,
    non_monday_week,
    open_window,
    snapshot,
    spoiled,
    unknown_faculty,
    week,
    with_schedule,
)

pytestmark = pytest.mark.django_db

WPI_2017 = Path("/work/shared/data/wpi-project-centres/IQP2017-2018")


def refused(data: dict) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        year_import(data=data)
    return caught.value.message_dict


# --- import ---------------------------------------------------------------------------------------------------


def test_import_creates_the_whole_year(year_file):
    report = year_import(data=year_file)

    year = AcademicYear.objects.get(label=2026)
    assert (year.first_monday, year.num_weeks) == (MONDAY, 8)
    assert list(year.weeks.values_list("index", "start_date")) == [(k, MONDAY + dt.timedelta(weeks=k)) for k in range(8)]
    holiday = year.weeks.get(index=3)
    assert holiday.is_holiday and holiday.holiday_name == "Independence Day"
    assert year.weeks.filter(is_holiday=True).count() == 1
    assert CoverageDemand.objects.filter(week__year=year).aggregate(n=Sum("count"))["n"] == 16
    assert set(Rotation.objects.values_list("name", flat=True)) == {"inpatient", "clinic"}

    ada = Faculty.objects.get(external_id="F001")
    assert ada.user.username == "f001" and ada.user.email == "ada@example.org"
    assert not ada.user.has_usable_password()
    assert set(ada.rotations.values_list("name", flat=True)) == {"inpatient", "clinic"}
    assert set(year.roster.values_list("external_id", flat=True)) == {"F001", "F002", "F003"}

    submissions = PreferenceSubmission.objects.filter(year=year)
    assert submissions.count() == 3
    assert set(submissions.values_list("version", "collection_method")) == {(1, "import")}
    assert submissions.get(faculty=ada).entries == [{"week": 0, "rank": 1}, {"week": 5, "rank": 2}]
    assert submissions.get(faculty=ada).blocked_weeks == [3]

    assert report.year_created and report.weeks == 8 and report.rotations_created == 2 and report.demand == 16
    assert (report.faculty_created, report.submissions_created) == (3, 3)


def test_a_new_year_without_a_window_opens_now_and_closes_at_its_first_monday(year_file):
    del year_file["preference_window"]
    first = timezone.now().date() + dt.timedelta(days=70 - timezone.now().weekday())
    year_file["weeks"] = [{"start": (first + dt.timedelta(weeks=k)).isoformat(), "holiday": None} for k in range(8)]
    del year_file["demand"], year_file["preferences"]
    before = timezone.now()

    year_import(data=year_file)

    year = AcademicYear.objects.get(label=2026)
    assert before <= year.preference_opens <= timezone.now()
    assert year.preference_closes == dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    assert not CoverageDemand.objects.exists()  # no demand: the services spread the load evenly


def test_reimporting_the_same_file_changes_nothing(year_file):
    year_import(data=year_file)
    before = snapshot()

    report = year_import(data=year_file)

    assert snapshot() == before
    assert not report.changed
    assert (report.faculty_unchanged, report.submissions_unchanged) == (3, 3)


def test_a_changed_preference_set_becomes_a_new_version(year_file):
    year_import(data=year_file)
    first = PreferenceSubmission.objects.get(faculty__external_id="F002")
    year_file["preferences"][1]["cardinal_valuations"][0]["value"] = 40

    report = year_import(data=year_file)

    versions = PreferenceSubmission.objects.filter(faculty__external_id="F002").order_by("version")
    assert [s.version for s in versions] == [1, 2]
    assert versions[0].pk == first.pk and versions[0].entries == first.entries  # the old version is kept
    assert versions[1].entries[0] == {"week": 1, "value": 40}
    assert (report.submissions_created, report.submissions_unchanged) == (1, 2)
    assert PreferenceSubmission.objects.filter(faculty__external_id="F001").count() == 1


def test_faculty_holidays_and_demand_are_updated_in_place(year_file):
    year_import(data=year_file)
    users = get_user_model().objects.count()
    year_file["faculty"][1].update(name="Dr. Benjamin", email="benjamin@example.org", rotations=["inpatient", "clinic"],
                                   target_load=3, active=False)
    year_file["weeks"][3]["holiday"] = None
    year_file["weeks"][6]["holiday"] = "Labor Day"
    year_file["demand"][0]["count"] = 3

    report = year_import(data=year_file)

    ben = Faculty.objects.get(external_id="F002")
    assert (ben.display_name, ben.user.email, ben.target_load, ben.active) == ("Dr. Benjamin", "benjamin@example.org", 3, False)
    assert set(ben.rotations.values_list("name", flat=True)) == {"inpatient", "clinic"}
    assert get_user_model().objects.count() == users
    assert list(Week.objects.filter(is_holiday=True).values_list("index", "holiday_name")) == [(6, "Labor Day")]
    assert CoverageDemand.objects.get(week__index=0, rotation__name="inpatient").count == 3
    assert (report.faculty_updated, report.faculty_unchanged, report.weeks_updated, report.demand_changed) == (1, 2, 2, 1)


def test_a_schedule_section_is_left_to_the_whole_file_import(year_file):
    errors = refused(with_schedule(year_file))

    assert errors == {"schedule": ["unknown field; expected academic_year, preference_window, weeks, rotations, demand, "
                                   "faculty, time_off, preferences"]}
    assert not AcademicYear.objects.exists()


# --- refused files --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("spoil", "field", "message"), REFUSALS, ids=[r[0].__name__ for r in REFUSALS])
def test_a_bad_file_names_the_field_and_changes_nothing(year_file, spoil: Callable, field: str, message: str):
    year_import(data=year_file)
    bad = spoiled(year_file, spoil)
    before = snapshot()

    errors = refused(bad)

    assert field in errors, errors
    assert any(message in m for m in errors[field]), errors[field]
    assert snapshot() == before



def test_a_bad_new_year_is_not_created(year_file):
    before = snapshot()
    duplicate_ranks(year_file)

    errors = refused(year_file)

    assert "preferences[0].ordinal_rankings" in errors
    assert snapshot() == before
    assert not AcademicYear.objects.exists() and not Faculty.objects.exists()


def test_a_new_year_may_not_overlap_another(year_file, year):
    year_file["academic_year"] = 2027

    errors = refused(year_file)

    assert any("already belongs to academic year 2026–27" in m for m in errors["weeks"])


def test_every_problem_in_the_file_is_reported_at_once(year_file):
    non_monday_week(year_file)
    negative_demand(year_file)
    unknown_faculty(year_file)
    year_file["faculty"][0]["target_load"] = "two"
    year_file["faculty"][1]["colour"] = "blue"

    errors = refused(year_file)

    assert {"weeks[3].start", "demand[0].count", "preferences[2].faculty", "faculty[0].target_load",
            "faculty[1].colour"} <= errors.keys()
    assert "preferences[0].faculty" not in errors  # F001 exists; only its own row is at fault


def test_reimporting_after_the_window_closed_is_still_a_no_op(year_file):
    year_import(data=year_file)
    AcademicYear.objects.update(preference_closes=timezone.now() - dt.timedelta(hours=1))
    del year_file["preference_window"]
    before = snapshot()

    report = year_import(data=year_file)

    assert snapshot() == before and report.submissions_unchanged == 3


def test_only_coordinators_import(year_file, faculty):
    with pytest.raises(PermissionDenied):
        year_import(data=year_file, actor=faculty.user)


def test_a_new_faculty_whose_login_name_is_taken_is_refused(year_file, coordinator):
    year_file["faculty"][0]["id"] = "coordinator"
    year_file["preferences"][0]["faculty"] = "coordinator"

    errors = refused(year_file)

    assert any("already belongs to another account" in m for m in errors["faculty[0].id"])


# --- export ---------------------------------------------------------------------------------------------------


def test_export_import_export_gives_the_same_file(year_file):
    year_import(data=year_file)
    exported = year_export(year=AcademicYear.objects.get(label=2026))
    for model in (AcademicYear, Faculty, get_user_model(), Rotation):
        model.objects.all().delete()

    report = year_import(data=copy.deepcopy(exported))

    assert year_export(year=AcademicYear.objects.get(label=2026)) == exported
    assert report.year_created and "schedule" not in exported
    assert exported["weeks"][3] == {"start": week(3), "holiday": "Independence Day"}


# --- real data ------------------------------------------------------------------------------------------------


def test_the_wpi_2017_centres_import_as_a_year():
    data = wpi_year_file(WPI_2017, label=2017)
    data["preference_window"] = open_window()
    assert data["weeks"][0]["start"] == "2017-07-03" and data["weeks"][-1]["start"] == "2018-05-14"

    started = time.perf_counter()
    report = year_import(data=data)
    seconds = time.perf_counter() - started

    year = AcademicYear.objects.get(label=2017)
    assert (report.faculty_created, report.weeks, report.submissions_created) == (928, 46, 928)
    assert year.weeks.count() == 46 and year.roster.count() == 928
    assert CoverageDemand.objects.filter(week__year=year).aggregate(n=Sum("count"))["n"] == sum(d["count"] for d in data["demand"])
    first = PreferenceSubmission.objects.get(faculty__external_id="S0001")
    assert (first.preference_type, len(first.entries)) == ("cardinal", 46)
    assert {e["value"] for e in first.entries} == {0, 50, 100}
    assert seconds < 20, f"importing 928 faculty took {seconds:.1f} s"
