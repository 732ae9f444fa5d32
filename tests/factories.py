"""The fixed cast and builders for tests: a year, its weeks and rotations, faculty with logins."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from preferences.models import AcademicYear, CoverageDemand, Faculty, Rotation, Week

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
