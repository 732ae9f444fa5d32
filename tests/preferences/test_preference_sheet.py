"""The preference sheet (CSV in and out, DESIGN §13): lossless on the demo year, every bad cell refused by row and
column with nothing stored, the README's example file importable, the coordinator page and the commands."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from preferences.demo import demo_year_create, demo_year_reset
from preferences.exchange.sheet import column_letter, preference_sheet_export, preference_sheet_import
from preferences.models import AcademicYear, PreferenceSubmission
from preferences.services import submissions_current
from tests.factories import FacultyFactory, UserFactory, make_year
from tests.stability.helpers import submit

pytestmark = pytest.mark.django_db

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "preference-sheet.csv"
LABEL = 2044


def stored(year) -> dict[str, tuple]:
    return {s.faculty.external_id: (s.preference_type, s.entries, s.blocked_weeks, s.content_hash)
            for s in submissions_current(year=year).values()}


def test_column_letters_are_the_spreadsheets():
    assert [column_letter(k) for k in (0, 2, 25, 26, 27, 51, 52, 701, 702)] == \
        ["A", "C", "Z", "AA", "AB", "AZ", "BA", "ZZ", "AAA"]


def test_the_demo_years_preferences_round_trip_losslessly():
    demo_year_create(label=LABEL, seed=7)
    year = AcademicYear.objects.get(label=LABEL)
    before = stored(year)
    assert len(before) > 30 and {t for t, *_ in before.values()} == {"ordinal", "cardinal", "binary"}
    sheet = preference_sheet_export(year=year)
    assert len(list(csv.reader(io.StringIO(sheet)))) == 41

    # Into the same year: every row reads back as the set already stored, so nothing changes.
    report = preference_sheet_import(year=year, data=sheet.encode())
    assert (report.submissions_created, report.submissions_unchanged) == (0, len(before))
    assert report.rows_without_preferences == 40 - len(before)
    assert stored(year) == before

    # Into the demo year made again with other preferences: the sheet makes them exactly the first ones.
    demo_year_reset(label=LABEL)
    demo_year_create(label=LABEL, seed=8)
    year = AcademicYear.objects.get(label=LABEL)
    assert stored(year) != before
    report = preference_sheet_import(year=year, data=sheet.encode())
    assert report.submissions_created > 0
    after = stored(year)
    assert {ext: after[ext] for ext in before} == before, "every set of the sheet is stored exactly"
    silent = {line.split(",", 1)[0] for line in sheet.splitlines()[1:] if line.split(",")[2] == ""}
    assert set(after) - set(before) <= silent, "only rows without preferences kept what they had"


def test_the_readme_example_sheet_imports(rotations):
    year = make_year(label=2026, num_weeks=6, rotations=rotations)
    for k, name in enumerate(("Dr. Amara Okafor", "Dr. Daniel Reyes", "Dr. Priya Raman", "Dr. Jonathan Whitaker"), 1):
        FacultyFactory(user=UserFactory(username=f"f00{k}"), external_id=f"F00{k}", display_name=name, rotations=rotations)
    report = preference_sheet_import(year=year, data=EXAMPLE.read_bytes())
    assert (report.submissions_created, report.rows_without_preferences) == (3, 1)
    sets = stored(year)
    assert sets["F001"][:3] == ("ordinal", [{"week": 0, "rank": 2}, {"week": 1, "rank": 1}, {"week": 4, "rank": 3}], [3])
    assert sets["F002"][:3] == ("cardinal", [{"week": 0, "value": 80}, {"week": 1, "value": 12.5},
                                             {"week": 4, "value": 100}, {"week": 5, "value": 0}], [3])
    assert sets["F003"][:3] == ("binary", [{"week": 0, "accept": True}, {"week": 1, "accept": False},
                                           {"week": 4, "accept": True}], [3])
    assert "F004" not in sets
    assert PreferenceSubmission.objects.filter(collection_method="import").count() == 3


# --- refusals: each kind of bad cell, named by row and column; nothing stored ------------------------------------

@pytest.fixture
def sheet_year(year, faculty, other_faculty):
    """The 8-week 2026 year with alice (F001) and bob (F002) and one stored submission of alice's."""
    submit(faculty, year, {0: 70})
    return year


def sheet(rows: list[list[str]], weeks: int = 8, first: str = "2026-07-06") -> bytes:
    import datetime as dt

    start = dt.date.fromisoformat(first)
    header = ["faculty", "name", "preference_type", *((start + dt.timedelta(weeks=k)).isoformat() for k in range(weeks))]
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    return out.getvalue().encode()


def row(ext: str, kind: str, cells: dict[int, str]) -> list[str]:
    return [ext, "someone", kind, *(cells.get(k, "") for k in range(8))]


BAD_CELLS = [
    (row("F001", "ordinal", {0: "first"}), "row 2 (F001), column D (2026-07-06)", "is not a rank"),
    (row("F001", "ordinal", {2: "0"}), "row 2 (F001), column F (2026-07-20)", "is not a rank"),
    (row("F001", "ordinal", {1: "1.5"}), "row 2 (F001), column E (2026-07-13)", "is not a rank"),
    (row("F001", "cardinal", {7: "101"}), "row 2 (F001), column K (2026-08-24)", "outside 0–100"),
    (row("F001", "cardinal", {3: "-1"}), "row 2 (F001), column G (2026-07-27)", "outside 0–100"),
    (row("F001", "cardinal", {3: "lots"}), "row 2 (F001), column G (2026-07-27)", "is not a value"),
    (row("F001", "cardinal", {3: "nan"}), "row 2 (F001), column G (2026-07-27)", "is not a value"),
    (row("F001", "binary", {4: "yes"}), "row 2 (F001), column H (2026-08-03)", "is not accept, reject or blocked"),
    (row("F001", "binary", {4: "blockd"}), "row 2 (F001), column H (2026-08-03)", "is not accept, reject or blocked"),
    (row("F001", "ranked", {0: "1"}), "row 2 (F001), column C (preference_type)", "is not ordinal, cardinal or binary"),
    (row("F001", "", {0: "1"}), "row 2 (F001), column C (preference_type)", "is empty but the row has week cells"),
    (row("F009", "ordinal", {0: "1"}), "row 2, column A (faculty)", 'unknown faculty id "F009"'),
    (row("F001", "ordinal", {0: "1", 1: "1"}), "row 2 (F001)", "Rank 1 is used more than once"),
    (row("F001", "ordinal", {0: "1", 1: "3"}), "row 2 (F001)", "Ranks must run 1 to 2 without gaps"),
    ([*row("F001", "ordinal", {}), "extra"], "row 2 (F001)", "more than the header's 11 columns"),
]


@pytest.mark.parametrize(("bad_row", "where", "message"), BAD_CELLS)
def test_each_kind_of_bad_cell_is_refused_naming_row_and_column_and_nothing_is_stored(sheet_year, bad_row, where,
                                                                                       message):
    before = list(PreferenceSubmission.objects.values_list("pk", "content_hash"))
    good = row("F002", "cardinal", {0: "90"})
    with pytest.raises(ValidationError) as refused:
        preference_sheet_import(year=sheet_year, data=sheet([bad_row, good]))
    errors = refused.value.message_dict
    assert where in errors, errors
    assert any(message in m for m in errors[where]), errors[where]
    assert list(PreferenceSubmission.objects.values_list("pk", "content_hash")) == before, "the good row was not stored"


def test_a_repeated_faculty_row_is_refused(sheet_year):
    with pytest.raises(ValidationError) as refused:
        preference_sheet_import(year=sheet_year, data=sheet([row("F002", "cardinal", {0: "1"}),
                                                             row("F002", "cardinal", {1: "1"})]))
    assert refused.value.message_dict == {"row 3, column A (faculty)": ['"F002" already has row 2']}


@pytest.mark.parametrize(("header", "where", "message"), [
    (["faculty", "name", "type"], "row 1, column C", 'must be the header "preference_type"'),
    (["faculty", "name", "preference_type", "2026-07-07"], "row 1, column D", "is not the Monday of a week"),
    (["faculty", "name", "preference_type", "week 1"], "row 1, column D", "is not a week"),
    (["faculty", "name", "preference_type", "2026-07-06", "2026-07-06"], "row 1, column E", "already the header of column D"),
    (["faculty", "name", "preference_type", "2026-07-06"], "row 1", "has no column for 7 weeks"),
])
def test_a_bad_header_is_refused_naming_its_column(sheet_year, header, where, message):
    data = ",".join(header).encode() + b"\r\nF002,x,cardinal,1\r\n"
    with pytest.raises(ValidationError) as refused:
        preference_sheet_import(year=sheet_year, data=data)
    errors = refused.value.message_dict
    assert where in errors and any(message in m for m in errors[where]), errors


@pytest.mark.parametrize(("data", "message"), [
    (b"", "is empty"),
    (b"\xff\xfe\x00f", "is not UTF-8"),
    (b"PK\x03\x04\x14\x00\x06\x00", "is an Excel workbook, not CSV"),  # an .xlsx is a zip
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "is an Excel workbook, not CSV"),  # an old .xls
])
def test_an_unreadable_file_is_refused(sheet_year, data, message):
    with pytest.raises(ValidationError) as refused:
        preference_sheet_import(year=sheet_year, data=data)
    assert any(message in m for m in refused.value.message_dict["file"])


def test_a_closed_window_refuses_changed_rows_once_and_keeps_unchanged_ones(rotations, faculty, other_faculty):
    year = make_year(label=2026, num_weeks=8, rotations=rotations)
    submit(faculty, year, {0: 70})
    exported = preference_sheet_export(year=year)
    AcademicYear.objects.filter(pk=year.pk).update(preference_closes=year.preference_opens)
    year.refresh_from_db()
    assert preference_sheet_import(year=year, data=exported).submissions_unchanged == 1
    with pytest.raises(ValidationError) as refused:
        preference_sheet_import(year=year, data=sheet([row("F001", "cardinal", {0: "71"}),
                                                       row("F002", "cardinal", {0: "5"})]))
    assert list(refused.value.message_dict) == ["file"] and len(refused.value.message_dict["file"]) == 1
    assert "closed" in refused.value.message_dict["file"][0]


def test_excel_style_bom_semicolon_free_short_rows_and_case_are_read(sheet_year):
    data = "\ufefffaculty,name,preference_type,2026-07-06,2026-07-13,2026-07-20,2026-07-27,2026-08-03,2026-08-10," \
           "2026-08-17,2026-08-24\r\nF002,Bob,Binary,Accept,BLOCKED\r\n"
    report = preference_sheet_import(year=sheet_year, data=data.encode())
    assert report.submissions_created == 1
    assert stored(sheet_year)["F002"][:3] == ("binary", [{"week": 0, "accept": True}], [1])


# --- the coordinator page and the commands ------------------------------------------------------------------------

def test_the_coordinator_downloads_and_uploads_the_sheet(client_as, sheet_year, coordinator, faculty):
    client = client_as(coordinator)
    page = client.get(f"/coordinator/years/{sheet_year.label}/").content.decode()
    assert "Preference sheet (CSV)" in page
    download = client.get(f"/coordinator/years/{sheet_year.label}/preferences.csv")
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert "attachment" in download["Content-Disposition"]
    text = download.content.decode()
    assert text.splitlines()[1].startswith("F001,Dr. Alice Owner,cardinal,70,")

    changed = text.replace("F001,Dr. Alice Owner,cardinal,70,", "F001,Dr. Alice Owner,cardinal,75,")
    upload = SimpleUploadedFile("sheet.csv", changed.encode(), content_type="text/csv")
    response = client.post(f"/coordinator/years/{sheet_year.label}/preferences/upload/", {"file": upload})
    assert response.status_code == 302
    assert stored(sheet_year)["F001"][1] == [{"week": 0, "value": 75}]

    bad = SimpleUploadedFile("sheet.csv", changed.replace(",75,", ",750,").encode(), content_type="text/csv")
    response = client.post(f"/coordinator/years/{sheet_year.label}/preferences/upload/", {"file": bad})
    assert response.status_code == 400
    assert "row 2 (F001), column D (2026-07-06)" in response.content.decode()
    bad.seek(0)
    response = client.post(f"/coordinator/years/{sheet_year.label}/preferences/upload/", {"file": bad},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "<html" not in response.content.decode()
    assert "nothing was changed" in response.content.decode()
    assert stored(sheet_year)["F001"][1] == [{"week": 0, "value": 75}]
    response = client.post(f"/coordinator/years/{sheet_year.label}/preferences/upload/", {})
    assert response.status_code == 400 and "Choose the CSV file" in response.content.decode()


@pytest.mark.parametrize("who", ["anonymous", "faculty"])
def test_only_coordinators_reach_the_sheet(client_as, request, sheet_year, who):
    user = None if who == "anonymous" else request.getfixturevalue(who).user
    client = client_as(user)
    assert client.get(f"/coordinator/years/{sheet_year.label}/preferences.csv").status_code in (302, 403)
    upload = SimpleUploadedFile("s.csv", sheet([row("F001", "cardinal", {0: "1"})]), content_type="text/csv")
    assert client.post(f"/coordinator/years/{sheet_year.label}/preferences/upload/", {"file": upload}).status_code in (302, 403)
    assert stored(sheet_year)["F001"][1] == [{"week": 0, "value": 70}]


def test_the_commands_export_and_import_the_sheet(tmp_path, sheet_year, capsys):
    path = tmp_path / "sheet.csv"
    call_command("export_preferences", str(sheet_year.label), "--output", str(path))
    text = path.read_text(encoding="utf-8")
    assert text.startswith("faculty,name,preference_type,2026-07-06")
    path.write_text(text.replace("cardinal,70,", "cardinal,60,"), encoding="utf-8")
    out = io.StringIO()
    call_command("import_preferences", str(sheet_year.label), str(path), "--json", stdout=out)
    assert json.loads(out.getvalue())["submissions_created"] == 1

    path.write_text(text.replace("cardinal,70,", "cardinal,x,"), encoding="utf-8")
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("import_preferences", str(sheet_year.label), str(path), "--json", stdout=out)
    assert "row 2 (F001), column D (2026-07-06)" in str(refused.value)
    assert json.loads(out.getvalue())["ok"] is False
    assert stored(sheet_year)["F001"][1] == [{"week": 0, "value": 60}]
    with pytest.raises(CommandError, match="no academic year"):
        call_command("import_preferences", "1999", str(path))


@pytest.mark.parametrize("command", ["import_preferences", "export_preferences"])
@pytest.mark.parametrize("label", ["²", "2026²", "x", "-1", "99999999999999999999"])
def test_the_commands_refuse_a_year_that_is_not_a_plain_number_naming_it(tmp_path, sheet_year, command, label):
    args = [label, str(tmp_path / "sheet.csv")] if command == "import_preferences" else [label]
    with pytest.raises(CommandError, match="no academic year"):
        call_command(command, *args, stdout=io.StringIO())
