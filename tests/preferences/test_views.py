"""Pages: the permission matrix, the preference form's validation and saving, live validation, the coordinator overview."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags

from preferences.models import AcademicYear, PreferenceSubmission
from preferences.services import preferences_submit
from tests.factories import make_year

pytestmark = pytest.mark.django_db


def _post(week_values: dict[int, str], *, preference_type: str = "ordinal", blocked: tuple[int, ...] = ()) -> dict[str, str]:
    data = {"preference_type": preference_type}
    data.update({f"w_{k}": v for k, v in week_values.items()})
    data.update({f"block_{k}": "on" for k in blocked})
    return data


def _stored() -> list[tuple[int, int, str]]:
    return list(PreferenceSubmission.objects.values_list("faculty_id", "version", "content_hash"))


def _submit(faculty, year, ranks):
    submission, _ = preferences_submit(
        faculty=faculty, year=year, preference_type="ordinal",
        entries=[{"week": year.weeks.get(index=k), "rank": r} for k, r in ranks.items()],
        blocked_weeks=[], method="web_form", actor=faculty.user,
    )
    return submission


# --- permission matrix -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", 302), ("faculty", 200), ("other_faculty", 200), ("coordinator", 403)],
)
def test_my_preferences_page_is_for_faculty(who, expected, request, client_as, year):
    user = None if who == "anonymous" else getattr(request.getfixturevalue(who), "user", request.getfixturevalue(who))
    response = client_as(user).get(reverse("my_preferences"))
    assert response.status_code == expected
    if who == "anonymous":
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", 302), ("faculty", 403), ("other_faculty", 403), ("coordinator", 200)],
)
def test_coordinator_year_page_is_for_coordinators_only(who, expected, request, client_as, year):
    user = None if who == "anonymous" else getattr(request.getfixturevalue(who), "user", request.getfixturevalue(who))
    response = client_as(user).get(reverse("coordinator_year", args=[year.label]))
    assert response.status_code == expected


def test_coordinator_partial_request_is_guarded_too(client_as, faculty, year):
    response = client_as(faculty.user).get(reverse("coordinator_year", args=[year.label]), HTTP_HX_REQUEST="true")
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", 302), ("faculty", 200), ("other_faculty", 404), ("coordinator", 200)],
)
def test_a_submission_version_is_seen_by_its_owner_and_coordinators(who, expected, request, client_as, year, faculty):
    submission = _submit(faculty, year, {0: 1})
    user = None if who == "anonymous" else getattr(request.getfixturevalue(who), "user", request.getfixturevalue(who))
    response = client_as(user).get(reverse("submission_detail", args=[submission.pk]))
    assert response.status_code == expected


def test_home_sends_each_role_to_its_page(client_as, faculty, coordinator, year):
    assert client_as(faculty.user).get("/")["Location"] == reverse("my_preferences")
    client_as(coordinator)
    assert client_as(coordinator).get("/")["Location"] == reverse("coordinator_overview")


def test_a_user_without_faculty_profile_is_told_so(client_as, django_user_model, year):
    user = django_user_model.objects.create_user("nobody", password="x-long-password")
    response = client_as(user).get(reverse("my_preferences"))
    assert response.status_code == 403
    assert b"No faculty profile" in response.content


# --- the preference page -----------------------------------------------------------------------

def test_page_lists_every_week_with_holidays_and_the_deadline(client_as, faculty, year):
    response = client_as(faculty.user).get(reverse("my_preferences"))
    html = response.content.decode()
    assert html.count('name="block_') == year.num_weeks
    assert "Independence Day" in html
    assert "Window open" in html and "closes" in html


def test_saving_ranks_creates_a_new_version_each_time(client_as, faculty, year):
    client = client_as(faculty.user)
    response = client.post(reverse("my_preferences"), _post({0: "1", 2: "2"}, blocked=(5,)), HTTP_USER_AGENT="pytest-browser")
    assert response.status_code == 302
    first = PreferenceSubmission.objects.get(faculty=faculty)
    assert first.entries == [{"week": 0, "rank": 1}, {"week": 2, "rank": 2}]
    assert first.blocked_weeks == [5]
    assert first.collection_method == "web_form"
    assert first.user_agent == "pytest-browser" and first.ip_address == "127.0.0.1"
    client.post(reverse("my_preferences"), _post({1: "1"}))
    assert list(PreferenceSubmission.objects.filter(faculty=faculty).values_list("version", flat=True).order_by("version")) == [1, 2]


def test_saved_preferences_are_shown_again(client_as, faculty, year):
    client = client_as(faculty.user)
    client.post(reverse("my_preferences"), _post({0: "70", 1: "15"}, preference_type="cardinal", blocked=(4,)))
    html = client.get(reverse("my_preferences")).content.decode()
    assert 'name="w_0" value="70"' in html and 'name="w_1" value="15"' in html
    assert 'name="block_4" checked' in html
    assert "Version 1" in html


@pytest.mark.parametrize("preference_type", ["cardinal", "binary"])
def test_other_types_save(client_as, faculty, year, preference_type):
    values = {0: "80", 1: "0"} if preference_type == "cardinal" else {0: "accept", 1: "reject"}
    response = client_as(faculty.user).post(reverse("my_preferences"), _post(values, preference_type=preference_type))
    assert response.status_code == 302
    assert PreferenceSubmission.objects.get(faculty=faculty).preference_type == preference_type


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_post({0: "1", 1: "1"}), "Rank 1 is used more than once"),
        (_post({0: "1", 1: "3"}), "Ranks must run 1 to 2 without gaps; missing 2"),
        (_post({0: "101"}, preference_type="cardinal"), "Value 101 is outside 0–100"),
        (_post({0: "-1"}, preference_type="cardinal"), "Value -1 is outside 0–100"),
        (_post({0: "abc"}, preference_type="cardinal"), "is not a number"),
        (_post({0: "maybe"}, preference_type="binary"), "Choose accept, reject"),
        (_post({0: "1"}, blocked=(0,)), "Mon 6 Jul is both blocked and ranked; choose one."),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_stored(client_as, faculty, year, data, message):
    _submit(faculty, year, {3: 1})
    before = _stored()
    response = client_as(faculty.user).post(reverse("my_preferences"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert _stored() == before


@pytest.mark.parametrize("field", ["w_99", "w_-1", "block_99", "w_x"])
def test_unknown_week_fields_are_refused_naming_the_field_and_nothing_is_stored(client_as, faculty, year, field):
    response = client_as(faculty.user).post(reverse("my_preferences"), {**_post({0: "1"}), field: "2"})
    assert response.status_code == 400
    assert f"Unknown field “{field}”" in response.content.decode()
    assert not PreferenceSubmission.objects.exists()
    live = client_as(faculty.user).post(reverse("validate_preferences"), {**_post({0: "1"}), field: "2"}, HTTP_HX_REQUEST="true")
    assert f"Unknown field “{field}”" in live.content.decode() and "Looks good" not in live.content.decode()


def test_a_real_weeks_field_stays_accepted(client_as, faculty, year):
    last = year.num_weeks - 1
    response = client_as(faculty.user).post(reverse("my_preferences"), _post({last: "1"}, blocked=(0,)))
    assert response.status_code == 302
    assert PreferenceSubmission.objects.get(faculty=faculty).entries == [{"week": last, "rank": 1}]


@pytest.mark.parametrize("url", ["my_preferences", "validate_preferences"])
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"preference_type": "evil", "w_1": "1"}, "Preference type must be ordinal, cardinal or binary."),
        (_post({1: "1e309"}, preference_type="cardinal"), "“1e309” is not a finite number."),
        (_post({1: "inf"}, preference_type="cardinal"), "“inf” is not a finite number."),
        (_post({1: "NaN"}, preference_type="cardinal"), "“NaN” is not a finite number."),
        (_post({1: "1e309"}), "“1e309” is not a finite number."),
        (_post({1: "-inf"}), "“-inf” is not a finite number."),
        (_post({1: "NaN"}), "“NaN” is not a finite number."),
    ],
    ids=["evil-type", "cardinal-1e309", "cardinal-inf", "cardinal-nan", "rank-1e309", "rank-minus-inf", "rank-nan"],
)
def test_hostile_values_are_a_form_error_not_a_500(client_as, faculty, year, url, data, message):
    client = client_as(faculty.user)
    client.raise_request_exception = False
    response = client.post(reverse(url), data, **({"HTTP_HX_REQUEST": "true"} if url == "validate_preferences" else {}))
    assert response.status_code == (400 if url == "my_preferences" else 200)
    html = response.content.decode()
    assert message in html
    if message.startswith("“"):  # a value error is shown on its week's row
        assert "Week 2 · Mon 13 Jul" in html if url == "validate_preferences" else f'id="week-errors-1" class="week-errors"><div class="field-error">{message}' in html
    assert not PreferenceSubmission.objects.exists()


def test_saving_after_the_window_closes_is_refused(client_as, faculty, rotations):
    make_year(label=2030, window_open=False, rotations=rotations)
    response = client_as(faculty.user).post(reverse("my_preferences"), _post({0: "1"}))
    assert response.status_code == 400
    assert "closed" in response.content.decode()
    assert not PreferenceSubmission.objects.exists()
    assert "Window closed" in client_as(faculty.user).get(reverse("my_preferences")).content.decode()


def test_a_faculty_member_cannot_save_for_someone_else(client_as, faculty, other_faculty, year):
    # The form has no faculty field: whatever is posted, the submission belongs to the logged-in user.
    client_as(other_faculty.user).post(reverse("my_preferences"), {**_post({0: "1"}), "faculty": str(faculty.pk)})
    assert not PreferenceSubmission.objects.filter(faculty=faculty).exists()
    assert PreferenceSubmission.objects.filter(faculty=other_faculty).count() == 1


def test_live_validation_reports_problems_without_storing(client_as, faculty, year):
    client = client_as(faculty.user)
    bad = client.post(reverse("validate_preferences"), _post({0: "2"}), HTTP_HX_REQUEST="true")
    assert bad.status_code == 200
    assert "missing 1" in bad.content.decode()
    good = client.post(reverse("validate_preferences"), _post({0: "1", 6: "2"}, blocked=(2,)), HTTP_HX_REQUEST="true")
    assert "✓ Valid — please read the note" in good.content.decode()  # 2 ranked of the 4 they serve
    assert "2 weeks ranked, 1 blocked" in good.content.decode()
    assert not PreferenceSubmission.objects.exists()


API_FIELDS = ("ordinal_rankings", "cardinal_valuations", "binary_accepts", "blocked_weeks")


@pytest.mark.parametrize("url", ["my_preferences", "validate_preferences"])
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_post({0: "1", 1: "1"}), "Rank 1 is used more than once (Mon 6 Jul and Mon 13 Jul); give each week its own rank."),
        (_post({0: "1", 2: "3", 4: "4"}), "Ranks must run 1 to 3 without gaps; missing 2."),
        (_post({0: "1"}, blocked=(0,)), "Mon 6 Jul is both blocked and ranked; choose one."),
        (_post({1: "80"}, preference_type="cardinal", blocked=(1,)), "Mon 13 Jul is both blocked and given a value; choose one."),
        (_post({2: "accept"}, preference_type="binary", blocked=(2,)), "Mon 20 Jul is both blocked and accepted or rejected; choose one."),
    ],
    ids=["duplicate-rank", "gap", "blocked-and-ranked", "blocked-and-valued", "blocked-and-accepted"],
)
def test_preference_errors_name_weeks_by_their_date_on_the_page_and_never_an_api_field(client_as, faculty, year, url, data, message):
    response = client_as(faculty.user).post(reverse(url), data, **({"HTTP_HX_REQUEST": "true"} if url == "validate_preferences" else {}))
    html = response.content.decode()
    assert message in html
    assert not any(name in html for name in API_FIELDS)
    assert "2026-07" not in html  # weeks by their date as the page shows it, never ISO


def _oob(html: str, element_id: str) -> str:
    """The out-of-band element with this id in a live-check answer, as text."""
    start = html.index(f'<div id="{element_id}"')
    assert 'hx-swap-oob="true"' in html[start : html.index(">", start)]
    return html[start : html.index("</div>", start) + len("</div>")]


def test_a_live_check_replaces_the_errors_a_failed_save_left_in_the_form(client_as, faculty, year):
    client = client_as(faculty.user)
    failed = client.post(reverse("my_preferences"), _post({0: "1"}, blocked=(0,))).content.decode()
    assert '<div id="form-errors"><p class="error-box" role="alert">Mon 6 Jul is both blocked and ranked' in failed
    wrong = client.post(reverse("my_preferences"), _post({1: "abc"}, preference_type="cardinal")).content.decode()
    assert '<div id="week-errors-1" class="week-errors"><div class="field-error">“abc” is not a number.' in wrong

    fixed = client.post(reverse("validate_preferences"), _post({0: "1"}), HTTP_HX_REQUEST="true").content.decode()
    assert _oob(fixed, "form-errors") == '<div id="form-errors" hx-swap-oob="true"></div>'
    for index in range(year.num_weeks):  # every week's error list is replaced, emptied where it is fixed
        assert _oob(fixed, f"week-errors-{index}").endswith('hx-swap-oob="true"></div>')
    still = client.post(reverse("validate_preferences"), _post({0: "1"}, blocked=(0,)), HTTP_HX_REQUEST="true").content.decode()
    assert "Mon 6 Jul is both blocked and ranked" in _oob(still, "form-errors")
    # The full page shows no out-of-band copies.
    assert "hx-swap-oob" not in client.get(reverse("my_preferences")).content.decode()


def test_valid_preferences_that_cannot_reach_the_load_do_not_say_looks_good(client_as, faculty, year):
    # Alice serves 4 weeks; blocking 5 of the 8 leaves 3.
    live = client_as(faculty.user).post(reverse("validate_preferences"), _post({0: "1"}, blocked=(2, 3, 4, 5, 6)),
                                        HTTP_HX_REQUEST="true").content.decode()
    assert "Looks good" not in live and "✓" not in live
    assert 'class="validation warning"' in live and "Valid, but you cannot reach your load" in live
    assert "Only 3 weeks are left open to you, fewer than the 4 you serve this year: unblock at least 1 week." in live
    assert "You ranked 1 week but serve 4" in live


def test_preferences_with_nothing_to_note_look_good(client_as, faculty, year):
    live = client_as(faculty.user).post(reverse("validate_preferences"), _post({0: "1", 1: "2", 4: "3", 5: "4"}),
                                        HTTP_HX_REQUEST="true").content.decode()
    assert 'class="validation valid"' in live and "✓ Looks good" in live and 'class="warnings"' not in live


def test_switching_type_with_htmx_returns_only_the_form(client_as, faculty, year):
    response = client_as(faculty.user).get(
        reverse("my_preferences") + "?type=binary", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="preference-form"
    )
    html = response.content.decode()
    assert html.lstrip().startswith("<form") and "<html" not in html
    assert "<select" in html


def test_coordinator_sees_who_has_and_has_not_submitted(client_as, coordinator, faculty, other_faculty, year):
    _submit(faculty, year, {0: 1})
    response = client_as(coordinator).get(reverse("coordinator_year", args=[year.label]))
    html = response.content.decode()
    assert "1/2" in html and "Dr. Bob Outsider" in html and "not submitted" in html
    missing = client_as(coordinator).get(reverse("coordinator_year", args=[year.label]) + "?show=missing").content.decode()
    assert "Dr. Bob Outsider" in missing and "Dr. Alice Owner" not in missing


def test_unknown_year_is_a_404_not_a_500(client_as, coordinator, year):
    assert client_as(coordinator).get(reverse("coordinator_year", args=[1999])).status_code == 404


def test_a_year_with_a_roster_shows_and_accepts_only_its_faculty(client_as, coordinator, faculty, other_faculty, year):
    year.roster.set([faculty])
    html = client_as(coordinator).get(reverse("coordinator_year", args=[year.label])).content.decode()
    assert "Dr. Alice Owner" in html and "Dr. Bob Outsider" not in html
    response = client_as(other_faculty.user).post(reverse("my_preferences"), _post({0: "1"}))
    assert response.status_code == 400
    assert "not on the roster" in response.content.decode()
    assert not PreferenceSubmission.objects.exists()


# --- the preference window: one rule, the same words on every page ----------------------------

def _text(response) -> str:
    """The page's words, as read: tags dropped and whitespace collapsed."""
    return " ".join(strip_tags(response.content.decode()).split())


def _publish(year, *, at):
    """What the publish gate records on the year (tests/stability check the gate itself sets it)."""
    year.status = AcademicYear.Status.PUBLISHED
    year.first_published_at = at
    year.save(update_fields=["status", "first_published_at"])


def test_the_window_has_one_rule_for_dates_and_status(year):
    now = timezone.now()
    assert year.window(now).state == "open" and year.window_is_open(now)
    assert year.window(year.preference_opens - dt.timedelta(seconds=1)).is_upcoming
    closed = year.window(year.preference_closes)
    assert (closed.state, closed.closed_at, closed.closed_early) == ("closed", year.preference_closes, "")

    year.status = AcademicYear.Status.ALLOCATING
    early = year.window(now)
    assert (early.state, early.closed_at, early.closed_early) == ("closed", None, "allocating")
    assert not year.window_is_open(now)
    late = year.window(year.preference_closes + dt.timedelta(days=1))
    assert (late.closed_at, late.closed_early) == (year.preference_closes, "")

    published_at = now - dt.timedelta(days=2)
    _publish(year, at=published_at)
    early = year.window(now)
    assert (early.state, early.closed_at, early.closed_early) == ("closed", published_at, "published")


def test_a_year_published_before_its_deadline_says_closed_early_on_every_page(client_as, coordinator, faculty, year):
    """Not "Window open — 2 weeks left" beside "status: Published", nor "Window closed <a future date>"."""
    published_at = timezone.now() - dt.timedelta(days=2)
    _publish(year, at=published_at)
    deadline = date_filter(year.preference_closes, "D j M Y")
    expected = f"early on {date_filter(published_at, 'D j M Y')}, when the schedule was published"
    pages = [
        _text(client_as(coordinator).get(reverse("coordinator_year", args=[year.label]))),
        _text(client_as(faculty.user).get(reverse("my_preferences"))),
    ]
    for text in pages:
        assert f"Window closed {expected}" in text and "Window open" not in text and " left" not in text
        assert deadline not in text
    assert "status: Published" in pages[0]
    assert client_as(faculty.user).get(reverse("year-detail", args=[year.label])).json()["window_open"] is False


def test_a_year_allocating_before_its_deadline_is_closed_early_for_everyone(client_as, coordinator, faculty, year):
    year.status = AcademicYear.Status.ALLOCATING
    year.save(update_fields=["status"])
    for user in (coordinator, faculty.user):
        url = reverse("coordinator_year", args=[year.label]) if user == coordinator else reverse("my_preferences")
        text = _text(client_as(user).get(url))
        assert "Window closed early, when allocation began" in text and "Window open" not in text


def test_a_year_whose_deadline_passed_shows_the_day_it_closed(client_as, coordinator, faculty, rotations):
    year = make_year(label=2030, window_open=False, rotations=rotations)
    closed = f"Window closed {date_filter(year.preference_closes, 'D j M Y, H:i T')}"
    for text in (_text(client_as(coordinator).get(reverse("coordinator_year", args=[year.label]))),
                 _text(client_as(faculty.user).get(reverse("my_preferences")))):
        assert closed in text
