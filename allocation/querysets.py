"""Permission-scoped reads of schedules and assignments: every view and API endpoint of every app fetches them
through these (STYLE habit 6)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from allocation.models import Assignment, Schedule
from preferences.models import AcademicYear, Faculty
from preferences.querysets import is_coordinator, own_faculty


def schedules_for_user(user, faculty: Faculty | None = None) -> QuerySet[Schedule]:
    """Coordinators: every schedule. Faculty: the schedules of their years (roster, roster-less year, or serving)."""
    qs = Schedule.objects.select_related("year")
    if is_coordinator(user):
        return qs
    faculty = faculty or own_faculty(user)
    if faculty is None:
        return qs.none()
    roster = AcademicYear.roster.through.objects
    their_year = Exists(roster.filter(academicyear_id=OuterRef("year_id"), faculty_id=faculty.pk)) | Exists(
        Assignment.objects.filter(schedule_id=OuterRef("pk"), faculty_id=faculty.pk)
    )
    if faculty.active:  # a year without a roster is served by every active faculty member
        their_year |= ~Exists(roster.filter(academicyear_id=OuterRef("year_id")))
    return qs.filter(their_year)


def assignments_for_user(user, faculty: Faculty | None = None) -> QuerySet[Assignment]:
    """Coordinators: all. Faculty: their own, plus every row of the published schedules of their years."""
    qs = Assignment.objects.select_related("schedule__year", "faculty", "week", "rotation")
    if is_coordinator(user):
        return qs
    faculty = faculty or own_faculty(user)
    if faculty is None:
        return qs.none()
    published = schedules_for_user(user, faculty).filter(status=Schedule.Status.PUBLISHED).values("pk")
    return qs.filter(Q(faculty=faculty) | Q(schedule__in=published))


def assignments_explained_to(user) -> QuerySet[Assignment]:
    """Assignments whose "why did I get this?" a user may read: coordinators every one, faculty only their own."""
    qs = Assignment.objects.select_related("schedule", "schedule__year", "faculty", "week", "rotation")
    if is_coordinator(user):
        return qs
    faculty = own_faculty(user)
    return qs.filter(faculty=faculty) if faculty is not None else qs.none()


def current_schedule(*, year: AcademicYear, include_drafts: bool) -> Schedule | None:
    """The schedule of a year that people work from: the published one. Only when none is published, and only for
    those who see drafts (coordinators), the newest draft."""
    published = Schedule.objects.filter(year=year, status=Schedule.Status.PUBLISHED).first()
    if published is not None or not include_drafts:
        return published
    return Schedule.objects.filter(year=year, status=Schedule.Status.DRAFT).order_by("-created_at", "-pk").first()


def current_schedule_for(user, *, year: AcademicYear) -> Schedule | None:
    """`current_schedule` as this user may see it: faculty see published schedules only, coordinators drafts too."""
    return current_schedule(year=year, include_drafts=is_coordinator(user))
