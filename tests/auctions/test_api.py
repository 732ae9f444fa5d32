"""The priority-points API (DESIGN §8, §10): who reads which account, the exact response fields, grants and
corrections by coordinators, and Idempotency-Key (same key + same body: the first answer; different body: 409)."""

from __future__ import annotations

import pytest

from auctions import ledger
from auctions.ledger import EntryType
from auctions.models import IdempotentRequest, PriorityPointAccount, PriorityPointTransaction
from tests.factories import make_year

pytestmark = pytest.mark.django_db

POINTS = "/api/v1/priority-points/{}"
GRANT = "/api/v1/priority-points/{}/grant"
ENTRY_FIELDS = {"id", "amount", "type", "description", "balance_before", "balance_after", "created_at", "auction", "week"}


@pytest.fixture
def books(account, year):
    week = year.weeks.get(index=3)
    ledger.ledger_post(account=account, amount=9, type=EntryType.AWARD, description="Holiday week", week_id=week.pk)
    hold = ledger.hold_place(account=account, amount=4, auction_id=12).hold
    ledger.hold_post(hold=hold, amount=3, description="Won week 5")
    ledger.hold_place(account=account, amount=2, auction_id=13)
    return account


def test_a_faculty_member_reads_their_own_points_with_the_exact_fields(as_, books):
    response = as_("faculty").get(POINTS.format("F001"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"faculty", "academic_year", "balance", "held", "available", "lifetime_earned",
                         "lifetime_spent", "transactions"}
    assert {k: v for k, v in body.items() if k != "transactions"} == {
        "faculty": "F001", "academic_year": 2026, "balance": 6, "held": 2, "available": 4, "lifetime_earned": 9,
        "lifetime_spent": 3}
    award, payment = body["transactions"]
    assert set(award) == ENTRY_FIELDS
    assert (award["amount"], award["type"], award["week"], award["auction"]) == (9, "award", "2026-07-27", None)
    assert (payment["amount"], payment["type"], payment["auction"], payment["balance_before"],
            payment["balance_after"]) == (-3, "auction_payment", 12, 9, 6)


@pytest.mark.parametrize(("who", "code"), [("other_faculty", 404), ("anonymous", 401), ("coordinator", 200)])
def test_only_the_owner_and_coordinators_read_an_account(as_, books, other_faculty, who, code):
    assert as_(who).get(POINTS.format("F001")).status_code == code


def test_an_unknown_faculty_member_is_a_404_and_an_empty_account_reads_as_zeros(as_, books, other_faculty):
    assert as_("coordinator").get(POINTS.format("F999")).status_code == 404
    body = as_("coordinator").get(POINTS.format("F002")).json()
    assert (body["balance"], body["transactions"]) == (0, [])
    assert not PriorityPointAccount.objects.filter(faculty=other_faculty).exists()  # a read creates nothing


def test_the_year_defaults_to_the_current_one_and_can_be_named(as_, books, rotations, faculty):
    make_year(label=2025, rotations=rotations, window_open=False)
    client = as_("faculty")
    assert client.get(POINTS.format("F001")).json()["academic_year"] == 2026
    assert client.get(POINTS.format("F001"), {"academic_year": 2025}).json()["balance"] == 0
    refused = client.get(POINTS.format("F001"), {"academic_year": 1999})
    assert refused.status_code == 400 and "academic_year" in refused.json()


def test_a_coordinator_grants_points_with_a_reason(as_, year, faculty, coordinator):
    response = as_("coordinator").post(GRANT.format("F001"), {"amount": 5, "reason": "Covered nights",
                                                              "academic_year": 2026}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["balance"], body["available"], body["entry"]["type"], body["entry"]["description"]) == (
        5, 5, "grant", "Covered nights")
    assert PriorityPointTransaction.objects.get().processed_by == coordinator


def test_faculty_cannot_grant(as_, year, faculty):
    response = as_("faculty").post(GRANT.format("F001"), {"amount": 5, "reason": "me"}, format="json")
    assert response.status_code == 403
    assert not PriorityPointTransaction.objects.exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"amount": 0, "reason": "r"}, "amount"),
    ({"amount": 1.5, "reason": "r"}, "amount"),
    ({"amount": "5", "reason": "r"}, "amount"),
    ({"amount": 5}, "reason"),
    ({"amount": 5, "reason": "r", "academic_year": 1999}, "academic_year"),
    ({"amount": 5, "reason": "r", "points": 5}, "points"),
])
def test_a_bad_grant_is_a_400_naming_the_field_and_stores_nothing(as_, year, faculty, body, field):
    response = as_("coordinator").post(GRANT.format("F001"), body, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert not PriorityPointTransaction.objects.exists() and not IdempotentRequest.objects.exists()


def test_a_correction_may_not_take_the_balance_below_the_held_points(as_, books):
    client = as_("coordinator")
    refused = client.post(GRANT.format("F001"), {"amount": -5, "reason": "typo"}, format="json")
    message = refused.json()["amount"][0]
    assert refused.status_code == 400 and "held by open bids" in message
    assert "2" not in message.replace("-", "")  # the held points are an open, sealed bid: never in the message
    done = client.post(GRANT.format("F001"), {"amount": -4, "reason": "typo"}, format="json")
    assert done.status_code == 201 and done.json()["entry"]["type"] == "reversal"
    # the coordinator does not see held or available while a bid is open; the owner does
    assert done.json()["held"] is None and done.json()["available"] is None
    assert as_("faculty").get(POINTS.format("F001")).json()["available"] == 0


def test_the_same_idempotency_key_and_body_get_the_first_answer_and_post_once(as_, year, faculty):
    client = as_("coordinator")
    body = {"amount": 5, "reason": "Covered nights"}
    first = client.post(GRANT.format("F001"), body, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    client.post(GRANT.format("F001"), {"amount": 1, "reason": "other"}, format="json")  # the balance moves on
    again = client.post(GRANT.format("F001"), body, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.json()["balance"] == 5
    assert again.headers["Idempotent-Replayed"] == "true"
    assert PriorityPointTransaction.objects.count() == 2


def test_the_same_idempotency_key_with_a_different_body_is_a_409(as_, year, faculty, other_faculty):
    client = as_("coordinator")
    client.post(GRANT.format("F001"), {"amount": 5, "reason": "r"}, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    for url, body in [(GRANT.format("F001"), {"amount": 6, "reason": "r"}),
                      (GRANT.format("F002"), {"amount": 5, "reason": "r"})]:
        response = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
        assert response.status_code == 409 and "Idempotency-Key" in response.json()
    assert PriorityPointTransaction.objects.count() == 1


def test_a_refused_request_stores_no_answer_so_its_key_can_be_used_again(as_, year, faculty):
    client = as_("coordinator")
    refused = client.post(GRANT.format("F001"), {"amount": -5, "reason": "r"}, format="json",
                          HTTP_IDEMPOTENCY_KEY="k")
    assert refused.status_code == 400
    done = client.post(GRANT.format("F001"), {"amount": 5, "reason": "r"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert done.status_code == 201


def test_keys_are_per_user(as_, year, faculty, coordinator, superuser, api_client):
    as_("coordinator").post(GRANT.format("F001"), {"amount": 5, "reason": "r"}, format="json",
                            HTTP_IDEMPOTENCY_KEY="k")
    api_client.force_login(superuser)
    second = api_client.post(GRANT.format("F001"), {"amount": 5, "reason": "r"}, format="json",
                             HTTP_IDEMPOTENCY_KEY="k")
    assert second.status_code == 201 and "Idempotent-Replayed" not in second.headers
    assert PriorityPointTransaction.objects.count() == 2


@pytest.mark.parametrize("key", ["", " leading-space", "x" * 201, "caf\u00e9"])
def test_an_unusable_idempotency_key_is_a_400_naming_the_header(as_, year, faculty, key):
    response = as_("coordinator").post(GRANT.format("F001"), {"amount": 5, "reason": "r"}, format="json",
                                       HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400 and "Idempotency-Key" in response.json()
    assert not PriorityPointTransaction.objects.exists()


def test_the_schema_documents_the_header_and_the_409(client):
    paths = client.get("/api/v1/schema/", {"format": "json"}).json()["paths"]
    grant = paths["/api/v1/priority-points/{faculty_id}/grant"]["post"]
    assert {"201", "400", "401", "403", "404", "409"} <= set(grant["responses"])
    assert "Idempotency-Key" in {p["name"] for p in grant["parameters"] if p["in"] == "header"}
    read = paths["/api/v1/priority-points/{faculty_id}"]["get"]
    assert "academic_year" in {p["name"] for p in read["parameters"]}
