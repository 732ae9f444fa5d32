"""Schedule published and auction settled: each sends exactly one message to exactly the right people, once however
often it fires, and a mail server that is down fails neither the publication nor the settlement."""

from __future__ import annotations

import pytest

from allocation.models import Schedule
from auctions.auction_models import VickreyAuction
from auctions.services import auction_close, auction_settle, bid_place, bid_withdraw
from preferences.models import Notification
from preferences.notifications import Kind, notification_settings_update
from stability.gate import schedule_publish
from tests.auctions.auction_helpers import grant, open_auction
from tests.notifications.helpers import BROKEN_BACKEND, html_part, recipients

pytestmark = pytest.mark.django_db


def test_publishing_tells_every_faculty_member_of_the_year_their_own_weeks_once(
    stable_draft, people, coordinator, mailoutbox, django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        schedule_publish(schedule=stable_draft, actor=coordinator, channel="page")
    assert recipients(mailoutbox) == ["alice@example.org", "bob@example.org", "carol@example.org"]
    alice = next(m for m in mailoutbox if m.to == ["alice@example.org"])
    assert "Week 2 (" in alice.body and "Week 1 (" not in alice.body, "alice serves week 2 only"
    assert "/schedule/" in alice.body and "/schedule/" in html_part(alice)
    assert Notification.objects.filter(kind=Kind.SCHEDULE_PUBLISHED, event_key=f"schedule_published:{stable_draft.pk}").count() == 3


def test_a_second_delivery_of_the_published_signal_sends_nothing_more(
    stable_draft, people, coordinator, mailoutbox, django_capture_on_commit_callbacks,
):
    from allocation.signals import schedule_published, send

    with django_capture_on_commit_callbacks(execute=True):
        schedule_publish(schedule=stable_draft, actor=coordinator, channel="page")
    send(schedule_published, sender=Schedule, schedule_id=stable_draft.pk, year_id=stable_draft.year_id)
    assert len(mailoutbox) == 3


def test_a_mail_server_that_is_down_does_not_fail_the_publication(
    stable_draft, people, coordinator, mailoutbox, settings, django_capture_on_commit_callbacks,
):
    settings.EMAIL_BACKEND = BROKEN_BACKEND
    with django_capture_on_commit_callbacks(execute=True):
        result = schedule_publish(schedule=stable_draft, actor=coordinator, channel="page")
    assert result.schedule.status == Schedule.Status.PUBLISHED
    assert set(Notification.objects.values_list("status", "attempts")) == {("pending", 1)}


def test_opted_out_of_publication_messages_gets_none(stable_draft, people, coordinator, mailoutbox,
                                                     django_capture_on_commit_callbacks):
    notification_settings_update(faculty=people["B"], enabled={Kind.SCHEDULE_PUBLISHED: False})
    with django_capture_on_commit_callbacks(execute=True):
        schedule_publish(schedule=stable_draft, actor=coordinator, channel="page")
    assert recipients(mailoutbox) == ["alice@example.org", "carol@example.org"]


# --- auctions --------------------------------------------------------------------------------------------------


@pytest.fixture
def bidders(year, faculty, other_faculty, carol, dave, coordinator):
    for person in (faculty, other_faculty, carol, dave):
        grant(person, year, 20, coordinator)
    return faculty, other_faculty, carol, dave


def test_a_settled_auction_tells_each_bidder_the_outcome_once_and_never_the_other_bids(
    year, bidders, coordinator, mailoutbox, django_capture_on_commit_callbacks,
):
    alice, bob, carol, dave = bidders
    auction = open_auction(year, actor=coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        bid_place(auction=auction, faculty=alice, amount=12)
        bid_place(auction=auction, faculty=bob, amount=9)
        bid_withdraw(bid=bid_place(auction=auction, faculty=carol, amount=11))
        auction_close(auction=auction, actor=coordinator)
        auction_settle(auction=auction, actor=coordinator, seed=1)
        auction_settle(auction=auction, actor=coordinator, seed=1)  # exactly once: no second signal
    assert recipients(mailoutbox) == ["alice@example.org", "bob@example.org"], "withdrawn bidders and others get none"
    won = next(m for m in mailoutbox if m.to == ["alice@example.org"])
    lost = next(m for m in mailoutbox if m.to == ["bob@example.org"])
    assert "You won it and pay 9 points" in won.body
    assert "Dr. Alice Owner won it at a price of 9 points" in lost.body
    assert "12 points" not in lost.body and "9 points" in lost.body, "the price is told, the winning bid stays sealed"
    assert "/auctions/" in won.body and "/auctions/" in html_part(won)


def test_a_mail_server_that_is_down_does_not_fail_the_settlement(
    year, bidders, coordinator, mailoutbox, settings, django_capture_on_commit_callbacks,
):
    settings.EMAIL_BACKEND = BROKEN_BACKEND
    alice = bidders[0]
    auction = open_auction(year, actor=coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        bid_place(auction=auction, faculty=alice, amount=5)
        auction_close(auction=auction, actor=coordinator)
        settled = auction_settle(auction=auction, actor=coordinator, seed=1)
    assert settled.status == VickreyAuction.Status.SETTLED and settled.winner == alice
    assert Notification.objects.get().status == "pending"
