"""Year files (DESIGN §13): import is atomic and idempotent, bad files name the field and change nothing,
export gives the same format back, and the real WPI data imports whole."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, ManagementUtility, call_command
from django.db.models import Sum
from django.utils import timezone

from allocation.models import Assignment, Schedule
from preferences.exchange import wpi_year_file, year_export, year_import
from preferences.models import AcademicYear, CoverageDemand, Faculty, PreferenceSubmission, Rotation, Week
from preferences.services import preferences_submit
from tests.factories import ScheduleFactory, make_year

pytestmark = pytest.mark.django_db

WPI_2017 = Path("/work/shared/data/wpi-project-centres/IQP2017-2018")
MONDAY = dt.date(2026, 7, 6)


def week(k: int) -> str:
    return (MONDAY + dt.timedelta(weeks=k)).isoformat()


def open_window() -> dict[str, str]:
    now = timezone.now()
    return {"opens": (now - dt.timedelta(days=7)).isoformat(), "closes": (now + dt.timedelta(days=7)).isoformat()}


@pytest.fixture
def year_file() -> dict:
    """Academic year 2026: 8 weeks, a holiday, 2 rotations, 3 faculty with one preference set of each type."""
    return {
        "academic_year": 2026,
        "preference_window": open_window(),
        "weeks": [{"start": week(k), "holiday": "Independence Day" if k == 3 else None} for k in range(8)],
        "rotations": ["inpatient", "clinic"],
        "demand": [{"week": week(k), "rotation": r, "count": 1} for k in range(8) for r in ("inpatient", "clinic")],
        "faculty": [
            {"id": "F001", "name": "Dr. Ada", "email": "ada@example.org", "rotations": ["inpatient", "clinic"], "target_load": 2},
            {"id": "F002", "name": "Dr. Ben", "email": "ben@example.org", "rotations": ["inpatient"], "target_load": 2},
            {"id": "F003", "name": "Dr. Cy", "email": "cy@example.org", "rotations": ["clinic"], "target_load": 1, "active": True},
        ],
        "preferences": [
            {"faculty": "F001", "preference_type": "ordinal",
             "ordinal_rankings": [{"week": week(0), "rank": 1}, {"week": week(5), "rank": 2}],
             "cardinal_valuations": None, "binary_accepts": None, "blocked_weeks": [week(3)]},
            {"faculty": "F002", "preference_type": "cardinal", "ordinal_rankings": None,
             "cardinal_valuations": [{"week": week(1), "value": 90}, {"week": week(2), "value": 10}],
             "binary_accepts": None, "blocked_weeks": []},
            {"faculty": "F003", "preference_type": "binary", "ordinal_rankings": None, "cardinal_valuations": None,
             "binary_accepts": [{"week": week(4), "accept": True}, {"week": week(6), "accept": False}],
             "blocked_weeks": [week(7)]},
        ],
    }


def with_schedule(data: dict) -> dict:
    data = copy.deepcopy(data)
    data["schedule"] = [
        {"faculty": "F001", "week": week(0), "rotation": "inpatient"},
        {"faculty": "F002", "week": week(1), "rotation": "inpatient"},
        {"faculty": "F003", "week": week(4), "rotation": "clinic"},
        {"faculty": "F001", "week": week(5), "rotation": "clinic"},
    ]
    return data


def row_counts() -> dict[str, int]:
    """Rows in every table, many-to-many tables included."""
    return {m._meta.db_table: m.objects.count() for m in apps.get_models(include_auto_created=True)}


def snapshot() -> dict:
    """Everything an import may touch: table sizes, submission versions, and the fields updated in place."""
    return {
        "counts": row_counts(),
        "submissions": list(
            PreferenceSubmission.objects.order_by("faculty__external_id", "version")
            .values_list("faculty__external_id", "version", "content_hash")
        ),
        "years": list(AcademicYear.objects.values_list("label", "preference_opens", "preference_closes", "num_weeks")),
        "faculty": list(Faculty.objects.order_by("external_id").values_list("external_id", "display_name", "target_load", "active")),
        "holidays": list(Week.objects.order_by("year", "index").values_list("holiday_name", flat=True)),
    }


def refused(data: dict) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        year_import(data=data)
    return caught.value.message_dict


def write(tmp_path: Path, data: dict, name: str = "year.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2))
    return path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


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
    assert not report.schedule_created and report.schedule_id is None


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
    year_import(data=with_schedule(year_file))
    before = snapshot()

    report = year_import(data=with_schedule(year_file))

    assert snapshot() == before
    assert not report.changed
    assert (report.faculty_unchanged, report.submissions_unchanged) == (3, 3)
    assert report.schedule_unchanged and not report.schedule_created


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


def test_the_schedule_is_imported_as_a_draft(year_file):
    report = year_import(data=with_schedule(year_file))

    schedule = Schedule.objects.get()
    assert (schedule.status, schedule.source, report.schedule_id) == ("draft", "import", schedule.pk)
    assert schedule.name.startswith("Imported ")
    assert len(schedule.content_hash) == 64
    rows = set(schedule.assignments.values_list("faculty__external_id", "week__index", "rotation__name", "rank", "utility"))
    assert rows == {("F001", 0, "inpatient", None, None), ("F002", 1, "inpatient", None, None),
                    ("F003", 4, "clinic", None, None), ("F001", 5, "clinic", None, None)}


def test_a_different_schedule_is_a_second_draft(year_file):
    year_import(data=with_schedule(year_file))
    changed = with_schedule(year_file)
    changed["schedule"][1]["week"] = week(2)

    report = year_import(data=changed)

    assert report.schedule_created
    assert Schedule.objects.count() == 2 and Assignment.objects.count() == 8


# --- refused files --------------------------------------------------------------------------------------------


def _prefs(data: dict, i: int) -> dict:
    return data["preferences"][i]


def duplicate_ranks(data):
    _prefs(data, 0)["ordinal_rankings"][1]["rank"] = 1


def gapped_ranks(data):
    _prefs(data, 0)["ordinal_rankings"][1]["rank"] = 3


def value_above_100(data):
    _prefs(data, 1)["cardinal_valuations"][0]["value"] = 150


def unknown_week_date(data):
    _prefs(data, 1)["cardinal_valuations"][0]["week"] = "2031-01-06"


def week_of_another_year(data):
    make_year(label=2025, num_weeks=4, first_monday=dt.date(2025, 7, 7))
    _prefs(data, 1)["cardinal_valuations"][0]["week"] = "2025-07-07"


def window_closed(data):
    now = timezone.now()
    data["preference_window"] = {"opens": (now - dt.timedelta(days=30)).isoformat(), "closes": (now - dt.timedelta(days=1)).isoformat()}
    _prefs(data, 1)["cardinal_valuations"][0]["value"] = 55


def unknown_faculty(data):
    _prefs(data, 2)["faculty"] = "F099"


def unqualified_rotation(data):
    data["schedule"] = [{"faculty": "F002", "week": week(1), "rotation": "clinic"}]


def non_monday_week(data):
    data["weeks"][3]["start"] = "2026-07-28"


def negative_demand(data):
    data["demand"][0]["count"] = -1


def unknown_qualification(data):
    data["faculty"][2]["rotations"] = ["nights"]


def other_weeks_for_an_existing_year(data):
    data["weeks"].append({"start": week(8), "holiday": None})


def schedule_outside_the_year(data):
    data["schedule"] = [{"faculty": "F001", "week": week(9), "rotation": "inpatient"}]


def twice_in_one_week(data):
    data["schedule"] = [{"faculty": "F001", "week": week(0), "rotation": "inpatient"},
                        {"faculty": "F001", "week": week(0), "rotation": "clinic"}]


REFUSALS = [
    (duplicate_ranks, "preferences[0].ordinal_rankings", "Rank 1 is used more than once"),
    (gapped_ranks, "preferences[0].ordinal_rankings", "without gaps; missing 2"),
    (value_above_100, "preferences[1].cardinal_valuations[0].value", "outside 0–100"),
    (unknown_week_date, "preferences[1].cardinal_valuations[0].week", "Unknown week 2031-01-06"),
    (week_of_another_year, "preferences[1].cardinal_valuations[0].week", "belongs to academic year 2025"),
    (window_closed, "preferences", "closed"),
    (unknown_faculty, "preferences[2].faculty", 'unknown faculty id "F099"'),
    (unqualified_rotation, "schedule[0].rotation", 'F002 is not qualified for "clinic"'),
    (non_monday_week, "weeks[3].start", '"2026-07-28" is not a Monday'),
    (negative_demand, "demand[0].count", "must be a whole number ≥ 0"),
    (unknown_qualification, "faculty[2].rotations", 'unknown rotation "nights" (the file lists inpatient, clinic)'),
    (other_weeks_for_an_existing_year, "weeks", "cannot change"),
    (schedule_outside_the_year, "schedule[0].week", '"2026-09-07" is not a week of the file'),
    (twice_in_one_week, "schedule[1]", "F001 is already scheduled in week 2026-07-06"),
]


@pytest.mark.parametrize(("spoil", "field", "message"), REFUSALS, ids=[r[0].__name__ for r in REFUSALS])
def test_a_bad_file_names_the_field_and_changes_nothing(year_file, spoil: Callable, field: str, message: str):
    year_import(data=year_file)
    bad = copy.deepcopy(year_file)
    # Valid changes too, written before the refusal is found, so the rollback is what keeps them out.
    bad["faculty"][0]["name"] = "Dr. Ada Renamed"
    bad["faculty"].append({"id": "F004", "name": "Dr. Dee", "email": "", "rotations": ["clinic"], "target_load": 1})
    bad["preferences"].append({"faculty": "F004", "preference_type": "ordinal", "ordinal_rankings": [{"week": week(2), "rank": 1}],
                               "cardinal_valuations": None, "binary_accepts": None, "blocked_weeks": []})
    bad["weeks"][6]["holiday"] = "Labor Day"
    spoil(bad)
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


def _empty_the_database() -> None:
    Schedule.objects.all().delete()
    AcademicYear.objects.all().delete()
    Faculty.objects.all().delete()
    get_user_model().objects.all().delete()
    Rotation.objects.all().delete()


def test_export_import_export_gives_the_same_file(year, faculty, other_faculty, coordinator):
    weeks = list(year.weeks.order_by("index"))
    preferences_submit(faculty=faculty, year=year, preference_type="ordinal",
                       entries=[{"week": weeks[2], "rank": 1}, {"week": weeks[0], "rank": 2}],
                       blocked_weeks=[weeks[3]], method="web_form", actor=faculty.user)
    preferences_submit(faculty=faculty, year=year, preference_type="cardinal",
                       entries=[{"week": weeks[1], "value": 72.5}], blocked_weeks=[], method="web_form", actor=faculty.user)
    preferences_submit(faculty=other_faculty, year=year, preference_type="binary",
                       entries=[{"week": weeks[4], "accept": False}], blocked_weeks=[weeks[5]], method="api", actor=coordinator)
    ScheduleFactory(year=year, name="Run 1", rows=[(faculty, 2, "inpatient"), (other_faculty, 0, "inpatient")])

    exported = year_export(year=year)
    _empty_the_database()
    report = year_import(data=json.loads(json.dumps(exported)))
    again = year_export(year=AcademicYear.objects.get(label=year.label))

    assert again == exported
    assert report.year_created and report.schedule_created
    assert exported["weeks"][3] == {"start": "2026-07-27", "holiday": "Independence Day"}
    assert exported["preferences"][0]["cardinal_valuations"] == [{"week": "2026-07-13", "value": 72.5}]  # the current version
    assert exported["schedule"][0] == {"faculty": "F002", "week": "2026-07-06", "rotation": "inpatient"}


def test_export_takes_the_published_schedule_over_a_newer_draft(year, faculty):
    ScheduleFactory(year=year, name="Final", rows=[(faculty, 1, "inpatient")], status=Schedule.Status.PUBLISHED)
    ScheduleFactory(year=year, name="Newer draft", rows=[(faculty, 2, "inpatient")])

    assert year_export(year=year)["schedule"] == [{"faculty": "F001", "week": week(1), "rotation": "inpatient"}]


# --- commands -------------------------------------------------------------------------------------------------


def test_import_year_command_prints_a_summary_and_json(year_file, tmp_path):
    path = write(tmp_path, year_file)

    text = run("import_year", str(path))
    result = json.loads(run("import_year", str(path), "--json"))

    assert "Imported academic year 2026–27 (new)" in text and "3 new" in text
    assert result["ok"] is True and result["changed"] is False and result["submissions_unchanged"] == 3


def test_import_year_refuses_a_bad_file_listing_each_field(year_file, tmp_path):
    non_monday_week(year_file)
    unknown_faculty(year_file)
    path = write(tmp_path, year_file)

    with pytest.raises(CommandError) as caught:
        run("import_year", str(path))

    lines = str(caught.value).splitlines()
    assert '  weeks[3].start: "2026-07-28" is not a Monday (it is a Tuesday)' in lines
    assert any(line.startswith('  preferences[2].faculty: unknown faculty id "F099"') for line in lines)
    assert not AcademicYear.objects.exists()


def test_import_year_json_errors_are_printed_and_the_command_fails(year_file, tmp_path):
    unqualified_rotation(year_file)
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_year", str(write(tmp_path, year_file)), "--json", stdout=out)

    result = json.loads(out.getvalue())
    assert result["ok"] is False and "schedule[0].rotation" in result["errors"]


def test_import_year_refuses_a_missing_file_and_broken_json(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run("import_year", str(tmp_path / "nope.json"))
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "academic_year": 2026,\n  "weeks": [,]\n}')
    with pytest.raises(CommandError, match="invalid JSON at line 3, column 13"):
        run("import_year", str(broken))


def test_import_year_exits_non_zero_with_a_message_not_a_traceback(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        ManagementUtility(["manage.py", "import_year", str(tmp_path / "nope.json")]).execute()

    assert caught.value.code != 0
    err = capsys.readouterr().err
    assert "no such file" in err and "Traceback" not in err


def test_export_year_prints_the_year_file_and_writes_it_to_a_file(year_file, tmp_path):
    year_import(data=with_schedule(year_file))
    expected = year_export(year=AcademicYear.objects.get(label=2026))

    assert json.loads(run("export_year", "2026")) == expected
    assert json.loads(run("export_year", "2026", "--json")) == expected
    result = json.loads(run("export_year", "2026", "--output", str(tmp_path / "out.json"), "--json"))
    assert result == {"ok": True, "academic_year": 2026, "output": str(tmp_path / "out.json"),
                      "weeks": 8, "faculty": 3, "preferences": 3, "schedule_assignments": 4}
    assert json.loads((tmp_path / "out.json").read_text()) == expected


def test_export_year_refuses_an_unknown_year(year):
    with pytest.raises(CommandError, match="no academic year 2031 \\(known years: 2026\\)"):
        run("export_year", "2031")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("export_year", "2031", "--json", stdout=out)
    assert json.loads(out.getvalue())["ok"] is False


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
