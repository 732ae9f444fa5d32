"""Calendar feeds (DESIGN §14): each faculty member's private iCalendar URL of published weeks, the coordinator's of
the whole published schedule; read back with `icalendar` and with the strict reader in ics_strict.py."""

from __future__ import annotations

import datetime as dt
import hashlib

import icalendar
import pytest
from django.urls import reverse

from allocation.changes import schedule_swaps_apply
from allocation.models import Assignment, CalendarFeed, Schedule
from allocation.services.calendar import calendar_feed_regenerate, calendar_feed_token
from tests.allocation import ics_strict
from tests.factories import ScheduleFactory, UserFactory
from tests.stability.helpers import slot

pytestmark = pytest.mark.django_db


def feed_path(user) -> str:
    return reverse("calendar_feed", args=[calendar_feed_token(user=user)])


def fetch(client, path: str, **headers):
    client.logout()  # the feed needs no login: calendar clients have none
    return client.get(path, **headers)


def by_icalendar(body: bytes) -> dict[str, dict]:
    cal = icalendar.Calendar.from_ical(body)
    return {
        str(e["UID"]): {"start": e.decoded("DTSTART"), "end": e.decoded("DTEND"), "summary": str(e["SUMMARY"]),
                        "sequence": int(e.decoded("SEQUENCE"))}
        for e in cal.walk("VEVENT")
    }


def by_strict_reader(body: bytes) -> dict[str, dict]:
    return {
        e.value("UID"): {"start": e.date("DTSTART"), "end": e.date("DTEND"), "summary": e.text("SUMMARY"),
                         "sequence": int(e.value("SEQUENCE"))}
        for e in ics_strict.events(body)
    }


def expected(assignments, *, with_name: bool = False) -> dict[str, dict]:
    return {
        f"gtsched-assignment-{a.pk}@testserver": {
            "start": a.week.start_date, "end": a.week.start_date + dt.timedelta(days=7),
            "summary": f"{a.rotation.name}{' · ' + a.faculty.display_name if with_name else ''} · Residency programme",
        }
        for a in assignments
    }


def without_sequence(events: dict[str, dict]) -> dict[str, dict]:
    return {uid: {k: v for k, v in e.items() if k != "sequence"} for uid, e in events.items()}


def test_a_faculty_feed_holds_exactly_their_published_weeks_read_by_both_parsers(client, market, faculty):
    response = fetch(client, feed_path(faculty.user))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.content
    mine = Assignment.objects.filter(schedule=market, faculty=faculty).select_related("week", "rotation")
    assert len(mine) == 2
    assert without_sequence(by_icalendar(body)) == expected(mine)
    assert by_strict_reader(body) == by_icalendar(body)
    assert {e["sequence"] for e in by_strict_reader(body).values()} == {0}
    calendar = ics_strict.parse(body)
    assert calendar.value("METHOD") == "PUBLISH"
    assert "Dr. Alice Owner" in calendar.value("X-WR-CALNAME")


def test_drafts_and_other_years_drafts_never_reach_a_feed(client, market, faculty, rotations):
    draft = ScheduleFactory(year=market.year, name="Draft", rows=[(faculty, 6, "inpatient")])
    body = fetch(client, feed_path(faculty.user)).content
    assert not any(f"assignment-{a.pk}@" in uid for a in draft.assignments.all() for uid in by_strict_reader(body))


def test_another_faculty_members_token_never_shows_your_weeks(client, market, faculty, other_faculty):
    alice = by_strict_reader(fetch(client, feed_path(faculty.user)).content)
    bob = by_strict_reader(fetch(client, feed_path(other_faculty.user)).content)
    bobs = Assignment.objects.filter(schedule=market, faculty=other_faculty).select_related("week", "rotation")
    assert without_sequence(bob) == expected(bobs)
    assert not set(alice) & set(bob)
    assert calendar_feed_token(user=faculty.user) != calendar_feed_token(user=other_faculty.user)


def test_the_coordinators_feed_is_the_whole_published_schedule(client, market, coordinator):
    body = fetch(client, feed_path(coordinator)).content
    everyone = Assignment.objects.filter(schedule=market).select_related("week", "rotation", "faculty")
    assert without_sequence(by_strict_reader(body)) == expected(everyone, with_name=True)
    assert by_strict_reader(body) == by_icalendar(body)


def test_a_published_swap_moves_the_event_under_the_same_uid_with_a_higher_sequence(client, market, faculty,
                                                                                       other_faculty, coordinator):
    path = feed_path(faculty.user)
    mine = slot(market, faculty, 0)
    uid = f"gtsched-assignment-{mine.pk}@testserver"
    first = fetch(client, path)
    before = by_strict_reader(first.content)[uid]
    assert before["start"] == mine.week.start_date and before["sequence"] == 0

    schedule_swaps_apply(schedule=market, pairs=[(mine.pk, slot(market, other_faculty, 1).pk)], actor=coordinator,
                         reason="swap")

    second = fetch(client, path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert second.status_code == 200, "the feed changed, so the old ETag no longer matches"
    assert second["ETag"] != first["ETag"]
    for reader in (by_strict_reader, by_icalendar):
        after = reader(second.content)[uid]
        assert after["start"] == market.year.first_monday + dt.timedelta(weeks=1)
        assert after["sequence"] == 1
    bob = by_strict_reader(fetch(client, feed_path(other_faculty.user)).content)
    assert [e["start"] for e in bob.values()] == [market.year.first_monday], "Bob's event moved to week 0"
    assert list(bob.values())[0]["sequence"] == 1

    schedule_swaps_apply(schedule=market, pairs=[(mine.pk, slot(market, other_faculty, 0).pk)], actor=coordinator,
                         reason="and back")
    assert by_strict_reader(fetch(client, path).content)[uid]["sequence"] == 2


def test_an_unchanged_feed_answers_a_conditional_get_with_304(client, market, faculty):
    path = feed_path(faculty.user)
    first = fetch(client, path)
    assert first["ETag"].startswith('"') and first["Last-Modified"]
    assert "private" in first["Cache-Control"]
    by_etag = fetch(client, path, HTTP_IF_NONE_MATCH=first["ETag"])
    assert by_etag.status_code == 304 and by_etag.content == b""
    assert by_etag["ETag"] == first["ETag"]
    by_date = fetch(client, path, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert by_date.status_code == 304
    stale = fetch(client, path, HTTP_IF_NONE_MATCH='"something-else"')
    assert stale.status_code == 200 and stale.content == first.content


def test_a_regenerated_token_makes_the_old_url_404_and_the_new_one_work(client, market, faculty):
    old = feed_path(faculty.user)
    assert fetch(client, old).status_code == 200
    new_token = calendar_feed_regenerate(user=faculty.user)
    assert fetch(client, old).status_code == 404
    new = reverse("calendar_feed", args=[new_token])
    assert new != old and fetch(client, new).status_code == 200
    assert feed_path(faculty.user) == new, "the link shown from now on is the new one"


def test_only_a_hash_of_the_token_is_stored(market, faculty):
    token = calendar_feed_token(user=faculty.user)
    feed = CalendarFeed.objects.get(user=faculty.user)
    assert feed.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (feed.nonce, feed.token_hash)


def test_a_changed_secret_key_kills_old_links_and_shows_a_working_new_one(client, settings, market, faculty):
    old = feed_path(faculty.user)
    settings.SECRET_KEY = "another-secret-key-entirely-" + "x" * 40
    assert fetch(client, old).status_code == 404
    assert fetch(client, feed_path(faculty.user)).status_code == 200


@pytest.mark.parametrize("token", ["nope", "0" * 64, "../../etc/passwd", "a" * 200])
def test_unknown_tokens_answer_404(client, market, token):
    assert client.get(f"/calendar/{token}.ics").status_code == 404


def test_a_deactivated_login_loses_its_feed(client, market, faculty):
    path = feed_path(faculty.user)
    faculty.user.is_active = False
    faculty.user.save(update_fields=["is_active"])
    assert fetch(client, path).status_code == 404


def test_a_coordinator_who_loses_the_role_no_longer_sees_everyone(client, market, coordinator):
    path = feed_path(coordinator)
    coordinator.is_staff = False
    coordinator.save(update_fields=["is_staff"])
    assert fetch(client, path).status_code == 404, "without a faculty profile nothing is left to show"


def test_a_feed_with_no_published_schedule_is_an_empty_valid_calendar(client, year, faculty):
    body = fetch(client, feed_path(faculty.user)).content
    assert ics_strict.events(body) == [] and icalendar.Calendar.from_ical(body).walk("VEVENT") == []


# --- the API: GET /api/v1/calendar and POST /api/v1/calendar/regenerate -------------------------------------------


def test_the_api_gives_the_callers_own_absolute_ics_url(as_, client, market, faculty):
    response = as_("faculty").get("/api/v1/calendar")
    assert response.status_code == 200
    url = response.json()["url"]
    assert url.startswith("http://testserver/calendar/") and url.endswith(".ics")
    assert as_("faculty").get("/api/v1/calendar").json()["url"] == url, "stable until regenerated"
    assert url.removeprefix("http://testserver") == feed_path(faculty.user)


def test_regenerating_through_the_api_gives_a_new_url_and_the_old_one_404s(as_, client, market, faculty):
    api = as_("faculty")
    old = api.get("/api/v1/calendar").json()["url"]
    response = api.post("/api/v1/calendar/regenerate")
    assert response.status_code == 200
    new = response.json()["url"]
    assert new != old and new.endswith(".ics")
    assert api.get("/api/v1/calendar").json()["url"] == new
    assert fetch(client, old.removeprefix("http://testserver")).status_code == 404
    assert fetch(client, new.removeprefix("http://testserver")).status_code == 200


def test_the_api_refuses_anonymous_callers_and_logins_without_a_feed(as_, api_client, db):
    assert as_("anonymous").get("/api/v1/calendar").status_code in (401, 403)
    assert api_client.post("/api/v1/calendar/regenerate").status_code in (401, 403)
    api_client.force_login(UserFactory(username="nobody"))
    response = api_client.get("/api/v1/calendar")
    assert response.status_code == 403 and "calendar feed" in str(response.json()["detail"])
    assert api_client.post("/api/v1/calendar/regenerate").status_code == 403
    assert not CalendarFeed.objects.exists()


def test_regenerating_one_persons_link_leaves_the_others_alone(as_, client, market, faculty, other_faculty):
    bob = feed_path(other_faculty.user)
    as_("faculty").post("/api/v1/calendar/regenerate")
    assert fetch(client, bob).status_code == 200


# --- the page -----------------------------------------------------------------------------------------------------


def test_the_page_shows_the_link_and_how_to_subscribe(client_as, market, faculty):
    response = client_as(faculty.user).get("/calendar/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f"http://testserver{feed_path(faculty.user)}" in html
    for name in ("Google Calendar", "Outlook", "Apple Calendar"):
        assert name in html
    assert "webcal://testserver/calendar/" in html


def test_making_a_new_link_on_the_page_works_as_a_plain_post_and_with_htmx(client_as, client, market, faculty):
    page = client_as(faculty.user)
    old = feed_path(faculty.user)
    response = page.post("/calendar/regenerate/")
    assert response.status_code == 302 and response["Location"] == "/calendar/"
    middle = feed_path(faculty.user)
    assert middle != old
    response = page.post("/calendar/regenerate/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="feed-link"' in html and "<html" not in html
    newest = feed_path(faculty.user)
    assert newest in html and newest != middle
    assert fetch(client, middle).status_code == 404


def test_the_page_refuses_anonymous_and_logins_without_a_feed(client, client_as, db):
    assert client.get("/calendar/")["Location"].startswith("/accounts/login/")
    assert client.post("/calendar/regenerate/").status_code == 302
    assert client_as(UserFactory(username="nobody")).get("/calendar/").status_code == 403
    assert client.post("/calendar/regenerate/").status_code == 403
    assert not CalendarFeed.objects.exists()


def test_the_regenerate_form_needs_the_csrf_token(market, faculty):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(faculty.user)
    assert strict.post("/calendar/regenerate/").status_code == 403


def test_the_schedule_page_links_to_the_calendar_feed(client_as, market, faculty):
    assert reverse("calendar_page") in client_as(faculty.user).get("/schedule/").content.decode()


def test_a_published_schedule_replaced_by_another_takes_its_events_along(client, market, faculty):
    body = by_strict_reader(fetch(client, feed_path(faculty.user)).content)
    assert body
    Schedule.objects.filter(pk=market.pk).update(status=Schedule.Status.ARCHIVED)
    assert by_strict_reader(fetch(client, feed_path(faculty.user)).content) == {}


def test_the_admin_lists_feeds_without_their_secrets_and_deleting_one_kills_its_url(admin_console, client, market,
                                                                                      faculty):
    path = feed_path(faculty.user)
    feed = CalendarFeed.objects.get(user=faculty.user)
    page = admin_console.get(f"/admin/allocation/calendarfeed/{feed.pk}/change/").content.decode()
    assert feed.nonce not in page and feed.token_hash not in page
    assert admin_console.get("/admin/allocation/calendarfeed/").status_code == 200
    admin_console.post(f"/admin/allocation/calendarfeed/{feed.pk}/delete/", {"post": "yes"})
    assert not CalendarFeed.objects.exists()
    assert client.get(path).status_code == 404
