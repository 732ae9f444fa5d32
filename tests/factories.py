"""The fixed cast and builders for tests: a year, its weeks and rotations, faculty with logins, schedules with their
assignments, allocation runs and swap requests."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from allocation.models import AllocationRun, Assignment, Schedule
from preferences.models import AcademicYear, CoverageDemand, Faculty, Rotation, Week
from stability.models import SwapRequest

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password(PASSWORD)


class CoordinatorFactory(UserFactory):
    username = factory.Sequence(lambda n: f"coordinator{n}")
    is_staff = True


class RotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rotation
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"rotation-{n}")


class FacultyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Faculty
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    external_id = factory.Sequence(lambda n: f"F{n:03d}")
    display_name = factory.Sequence(lambda n: f"Dr. Faculty {n}")
    target_load = 4

    @factory.post_generation
    def rotations(self, create, extracted, **kwargs):
        if create and extracted:
            self.rotations.set(extracted)


def make_year(
    *,
    label: int = 2026,
    num_weeks: int = 8,
    first_monday: dt.date | None = None,
    holidays: dict[int, str] | None = None,
    window_open: bool = True,
    rotations: list[Rotation] | None = None,
    demand: int | None = 1,
) -> AcademicYear:
    """A year whose preference window is open now (or closed yesterday), with weeks and per-slot demand."""
    now = timezone.now()
    first_monday = first_monday or dt.date(label, 7, 6) - dt.timedelta(days=dt.date(label, 7, 6).weekday())
    year = AcademicYear.objects.create(
        label=label,
        first_monday=first_monday,
        num_weeks=num_weeks,
        preference_opens=now - dt.timedelta(days=14),
        preference_closes=now + dt.timedelta(days=14) if window_open else now - dt.timedelta(days=1),
    )
    holidays = holidays or {}
    weeks = Week.objects.bulk_create(
        Week(year=year, index=k, start_date=first_monday + dt.timedelta(weeks=k),
             is_holiday=k in holidays, holiday_name=holidays.get(k, ""))
        for k in range(num_weeks)
    )
    if demand is not None:
        CoverageDemand.objects.bulk_create(
            CoverageDemand(week=w, rotation=r, count=demand) for w in weeks for r in rotations or []
        )
    return year


def _rotation(rotation: Rotation | str) -> Rotation:
    return rotation if isinstance(rotation, Rotation) else Rotation.objects.get(name=rotation)


class ScheduleFactory(factory.django.DjangoModelFactory):
    """A hand-made schedule. rows=[(faculty, week index, rotation or its name), ...] become its assignments; a
    status other than draft is set after the rows exist (a published schedule refuses new rows), and published
    gets a published_at."""

    class Meta:
        model = Schedule

    year = factory.Sequence(lambda n: make_year(label=2100 + n))
    name = factory.Sequence(lambda n: f"Schedule {n}")
    source = Schedule.Source.MANUAL

    @classmethod
    def _create(cls, model_class, *args, rows=(), status=Schedule.Status.DRAFT, **kwargs):
        schedule = super()._create(model_class, *args, **kwargs)
        weeks = {w.index: w for w in schedule.year.weeks.all()}
        for faculty, week_index, rotation in rows:
            AssignmentFactory(schedule=schedule, faculty=faculty, week=weeks[week_index], rotation=_rotation(rotation))
        if status != Schedule.Status.DRAFT:
            published_at = timezone.now() if status == Schedule.Status.PUBLISHED else None
            Schedule.objects.filter(pk=schedule.pk).update(status=status, published_at=published_at)
            schedule.refresh_from_db()
        return schedule


class AssignmentFactory(factory.django.DjangoModelFactory):
    """One row of a draft schedule: by default week 0 of a new schedule's year, inpatient."""

    class Meta:
        model = Assignment

    schedule = factory.SubFactory(ScheduleFactory)
    faculty = factory.SubFactory(FacultyFactory)
    week = factory.LazyAttribute(lambda a: a.schedule.year.weeks.get(index=0))
    rotation = factory.SubFactory(RotationFactory, name="inpatient")


class AllocationRunFactory(factory.django.DjangoModelFactory):
    """A run row as the services leave it; status and stats are whatever the test gives (pending by default)."""

    class Meta:
        model = AllocationRun

    year = factory.Sequence(lambda n: make_year(label=2200 + n))
    mechanism = "rsd"
    seed = 0
    input_fingerprint = factory.Sequence(lambda n: f"{n:064x}")


class SwapRequestFactory(factory.django.DjangoModelFactory):
    """A request on the schedule of the week it gives, by the faculty member holding it."""

    class Meta:
        model = SwapRequest

    give = factory.SubFactory(AssignmentFactory)
    schedule = factory.LazyAttribute(lambda r: r.give.schedule)
    requester = factory.LazyAttribute(lambda r: r.give.faculty)
