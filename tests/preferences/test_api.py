"""REST API: the permission matrix over every resource and the submit operation, validation through the API
(400, the field named, nothing stored), successful submissions of each type, token auth and the dry run."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from preferences.models import PreferenceSubmission
from preferences.serializers import MECHANISM_NOTE
from preferences.services import preferences_submit
from tests.factories import UserFactory, make_year

pytestmark = pytest.mark.django_db

CAST = ["anonymous", "faculty", "other_faculty", "coordinator"]
SUBMIT = reverse("preferences-strategyproof")
VALIDATE = reverse("preferences-validate")
MONDAY = dt.date(2026, 7, 6)  # week 0 of the 2026 fixture year


def week(k: int) -> str:
    return str(MONDAY + dt.timedelta(weeks=k))




@pytest.fixture
def owner_submission(year, faculty) -> PreferenceSubmission:
    submission, _ = preferences_submit(
        faculty=faculty, year=year, preference_type="ordinal",
        entries=[{"week": week(1), "rank": 1}, {"week": week(4), "rank": 2}], blocked_weeks=[week(2)],
        method="web_form", actor=faculty.user,
    )
    return submission


@pytest.fixture
def other_submission(year, other_faculty) -> PreferenceSubmission:
    submission, _ = preferences_submit(
        faculty=other_faculty, year=year, preference_type="binary",
        entries=[{"week": week(0), "accept": True}], blocked_weeks=[], method="web_form", actor=other_faculty.user,
    )
    return submission


def ordinal(**overrides: Any) -> dict[str, Any]:
    return {
        "academic_year": 2026, "preference_type": "ordinal",
        "ordinal_rankings": [{"week": week(0), "rank": 1}, {"week": week(5), "rank": 2}],
        "blocked_weeks": [week(3)], **overrides,
    }


def post(client: APIClient, payload: dict[str, Any], url: str = SUBMIT, **extra: Any):
    return client.post(url, payload, format="json", **extra)


def results(response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


# --- permission matrix -------------------------------------------------------------------------

@pytest.mark.parametrize("who", CAST)
@pytest.mark.parametrize("resource", ["year", "week", "rotation", "faculty", "submission"])
def test_every_resource_list_needs_login(who, resource, as_, year, faculty, other_faculty, owner_submission):
    response = as_(who).get(reverse(f"{resource}-list"))
    assert response.status_code == (401 if who == "anonymous" else 200)


def test_a_year_shows_its_coordinators_weights_and_swap_approval_setting(as_, year, coordinator):
    from preferences.weights import year_weights_set
    from stability.market.approval import swap_approval_setting_update

    year_weights_set(year=year, actor=coordinator, weights={"preference": 0.5, "workload_balance": 0.3,
                                                            "time_off_proximity": 0.1, "swap_out_rate": 0.1})
    swap_approval_setting_update(year=year, required=True, actor=coordinator)
    body = as_("faculty").get(reverse("year-detail", args=[year.label])).json()
    assert body["utility_weights"] == pytest.approx({"preference": 0.5, "workload_balance": 0.3,
                                                     "time_off_proximity": 0.1, "swap_out_rate": 0.1})
    assert body["swaps_need_approval"] is True


@pytest.mark.parametrize("who", CAST)
def test_shared_calendar_resources_are_readable_by_every_user(who, as_, year, rotations):
    client = as_(who)
    some_week = year.weeks.get(index=3)
    urls = [
        reverse("year-detail", args=[year.label]),
        reverse("week-detail", args=[some_week.pk]),
        reverse("rotation-detail", args=[rotations[0].pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == (401 if who == "anonymous" else 200), url
    if who != "anonymous":
        body = client.get(urls[0]).json()
        assert body == {
            "label": 2026, "first_monday": "2026-07-06", "num_weeks": 8,
            "preference_opens": body["preference_opens"], "preference_closes": body["preference_closes"],
            "status": "collecting", "window_open": True,
            "utility_weights": {"preference": 0.6, "workload_balance": 0.2, "time_off_proximity": 0.1,
                                "swap_out_rate": 0.1},
            "swaps_need_approval": False,
        }
        assert client.get(urls[1]).json() == {
            "id": some_week.pk, "year": 2026, "index": 3, "start_date": week(3),
            "is_holiday": True, "holiday_name": "Independence Day",
        }


@pytest.mark.parametrize(
    ("who", "visible"),
    [("anonymous", None), ("faculty", {"F001"}), ("other_faculty", {"F002"}), ("coordinator", {"F001", "F002"})],
)
def test_faculty_see_only_themselves_and_coordinators_everyone(who, visible, as_, faculty, other_faculty):
    client = as_(who)
    listing = client.get(reverse("faculty-list"))
    detail = client.get(reverse("faculty-detail", args=[faculty.pk]))
    if visible is None:
        assert (listing.status_code, detail.status_code) == (401, 401)
        return
    assert {row["external_id"] for row in results(listing)} == visible
    assert detail.status_code == (200 if "F001" in visible else 404)
    if detail.status_code == 200:
        assert detail.json() == {
            "id": faculty.pk, "external_id": "F001", "display_name": "Dr. Alice Owner",
            "rotations": ["clinic", "inpatient"], "target_load": 4, "active": True,
        }


@pytest.mark.parametrize(
    ("who", "sees_owner", "sees_other"),
    [("faculty", True, False), ("other_faculty", False, True), ("coordinator", True, True)],
)
def test_submissions_are_visible_to_their_owner_and_coordinators(
    who, sees_owner, sees_other, as_, owner_submission, other_submission
):
    client = as_(who)
    listed = {row["id"] for row in results(client.get(reverse("submission-list")))}
    assert (owner_submission.pk in listed, other_submission.pk in listed) == (sees_owner, sees_other)
    detail = client.get(reverse("submission-detail", args=[owner_submission.pk]))
    assert detail.status_code == (200 if sees_owner else 404)


def test_anonymous_gets_401_on_submission_detail(api_client, owner_submission):
    response = api_client.get(reverse("submission-detail", args=[owner_submission.pk]))
    assert response.status_code == 401
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("who", "names", "expected"),
    [
        ("anonymous", None, 401),
        ("faculty", None, 201),
        ("faculty", "F001", 201),
        ("other_faculty", "F001", 403),
        ("coordinator", "F001", 201),
    ],
)
def test_submit_permission_matrix(who, names, expected, as_, year, faculty, other_faculty, coordinator):
    payload = ordinal() if names is None else ordinal(faculty=names)
    response = post(as_(who), payload)
    assert response.status_code == expected, response.content
    stored = PreferenceSubmission.objects.all()
    if expected == 201:
        assert [(s.faculty_id, s.submitted_by_id) for s in stored] == [(faculty.pk, _user_pk(who, faculty, coordinator))]
    else:
        assert not stored.exists()


def _user_pk(who: str, faculty, coordinator) -> int:
    return coordinator.pk if who == "coordinator" else faculty.user_id


@pytest.mark.parametrize("url", [SUBMIT, VALIDATE])
def test_anonymous_cannot_submit_or_validate(api_client, year, url):
    assert post(api_client, ordinal(), url).status_code == 401


def test_user_without_faculty_profile_is_refused(api_client, year):
    api_client.force_login(UserFactory(username="carol"))
    response = post(api_client, ordinal())
    assert response.status_code == 403
    assert "no faculty profile" in response.json()["detail"][0]  # every error: a list of messages under its name
    assert not PreferenceSubmission.objects.exists()


def test_faculty_naming_an_unknown_colleague_gets_the_same_403(as_, year, faculty):
    response = post(as_("faculty"), ordinal(faculty="F999"))
    assert response.status_code == 403
    assert response.json() == {"detail": ["You can only submit your own preferences."]}


def test_coordinator_naming_an_unknown_faculty_gets_400_on_faculty(as_, year, coordinator):
    response = post(as_("coordinator"), ordinal(faculty="F999"))
    assert response.status_code == 400
    assert "F999" in response.json()["faculty"][0]


def test_coordinator_without_profile_must_name_the_faculty(as_, year, coordinator):
    response = post(as_("coordinator"), ordinal())
    assert response.status_code == 400
    assert "faculty" in response.json()


# --- validation through the API: 400, the field named, nothing stored ---------------------------

@pytest.fixture
def year_2025(db, rotations):
    return make_year(label=2025, num_weeks=8, rotations=rotations)


INVALID = {
    "duplicate ranks": (
        ordinal(ordinal_rankings=[{"week": week(0), "rank": 1}, {"week": week(1), "rank": 1}]),
        "ordinal_rankings", "more than once",
    ),
    "gapped ranks": (
        ordinal(ordinal_rankings=[{"week": week(0), "rank": 1}, {"week": week(1), "rank": 3}]),
        "ordinal_rankings", "without gaps",
    ),
    "rank zero": (ordinal(ordinal_rankings=[{"week": week(0), "rank": 0}]), "ordinal_rankings[0].rank", "from 1"),
    "value 101": (
        {"academic_year": 2026, "preference_type": "cardinal", "cardinal_valuations": [{"week": week(0), "value": 101}]},
        "cardinal_valuations[0].value", "outside 0–100",
    ),
    "value -1": (
        {"academic_year": 2026, "preference_type": "cardinal", "cardinal_valuations": [{"week": week(0), "value": -1}]},
        "cardinal_valuations[0].value", "outside 0–100",
    ),
    "unknown week date": (
        ordinal(ordinal_rankings=[{"week": "2030-01-07", "rank": 1}]), "ordinal_rankings[0].week", "Unknown week",
    ),
    "week that is not a date": (
        ordinal(ordinal_rankings=[{"week": "next monday", "rank": 1}]), "ordinal_rankings[0].week", "YYYY-MM-DD",
    ),
    "unknown week id": (ordinal(ordinal_rankings=[{"week": 987654, "rank": 1}]), "ordinal_rankings[0].week", "987654"),
    "week of another year": (
        ordinal(ordinal_rankings=[{"week": "2025-07-07", "rank": 1}]), "ordinal_rankings[0].week", "2025",
    ),
    "blocked week of another year": (ordinal(blocked_weeks=["2025-07-14"]), "blocked_weeks[0]", "2025"),
    "blocked and ranked at once": (ordinal(blocked_weeks=[week(0)]), "blocked_weeks", "both blocked"),
    "wrong list for the type": (
        ordinal(cardinal_valuations=[{"week": week(0), "value": 50}]), "cardinal_valuations", "send ordinal_rankings",
    ),
    "non-boolean accept": (
        {"academic_year": 2026, "preference_type": "binary", "binary_accepts": [{"week": week(0), "accept": "maybe"}]},
        "binary_accepts[0].accept", "true or false",
    ),
    "number as accept": (
        {"academic_year": 2026, "preference_type": "binary", "binary_accepts": [{"week": week(0), "accept": 1}]},
        "binary_accepts[0].accept", "true or false",
    ),
    "entry without a week": (ordinal(ordinal_rankings=[{"rank": 1}]), "ordinal_rankings[0].week", "required"),
    "null entries": (ordinal(ordinal_rankings=[None, None]), "ordinal_rankings[0]", "may not be null"),  # was a 500
    "entries not a list": (ordinal(ordinal_rankings="week 1 first"), "ordinal_rankings", "list"),
    "unknown preference type": (ordinal(preference_type="lottery"), "preference_type", "lottery"),
    "unknown academic year": (ordinal(academic_year=2031), "academic_year", "2031"),
}


@pytest.mark.parametrize("url", [SUBMIT, VALIDATE], ids=["submit", "validate"])
@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_preferences_are_refused_naming_the_field(case, url, as_, year, year_2025, faculty, owner_submission):
    payload, field, fragment = INVALID[case]
    before = list(PreferenceSubmission.objects.values_list("pk", "version", "content_hash"))
    response = post(as_("faculty"), payload, url)
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert any(fragment in message for message in errors[field]), errors[field]
    assert list(PreferenceSubmission.objects.values_list("pk", "version", "content_hash")) == before


def test_week_of_another_year_given_by_id_is_refused(as_, year, year_2025, faculty):
    foreign = year_2025.weeks.get(index=0)
    response = post(as_("faculty"), ordinal(ordinal_rankings=[{"week": foreign.pk, "rank": 1}]))
    assert response.status_code == 400
    assert "2025" in response.json()["ordinal_rankings[0].week"][0]
    assert not PreferenceSubmission.objects.exists()


def test_closed_window_is_refused_on_academic_year(as_, rotations, faculty):
    make_year(label=2027, window_open=False, rotations=rotations)
    response = post(as_("faculty"), ordinal(academic_year=2027, ordinal_rankings=[], blocked_weeks=[]))
    assert response.status_code == 400
    assert "closed" in response.json()["academic_year"][0]
    assert not PreferenceSubmission.objects.exists()


def test_submitting_for_someone_else_is_refused_and_stores_nothing(as_, year, faculty, other_faculty, owner_submission):
    response = post(as_("other_faculty"), ordinal(faculty="F001"))
    assert response.status_code == 403
    assert response.json() == {"detail": ["You can only submit your own preferences."]}
    assert list(PreferenceSubmission.objects.all()) == [owner_submission]


def test_validation_messages_are_collected_together(as_, year, faculty):
    payload = ordinal(ordinal_rankings=[{"week": week(0), "rank": 1}, {"week": "2030-01-07", "rank": "x"}])
    errors = post(as_("faculty"), payload).json()
    assert {"ordinal_rankings[1].week", "ordinal_rankings[1].rank"} <= errors.keys()


# --- successful submissions ----------------------------------------------------------------------

SUCCESS = {
    "ordinal": (
        ordinal(),
        "ordinal_rankings", [{"week": week(0), "rank": 1}, {"week": week(5), "rank": 2}],
    ),
    "cardinal": (
        {"academic_year": 2026, "preference_type": "cardinal", "blocked_weeks": [week(3)],
         "cardinal_valuations": [{"week": week(6), "value": 12.5}, {"week": week(1), "value": 100}],
         "ordinal_rankings": None, "binary_accepts": None},
        "cardinal_valuations", [{"week": week(1), "value": 100}, {"week": week(6), "value": 12.5}],
    ),
    "binary": (
        {"academic_year": 2026, "preference_type": "binary", "blocked_weeks": [week(3)],
         "binary_accepts": [{"week": week(2), "accept": False}, {"week": week(0), "accept": True}]},
        "binary_accepts", [{"week": week(0), "accept": True}, {"week": week(2), "accept": False}],
    ),
}


@pytest.mark.parametrize("preference_type", list(SUCCESS))
def test_each_preference_type_is_stored_with_its_audit_trail(preference_type, as_, year, faculty):
    payload, list_name, rendered = SUCCESS[preference_type]
    response = post(as_("faculty"), payload, HTTP_USER_AGENT="roster-sync/2.1", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 201, response.content
    body = response.json()
    stored = PreferenceSubmission.objects.get()
    assert response["Location"].endswith(reverse("submission-detail", args=[stored.pk]))
    assert body["id"] == stored.pk
    assert (body["faculty"], body["year"], body["version"], body["preference_type"]) == ("F001", 2026, 1, preference_type)
    assert body[list_name] == rendered
    assert [body[name] for name in ("ordinal_rankings", "cardinal_valuations", "binary_accepts") if name != list_name] == [None, None]
    assert body["blocked_weeks"] == [week(3)]
    assert body["collection_method"] == "api"
    assert body["is_current"] is True
    assert body["is_strategyproof"] is True
    assert body["mechanism_note"] == MECHANISM_NOTE and "dominant strategy" in MECHANISM_NOTE
    assert body["validation_result"]["valid"] is True
    assert (stored.collection_method, stored.ip_address, stored.user_agent) == ("api", "10.1.2.3", "roster-sync/2.1")
    assert stored.submitted_by == faculty.user


def test_resubmission_is_a_new_version_and_the_old_one_is_kept(as_, year, faculty):
    client = as_("faculty")
    first = post(client, ordinal()).json()
    second = post(client, ordinal(ordinal_rankings=[{"week": week(7), "rank": 1}])).json()
    assert (first["version"], second["version"]) == (1, 2)
    rows = {row["version"]: row for row in results(client.get(reverse("submission-list")))}
    assert rows[1]["is_current"] is False and rows[2]["is_current"] is True
    assert rows[1]["ordinal_rankings"] == first["ordinal_rankings"]
    assert PreferenceSubmission.objects.count() == 2


def test_weeks_may_be_given_by_id(as_, year, faculty):
    weeks = {w.index: w.pk for w in year.weeks.all()}
    payload = ordinal(ordinal_rankings=[{"week": weeks[2], "rank": 1}], blocked_weeks=[weeks[7]])
    body = post(as_("faculty"), payload).json()
    assert body["ordinal_rankings"] == [{"week": week(2), "rank": 1}]
    assert body["blocked_weeks"] == [week(7)]


def test_coordinator_submits_on_behalf_of_a_faculty_member(as_, year, faculty, coordinator):
    body = post(as_("coordinator"), ordinal(faculty="F001")).json()
    stored = PreferenceSubmission.objects.get(pk=body["id"])
    assert (stored.faculty, stored.submitted_by, body["faculty"]) == (faculty, coordinator, "F001")


def test_token_authentication_reads_and_submits(api_client, year, faculty, owner_submission):
    token = Token.objects.create(user=faculty.user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert [row["id"] for row in results(api_client.get(reverse("submission-list")))] == [owner_submission.pk]
    response = post(api_client, ordinal())
    assert response.status_code == 201
    assert response.json()["version"] == 2


def test_a_bad_token_is_401(api_client, year):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert api_client.get(reverse("year-list")).status_code == 401


def test_form_encoded_payloads_are_refused(as_, year, faculty):
    response = as_("faculty").post(SUBMIT, {"academic_year": 2026, "preference_type": "ordinal"})
    assert response.status_code == 415


@pytest.mark.parametrize("url", [SUBMIT, VALIDATE], ids=["submit", "validate"])
@pytest.mark.parametrize("number", ["1e309", "-1e309", "NaN", "Infinity"])
@pytest.mark.parametrize("preference_type, entry, field", [
    ("ordinal", '{"week": "2026-07-06", "rank": %s}', "ordinal_rankings[0].rank"),  # the ordinal branch was a 500
    ("cardinal", '{"week": "2026-07-06", "value": %s}', "cardinal_valuations[0].value"),
])
def test_a_number_json_reads_as_infinite_or_nan_is_a_400_on_its_field(url, number, preference_type, entry, field, as_,
                                                                       year, faculty):
    list_name = field.split("[")[0]
    body = f'{{"academic_year": 2026, "preference_type": "{preference_type}", "{list_name}": [{entry % number}]}}'
    response = as_("faculty").post(url, body, content_type="application/json")
    assert response.status_code == 400, response.content
    errors = response.json()
    assert list(errors) in ([field], ["body"]), errors  # `body` where the parser refuses the constant outright
    assert not PreferenceSubmission.objects.exists()


# --- reading submissions and weeks ----------------------------------------------------------------

def test_submission_filters_by_year_and_faculty(as_, rotations, year, faculty, other_faculty, owner_submission, other_submission):
    client = as_("coordinator")
    assert [r["id"] for r in results(client.get(reverse("submission-list"), {"faculty": "F002"}))] == [other_submission.pk]
    assert {r["id"] for r in results(client.get(reverse("submission-list"), {"year": 2026}))} == {
        owner_submission.pk, other_submission.pk,
    }
    assert results(client.get(reverse("submission-list"), {"year": 2025})) == []
    assert client.get(reverse("submission-list"), {"year": "last"}).status_code == 400


def test_stored_submission_renders_weeks_as_dates(as_, owner_submission):
    body = as_("faculty").get(reverse("submission-detail", args=[owner_submission.pk])).json()
    assert body["ordinal_rankings"] == [{"week": week(1), "rank": 1}, {"week": week(4), "rank": 2}]
    assert (body["cardinal_valuations"], body["binary_accepts"]) == (None, None)
    assert body["blocked_weeks"] == [week(2)]
    assert (body["collection_method"], body["is_current"]) == ("web_form", True)


def test_submission_after_the_window_closed_does_not_count(as_, year, faculty, owner_submission):
    year.preference_closes = owner_submission.collected_at - dt.timedelta(seconds=1)
    year.save()
    body = as_("faculty").get(reverse("submission-detail", args=[owner_submission.pk])).json()
    assert body["is_current"] is False


def test_weeks_filter_by_year(as_, year, year_2025):
    rows = results(as_("faculty").get(reverse("week-list"), {"year": 2025}))
    assert [(r["year"], r["index"]) for r in rows] == [(2025, k) for k in range(8)]
    assert len(results(as_("faculty").get(reverse("week-list")))) == 16


def test_years_are_looked_up_by_label(as_, year):
    assert as_("faculty").get(reverse("year-detail", args=[2026])).json()["label"] == 2026
    assert as_("faculty").get(reverse("year-detail", args=[2099])).status_code == 404


# --- dry run --------------------------------------------------------------------------------------

def test_validate_returns_the_normalised_set_and_stores_nothing(as_, year, faculty):
    payload = ordinal(ordinal_rankings=[{"week": week(5), "rank": 2}, {"week": year.weeks.get(index=0).pk, "rank": 1}])
    response = post(as_("faculty"), payload, VALIDATE)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "valid": True, "listed": 2, "blocked": 1, "available": 7, "window_open": True,
        "warnings": ["You ranked 2 weeks but serve 4; unranked weeks count as neutral."],
        "preference_type": "ordinal",
        "ordinal_rankings": [{"week": week(0), "rank": 1}, {"week": week(5), "rank": 2}],
        "cardinal_valuations": None, "binary_accepts": None,
        "blocked_weeks": [week(3)],
    }
    assert not PreferenceSubmission.objects.exists()


def test_validate_reports_a_closed_window_without_refusing(as_, rotations, faculty):
    make_year(label=2027, window_open=False, rotations=rotations)
    response = post(as_("faculty"), {"academic_year": 2027, "preference_type": "binary", "binary_accepts": []}, VALIDATE)
    assert response.status_code == 200
    assert response.json()["window_open"] is False


def test_coordinator_may_validate_without_naming_anyone(as_, year, coordinator):
    response = post(as_("coordinator"), ordinal(), VALIDATE)
    assert response.status_code == 200
    assert response.json()["warnings"] == []


def test_listing_submissions_takes_a_fixed_number_of_queries(as_, year, faculty, other_faculty, django_assert_max_num_queries):
    for person in (faculty, other_faculty):
        for rank_week in range(4):
            preferences_submit(
                faculty=person, year=year, preference_type="ordinal", entries=[{"week": week(rank_week), "rank": 1}],
                blocked_weeks=[week(7)], method="import", actor=None,
            )
    client = as_("coordinator")
    with django_assert_max_num_queries(5):  # session, user, count, rows, weeks
        assert len(results(client.get(reverse("submission-list")))) == 8
