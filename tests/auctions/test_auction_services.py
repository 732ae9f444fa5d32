"""The auction services through the database (DESIGN §8): each rule, holds released exactly once, the schedule effect
before and after publication, refusals naming the field with nothing stored, bids after close refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from allocation.models import Assignment, PreAssignment, ScheduleChange
from auctions.auction_models import Bid, VickreyAuction
from auctions.models import PriorityPointHold, PriorityPointTransaction
from auctions.services import (
    auction_cancel,
    auction_close,
    auction_settle,
    auctions_settle_due,
    bid_change,
    bid_place,
    bid_withdraw,
)
from preferences.models import Rotation
from tests.auctions.auction_helpers import after_deadline, figures, grant, open_auction
from tests.auctions.conftest import assert_reconciles
from tests.stability.helpers import publish, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def bidders(year, faculty, other_faculty, carol, coordinator):
    for person, amount in ((faculty, 20), (other_faculty, 15), (carol, 10)):
        grant(person, year, amount, coordinator)
    return faculty, other_faculty, carol


def settle(auction, coordinator, seed=7):
    auction_close(auction=auction, actor=coordinator)
    return auction_settle(auction=auction, actor=coordinator, seed=seed)


def stored():
    return (VickreyAuction.objects.count(), Bid.objects.count(), PriorityPointHold.objects.count(),
            PriorityPointTransaction.objects.count(), PreAssignment.objects.count())


# --- bids as holds ----------------------------------------------------------------------------------------------

def test_a_bid_holds_its_amount_and_a_change_replaces_the_hold_exactly_once(year, bidders, coordinator):
    alice, _, _ = bidders
    auction = open_auction(year, actor=coordinator)
    bid = bid_place(auction=auction, faculty=alice, amount=8)
    assert figures(alice, year) == (20, 8, 12)
    bid = bid_change(bid=bid, amount=15)
    assert figures(alice, year) == (20, 15, 5)
    bid = bid_change(bid=bid, amount=3)
    assert figures(alice, year) == (20, 3, 17)
    assert PriorityPointHold.objects.filter(status="pending").count() == 1
    assert PriorityPointHold.objects.filter(status="voided").count() == 2
    bid_withdraw(bid=bid)
    bid_withdraw(bid=bid)  # a repeat changes nothing
    assert figures(alice, year) == (20, 0, 20)
    assert Bid.objects.get(pk=bid.pk).status == Bid.Status.WITHDRAWN
    assert_reconciles()


def test_a_bid_above_the_available_points_is_refused_naming_amount_and_the_old_bid_stands(year, bidders, coordinator):
    alice, _, _ = bidders
    auction = open_auction(year, actor=coordinator)
    with pytest.raises(ValidationError) as refused:
        bid_place(auction=auction, faculty=alice, amount=21)
    assert set(refused.value.message_dict) == {"amount"}
    assert Bid.objects.count() == 0 and figures(alice, year) == (20, 0, 20)
    bid = bid_place(auction=auction, faculty=alice, amount=12)
    with pytest.raises(ValidationError) as refused:
        bid_change(bid=bid, amount=21)
    assert set(refused.value.message_dict) == {"amount"}
    assert figures(alice, year) == (20, 12, 8)
    assert Bid.objects.get(pk=bid.pk).amount == 12
    assert_reconciles()


@pytest.mark.parametrize("amount", [-1, 2.5, "7", None, True, float("nan")])
def test_negative_fractional_or_non_numeric_bids_are_refused_naming_amount(year, bidders, coordinator, amount):
    auction = open_auction(year, actor=coordinator)
    before = stored()
    with pytest.raises(ValidationError) as refused:
        bid_place(auction=auction, faculty=bidders[0], amount=amount)
    assert set(refused.value.message_dict) == {"amount"}
    assert stored() == before


def test_bids_after_close_are_refused_naming_the_auction(year, bidders, coordinator):
    alice, bob, _ = bidders
    auction = open_auction(year, actor=coordinator)
    bid = bid_place(auction=auction, faculty=alice, amount=5)
    with pytest.raises(ValidationError) as late:
        bid_place(auction=auction, faculty=bob, amount=5, now=after_deadline(auction))
    assert set(late.value.message_dict) == {"auction"}
    auction_close(auction=auction, actor=coordinator)
    for attempt in (lambda: bid_place(auction=auction, faculty=bob, amount=5),
                    lambda: bid_change(bid=bid, amount=6), lambda: bid_withdraw(bid=bid)):
        with pytest.raises(ValidationError) as closed:
            attempt()
        assert set(closed.value.message_dict) == {"auction"}
    assert figures(alice, year) == (20, 5, 15)


def test_only_eligible_faculty_bid(year, bidders, coordinator, rotations):
    alice, bob, carol = bidders
    clinic = open_auction(year, rotation="clinic", actor=coordinator)
    with pytest.raises(ValidationError) as unqualified:
        bid_place(auction=clinic, faculty=bob, amount=1)  # bob serves inpatient only
    assert "not qualified" in unqualified.value.message_dict["faculty"][0]
    submit(carol, year, {0: 50}, blocked=(2,))
    with pytest.raises(ValidationError) as blocked:
        bid_place(auction=clinic, faculty=carol, amount=1)
    assert "blocked" in blocked.value.message_dict["faculty"][0]
    PreAssignment.objects.create(year=year, faculty=alice, week=year.weeks.get(index=2),
                                 rotation=Rotation.objects.get(name="inpatient"), reason="conference")
    with pytest.raises(ValidationError) as serving:
        bid_place(auction=clinic, faculty=alice, amount=1)
    assert "already serves" in serving.value.message_dict["faculty"][0]
    assert Bid.objects.count() == 0


def test_one_active_bid_per_faculty_member(year, bidders, coordinator):
    auction = open_auction(year, actor=coordinator)
    bid_place(auction=auction, faculty=bidders[0], amount=1)
    with pytest.raises(ValidationError) as twice:
        bid_place(auction=auction, faculty=bidders[0], amount=2)
    assert set(twice.value.message_dict) == {"auction"}


# --- creation -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "field"), [
    ({"reserve": -1}, "reserve_price"), ({"reserve": 1.5}, "reserve_price"), ({"hours": -1}, "closes_at"),
    ({"kind": "dutch"}, "kind"),
])
def test_creation_refuses_bad_input_naming_the_field(year, coordinator, change, field):
    with pytest.raises(ValidationError) as refused:
        open_auction(year, actor=coordinator, **change)
    assert field in refused.value.message_dict
    assert VickreyAuction.objects.count() == 0


def test_a_published_slot_must_be_free_or_offered_by_its_holder(year, bidders, coordinator):
    alice, bob, carol = bidders
    publish(year, [(bob, 2, "inpatient")])
    with pytest.raises(ValidationError) as full:
        open_auction(year, actor=coordinator)
    assert "week" in full.value.message_dict
    with pytest.raises(ValidationError) as not_holder:
        open_auction(year, holder=alice, actor=coordinator)
    assert "holder" in not_holder.value.message_dict
    assert open_auction(year, holder=bob, actor=coordinator).holder == bob
    assert open_auction(year, week=3, actor=coordinator).holder is None  # a free seat of the programme


# --- settlement ---------------------------------------------------------------------------------------------------

def test_the_highest_bid_wins_pays_the_second_and_every_other_hold_is_released(year, bidders, coordinator):
    alice, bob, carol = bidders
    auction = open_auction(year, actor=coordinator, reserve=2)
    bid_place(auction=auction, faculty=alice, amount=12)
    bid_place(auction=auction, faculty=bob, amount=9)
    bid_place(auction=auction, faculty=carol, amount=1)  # below the reserve
    auction = settle(auction, coordinator)
    assert (auction.status, auction.winner, auction.winning_bid, auction.price) == ("settled", alice, 12, 9)
    assert figures(alice, year) == (11, 0, 11)
    assert figures(bob, year) == (15, 0, 15) and figures(carol, year) == (10, 0, 10)
    entry = PriorityPointTransaction.objects.get(type="auction_payment")
    assert (entry.amount, entry.auction_id) == (-9, auction.pk)
    assert set(Bid.objects.values_list("faculty__external_id", "status")) == {
        ("F001", "won"), ("F002", "lost"), ("F003", "lost")}
    assert not PriorityPointHold.objects.filter(status="pending").exists()
    assert_reconciles()


def test_before_publication_the_winner_is_pre_assigned_with_the_auction_as_reason(year, bidders, coordinator):
    alice, bob, _ = bidders
    auction = open_auction(year, actor=coordinator)
    bid_place(auction=auction, faculty=alice, amount=4)
    auction = settle(auction, coordinator)
    pre = PreAssignment.objects.get()
    assert (pre.faculty, pre.week.index, pre.rotation.name) == (alice, 2, "inpatient")
    assert f"auction #{auction.pk}" in pre.reason and auction.preassignment == pre
    assert figures(alice, year) == (20, 0, 20)  # a single bidder pays the reserve, 0


def test_after_publication_the_winner_takes_the_holders_seat_by_an_audited_change(year, bidders, coordinator):
    alice, bob, carol = bidders
    schedule = publish(year, [(bob, 2, "inpatient")])
    auction = open_auction(year, holder=bob, actor=coordinator)
    bid_place(auction=auction, faculty=alice, amount=6)
    bid_place(auction=auction, faculty=carol, amount=4)
    auction = settle(auction, coordinator)
    seat = Assignment.objects.get(schedule=schedule, week__index=2, rotation__name="inpatient")
    assert seat.faculty == alice
    change = ScheduleChange.objects.get()
    assert (change.kind, auction.schedule_change) == (ScheduleChange.Kind.SETTLEMENT, change)
    assert change.before[0]["faculty"] == bob.pk and change.after[0]["faculty"] == alice.pk
    assert figures(alice, year) == (16, 0, 16)
    assert figures(bob, year) == (19, 0, 19)  # the holder is credited the price of their seat
    assert_reconciles()


def test_after_publication_a_free_seat_becomes_a_new_assignment(year, bidders, coordinator):
    alice, bob, _ = bidders
    schedule = publish(year, [(bob, 1, "inpatient")])
    auction = open_auction(year, week=3, actor=coordinator)
    bid_place(auction=auction, faculty=alice, amount=2)
    settle(auction, coordinator)
    assert Assignment.objects.get(schedule=schedule, week__index=3).faculty == alice
    assert ScheduleChange.objects.get().before == []


def test_a_reverse_auction_credits_the_lowest_ask_the_second_ask_capped_by_the_reserve(year, bidders, coordinator):
    alice, bob, carol = bidders
    auction = open_auction(year, kind="reverse", reserve=10, actor=coordinator)
    bid_place(auction=auction, faculty=alice, amount=3)
    bid_place(auction=auction, faculty=bob, amount=6)
    bid_place(auction=auction, faculty=carol, amount=30)  # above the reserve: never wins
    assert figures(alice, year) == (20, 0, 20)  # an ask holds nothing
    auction = settle(auction, coordinator)
    assert (auction.winner, auction.price) == (alice, 6)
    credit = PriorityPointTransaction.objects.get(type="auction_credit")
    assert (credit.amount, credit.auction_id, credit.week.index) == (6, auction.pk, 2)
    assert figures(alice, year) == (26, 0, 26)
    assert_reconciles()


def test_no_valid_bid_means_no_winner_nothing_posted_and_every_hold_voided(year, bidders, coordinator):
    alice, bob, _ = bidders
    auction = open_auction(year, reserve=50, actor=coordinator)
    bid_place(auction=auction, faculty=alice, amount=12)
    bid_place(auction=auction, faculty=bob, amount=9)
    entries = PriorityPointTransaction.objects.count()
    auction = settle(auction, coordinator)
    assert (auction.status, auction.winner, auction.price) == ("settled", None, None)
    assert PriorityPointTransaction.objects.count() == entries
    assert PreAssignment.objects.count() == 0
    assert figures(alice, year) == (20, 0, 20) and figures(bob, year) == (15, 0, 15)
    assert set(Bid.objects.values_list("status", flat=True)) == {"lost"}


def test_ties_break_by_the_recorded_seeded_draw(year, bidders, coordinator):
    alice, bob, _ = bidders
    auction = open_auction(year, actor=coordinator)
    bid_place(auction=auction, faculty=alice, amount=5)
    bid_place(auction=auction, faculty=bob, amount=5)
    auction = settle(auction, coordinator, seed=11)
    assert auction.seed == 11 and sorted(auction.tie_draw) == sorted([alice.pk, bob.pk])
    assert auction.winner_id == auction.tie_draw[0] and auction.price == 5


def test_a_second_settle_is_a_no_op_returning_the_first_outcome(year, bidders, coordinator):
    auction = open_auction(year, actor=coordinator)
    bid_place(auction=auction, faculty=bidders[0], amount=5)
    bid_place(auction=auction, faculty=bidders[1], amount=3)
    first = settle(auction, coordinator)
    counts = stored()
    again = auction_settle(auction=auction, actor=coordinator, seed=99)
    assert (again.winner_id, again.price, again.seed, again.settled_at) == (
        first.winner_id, first.price, first.seed, first.settled_at)
    assert stored() == counts


def test_an_open_auction_settles_only_after_its_deadline(year, bidders, coordinator):
    auction = open_auction(year, actor=coordinator)
    with pytest.raises(ValidationError) as early:
        auction_settle(auction=auction, actor=coordinator)
    assert set(early.value.message_dict) == {"status"}
    assert auction_settle(auction=auction, actor=coordinator, now=after_deadline(auction)).status == "settled"


def test_the_beat_task_settles_every_auction_past_its_deadline(year, bidders, coordinator):
    due = open_auction(year, actor=coordinator, hours=1)
    later = open_auction(year, week=4, actor=coordinator, hours=48)
    bid_place(auction=due, faculty=bidders[0], amount=5)
    from auctions.tasks import auctions_settle_due_task
    assert auctions_settle_due(now=timezone.now() + dt.timedelta(hours=2)) == [due.pk]
    assert VickreyAuction.objects.get(pk=later.pk).status == "open"
    assert auctions_settle_due_task.delay().get() == []  # nothing else is due now


def test_cancelling_voids_every_hold_and_posts_nothing(year, bidders, coordinator):
    auction = open_auction(year, actor=coordinator)
    bid_place(auction=auction, faculty=bidders[0], amount=5)
    auction_cancel(auction=auction, actor=coordinator)
    assert figures(bidders[0], year) == (20, 0, 20)
    with pytest.raises(ValidationError):
        auction_settle(auction=auction, actor=coordinator)
    assert_reconciles()


def test_a_bidder_no_longer_eligible_at_settlement_loses_without_being_compared(year, bidders, coordinator):
    alice, bob, _ = bidders
    auction = open_auction(year, actor=coordinator)
    bid_place(auction=auction, faculty=alice, amount=12)
    bid_place(auction=auction, faculty=bob, amount=3)
    PreAssignment.objects.create(year=year, faculty=alice, week=year.weeks.get(index=2),
                                 rotation=Rotation.objects.get(name="clinic"), reason="conference")
    auction = settle(auction, coordinator)
    assert (auction.winner, auction.price) == (bob, 0)
    assert figures(alice, year) == (20, 0, 20)
    assert "Not compared" in Bid.objects.get(faculty=alice).note


def test_before_publication_a_holder_offers_their_pre_assigned_seat(year, bidders, coordinator):
    alice, bob, _ = bidders
    PreAssignment.objects.create(year=year, faculty=bob, week=year.weeks.get(index=2),
                                 rotation=Rotation.objects.get(name="inpatient"), reason="by agreement")
    auction = open_auction(year, holder=bob, actor=coordinator)
    with pytest.raises(ValidationError) as own:
        bid_place(auction=auction, faculty=bob, amount=1)
    assert "offer this slot" in own.value.message_dict["faculty"][0]
    bid_place(auction=auction, faculty=alice, amount=3)
    settle(auction, coordinator)
    assert list(PreAssignment.objects.values_list("faculty__external_id", flat=True)) == ["F001"]
