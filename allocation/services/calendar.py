"""Calendar feeds (DESIGN §14): each person's private iCalendar (RFC 5545) URL of published weeks.

A faculty member's feed holds their own weeks of every published schedule; a coordinator's the whole published
schedule of every year. Who sees what is decided when the feed is fetched, from the user's role then, so a
faculty member who stops being a coordinator stops seeing everyone's weeks.

Each assignment is one all-day event from its week's Monday to the next Monday (DTEND is exclusive), with a UID
that names the assignment: an executed swap rewrites the week of the same assignment row, so the event keeps its
UID and calendar clients replace it. SEQUENCE counts the audited changes (`ScheduleChange`) that rewrote the row,
so it rises with each one.

The token in the URL is derived from the feed's random nonce with the SECRET_KEY (`salted_hmac`) and only its
sha256 is stored; regenerating draws a new nonce, and the old URL finds nothing. A changed SECRET_KEY also changes
every token: the URL shown next time is the new one (`calendar_feed_url` re-stores the hash), the old ones 404.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from icalendar import Calendar, Event, vDuration

from allocation.models import Assignment, CalendarFeed, Schedule, ScheduleChange
from preferences.models import Faculty
from preferences.querysets import is_coordinator, own_faculty

TOKEN_SALT = "gtsched.calendar-feed"
FEED_FORMAT = 1  # bump when the rendering changes, so cached bodies are not served for the new format
CACHE_SECONDS = 600
REFRESH = dt.timedelta(hours=1)
NO_FEED = "Only faculty members and coordinators have a calendar feed."


@dataclass(frozen=True)
class FeedScope:
    """Whose weeks a feed shows: one faculty member's (faculty set) or every published week (everyone)."""

    user_id: int
    faculty: Faculty | None
    everyone: bool

    @property
    def title(self) -> str:
        if self.everyone:
            return f"{settings.GTSCHED_PROGRAMME_NAME} · published schedule"
        return f"{settings.GTSCHED_PROGRAMME_NAME} · {self.faculty.display_name}'s service weeks"


@dataclass(frozen=True)
class RenderedFeed:
    body: bytes
    etag: str  # quoted, strong
    last_modified: dt.datetime


def feed_scope(user) -> FeedScope | None:
    """The scope of a user's feed now; None when they have none (not a coordinator and not faculty, or inactive)."""
    if user is None or not user.is_active:
        return None
    if is_coordinator(user):
        return FeedScope(user_id=user.pk, faculty=own_faculty(user), everyone=True)
    faculty = own_faculty(user)
    return FeedScope(user_id=user.pk, faculty=faculty, everyone=False) if faculty is not None else None


def _token(feed: CalendarFeed) -> str:
    return salted_hmac(TOKEN_SALT, f"{feed.user_id}:{feed.nonce}", algorithm="sha256").hexdigest()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_nonce() -> str:
    return secrets.token_hex(32)


@transaction.atomic
def calendar_feed_token(*, user) -> str:
    """The token of a user's feed, creating the feed on first use; refused for users without a feed."""
    if feed_scope(user) is None:
        raise PermissionDenied(NO_FEED)
    feed = CalendarFeed.objects.select_for_update().filter(user=user).first()
    if feed is None:
        feed = CalendarFeed(user=user, nonce=_new_nonce())
        feed.token_hash = _hash(_token(feed))
        feed.save()
        return _token(feed)
    token = _token(feed)
    if feed.token_hash != _hash(token):  # the SECRET_KEY changed: every old URL is dead; this is the new one
        feed.token_hash = _hash(token)
        feed.save(update_fields=["token_hash"])
    return token


@transaction.atomic
def calendar_feed_regenerate(*, user) -> str:
    """A new token for a user's feed; the old URL answers 404 from now on."""
    if feed_scope(user) is None:
        raise PermissionDenied(NO_FEED)
    feed = CalendarFeed.objects.select_for_update().filter(user=user).first() or CalendarFeed(user=user)
    feed.nonce = _new_nonce()
    feed.token_hash = _hash(_token(feed))
    feed.regenerated_at = timezone.now() if feed.pk else None
    feed.save()
    return _token(feed)


def calendar_feed_find(*, token: str) -> FeedScope | None:
    """The scope of the feed a token opens; None for an unknown, regenerated or malformed token, or a user who no
    longer has a feed."""
    if not token or len(token) > 128:
        return None
    feed = CalendarFeed.objects.select_related("user").filter(token_hash=_hash(token)).first()
    if feed is None or not constant_time_compare(_token(feed), token):  # a token of an earlier SECRET_KEY
        return None
    return feed_scope(feed.user)


def _published(scope: FeedScope) -> QuerySet[Assignment]:
    qs = Assignment.objects.filter(schedule__status=Schedule.Status.PUBLISHED)
    return qs if scope.everyone else qs.filter(faculty=scope.faculty)


def _state(scope: FeedScope) -> tuple[str, dt.datetime | None]:
    """A cheap fingerprint of everything the feed shows (two small queries) and the latest moment it changed."""
    schedules = Schedule.objects.filter(status=Schedule.Status.PUBLISHED)
    if not scope.everyone:
        schedules = schedules.filter(assignments__faculty=scope.faculty).distinct()
    rows = list(schedules.order_by("pk").annotate(changes_n=Count("changes", distinct=True), changed_at=Max("changes__at"))
                .values_list("pk", "published_at", "changes_n", "changed_at"))
    moments = [m for _, published, _, changed in rows for m in (published, changed) if m is not None]
    names = list(Faculty.objects.filter(pk=scope.faculty.pk).values_list("display_name", flat=True)) if scope.faculty else []
    key = repr((FEED_FORMAT, scope.everyone, scope.faculty.pk if scope.faculty else None, names, rows,
                settings.GTSCHED_PROGRAMME_NAME))
    return hashlib.sha256(key.encode()).hexdigest(), max(moments, default=None)


def _sequences(schedule_ids: set[int]) -> tuple[Counter, dict[int, dt.datetime]]:
    """Per assignment id: how many audited changes rewrote it, and when the last one did."""
    counts: Counter = Counter()
    last: dict[int, dt.datetime] = {}
    for after, at in ScheduleChange.objects.filter(schedule_id__in=schedule_ids).order_by("at", "pk").values_list("after", "at"):
        for row in after or []:
            pk = row.get("assignment")
            counts[pk] += 1
            last[pk] = at
    return counts, last


def calendar_feed_render(*, scope: FeedScope, host: str, page_url: str) -> RenderedFeed:
    """The feed as iCalendar bytes with its validators; cached by a fingerprint of its inputs."""
    state, changed_at = _state(scope)
    cache_key = f"gtsched:calendar:{scope.user_id}:{state}:{hashlib.sha256(f'{host}|{page_url}'.encode()).hexdigest()[:16]}"
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    assignments = list(_published(scope).select_related("schedule__year", "week", "rotation", "faculty")
                       .order_by("week__start_date", "rotation__name", "faculty__display_name", "pk"))
    counts, last = _sequences({a.schedule_id for a in assignments})
    body = feed_ics(scope=scope, assignments=assignments, sequences=counts, changed=last, host=host, page_url=page_url)
    epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    rendered = RenderedFeed(body=body, etag=f'"{hashlib.sha256(body).hexdigest()[:32]}"',
                            last_modified=(changed_at or epoch).replace(microsecond=0))
    cache.set(cache_key, rendered, CACHE_SECONDS)
    return rendered


def event_uid(assignment: Assignment, host: str) -> str:
    return f"gtsched-assignment-{assignment.pk}@{host.split(':')[0] or 'gtsched'}"


def feed_ics(*, scope: FeedScope, assignments: list[Assignment], sequences: Counter, changed: dict[int, dt.datetime],
             host: str, page_url: str) -> bytes:
    """Render the events: one all-day VEVENT per assignment (RFC 5545 §3.6.1; DATE values, DTEND exclusive)."""
    cal = Calendar()
    cal.add("prodid", "-//gtsched//Service weeks//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("name", scope.title)
    cal.add("x-wr-calname", scope.title)
    cal.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(REFRESH))
    programme = settings.GTSCHED_PROGRAMME_NAME
    for a in assignments:
        week, year, schedule = a.week, a.schedule.year, a.schedule
        event = Event()
        event.add("uid", event_uid(a, host))
        stamp = changed.get(a.pk) or schedule.published_at or schedule.created_at
        event.add("dtstamp", stamp.astimezone(dt.UTC).replace(microsecond=0))
        event.add("last-modified", stamp.astimezone(dt.UTC).replace(microsecond=0))
        event.add("sequence", sequences.get(a.pk, 0))
        event.add("dtstart", week.start_date)
        event.add("dtend", week.start_date + dt.timedelta(days=7))
        who = "" if not scope.everyone else f" · {a.faculty.display_name}"
        event.add("summary", f"{a.rotation.name}{who} · {programme}")
        holiday = f" ({week.holiday_name})" if week.is_holiday and week.holiday_name else ""
        event.add("description", (
            f"{a.faculty.display_name}: {a.rotation.name} service, week {week.index + 1} of {year}{holiday}, "
            f"{week.start_date:%a %d %b} to {week.end_date:%a %d %b %Y}. {programme}, schedule “{schedule.name}”. "
            f"{page_url}"
        ))
        event.add("url", page_url)
        event.add("categories", [a.rotation.name])
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()
