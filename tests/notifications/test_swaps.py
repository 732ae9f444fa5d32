"""The swap market's e-mails: proposed to you, accepted, declined, approved / refused; each once to exactly the
parties who should hear it; a mail server that is down fails no market action."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from preferences.models import Notification
from preferences.notifications import Kind, notification_settings_update
from stability.market.approval import swap_approval_setting_update, swap_request_approve, swap_request_refuse
from stability.market.matching import swap_requests_clear_cycles
from stability.market.requests import (
    swap_request_confirm,
    swap_request_create,
    swap_request_decline,
    swap_request_post,
)
from stability.models import SwapRequest
from tests.notifications.helpers import BROKEN_BACKEND, html_part, recipients
from tests.stability.helpers import slot, weeks_of

pytestmark = pytest.mark.django_db
ALICE, BOB = "alice@example.org", "bob@example.org"


@pytest.fixture
def sent(mailoutbox, django_capture_on_commit_callbacks):
    """sent(action) runs the action as one committed transaction and returns the messages it sent."""

    def run(action):
        before = len(mailoutbox)
        with django_capture_on_commit_callbacks(execute=True):
            result = action()
        run.result = result
        return mailoutbox[before:]

    return run


def _suggest(market, faculty, other_faculty):
    return swap_request_post(actor=faculty.user, give=slot(market, faculty, 0), take=slot(market, other_faculty, 1))


def test_a_proposal_goes_to_the_counterparty_only_and_links_to_their_requests(market, faculty, other_faculty, sent):
    (message,) = sent(lambda: _suggest(market, faculty, other_faculty))
    assert message.to == [BOB] and message.subject == "A swap is proposed to you"
    assert "Dr. Alice Owner proposes a swap: you give week 2" in message.body and "get week 1" in message.body
    assert "/swaps/requests/?year=2026" in message.body and "/swaps/requests/?year=2026" in html_part(message)


def test_a_confirmation_tells_the_requester_once_that_the_swap_is_done(market, faculty, other_faculty, sent):
    swap = _suggest(market, faculty, other_faculty)
    (message,) = sent(lambda: swap_request_confirm(swap=swap, actor=other_faculty.user))
    assert message.to == [ALICE] and "Dr. Bob Outsider accepted the swap" in message.body
    assert "now part of the published schedule" in message.body
    with pytest.raises(ValidationError):  # confirming again is refused; nothing is sent twice
        sent(lambda: swap_request_confirm(swap=swap, actor=other_faculty.user))
    assert Notification.objects.filter(kind=Kind.SWAP_ACCEPTED).count() == 1


def test_a_decline_tells_the_other_party(market, faculty, other_faculty, sent):
    swap = _suggest(market, faculty, other_faculty)
    (message,) = sent(lambda: swap_request_decline(swap=swap, actor=other_faculty.user))
    assert message.to == [ALICE] and "declined the swap" in message.body and "unchanged" in message.body


def test_approval_and_refusal_tell_both_parties_once(market, faculty, other_faculty, coordinator, sent):
    swap_approval_setting_update(year=market.year, required=True, actor=coordinator)
    swap = _suggest(market, faculty, other_faculty)
    (accepted,) = sent(lambda: swap_request_confirm(swap=swap, actor=other_faculty.user))
    assert accepted.to == [ALICE] and "waits for a coordinator's approval" in accepted.body
    messages = sent(lambda: swap_request_refuse(swap=swap, actor=coordinator, reason="Nights would be short."))
    assert recipients(messages) == [ALICE, BOB]
    assert all(m.subject == "Your swap was refused" and "Their reason: Nights would be short." in m.body
               for m in messages)
    assert weeks_of(market, faculty) == [0, 4]


def test_an_approval_tells_both_parties(market, faculty, other_faculty, coordinator, sent):
    swap_approval_setting_update(year=market.year, required=True, actor=coordinator)
    swap = _suggest(market, faculty, other_faculty)
    swap_request_confirm(swap=swap, actor=other_faculty.user)
    messages = sent(lambda: swap_request_approve(swap=swap, actor=coordinator))
    assert recipients(messages) == [ALICE, BOB]
    assert all("approved" in m.subject and "now part of the published schedule" in m.body for m in messages)


def test_a_flexible_request_is_proposed_to_both_parties_who_must_confirm(market, faculty, other_faculty, sent):
    weeks = {w.index: w for w in market.year.weeks.all()}

    def post():
        return swap_request_post(actor=faculty.user, give=slot(market, faculty, 0), wanted_weeks=[weeks[1]])

    messages = sent(post)
    assert sent.result.status == SwapRequest.Status.MATCHED
    assert recipients(messages) == sorted([ALICE, sent.result.counterparty.user.email])


def test_a_trading_cycle_is_proposed_to_each_member_once(cycle_market, faculty, other_faculty, carol, coordinator, sent):
    weeks = {w.index: w for w in cycle_market.year.weeks.all()}
    for person, give, want in ((faculty, 1, 2), (other_faculty, 2, 3), (carol, 3, 1)):
        swap_request_create(actor=person.user, give=slot(cycle_market, person, give), wanted_weeks=[weeks[want]],
                            strategy="targeted", note="")
    messages = sent(lambda: swap_requests_clear_cycles(schedule=cycle_market, actor=coordinator))
    assert recipients(messages) == [ALICE, BOB, "carol@example.org"]
    assert all("trading cycle of 3" in m.body for m in messages)


def test_opting_out_of_proposals_keeps_the_other_swap_messages(market, faculty, other_faculty, sent):
    notification_settings_update(faculty=other_faculty, enabled={Kind.SWAP_PROPOSED: False})
    assert sent(lambda: _suggest(market, faculty, other_faculty)) == []
    swap = SwapRequest.objects.get()
    notification_settings_update(faculty=faculty, enabled={Kind.SWAP_DECLINED: False})
    assert sent(lambda: swap_request_decline(swap=swap, actor=other_faculty.user)) == []


def test_a_mail_server_that_is_down_fails_no_swap(market, faculty, other_faculty, settings, sent):
    settings.EMAIL_BACKEND = BROKEN_BACKEND
    swap = _suggest(market, faculty, other_faculty)
    assert sent(lambda: swap_request_confirm(swap=swap, actor=other_faculty.user)) == []
    assert sent.result.status == SwapRequest.Status.EXECUTED and weeks_of(market, faculty) == [1, 4]
    assert Notification.objects.filter(status="pending", attempts=1).count() == 1
