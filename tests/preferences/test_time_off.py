"""Time off (DESIGN §4, §13): checked in one service for the page, the API, the admin and the year file; bad input is
refused naming the field with nothing stored; the weeks it overlaps are blocked and the weeks near it score lower."""

from __future__ import annotations

import copy
import datetime as dt

import numpy as np
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from preferences.exchange import year_export, year_import
from preferences.models import TimeOff
from preferences.services import year_preferences
from preferences.time_off import time_off_create, time_off_update
from tests.yearfiles import week, year_file_data

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2026, 7, 6)  # week 0 of the 2026 fixture year (8 weeks, to Sunday 30 Aug)
LIST = reverse("time-off-list")


def day(weeks: int, days: int = 0) -> dt.date:
    return MONDAY + dt.timedelta(weeks=weeks, days=days)


def refused(**kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        time_off_create(**kwargs)
    return caught.value.message_dict


# --- the service ---------------------------------------------------------------------------------------------------


def test_a_period_is_stored_with_its_fields(year, faculty):
    row = time_off_create(faculty=faculty, year=year, start=day(2, 1), end=day(2, 4), kind="conference",
                          note=" ACP meeting ", actor=faculty.user)
    assert (row.start, row.end, row.kind, row.note, row.days) == (day(2, 1), day(2, 4), "conference", "ACP meeting", 4)


@pytest.mark.parametrize(("start", "end", "field", "words"), [
    (day(2, 4), day(2, 1), "end", "before the first day"),
    (MONDAY - dt.timedelta(days=3), day(0, 2), "start", "outside academic year"),
    (day(7, 2), day(8, 1), "end", "outside academic year"),
    ("2026-13-01", day(1), "start", "not a date"),
])
def test_bad_dates_are_refused_naming_the_field_and_nothing_is_stored(year, faculty, start, end, field, words):
    errors = refused(faculty=faculty, year=year, start=start, end=end, kind="leave", actor=faculty.user)
    assert field in errors and words in " ".join(errors[field])
    assert not TimeOff.objects.exists()


def test_an_unknown_kind_is_refused_naming_kind(year, faculty):
    assert "kind" in refused(faculty=faculty, year=year, start=day(1), end=day(1), kind="holiday", actor=None)


def test_a_period_overlapping_another_of_the_same_person_is_refused(year, faculty, other_faculty):
    time_off_create(faculty=faculty, year=year, start=day(2), end=day(2, 4), kind="conference")
    errors = refused(faculty=faculty, year=year, start=day(2, 4), end=day(3), kind="leave")
    assert "overlaps your conference" in errors["start"][0]
    assert TimeOff.objects.count() == 1
    # Someone else may be away on the same days; the same person just after is fine.
    time_off_create(faculty=other_faculty, year=year, start=day(2), end=day(2, 4), kind="conference")
    time_off_create(faculty=faculty, year=year, start=day(2, 5), end=day(3), kind="leave")


def test_faculty_record_only_their_own_time_off(year, faculty, other_faculty, coordinator):
    assert "faculty" in refused(faculty=other_faculty, year=year, start=day(1), end=day(1), kind="leave",
                                actor=faculty.user)
    assert not TimeOff.objects.exists()
    time_off_create(faculty=other_faculty, year=year, start=day(1), end=day(1), kind="leave", actor=coordinator)


def test_a_change_is_checked_against_the_other_periods_but_not_itself(year, faculty):
    first = time_off_create(faculty=faculty, year=year, start=day(1), end=day(1, 2), kind="leave")
    time_off_create(faculty=faculty, year=year, start=day(4), end=day(4, 2), kind="leave")
    time_off_update(time_off=first, end=day(1, 4))
    with pytest.raises(ValidationError) as caught:
        time_off_update(time_off=first, end=day(4, 1))
    assert "start" in caught.value.message_dict
    first.refresh_from_db()
    assert first.end == day(1, 4)


# --- the year's utility model ----------------------------------------------------------------------------------------


def test_weeks_overlapping_time_off_are_blocked_and_the_weeks_near_it_score_lower(year, faculty, other_faculty):
    year.roster.set([faculty, other_faculty])
    time_off_create(faculty=faculty, year=year, start=day(3, 2), end=day(3, 4), kind="conference")  # Wed–Fri of week 3
    prefs = year_preferences(year=year, rng=np.random.default_rng(0))
    i = int(np.flatnonzero(prefs.faculty_ids == faculty.pk)[0])
    j = 1 - i
    model = prefs.model
    assert model.blocked[i].tolist() == [k == 3 for k in range(8)]
    assert not model.eligible[i, 3].any() and model.utility[i, 3] == 0
    # Distance from each week's Monday to Wed 3rd week … Fri: 23, 16, 9, (0), 3, 10, 17, 24 days.
    assert model.factors["time_off_proximity"][i].tolist() == [0.8, 0.8, 0.5, 0.2, 0.2, 0.5, 0.8, 0.8]
    assert (model.factors["time_off_proximity"][j] == 0.5).all() and not model.blocked[j].any()
    # Neutral weeks: 0.6·0.5 + 0.2·0.5 + 0.1·proximity + 0.1·0.5.
    assert model.utility[i, 0] == pytest.approx(0.53) and model.utility[i, 4] == pytest.approx(0.47)


# --- the API ---------------------------------------------------------------------------------------------------------


def test_faculty_add_their_own_time_off_through_the_api(year, faculty, as_):
    answer = as_("faculty").post(LIST, {"academic_year": 2026, "start": "2026-07-21", "end": "2026-07-24",
                                        "kind": "conference"}, format="json")
    assert answer.status_code == 201, answer.json()
    assert answer.json()["faculty"] == "F001" and answer.json()["kind"] == "conference"


@pytest.mark.parametrize(("body", "field"), [
    ({"start": "2026-07-24", "end": "2026-07-21"}, "end"),
    ({"start": "2026-06-01", "end": "2026-06-03"}, "start"),
    ({"faculty": "F002"}, "faculty"),
    ({"kind": "vacation"}, "kind"),
    ({"start": "21/07/2026"}, "start"),
])
def test_bad_time_off_through_the_api_is_a_400_naming_the_field(year, faculty, other_faculty, as_, body, field):
    payload = {"academic_year": 2026, "start": "2026-07-21", "end": "2026-07-24", "kind": "conference", **body}
    answer = as_("faculty").post(LIST, payload, format="json")
    assert answer.status_code == 400 and field in answer.json(), answer.json()
    assert not TimeOff.objects.exists()


def test_an_overlap_through_the_api_is_a_400_on_start(year, faculty, as_):
    time_off_create(faculty=faculty, year=year, start=day(2), end=day(2, 4), kind="leave")
    answer = as_("faculty").post(LIST, {"academic_year": 2026, "start": str(day(2, 3)), "end": str(day(3)),
                                        "kind": "other"}, format="json")
    assert answer.status_code == 400 and "start" in answer.json()
    assert TimeOff.objects.count() == 1


def test_faculty_see_and_delete_only_their_own_time_off_coordinators_all(year, faculty, other_faculty, as_):
    mine = time_off_create(faculty=faculty, year=year, start=day(1), end=day(1), kind="leave")
    theirs = time_off_create(faculty=other_faculty, year=year, start=day(1), end=day(1), kind="leave")
    client = as_("faculty")
    assert [r["id"] for r in client.get(LIST).json()["results"]] == [mine.pk]
    assert client.get(reverse("time-off-detail", args=[theirs.pk])).status_code == 404
    assert client.delete(reverse("time-off-detail", args=[theirs.pk])).status_code == 404
    assert client.delete(reverse("time-off-detail", args=[mine.pk])).status_code == 204
    assert list(TimeOff.objects.values_list("pk", flat=True)) == [theirs.pk]


def test_coordinators_record_time_off_for_anyone_and_anonymous_get_nothing(year, faculty, as_, api_client):
    assert api_client.get(LIST).status_code in (401, 403)
    answer = as_("coordinator").post(LIST, {"faculty": "F001", "academic_year": 2026, "start": "2026-07-21",
                                            "end": "2026-07-21", "kind": "parental"}, format="json")
    assert answer.status_code == 201 and TimeOff.objects.get().faculty == faculty


# --- the preference page ---------------------------------------------------------------------------------------------


def test_the_preference_page_adds_and_deletes_time_off_with_htmx(year, faculty, client_as):
    client = client_as(faculty.user)
    page = client.get(reverse("my_preferences"))
    assert b'id="time-off"' in page.content
    added = client.post(reverse("time_off_add"), {"start": "2026-07-21", "end": "2026-07-24", "kind": "conference",
                                                  "note": "ACP"}, HTTP_HX_REQUEST="true")
    assert added.status_code == 200 and b"Conference" in added.content and b"<html" not in added.content
    row = TimeOff.objects.get()
    removed = client.post(reverse("time_off_remove", args=[row.pk]), HTTP_HX_REQUEST="true")
    assert removed.status_code == 200 and not TimeOff.objects.exists()


def test_a_refused_period_on_the_page_names_the_field_and_stores_nothing(year, faculty, client_as):
    client = client_as(faculty.user)
    answer = client.post(reverse("time_off_add"), {"start": "2026-07-24", "end": "2026-07-21", "kind": "leave"})
    assert answer.status_code == 400
    assert "before the first day" in answer.content.decode()
    assert not TimeOff.objects.exists()
    plain = client.post(reverse("time_off_add"), {"start": "2026-07-21", "end": "2026-07-24", "kind": "leave"})
    assert plain.status_code == 302 and TimeOff.objects.count() == 1


def test_nobody_deletes_someone_elses_time_off_from_the_page(year, faculty, other_faculty, client_as):
    theirs = time_off_create(faculty=other_faculty, year=year, start=day(1), end=day(1), kind="leave")
    answer = client_as(faculty.user).post(reverse("time_off_remove", args=[theirs.pk]))
    assert answer.status_code == 404 and TimeOff.objects.filter(pk=theirs.pk).exists()


# --- the year file ---------------------------------------------------------------------------------------------------


def with_time_off(rows: list[dict]) -> dict:
    data = copy.deepcopy(year_file_data())
    data["time_off"] = rows
    return data


GOOD = [{"faculty": "F001", "start": week(2), "end": str(dt.date.fromisoformat(week(2)) + dt.timedelta(days=4)),
         "kind": "conference", "note": "ACP"},
        {"faculty": "F002", "start": week(5), "end": week(5), "kind": "leave"}]


def test_the_year_file_carries_time_off_and_round_trips(db):
    report = year_import(data=with_time_off(GOOD))
    assert report.time_off_created == 2
    exported = year_export(year=TimeOff.objects.first().year)
    assert exported["time_off"] == GOOD
    again = year_import(data=exported)
    assert not again.changed and TimeOff.objects.count() == 2
    # The section is the year's whole time off: a file without one of the periods removes it.
    assert year_import(data=with_time_off(GOOD[:1])).time_off_deleted == 1


@pytest.mark.parametrize(("row", "path"), [
    ({"faculty": "F001", "start": week(3), "end": week(2), "kind": "leave"}, "time_off[1].end"),
    ({"faculty": "F001", "start": "2026-06-01", "end": week(0), "kind": "leave"}, "time_off[1].start"),
    ({"faculty": "F001", "start": week(2), "end": week(2), "kind": "leave"}, "time_off[1].start"),  # overlaps [0]
    ({"faculty": "F009", "start": week(1), "end": week(1), "kind": "leave"}, "time_off[1].faculty"),
    ({"faculty": "F001", "start": week(1), "end": week(1), "kind": "sabbatical"}, "time_off[1].kind"),
    ({"faculty": "F001", "start": week(1), "end": week(1), "kind": "leave", "why": "x"}, "time_off[1].why"),
])
def test_a_year_file_with_bad_time_off_is_refused_naming_the_path_and_changes_nothing(db, row, path):
    with pytest.raises(ValidationError) as caught:
        year_import(data=with_time_off([GOOD[0], row]))
    assert path in caught.value.message_dict, caught.value.message_dict
    assert not TimeOff.objects.exists()
