"""The auctions API (DESIGN §8, §10): the seed's one-shot vickrey-auction with its exact request and answer, the
auctions and bids resources, permissions and Idempotency-Key."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from allocation.models import PreAssignment
from auctions.auction_models import Bid, VickreyAuction
from auctions.models import PriorityPointHold, PriorityPointTransaction
from tests.auctions.auction_helpers import figures, grant, open_auction
from tests.auctions.conftest import assert_reconciles

pytestmark = pytest.mark.django_db

ONE_SHOT = "/api/v1/game-theory/vickrey-auction"


@pytest.fixture
def funded(year, faculty, other_faculty, carol, coordinator):
    grant(faculty, year, 20, coordinator)
    grant(other_faculty, year, 15, coordinator)
    grant(carol, year, 10, coordinator)


def body(**overrides):
    return {"academic_year": 2026, "shift_week": "2026-07-20", "shift_type": "inpatient", "is_desirable": True,
            "bids": {"F001": 10, "F002": 7}, "reserve_price": 0, **overrides}


def stored():
    return (VickreyAuction.objects.count(), Bid.objects.count(), PriorityPointHold.objects.count(),
            PriorityPointTransaction.objects.count(), PreAssignment.objects.count())


# --- the one-shot auction ---------------------------------------------------------------------------------------

def test_the_one_shot_auction_settles_and_answers_exactly_the_seeds_fields(as_, year, funded, faculty):
    response = as_("coordinator").post(ONE_SHOT, body(), format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert set(answer) == {"auction_id", "winner_faculty_id", "winning_bid", "payment", "num_bidders",
                           "is_strategyproof", "winner_points_deducted", "winner_new_balance"}
    assert {k: v for k, v in answer.items() if k != "auction_id"} == {
        "winner_faculty_id": "F001", "winning_bid": 10, "payment": 7, "num_bidders": 2, "is_strategyproof": True,
        "winner_points_deducted": 7, "winner_new_balance": 13}
    auction = VickreyAuction.objects.get(pk=answer["auction_id"])
    assert auction.status == "settled" and auction.week.index == 2
    assert PreAssignment.objects.get().faculty == faculty
    assert figures(faculty, year) == (13, 0, 13)
    assert_reconciles()


def test_a_reverse_one_shot_credits_the_winner_and_deducts_nothing(as_, year, funded, carol):
    response = as_("coordinator").post(ONE_SHOT, body(is_desirable=False, bids={"F003": 2, "F001": 5},
                                                      reserve_price=8), format="json")
    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["winner_faculty_id"], answer["payment"], answer["winner_points_deducted"],
            answer["winner_new_balance"]) == ("F003", 5, 0, 15)


def test_no_bid_meeting_the_reserve_has_no_winner(as_, year, funded):
    answer = as_("coordinator").post(ONE_SHOT, body(reserve_price=11), format="json").json()
    assert (answer["winner_faculty_id"], answer["winning_bid"], answer["payment"], answer["winner_new_balance"]) == (
        None, None, 0, None)
    assert PreAssignment.objects.count() == 0


@pytest.mark.parametrize(("change", "field"), [
    ({"bids": {"F001": 10, "F002": 16}}, "bids.F002"),   # above F002's 15 available points
    ({"bids": {"F001": 10, "F009": 3}}, "bids.F009"),    # unknown faculty
    ({"bids": {"F001": 10, "F002": -1}}, "bids.F002"),   # negative
    ({"bids": {"F001": 10, "F002": 2.5}}, "bids.F002"),  # fractional
    ({"bids": {"F001": "ten"}}, "bids.F001"),            # not a number
    ({"shift_week": "2031-01-06"}, "shift_week"),        # unknown week
    ({"shift_type": "surgery"}, "shift_type"),
    ({"reserve_price": -3}, "reserve_price"),
    ({"academic_year": 1999}, "academic_year"),
])
def test_the_one_shot_refuses_bad_input_naming_the_field_and_stores_nothing(as_, year, funded, change, field):
    before = stored()
    response = as_("coordinator").post(ONE_SHOT, body(**change), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert stored() == before


def test_the_one_shot_honours_the_idempotency_key(as_, year, funded, faculty):
    client = as_("coordinator")
    first = client.post(ONE_SHOT, body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(ONE_SHOT, body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert VickreyAuction.objects.count() == 1 and figures(faculty, year) == (13, 0, 13)
    other = client.post(ONE_SHOT, body(reserve_price=1), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 409


@pytest.mark.parametrize("who", ["faculty", "anonymous"])
def test_only_coordinators_run_the_one_shot(as_, year, funded, who):
    response = as_(who).post(ONE_SHOT, body(), format="json")
    assert response.status_code in (401, 403)
    assert VickreyAuction.objects.count() == 0


# --- the resources ------------------------------------------------------------------------------------------------

def test_a_coordinator_creates_closes_and_settles_and_faculty_bid_through_the_api(as_, client, year, funded, faculty,
                                                                                   other_faculty, coordinator):
    closes = (timezone.now() + dt.timedelta(days=2)).isoformat()
    admin = as_("coordinator")
    created = admin.post("/api/v1/auctions/", {"academic_year": 2026, "week": "2026-07-20", "rotation": "inpatient",
                                               "reserve_price": 1, "closes_at": closes}, format="json")
    assert created.status_code == 201, created.content
    auction_id = created.json()["id"]
    assert created.json()["rule"].startswith("The highest bid")
    admin.logout()
    alice = as_("faculty")
    placed = alice.post("/api/v1/bids/", {"auction": auction_id, "amount": 9}, format="json")
    assert placed.status_code == 201, placed.content
    bid_id = placed.json()["id"]
    assert placed.json()["held"] == 9
    assert alice.post(f"/api/v1/bids/{bid_id}/change", {"amount": 12}, format="json").json()["held"] == 12
    assert alice.get(f"/api/v1/auctions/{auction_id}/").json()["my_bid"]["amount"] == 12
    alice.logout()
    bob = as_("other_faculty")
    assert bob.post("/api/v1/bids/", {"auction": auction_id, "amount": 4}, format="json").status_code == 201
    assert bob.get(f"/api/v1/bids/{bid_id}/").status_code == 404  # alice's bid is not his
    assert bob.post(f"/api/v1/bids/{bid_id}/withdraw").status_code == 404
    assert bob.post(f"/api/v1/auctions/{auction_id}/settle").status_code == 403
    bob.logout()
    admin = as_("coordinator")
    assert admin.post(f"/api/v1/auctions/{auction_id}/close").json()["status"] == "closed"
    settled = admin.post(f"/api/v1/auctions/{auction_id}/settle").json()
    assert settled["outcome"]["winner"] == "F001" and settled["outcome"]["price"] == 4
    again = admin.post(f"/api/v1/auctions/{auction_id}/settle").json()
    assert again["outcome"] == settled["outcome"]
    assert figures(faculty, year) == (16, 0, 16) and figures(other_faculty, year) == (15, 0, 15)
    assert_reconciles()


def test_a_bid_above_the_available_points_is_a_400_naming_amount(as_, year, funded, coordinator):
    auction = open_auction(year, actor=coordinator)
    response = as_("faculty").post("/api/v1/bids/", {"auction": auction.pk, "amount": 21}, format="json")
    assert response.status_code == 400 and "amount" in response.json()
    assert Bid.objects.count() == 0


def test_a_coordinator_without_a_faculty_profile_cannot_bid(as_, year, funded, coordinator):
    auction = open_auction(year, actor=coordinator)
    assert as_("coordinator").post("/api/v1/bids/", {"auction": auction.pk, "amount": 1}, format="json").status_code == 403


def test_bid_writes_replay_under_one_idempotency_key(as_, year, funded, faculty, coordinator):
    auction = open_auction(year, actor=coordinator)
    client = as_("faculty")
    first = client.post("/api/v1/bids/", {"auction": auction.pk, "amount": 5}, format="json", HTTP_IDEMPOTENCY_KEY="b1")
    again = client.post("/api/v1/bids/", {"auction": auction.pk, "amount": 5}, format="json", HTTP_IDEMPOTENCY_KEY="b1")
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert Bid.objects.count() == 1 and figures(faculty, year) == (20, 5, 15)
