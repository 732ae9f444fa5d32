"""The ledger under real concurrency on PostgreSQL (threads, each with its own connection): debits racing for one
account, one idempotency key sent ten times at once (to the service and to the API), transfers in opposite
directions, and a real deadlock that the retry resolves. Skipped on SQLite, which serialises every writer."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from auctions import ledger
from auctions.ledger import EntryType, InsufficientPoints
from auctions.models import PriorityPointAccount, PriorityPointTransaction
from gtsched_site.transactions import retried_atomic
from tests.auctions.conftest import assert_reconciles

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("row locks across threads need PostgreSQL")


def race(count: int, work: Callable[[int], object]) -> list[object]:
    """Run work(0..count-1) on `count` threads released together; each result or exception, in order."""
    results: list[object] = [None] * count
    barrier = threading.Barrier(count)

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - collected and asserted on
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_fifty_concurrent_debits_take_exactly_the_affordable_ones(year, faculty):
    account = ledger.points_account_get_or_create(faculty=faculty, year=year)
    ledger.ledger_post(account=account, amount=100, type=EntryType.GRANT)
    ledger.hold_place(account=account, amount=13)  # 87 available: 29 debits of 3, with 0 left
    results = race(50, lambda i: ledger.ledger_post(account=account, amount=-3, type=EntryType.AUCTION_PAYMENT,
                                                    idempotency_key=f"debit-{i}"))
    succeeded = [r for r in results if isinstance(r, ledger.Posted)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert (len(succeeded), len(refused)) == (29, 21), [r for r in results if isinstance(r, Exception)][:3]
    account.refresh_from_db()
    assert (account.balance, account.held, account.available) == (13, 13, 0)
    entries = list(account.entries.order_by("pk"))
    assert account.balance == sum(e.amount for e in entries)
    assert min(e.balance_after for e in entries) >= 13
    assert_reconciles()


def test_fifty_concurrent_bids_hold_exactly_the_affordable_ones(year, faculty):
    account = ledger.points_account_get_or_create(faculty=faculty, year=year)
    ledger.ledger_post(account=account, amount=40, type=EntryType.GRANT)
    results = race(50, lambda i: ledger.hold_place(account=account, amount=3, idempotency_key=f"bid-{i}"))
    assert sum(isinstance(r, ledger.HoldResult) for r in results) == 13
    assert sum(isinstance(r, InsufficientPoints) for r in results) == 37
    account.refresh_from_db()
    assert (account.balance, account.held) == (40, 39)
    assert_reconciles()


def test_ten_concurrent_requests_with_one_key_post_once(year, faculty):
    account = ledger.points_account_get_or_create(faculty=faculty, year=year)
    results = race(10, lambda i: ledger.ledger_post(account=account, amount=7, type=EntryType.GRANT,
                                                    idempotency_key="once"))
    assert all(isinstance(r, ledger.Posted) for r in results), results
    assert sum(not r.replayed for r in results) == 1
    assert len({r.entry.pk for r in results}) == 1
    account.refresh_from_db()
    assert account.balance == 7 and account.entries.count() == 1


def test_ten_concurrent_api_grants_with_one_idempotency_key_post_once(year, faculty, coordinator):
    token = Token.objects.create(user=coordinator).key

    def request(i: int):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}", HTTP_IDEMPOTENCY_KEY="grant-once")
        return client.post("/api/v1/priority-points/F001/grant", {"amount": 5, "reason": "nights"}, format="json")

    responses = race(10, request)
    assert [r.status_code for r in responses] == [201] * 10, [getattr(r, "content", r) for r in responses]
    assert len({r.json()["entry"]["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 9
    assert PriorityPointTransaction.objects.count() == 1
    assert PriorityPointAccount.objects.get().balance == 5


def test_concurrent_first_uses_make_one_account(year, faculty):
    results = race(10, lambda i: ledger.points_grant(faculty=faculty, year=year, amount=1, reason="r",
                                                     processed_by=None))
    assert all(isinstance(r, ledger.Posted) for r in results), results
    assert PriorityPointAccount.objects.get().balance == 10


def test_transfers_in_opposite_directions_at_once_all_complete(year, faculty, other_faculty):
    a = ledger.points_account_get_or_create(faculty=faculty, year=year)
    b = ledger.points_account_get_or_create(faculty=other_faculty, year=year)
    ledger.ledger_post(account=a, amount=1000, type=EntryType.GRANT)
    ledger.ledger_post(account=b, amount=1000, type=EntryType.GRANT)

    def move(i: int):
        source, target = (a, b) if i % 2 else (b, a)
        return ledger.ledger_transfer(source=source, target=target, amount=1 + i % 5, type=EntryType.GRANT)

    results = race(40, move)
    assert all(isinstance(r, tuple) for r in results), [r for r in results if isinstance(r, Exception)][:3]
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.balance + b.balance == 2000
    assert PriorityPointTransaction.objects.count() == 2 + 80
    assert_reconciles()


def test_a_real_deadlock_is_retried_until_both_transactions_complete(year, faculty, other_faculty):
    """Two transactions lock the same two accounts in opposite orders (what the ledger never does): PostgreSQL
    aborts one as a deadlock, and retried_atomic runs it again."""
    a = ledger.points_account_get_or_create(faculty=faculty, year=year)
    b = ledger.points_account_get_or_create(faculty=other_faculty, year=year)
    attempts = []
    both_hold_one = threading.Barrier(2, timeout=10)

    def lock_both(first: int, second: int) -> None:
        attempts.append(first)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM auctions_prioritypointaccount WHERE id = %s FOR UPDATE", [first])
            if len(attempts) <= 2:  # first attempts: make sure each holds one row before reaching for the other
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_hold_one.wait()
            cursor.execute("SELECT id FROM auctions_prioritypointaccount WHERE id = %s FOR UPDATE", [second])
            cursor.execute("UPDATE auctions_prioritypointaccount SET version = version + 1 WHERE id = %s", [second])

    retried = retried_atomic(lock_both)
    results = race(2, lambda i: retried(*((a.pk, b.pk) if i == 0 else (b.pk, a.pk))))
    assert results == [None, None]
    assert len(attempts) == 3  # one of the two was aborted as a deadlock and ran again
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.version, b.version) == (1, 1)
    assert not transaction.get_connection().in_atomic_block
