"""The demo's past year: a published schedule with executed holiday swaps, which give the demo year's swap-history
factor its data, and a reset that removes it again."""

from __future__ import annotations

import numpy as np
import pytest

from allocation.demo_history import SWAP_REASON, demo_history_create
from allocation.models import Schedule, ScheduleChange
from allocation.problem import year_problem
from preferences.demo import demo_year_create, demo_year_reset
from preferences.models import AcademicYear, TimeOff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    year = AcademicYear.objects.get(label=demo_year_create(label=2027, seed=7, faculty_count=16).summary["academic_year"])
    return year, demo_history_create(year=year, seed=7, swaps=5)


def test_the_demo_year_records_realistic_time_off(demo):
    year, _ = demo
    kinds = set(TimeOff.objects.filter(year=year).values_list("kind", flat=True))
    assert {"conference", "leave", "parental"} <= kinds


def test_the_past_year_is_published_with_executed_swaps_out_of_holiday_weeks(demo):
    year, past = demo
    assert past.label == 2026 and past.status == "published"
    schedule = Schedule.objects.get(year=past)
    assert schedule.status == Schedule.Status.PUBLISHED
    changes = list(ScheduleChange.objects.filter(schedule=schedule))
    assert len(changes) == 5 and all(c.reason == SWAP_REASON for c in changes)
    assert demo_history_create(year=year, seed=7) is None  # idempotent


def test_the_swaps_give_the_demo_year_a_swap_history(demo):
    """One past year: a week held and kept scores 1 − 0/2 = 1; a holiday week swapped away 1 − 1/2 = 0.5."""
    year, past = demo
    built = year_problem(year=year, seed=0)
    rate = built.model.factors["swap_out_rate"]
    change = ScheduleChange.objects.filter(schedule__year=past).order_by("pk").first()
    gave = next(row for row in change.before if row["faculty"] in built.faculty_ids.tolist())
    i = built.faculty_ids.tolist().index(gave["faculty"])
    week = past.weeks.get(pk=gave["week"]).start_date.isocalendar().week
    same = [k for k, w in enumerate(year.weeks.order_by("index")) if w.start_date.isocalendar().week == week]
    assert rate[i, same].tolist() == [0.5] * len(same)
    assert (rate == 1.0).sum() >= 16 and set(np.unique(rate).tolist()) <= {0.5, 1.0}


def test_reset_removes_the_past_year_too(demo):
    demo_year_reset(label=2027)
    assert not AcademicYear.objects.filter(label__in=[2026, 2027]).exists()
