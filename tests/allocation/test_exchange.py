"""The whole year file (DESIGN §13): the schedule section imports as a draft, a refusal in any section changes
nothing, the report and the export keep their shape, and the import_year / export_year commands."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, ManagementUtility, call_command

from allocation.exchange import year_file_export, year_file_import
from allocation.models import Assignment, Schedule
from preferences.exchange import year_import
from preferences.models import AcademicYear, Faculty, Rotation
from preferences.services import preferences_submit
from tests.factories import ScheduleFactory
from tests.yearfiles import (
    REFUSALS,
    negative_demand,
    non_monday_week,
    run,
    snapshot,
    spoiled,
    unknown_faculty,
    week,
    with_schedule,
    write,
)

pytestmark = pytest.mark.django_db


def refused(data: dict) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        year_file_import(data=data)
    return caught.value.message_dict


# --- import ---------------------------------------------------------------------------------------------------


def test_the_report_keeps_its_keys_in_order(year_file):
    report = year_file_import(data=year_file)

    assert list(report.as_dict()) == [
        "academic_year", "year_created", "year_updated", "weeks", "weeks_updated", "rotations", "rotations_created",
        "demand", "demand_changed", "faculty_created", "faculty_updated", "faculty_unchanged", "submissions_created",
        "submissions_unchanged", "time_off_created", "time_off_deleted", "schedule_created", "schedule_unchanged", "schedule_id", "schedule_assignments",
        "changed",
    ]
    assert not report.schedule_created and report.schedule_id is None


def test_the_whole_file_report_adds_the_schedule_to_the_preference_half(year_file):
    year_import(data=year_file)
    half = year_import(data=year_file).as_dict()

    whole = year_file_import(data=year_file).as_dict()

    assert whole == {**half, "schedule_created": False, "schedule_unchanged": False, "schedule_id": None,
                     "schedule_assignments": 0, "changed": False}


def test_reimporting_the_same_file_changes_nothing(year_file):
    year_file_import(data=with_schedule(year_file))
    before = snapshot()

    report = year_file_import(data=with_schedule(year_file))

    assert snapshot() == before
    assert not report.changed
    assert (report.faculty_unchanged, report.submissions_unchanged) == (3, 3)
    assert report.schedule_unchanged and not report.schedule_created


def test_a_new_schedule_alone_is_a_change(year_file):
    year_file_import(data=year_file)

    report = year_file_import(data=with_schedule(year_file))

    assert report.changed and report.schedule_created and report.schedule_assignments == 4
    assert (report.faculty_unchanged, report.submissions_unchanged) == (3, 3)



def test_the_schedule_is_imported_as_a_draft(year_file):
    report = year_file_import(data=with_schedule(year_file))

    schedule = Schedule.objects.get()
    assert (schedule.status, schedule.source, report.schedule_id) == ("draft", "import", schedule.pk)
    assert schedule.name.startswith("Imported ")
    assert len(schedule.content_hash) == 64
    rows = set(schedule.assignments.values_list("faculty__external_id", "week__index", "rotation__name", "rank", "utility"))
    assert rows == {("F001", 0, "inpatient", None, None), ("F002", 1, "inpatient", None, None),
                    ("F003", 4, "clinic", None, None), ("F001", 5, "clinic", None, None)}


def test_a_different_schedule_is_a_second_draft(year_file):
    year_file_import(data=with_schedule(year_file))
    changed = with_schedule(year_file)
    changed["schedule"][1]["week"] = week(2)

    report = year_file_import(data=changed)

    assert report.schedule_created
    assert Schedule.objects.count() == 2 and Assignment.objects.count() == 8


# --- refused files --------------------------------------------------------------------------------------------


def unqualified_rotation(data):
    data["schedule"] = [{"faculty": "F002", "week": week(1), "rotation": "clinic"}]


def schedule_outside_the_year(data):
    data["schedule"] = [{"faculty": "F001", "week": week(9), "rotation": "inpatient"}]


def twice_in_one_week(data):
    data["schedule"] = [{"faculty": "F001", "week": week(0), "rotation": "inpatient"},
                        {"faculty": "F001", "week": week(0), "rotation": "clinic"}]


def unknown_scheduled_faculty(data):
    data["schedule"][0]["faculty"] = "F099"


SCHEDULE_REFUSALS = [
    (unqualified_rotation, "schedule[0].rotation", 'F002 is not qualified for "clinic"'),
    (schedule_outside_the_year, "schedule[0].week", '"2026-09-07" is not a week of the file'),
    (twice_in_one_week, "schedule[1]", "F001 is already scheduled in week 2026-07-06"),
    (unknown_scheduled_faculty, "schedule[0].faculty", 'unknown faculty id "F099"'),
]


@pytest.mark.parametrize(("spoil", "field", "message"), REFUSALS + SCHEDULE_REFUSALS,
                         ids=[r[0].__name__ for r in REFUSALS + SCHEDULE_REFUSALS])
def test_a_bad_section_refuses_the_whole_file_and_changes_nothing(year_file, spoil: Callable, field: str, message: str):
    """Preference and schedule sections are written in one transaction: a refusal in either keeps both out."""
    year_file_import(data=year_file)
    bad = spoiled(with_schedule(year_file), spoil)
    before = snapshot()

    errors = refused(bad)

    assert field in errors, errors
    assert any(message in m for m in errors[field]), errors[field]
    assert snapshot() == before and not Schedule.objects.exists()


def test_errors_of_both_halves_come_in_file_order(year_file, coordinator):
    data = with_schedule(year_file)
    data["colour"] = "blue"
    non_monday_week(data)
    negative_demand(data)
    unknown_faculty(data)
    unqualified_rotation(data)
    data["faculty"][0]["id"] = "coordinator"  # a database check, reported after every section's own checks
    data["preferences"][0]["faculty"] = "coordinator"

    errors = refused(data)

    assert list(errors) == ["colour", "weeks[3].start", "demand[0].count", "preferences[2].faculty",
                            "schedule[0].rotation", "faculty[0].id"]
    assert errors["colour"] == ["unknown field; expected academic_year, preference_window, weeks, rotations, demand, "
                                "faculty, time_off, preferences, schedule"]


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

    exported = year_file_export(year=year)
    _empty_the_database()
    report = year_file_import(data=json.loads(json.dumps(exported)))
    again = year_file_export(year=AcademicYear.objects.get(label=year.label))

    assert again == exported
    assert report.year_created and report.schedule_created
    assert exported["weeks"][3] == {"start": "2026-07-27", "holiday": "Independence Day"}
    assert exported["preferences"][0]["cardinal_valuations"] == [{"week": "2026-07-13", "value": 72.5}]  # the current version
    assert exported["schedule"][0] == {"faculty": "F002", "week": "2026-07-06", "rotation": "inpatient"}


def test_export_takes_the_published_schedule_over_a_newer_draft(year, faculty):
    ScheduleFactory(year=year, name="Final", rows=[(faculty, 1, "inpatient")], status=Schedule.Status.PUBLISHED)
    ScheduleFactory(year=year, name="Newer draft", rows=[(faculty, 2, "inpatient")])

    assert year_file_export(year=year)["schedule"] == [{"faculty": "F001", "week": week(1), "rotation": "inpatient"}]


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
    year_file_import(data=with_schedule(year_file))
    expected = year_file_export(year=AcademicYear.objects.get(label=2026))

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
