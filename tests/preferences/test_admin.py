"""The preferences admin: submissions are immutable evidence (no add, change or delete, even for a superuser); the
year and rotation lists count respondents and qualified active faculty."""

from __future__ import annotations

import pytest
from django.urls import reverse

from preferences.models import PreferenceSubmission, TimeOff
from preferences.services import preferences_submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def submission(year, faculty):
    weeks = list(year.weeks.order_by("index"))
    submission, _ = preferences_submit(faculty=faculty, year=year, preference_type="ordinal",
                                       entries=[{"week": weeks[1], "rank": 1}, {"week": weeks[0], "rank": 2}],
                                       blocked_weeks=[weeks[4]], method="web_form", actor=faculty.user)
    return submission


def _row(obj) -> dict:
    return type(obj).objects.filter(pk=obj.pk).values().get()


def test_submissions_are_listed_and_shown(submission, admin_console):
    listing = admin_console.get(reverse("admin:preferences_preferencesubmission_changelist")).content.decode()
    assert submission.faculty.display_name in listing
    assert admin_console.get(reverse("admin:preferences_preferencesubmission_change", args=[submission.pk])).status_code == 200


def test_submissions_cannot_be_added_in_the_admin(submission, admin_console):
    url = reverse("admin:preferences_preferencesubmission_add")
    assert admin_console.get(url).status_code == 403
    response = admin_console.post(url, {"faculty": submission.faculty_id, "year": submission.year_id,
                                        "preference_type": "ordinal", "entries": "[]", "blocked_weeks": "[]"})
    assert response.status_code == 403 and PreferenceSubmission.objects.count() == 1


def test_a_post_to_a_submissions_change_page_does_not_alter_it(submission, admin_console):
    before = _row(submission)
    response = admin_console.post(reverse("admin:preferences_preferencesubmission_change", args=[submission.pk]),
                                  {"preference_type": "binary", "entries": "[]", "blocked_weeks": "[]"})
    assert response.status_code == 403
    assert _row(submission) == before


def test_submissions_cannot_be_deleted_in_the_admin_one_by_one_or_in_bulk(submission, admin_console):
    response = admin_console.post(reverse("admin:preferences_preferencesubmission_delete", args=[submission.pk]),
                                  {"post": "yes"})
    assert response.status_code == 403
    changelist = reverse("admin:preferences_preferencesubmission_changelist")
    assert "delete_selected" not in admin_console.get(changelist).content.decode()
    admin_console.post(changelist, {"action": "delete_selected", "_selected_action": [submission.pk], "post": "yes"})
    assert PreferenceSubmission.objects.filter(pk=submission.pk).exists()


def test_the_year_list_counts_each_faculty_member_who_submitted_once(year, submission, faculty, other_faculty,
                                                                      admin_console):
    weeks = list(year.weeks.order_by("index"))
    preferences_submit(faculty=faculty, year=year, preference_type="cardinal", entries=[{"week": weeks[2], "value": 80}],
                       blocked_weeks=[], method="web_form", actor=faculty.user)  # a second version
    html = admin_console.get(reverse("admin:preferences_academicyear_changelist")).content.decode()
    assert '<td class="field-respondents">1</td>' in html
    preferences_submit(faculty=other_faculty, year=year, preference_type="cardinal",
                       entries=[{"week": weeks[2], "value": 80}], blocked_weeks=[], method="web_form",
                       actor=other_faculty.user)
    html = admin_console.get(reverse("admin:preferences_academicyear_changelist")).content.decode()
    assert '<td class="field-respondents">2</td>' in html


def test_the_rotation_list_counts_only_active_qualified_faculty(faculty, other_faculty, admin_console):
    url = reverse("admin:preferences_rotation_changelist")
    html = admin_console.get(url, {"q": "inpatient"}).content.decode()
    assert '<td class="field-qualified_faculty">2</td>' in html
    html = admin_console.get(url, {"q": "clinic"}).content.decode()
    assert '<td class="field-qualified_faculty">1</td>' in html
    other_faculty.active = False
    other_faculty.save(update_fields=["active"])
    html = admin_console.get(url, {"q": "inpatient"}).content.decode()
    assert '<td class="field-qualified_faculty">1</td>' in html


# --- time off: coordinators see and edit everyone's, through the same checks -----------------------------------


def _time_off_form(year, faculty, start: str, end: str, kind: str = "conference") -> dict:
    return {"faculty": faculty.pk, "year": year.pk, "start": start, "end": end, "kind": kind, "note": ""}


def test_time_off_is_added_and_listed_in_the_admin(year, faculty, admin_console):
    url = reverse("admin:preferences_timeoff_add")
    answer = admin_console.post(url, _time_off_form(year, faculty, "2026-07-22", "2026-07-24"))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    row = TimeOff.objects.get()
    listing = admin_console.get(reverse("admin:preferences_timeoff_changelist")).content.decode()
    assert faculty.display_name in listing and row.kind == "conference"


@pytest.mark.parametrize(("start", "end", "words"), [
    ("2026-07-24", "2026-07-22", "before the first day"),
    ("2026-06-01", "2026-06-03", "outside academic year"),
])
def test_bad_time_off_in_the_admin_is_refused_on_its_field_and_nothing_is_stored(year, faculty, admin_console, start, end, words):
    answer = admin_console.post(reverse("admin:preferences_timeoff_add"), _time_off_form(year, faculty, start, end))
    assert answer.status_code == 200 and words in answer.content.decode()
    assert not TimeOff.objects.exists()
