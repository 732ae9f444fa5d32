"""The demo's past year (DESIGN §4): the academic year before the demo year, with a published schedule and executed
swaps, so the swap-history factor of the demo year has data. Created when `manage.py demo_year` makes a new demo
year (the preferences signal `demo_year_created`), and by `demo_history_create` directly.

Its people are the demo year's roster; the schedule is a seeded greedy fill of every seat by the faculty with the
most load left; the swaps are those real programmes see most: someone gives away a holiday week (Thanksgiving,
Christmas, New Year) for an ordinary week of the same rotation, to a colleague who does not mind holidays.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from django.db import transaction
from django.utils import timezone

from allocation.changes import schedule_swaps_apply
from allocation.models import Assignment, Schedule, ScheduleChange
from preferences.demo import NUM_WEEKS, ROTATIONS, first_monday_of_july, holiday_weeks
from preferences.models import AcademicYear, CoverageDemand, Rotation, Week

SWAP_REASON = "Demo history: gave away a holiday week"


@transaction.atomic
def demo_history_create(*, year: AcademicYear, seed: int = 7, swaps: int = 14) -> AcademicYear | None:
    """Create the published year before `year` with executed swaps; None (nothing done) when that year exists."""
    label = year.label - 1
    if AcademicYear.objects.filter(label=label).exists():
        return None
    rng = np.random.default_rng([seed, label])
    first_monday = first_monday_of_july(label)
    past = AcademicYear.objects.create(
        label=label, first_monday=first_monday, num_weeks=NUM_WEEKS, status=AcademicYear.Status.PUBLISHED,
        preference_opens=timezone.make_aware(dt.datetime.combine(first_monday - dt.timedelta(days=120), dt.time(9))),
        preference_closes=timezone.make_aware(dt.datetime.combine(first_monday - dt.timedelta(days=90), dt.time(17))),
    )
    holidays = holiday_weeks(first_monday, NUM_WEEKS)
    weeks = Week.objects.bulk_create(
        Week(year=past, index=k, start_date=first_monday + dt.timedelta(weeks=k), is_holiday=k in holidays,
             holiday_name=holidays.get(k, ""))
        for k in range(NUM_WEEKS)
    )
    rotations = {r.name: r for r in Rotation.objects.filter(name__in=[name for name, *_ in ROTATIONS])}
    demand = [
        CoverageDemand(week=wk, rotation=rotations[name], count=per_week if open_on_holidays or not wk.is_holiday else 0)
        for wk in weeks for name, _, per_week, open_on_holidays in ROTATIONS if name in rotations
    ]
    CoverageDemand.objects.bulk_create(demand)
    people = list(year.faculty_queryset().prefetch_related("rotations").order_by("external_id"))
    past.roster.set(people)

    schedule = Schedule.objects.create(year=past, name=f"{past} schedule", source=Schedule.Source.MANUAL)
    left = {f.pk: f.target_load for f in people}
    qualified = {f.pk: {r.name for r in f.rotations.all()} for f in people}
    taken: set[tuple[int, int]] = set()
    rows = []
    for slot in demand:
        for _ in range(slot.count):
            options = [f.pk for f in people if slot.rotation.name in qualified[f.pk] and (f.pk, slot.week.index) not in taken]
            if not options:
                continue
            most = max(left[pk] for pk in options)
            pk = int(rng.choice([pk for pk in options if left[pk] == most]))
            left[pk] -= 1
            taken.add((pk, slot.week.index))
            rows.append(Assignment(schedule=schedule, faculty_id=pk, week=slot.week, rotation=slot.rotation, rank=None,
                                   utility=0.5))
    Assignment.objects.bulk_create(rows)
    published_at = timezone.make_aware(dt.datetime.combine(first_monday - dt.timedelta(days=60), dt.time(12)))
    Schedule.objects.filter(pk=schedule.pk).update(status=Schedule.Status.PUBLISHED, published_at=published_at)
    schedule.refresh_from_db()
    _swap_out_of_holidays(schedule=schedule, holidays=holidays, swaps=swaps, rng=rng)
    return past


def _swap_out_of_holidays(*, schedule: Schedule, holidays: dict[int, str], swaps: int, rng: np.random.Generator) -> int:
    big = [k for k, name in holidays.items() if name in ("Thanksgiving", "Christmas", "New Year's Day")]
    done = 0
    for give in rng.permutation(list(schedule.assignments.filter(week__index__in=big).order_by("pk"))):
        if done >= swaps:
            break
        held = set(schedule.assignments.filter(faculty_id=give.faculty_id).values_list("week__index", flat=True))
        partners = [
            a for a in schedule.assignments.filter(rotation=give.rotation).exclude(week__index__in=big)
            .exclude(faculty_id=give.faculty_id).order_by("pk")
            if a.week.index not in held and not schedule.assignments.filter(faculty_id=a.faculty_id, week=give.week).exists()
        ]
        if not partners:
            continue
        take = partners[int(rng.integers(len(partners)))]
        schedule_swaps_apply(schedule=schedule, pairs=[(give.pk, take.pk)], actor=None, kind=ScheduleChange.Kind.SWAP,
                             reason=SWAP_REASON)
        done += 1
    return done


def demo_year_created_receiver(sender, *, year_id: int, seed: int = 7, **kwargs) -> None:
    year = AcademicYear.objects.filter(pk=year_id).first()
    if year is not None:
        demo_history_create(year=year, seed=seed)
