"""The demo year: what `manage.py demo_year` creates, that it is idempotent and seeded, and that its logins work."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.http import HttpRequest

from allocation.models import Assignment, Schedule
from preferences.demo import (
    COORDINATOR_PASSWORD,
    FACULTY_PASSWORD,
    default_label,
    faculty_names,
    holiday_weeks,
    nth_weekday,
)
from preferences.models import AcademicYear, CoverageDemand, Faculty, PreferenceSubmission, Rotation, Week
from preferences.services import ENTRY_FIELDS, preferences_validate


def demo(*args: str) -> dict:
    out = io.StringIO()
    call_command("demo_year", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def row_counts() -> dict[str, int]:
    models = (get_user_model(), AcademicYear, Week, Rotation, CoverageDemand, Faculty, PreferenceSubmission)
    return {m.__name__: m.objects.count() for m in models}


def submission_hashes(label: int) -> list[tuple[str, int, str]]:
    return list(
        PreferenceSubmission.objects.filter(year__label=label)
        .order_by("faculty__external_id", "version")
        .values_list("faculty__external_id", "version", "content_hash")
    )


@pytest.fixture
def demo_2027(db) -> dict:
    return demo("--label", "2027", "--seed", "7")


# --- calendar rules, no database -----------------------------------------------------------------------------


def test_nth_weekday_follows_the_federal_rules():
    assert nth_weekday(2027, 11, 3, 4) == dt.date(2027, 11, 25)  # Thanksgiving: 4th Thursday
    assert nth_weekday(2028, 5, 0, -1) == dt.date(2028, 5, 29)  # Memorial Day: last Monday
    assert nth_weekday(2028, 1, 0, 3) == dt.date(2028, 1, 17)  # MLK Day: 3rd Monday
    assert nth_weekday(2026, 9, 0, 1) == dt.date(2026, 9, 7)  # Labor Day: 1st Monday


def test_holidays_mark_the_week_containing_them_and_skip_days_outside_the_year():
    # 2026–27 runs Mon 6 Jul 2026 .. Sun 4 Jul 2027: 4 Jul 2026 is before it, 4 Jul 2027 is its last day.
    weeks = holiday_weeks(dt.date(2026, 7, 6), 52)
    start = {name: dt.date(2026, 7, 6) + dt.timedelta(weeks=k) for k, name in weeks.items()}
    assert start == {
        "Labor Day": dt.date(2026, 9, 7),
        "Thanksgiving": dt.date(2026, 11, 23),
        "Christmas": dt.date(2026, 12, 21),
        "New Year's Day": dt.date(2026, 12, 28),
        "Martin Luther King Jr. Day": dt.date(2027, 1, 18),
        "Memorial Day": dt.date(2027, 5, 31),
        "Independence Day": dt.date(2027, 6, 28),
    }


def test_default_label_is_the_academic_year_starting_next_july():
    assert default_label(dt.date(2026, 11, 22)) == 2027
    assert default_label(dt.date(2027, 3, 1)) == 2027
    assert default_label(dt.date(2027, 7, 5)) == 2028  # the 2027 year starts that very day: not in the future


def test_faculty_usernames_are_distinct_even_beyond_the_curated_cast():
    names = faculty_names(120)
    assert len({username for *_, username in names}) == 120
    assert names[0] == ("Amara", "Okafor", "aokafor")


# --- the command ----------------------------------------------------------------------------------------------


def test_demo_creates_a_52_week_year_that_is_collecting_now(demo_2027):
    year = AcademicYear.objects.get(label=2027)
    assert demo_2027["created"] is True
    assert year.first_monday == dt.date(2027, 7, 5)
    assert year.weeks.count() == 52 and year.num_weeks == 52
    assert year.status == AcademicYear.Status.COLLECTING
    assert year.window_is_open()


def test_thanksgiving_and_the_other_holidays_are_named_on_the_right_weeks(demo_2027):
    holidays = dict(Week.objects.filter(year__label=2027, is_holiday=True).values_list("holiday_name", "start_date"))
    assert holidays == {
        "Labor Day": dt.date(2027, 9, 6),
        "Thanksgiving": dt.date(2027, 11, 22),  # Thursday 25 Nov 2027
        "Christmas": dt.date(2027, 12, 20),
        "New Year's Day": dt.date(2027, 12, 27),
        "Martin Luther King Jr. Day": dt.date(2028, 1, 17),
        "Memorial Day": dt.date(2028, 5, 29),
    }  # 4 Jul 2027 falls before Mon 5 Jul; 4 Jul 2028 after the last week


def test_three_rotations_have_different_demand_close_to_the_total_target_load(demo_2027):
    demand = dict(
        CoverageDemand.objects.filter(week__year__label=2027).values("rotation__name")
        .annotate(total=Sum("count")).values_list("rotation__name", "total")
    )
    assert demand == {"inpatient": 104, "consult": 52, "clinic": 46}  # clinic is closed on the 6 holiday weeks
    assert CoverageDemand.objects.filter(week__year__label=2027).count() == 52 * 3
    total_load = Faculty.objects.aggregate(total=Sum("target_load"))["total"]
    assert abs(sum(demand.values()) - total_load) <= 0.1 * total_load
    assert demo_2027["total_demand"] == sum(demand.values())


def test_forty_faculty_with_logins_loads_and_qualifications(demo_2027):
    faculty = list(Faculty.objects.prefetch_related("rotations").select_related("user"))
    assert len(faculty) == demo_2027["faculty"] == 40
    assert all(2 <= f.target_load <= 6 for f in faculty)
    qualified = [{r.name for r in f.rotations.all()} for f in faculty]
    assert all("inpatient" in q for q in qualified)
    assert 20 <= sum("consult" in q for q in qualified) <= 28
    assert 16 <= sum("clinic" in q for q in qualified) <= 24
    assert 1 <= sum(q == {"inpatient"} for q in qualified) <= 6
    assert all(f.user.email.endswith("@demo.gtsched.org") and f.display_name.startswith("Dr. ") for f in faculty)


def test_preferences_cover_all_types_with_non_respondents_and_resubmissions(demo_2027):
    subs = demo_2027["submissions"]
    assert subs["by_type"]["ordinal"] > subs["by_type"]["cardinal"] > subs["by_type"]["binary"] > 0
    assert subs["non_respondents"] == 2 and subs["respondents"] == 38
    assert PreferenceSubmission.objects.filter(version=2).exists()
    assert subs["stored_versions"] == 38 + subs["resubmitted"]
    methods = set(PreferenceSubmission.objects.values_list("collection_method", flat=True))
    assert methods == {PreferenceSubmission.Method.WEB_FORM, PreferenceSubmission.Method.API}
    year = AcademicYear.objects.get(label=2027)
    for sub in PreferenceSubmission.objects.select_related("faculty"):
        assert year.preference_opens <= sub.collected_at < year.preference_closes
        assert sub.submitted_by_id == sub.faculty.user_id


def test_most_faculty_avoid_holidays_and_everyone_shares_a_few_favourite_weeks(demo_2027):
    year = AcademicYear.objects.get(label=2027)
    holidays = set(year.weeks.filter(is_holiday=True).values_list("index", flat=True))
    top_choices: dict[int, int] = {}
    blocked_holidays = 0
    for sub in PreferenceSubmission.objects.filter(year=year, preference_type="ordinal", version=1):
        first = next(e["week"] for e in sub.entries if e["rank"] == 1)
        top_choices[first] = top_choices.get(first, 0) + 1
        blocked_holidays += bool(holidays & set(sub.blocked_weeks))
    assert max(top_choices.values()) >= 4  # correlated tastes: a popular week
    assert blocked_holidays >= 5


def test_every_stored_submission_passes_validation_again(demo_2027):
    year = AcademicYear.objects.get(label=2027)
    for sub in PreferenceSubmission.objects.filter(year=year):
        _, key = ENTRY_FIELDS[sub.preference_type]
        date = {w.index: w.start_date.isoformat() for w in year.weeks.all()}
        clean = preferences_validate(
            year=year, preference_type=sub.preference_type,
            entries=[{"week": date[e["week"]], key: e[key]} for e in sub.entries],
            blocked_weeks=[date[k] for k in sub.blocked_weeks],
        )
        assert clean.content_hash == sub.content_hash


def test_running_again_without_reset_changes_nothing(demo_2027):
    before = row_counts()
    out = io.StringIO()
    call_command("demo_year", "--label", "2027", stdout=out)
    assert "already exists; nothing changed" in out.getvalue()
    assert row_counts() == before


def test_reset_recreates_the_year_with_identical_content_for_the_same_seed(demo_2027):
    first_pk, first = AcademicYear.objects.get(label=2027).pk, submission_hashes(2027)
    before = row_counts()
    assert demo("--label", "2027", "--seed", "7", "--reset")["created"] is True
    assert AcademicYear.objects.get(label=2027).pk != first_pk
    assert row_counts() == before
    assert submission_hashes(2027) == first
    demo("--label", "2027", "--seed", "8", "--reset")
    assert submission_hashes(2027) != first


def test_reset_also_clears_schedules_drafted_for_the_demo_year(demo_2027):
    year = AcademicYear.objects.get(label=2027)
    schedule = Schedule.objects.create(year=year, name="Draft")
    Assignment.objects.create(
        schedule=schedule, faculty=Faculty.objects.first(), week=year.weeks.first(), rotation=Rotation.objects.first()
    )
    assert demo("--label", "2027", "--reset")["created"] is True
    assert not Schedule.objects.exists()


def test_the_coordinator_and_faculty_can_log_in(demo_2027, client):
    # login-lockout (django-axes) needs the request to know the address; the test client passes none by itself
    logins = {login["role"]: login for login in demo_2027["logins"]}
    assert demo_2027["login_url"] == "/accounts/login/"
    coordinator = get_user_model().objects.get(username="coordinator")
    assert coordinator.is_staff and coordinator.is_superuser
    assert client.login(request=HttpRequest(), username="coordinator", password=COORDINATOR_PASSWORD)
    client.logout()
    assert logins["faculty"]["password"] == FACULTY_PASSWORD
    assert client.login(request=HttpRequest(), username=logins["faculty"]["username"], password=FACULTY_PASSWORD)
    assert client.login(request=HttpRequest(), username="aokafor", password=FACULTY_PASSWORD)


def test_text_output_prints_the_logins(db):
    out = io.StringIO()
    call_command("demo_year", "--label", "2027", "--faculty", "12", stdout=out)
    text = out.getvalue()
    assert "Created demo academic year 2027–28" in text
    assert "/accounts/login/" in text and "coordinator" in text and "demo-faculty" in text
    assert Faculty.objects.count() == 12


def test_an_impossible_faculty_count_is_refused_and_nothing_is_created(db):
    with pytest.raises(CommandError, match="--faculty must be between 1 and 400"):
        call_command("demo_year", "--faculty", "0", stdout=io.StringIO())
    assert not AcademicYear.objects.exists()
