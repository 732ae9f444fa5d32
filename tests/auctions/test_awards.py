"""Points for unwanted weeks (DESIGN §8): posted once when a schedule is published through the gate — per holiday
week and per week ranked in the worst quarter or valued ≤ 20 — and never blocking the publication."""

from __future__ import annotations

import logging

import pytest

from allocation.signals import schedule_published
from auctions.algorithms.awards import unwanted_weeks, week_award
from auctions.awards import points_award_for_schedule
from auctions.models import PriorityPointAccount, PriorityPointTransaction
from preferences.services import preferences_submit
from stability.gate import schedule_publish
from tests.auctions.conftest import assert_reconciles
from tests.factories import ScheduleFactory
from tests.stability.helpers import submit

pytestmark = pytest.mark.django_db

POINTS = {"holiday_week": 3, "unwanted_week": 2}


@pytest.fixture(autouse=True)
def points(settings):
    settings.GTSCHED_POINTS = POINTS


def rank(person, year, order: list[int]) -> None:
    weeks = {w.index: w for w in year.weeks.all()}
    preferences_submit(faculty=person, year=year, preference_type="ordinal",
                       entries=[{"week": weeks[k], "rank": r} for r, k in enumerate(order, start=1)],
                       blocked_weeks=[], method="web_form", actor=person.user)


def publish(schedule, coordinator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        schedule_publish(schedule=schedule, actor=coordinator, force=True, reason="test year", channel="api")


def test_the_worst_quarter_of_ranked_weeks_and_values_up_to_20_are_unwanted():
    ranked = [{"week": w, "rank": r} for r, w in enumerate([5, 1, 7, 2, 0, 3, 6, 4], start=1)]
    assert unwanted_weeks("ordinal", ranked) == {6, 4}  # ranks 7 and 8 of 8
    assert unwanted_weeks("ordinal", ranked[:3]) == set()  # fewer than 4 ranked weeks: no worst quarter
    assert unwanted_weeks("cardinal", [{"week": 0, "value": 20}, {"week": 1, "value": 21}]) == {0}
    assert unwanted_weeks("binary", [{"week": 0, "accept": False}]) == set()
    assert week_award(holiday=True, unwanted=True, holiday_points=3, unwanted_points=2) == (5, ["holiday week", "unwanted week"])
    assert week_award(holiday=True, unwanted=False, holiday_points=0, unwanted_points=2) == (0, [])


def test_publishing_awards_holiday_and_unwanted_weeks_once(year, faculty, other_faculty, coordinator,
                                                          django_capture_on_commit_callbacks):
    rank(faculty, year, [0, 1, 2, 5])  # week 5 is alice's worst quarter
    submit(other_faculty, year, {1: 10, 2: 60})  # bob values week 1 at 10
    draft = ScheduleFactory(year=year, name="Draft", rows=[
        (faculty, 3, "inpatient"), (faculty, 5, "inpatient"), (faculty, 0, "inpatient"),
        (other_faculty, 1, "inpatient"), (other_faculty, 2, "inpatient"),
    ])
    publish(draft, coordinator, django_capture_on_commit_callbacks)
    alice = PriorityPointAccount.objects.get(faculty=faculty)
    bob = PriorityPointAccount.objects.get(faculty=other_faculty)
    assert (alice.balance, bob.balance) == (3 + 2, 2)  # week 3 is the holiday
    entries = list(alice.entries.order_by("week__index"))
    assert [(e.week.index, e.amount, e.type) for e in entries] == [(3, 3, "award"), (5, 2, "award")]
    assert "Holiday week" in entries[0].description and "“Draft”" in entries[0].description

    # the signal again, the service again, and a later schedule of the year holding the same weeks: nothing more
    schedule_published.send(sender=type(draft), schedule_id=draft.pk, year_id=year.pk)
    assert points_award_for_schedule(schedule_id=draft.pk).entries == 0
    second = ScheduleFactory(year=year, name="Second", rows=[(faculty, 3, "inpatient"), (faculty, 5, "clinic")])
    publish(second, coordinator, django_capture_on_commit_callbacks)
    assert PriorityPointTransaction.objects.count() == 3
    assert_reconciles()


def test_a_draft_earns_nothing(year, faculty):
    draft = ScheduleFactory(year=year, name="Draft", rows=[(faculty, 3, "inpatient")])
    assert points_award_for_schedule(schedule_id=draft.pk).entries == 0
    assert not PriorityPointTransaction.objects.exists()


def test_a_failing_award_never_breaks_publishing(year, faculty, coordinator, monkeypatch, caplog,
                                                django_capture_on_commit_callbacks):
    def broken(**kwargs):
        raise RuntimeError("ledger down")

    monkeypatch.setattr("auctions.receivers.points_award_for_schedule", broken)
    draft = ScheduleFactory(year=year, name="Draft", rows=[(faculty, 3, "inpatient")])
    with caplog.at_level(logging.ERROR):
        publish(draft, coordinator, django_capture_on_commit_callbacks)
    draft.refresh_from_db()
    assert draft.status == "published"
    assert "ledger down" in caplog.text
    assert not PriorityPointTransaction.objects.exists()


def test_awards_are_off_when_configured_to_zero(year, faculty, coordinator, settings,
                                               django_capture_on_commit_callbacks):
    settings.GTSCHED_POINTS = {"holiday_week": 0, "unwanted_week": 0}
    draft = ScheduleFactory(year=year, name="Draft", rows=[(faculty, 3, "inpatient")])
    publish(draft, coordinator, django_capture_on_commit_callbacks)
    assert not PriorityPointAccount.objects.exists()
