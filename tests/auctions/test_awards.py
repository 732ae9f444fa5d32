"""Points for unwanted weeks (DESIGN §8): posted once when a schedule is published through the gate — per holiday
week and per week ranked in the worst quarter or valued ≤ 20 — and never blocking the publication."""

from __future__ import annotations

import logging

import pytest

from allocation.changes import schedule_swaps_apply
from allocation.signals import schedule_published
from auctions.algorithms.awards import unwanted_weeks, week_award
from auctions.awards import points_award_for_schedule
from auctions.models import PriorityPointAccount, PriorityPointTransaction
from auctions.services import bid_place, bid_withdraw
from preferences.services import preferences_submit
from stability.gate import schedule_publish
from tests.auctions.auction_helpers import open_auction
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

    # the signal again, and the service again: nothing more
    schedule_published.send(sender=type(draft), schedule_id=draft.pk, year_id=year.pk)
    again = points_award_for_schedule(schedule_id=draft.pk)
    assert (again.entries, again.already, again.reversed) == (0, 3, 0)
    assert PriorityPointTransaction.objects.count() == 3
    assert_reconciles()


def test_a_republished_year_moves_the_awards_with_the_weeks(year, faculty, other_faculty, coordinator,
                                                             django_capture_on_commit_callbacks):
    """Alice keeps week 5 (nothing new for it); bob loses week 1 (its award reversed) and gets the holiday week 3
    alice had, so alice's holiday award is reversed and bob earns his own. When the holiday comes back to alice she
    earns it again, under a new key."""
    rank(faculty, year, [0, 1, 2, 5])
    submit(other_faculty, year, {1: 10, 2: 60})
    first = ScheduleFactory(year=year, name="First", rows=[
        (faculty, 3, "inpatient"), (faculty, 5, "inpatient"), (other_faculty, 1, "inpatient"),
    ])
    publish(first, coordinator, django_capture_on_commit_callbacks)
    second = ScheduleFactory(year=year, name="Second", rows=[(faculty, 5, "clinic"), (other_faculty, 3, "inpatient")])
    publish(second, coordinator, django_capture_on_commit_callbacks)
    alice = PriorityPointAccount.objects.get(faculty=faculty)
    bob = PriorityPointAccount.objects.get(faculty=other_faculty)
    assert (alice.balance, bob.balance) == (2, 3)  # alice: week 5 only; bob: the holiday, week 1 taken back
    reversals = PriorityPointTransaction.objects.filter(type="reversal").order_by("account_id")
    assert sorted((r.account_id, r.amount, r.reverses.week.index) for r in reversals) == \
        sorted([(alice.pk, -3, 3), (bob.pk, -2, 1)])
    assert all("no longer yours in “Second”" in r.description for r in reversals)

    third = ScheduleFactory(year=year, name="Third", rows=[(faculty, 3, "inpatient"), (faculty, 5, "clinic")])
    publish(third, coordinator, django_capture_on_commit_callbacks)
    alice.refresh_from_db()
    assert alice.balance == 3 + 2
    keys = sorted(alice.entries.filter(type="award", week__index=3).values_list("idempotency_key", flat=True))
    week3 = year.weeks.get(index=3).pk
    assert keys == [f"award:week:{week3}", f"award:week:{week3}:2"]
    assert_reconciles()


def test_a_swap_after_publication_moves_the_award(year, faculty, other_faculty, coordinator,
                                                 django_capture_on_commit_callbacks):
    schedule = ScheduleFactory(year=year, name="Year", rows=[(faculty, 3, "inpatient"), (other_faculty, 4, "inpatient")])
    publish(schedule, coordinator, django_capture_on_commit_callbacks)
    assert PriorityPointAccount.objects.get(faculty=faculty).balance == 3
    a = schedule.assignments.get(faculty=faculty)
    b = schedule.assignments.get(faculty=other_faculty)
    with django_capture_on_commit_callbacks(execute=True):
        schedule_swaps_apply(schedule=schedule, pairs=[(a.pk, b.pk)], actor=coordinator, reason="family")
    alice = PriorityPointAccount.objects.get(faculty=faculty)
    bob = PriorityPointAccount.objects.get(faculty=other_faculty)
    assert (alice.balance, bob.balance) == (0, 3)
    assert_reconciles()


def test_an_award_already_spent_on_a_bid_is_not_reversed_below_the_held_points(
        year, faculty, other_faculty, coordinator, django_capture_on_commit_callbacks, caplog):
    first = ScheduleFactory(year=year, name="First", rows=[(faculty, 3, "inpatient")])
    publish(first, coordinator, django_capture_on_commit_callbacks)
    auction = open_auction(year, week=6, actor=coordinator)
    bid_place(auction=auction, faculty=faculty, amount=3)  # all of alice's points are held
    second = ScheduleFactory(year=year, name="Second", rows=[(other_faculty, 3, "inpatient")])
    with caplog.at_level(logging.WARNING):
        publish(second, coordinator, django_capture_on_commit_callbacks)
    assert "stays" in caplog.text
    alice = PriorityPointAccount.objects.get(faculty=faculty)
    assert (alice.balance, alice.held) == (3, 3)
    result = points_award_for_schedule(schedule_id=second.pk)
    assert (result.reversed, result.unreversed) == (0, 1)
    bid_withdraw(bid=auction.bids.get())
    assert points_award_for_schedule(schedule_id=second.pk).reversed == 1  # tried again: now it goes through
    alice.refresh_from_db()
    assert alice.balance == 0
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
