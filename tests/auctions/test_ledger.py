"""The ledger's services: balances are the sum of entries, holds resolve exactly once, keys replay or conflict,
corrections never go below the held points, entries are never changed, whole transactions are retried."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, connection, transaction

from auctions import ledger
from auctions.ledger import EntryType, HoldResolved, InsufficientPoints, KeyConflict, Posting
from auctions.models import AppendOnly, PriorityPointAccount, PriorityPointHold, PriorityPointTransaction
from gtsched_site import transactions
from tests.auctions.conftest import assert_reconciles

pytestmark = pytest.mark.django_db


def grant(account, amount, key=None, **kwargs):
    return ledger.ledger_post(account=account, amount=amount, type=EntryType.GRANT, description="test",
                              idempotency_key=key, **kwargs)


def figures(account) -> tuple[int, int, int]:
    account.refresh_from_db()
    return account.balance, account.held, account.available


# --- entries -------------------------------------------------------------------------------------------------------

def test_entries_chain_and_the_balance_is_their_sum(account):
    for amount in (10, -3, 7, -14):
        grant(account, amount)
    entries = list(account.entries.order_by("pk"))
    assert [(e.balance_before, e.balance_after) for e in entries] == [(0, 10), (10, 7), (7, 14), (14, 0)]
    assert [e.account_version for e in entries] == [1, 2, 3, 4]
    account.refresh_from_db()
    assert (account.balance, account.lifetime_earned, account.lifetime_spent, account.version) == (0, 17, 17, 4)
    assert_reconciles()


def test_a_debit_beyond_the_available_points_is_refused_naming_the_amount_and_changes_nothing(account):
    grant(account, 5)
    with pytest.raises(InsufficientPoints) as refused:
        grant(account, -6)
    assert "amount" in refused.value.message_dict
    assert figures(account) == (5, 0, 5)
    assert account.entries.count() == 1


@pytest.mark.parametrize("amount", [0, 1.5, "3", True, None, 10**9 + 1, -(10**9) - 1])
def test_amounts_that_are_not_whole_nonzero_points_are_refused(account, amount):
    with pytest.raises(ValidationError) as refused:
        grant(account, amount)
    assert "amount" in refused.value.message_dict
    assert account.entries.count() == 0


def test_an_unknown_entry_type_is_refused(account):
    with pytest.raises(ValidationError) as refused:
        ledger.ledger_post(account=account, amount=5, type="gift")
    assert "type" in refused.value.message_dict


def test_the_same_key_and_request_replays_the_first_entry(account):
    first = grant(account, 5, key="k1")
    again = grant(account, 5, key="k1")
    assert (first.replayed, again.replayed) == (False, True)
    assert again.entry.pk == first.entry.pk
    assert figures(account) == (5, 0, 5)


def test_the_same_key_with_a_different_request_is_a_conflict_and_changes_nothing(account):
    grant(account, 5, key="k1")
    with pytest.raises(KeyConflict) as refused:
        grant(account, 6, key="k1")
    assert "idempotency_key" in refused.value.message_dict
    assert figures(account) == (5, 0, 5)


def test_keys_are_per_account(account, other_account):
    grant(account, 5, key="same")
    assert not grant(other_account, 6, key="same").replayed


def test_a_batch_is_all_or_nothing(account, other_account):
    grant(account, 5)
    with pytest.raises(InsufficientPoints):
        ledger.ledger_post_many(postings=[
            Posting(account_id=other_account.pk, amount=4, type=EntryType.GRANT),
            Posting(account_id=account.pk, amount=-6, type=EntryType.GRANT),
        ])
    assert figures(other_account) == (0, 0, 0)
    assert PriorityPointTransaction.objects.count() == 1


def test_a_transfer_moves_points_between_two_accounts_and_replays_as_a_pair(account, other_account):
    grant(account, 10)
    out, into = ledger.ledger_transfer(source=account, target=other_account, amount=4, type=EntryType.GRANT,
                                       idempotency_key="t1")
    assert (out.entry.amount, into.entry.amount) == (-4, 4)
    again = ledger.ledger_transfer(source=account, target=other_account, amount=4, type=EntryType.GRANT,
                                   idempotency_key="t1")
    assert all(p.replayed for p in again)
    assert figures(account)[0] == 6 and figures(other_account)[0] == 4
    with pytest.raises(InsufficientPoints):
        ledger.ledger_transfer(source=account, target=other_account, amount=7, type=EntryType.GRANT)
    assert_reconciles()


# --- grants and corrections ----------------------------------------------------------------------------------------

def test_a_grant_needs_a_reason_and_creates_the_account(year, faculty, coordinator):
    with pytest.raises(ValidationError) as refused:
        ledger.points_grant(faculty=faculty, year=year, amount=5, reason="  ", processed_by=coordinator)
    assert "reason" in refused.value.message_dict
    assert not PriorityPointAccount.objects.exists()
    posted = ledger.points_grant(faculty=faculty, year=year, amount=5, reason="Covered nights", processed_by=coordinator)
    assert (posted.entry.type, posted.entry.processed_by, posted.entry.description) == ("grant", coordinator, "Covered nights")


def test_a_negative_grant_is_a_correction_that_may_not_go_below_the_held_points(year, faculty, coordinator, account):
    grant(account, 10)
    ledger.hold_place(account=account, amount=6)
    with pytest.raises(InsufficientPoints) as refused:
        ledger.points_grant(faculty=faculty, year=year, amount=-5, reason="typo", processed_by=coordinator)
    message = refused.value.message_dict["amount"][0]
    assert "held by open bids" in message and "6" not in message  # the held points (a sealed bid) are not named
    posted = ledger.points_grant(faculty=faculty, year=year, amount=-4, reason="typo", processed_by=coordinator)
    assert posted.entry.type == EntryType.REVERSAL
    assert figures(account) == (6, 6, 0)
    assert_reconciles()


def test_an_entry_is_reversed_once_by_a_reversing_entry(account):
    first = grant(account, 8).entry
    reversal = ledger.ledger_entry_reverse(entry=first, reason="granted twice")
    again = ledger.ledger_entry_reverse(entry=first, reason="granted twice")
    assert (reversal.entry.amount, reversal.entry.reverses_id, again.replayed) == (-8, first.pk, True)
    assert figures(account) == (0, 0, 0)
    with pytest.raises(ValidationError):
        ledger.ledger_entry_reverse(entry=reversal.entry, reason="undo")
    assert_reconciles()


# --- holds ---------------------------------------------------------------------------------------------------------

def test_a_hold_reserves_available_points_without_touching_the_balance(account):
    grant(account, 10)
    ledger.hold_place(account=account, amount=7)
    assert figures(account) == (10, 7, 3)
    with pytest.raises(InsufficientPoints):
        ledger.hold_place(account=account, amount=4)
    with pytest.raises(ValidationError):
        ledger.hold_place(account=account, amount=0)
    assert PriorityPointHold.objects.count() == 1


def test_posting_a_hold_pays_at_most_its_amount_and_releases_the_rest(account):
    grant(account, 10)
    hold = ledger.hold_place(account=account, amount=7).hold
    with pytest.raises(ValidationError) as refused:
        ledger.hold_post(hold=hold, amount=8)
    assert "amount" in refused.value.message_dict
    result = ledger.hold_post(hold=hold, amount=5, description="won week 3")
    assert (result.entry.amount, result.entry.type, result.hold.status) == (-5, "auction_payment", "posted")
    assert figures(account) == (5, 0, 5)
    assert_reconciles()


def test_a_hold_is_posted_exactly_once(account):
    grant(account, 10)
    hold = ledger.hold_place(account=account, amount=7).hold
    first = ledger.hold_post(hold=hold, amount=5)
    again = ledger.hold_post(hold=hold, amount=5)
    assert again.replayed and again.entry.pk == first.entry.pk
    with pytest.raises(HoldResolved):
        ledger.hold_post(hold=hold, amount=4)
    with pytest.raises(HoldResolved):
        ledger.hold_void(hold=hold)
    assert figures(account) == (5, 0, 5)
    assert account.entries.count() == 2


def test_a_hold_is_voided_exactly_once(account):
    grant(account, 10)
    hold = ledger.hold_place(account=account, amount=7).hold
    assert not ledger.hold_void(hold=hold).replayed
    assert ledger.hold_void(hold=hold).replayed
    with pytest.raises(HoldResolved):
        ledger.hold_post(hold=hold, amount=1)
    assert figures(account) == (10, 0, 10)
    assert account.entries.count() == 1


def test_a_hold_posted_for_nothing_leaves_no_entry(account):
    grant(account, 3)
    hold = ledger.hold_place(account=account, amount=3).hold
    result = ledger.hold_post(hold=hold, amount=0)
    assert result.entry is None and result.hold.posted_amount == 0
    assert figures(account) == (3, 0, 3)
    assert_reconciles()


def test_the_same_hold_key_replays_or_conflicts(account):
    grant(account, 10)
    first = ledger.hold_place(account=account, amount=4, idempotency_key="bid-1", auction_id=9)
    again = ledger.hold_place(account=account, amount=4, idempotency_key="bid-1", auction_id=9)
    assert again.replayed and again.hold.pk == first.hold.pk
    with pytest.raises(KeyConflict):
        ledger.hold_place(account=account, amount=5, idempotency_key="bid-1", auction_id=9)
    assert figures(account) == (10, 4, 6)


def test_settling_holds_posts_the_winner_and_voids_the_others_all_or_nothing(account, other_account):
    grant(account, 10)
    grant(other_account, 10)
    win = ledger.hold_place(account=account, amount=8, auction_id=1).hold
    lose = ledger.hold_place(account=other_account, amount=6, auction_id=1).hold
    with pytest.raises(ValidationError):
        ledger.holds_settle(post={win.pk: 9}, void=[lose.pk])  # more than the hold: nothing happens
    assert figures(other_account) == (10, 6, 4)
    results = ledger.holds_settle(post={win.pk: 6}, void=[lose.pk])
    assert results[win.pk].entry.amount == -6 and results[lose.pk].hold.status == "voided"
    assert figures(account) == (4, 0, 4) and figures(other_account) == (10, 0, 10)
    assert ledger.holds_settle(post={win.pk: 6}, void=[lose.pk])[win.pk].replayed
    assert_reconciles()


# --- what the database refuses --------------------------------------------------------------------------------------

def test_entries_cannot_be_changed_or_deleted_through_the_orm(account):
    entry = grant(account, 5).entry
    entry.amount = 50
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        PriorityPointTransaction.objects.filter(pk=entry.pk).update(amount=50)
    with pytest.raises(AppendOnly):
        PriorityPointTransaction.objects.all().delete()


@pytest.mark.parametrize(("balance", "held"), [(-1, 0), (5, -1), (5, 6)])
def test_check_constraints_refuse_a_negative_balance_or_held_beyond_it(account, balance, held):
    with pytest.raises(IntegrityError), transaction.atomic():
        PriorityPointAccount.objects.filter(pk=account.pk).update(balance=balance, held=held)


def test_on_postgresql_a_trigger_refuses_update_and_delete_of_entries(account):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    entry = grant(account, 5).entry
    for sql in ("UPDATE auctions_prioritypointtransaction SET description = 'x' WHERE id = %s",
                "DELETE FROM auctions_prioritypointtransaction WHERE id = %s"):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    assert PriorityPointTransaction.objects.get(pk=entry.pk).description == "test"


# --- retries --------------------------------------------------------------------------------------------------------

class FakeSerializationFailure(Exception):
    sqlstate = "40001"


class FakeDeadlock(Exception):
    sqlstate = "40P01"


def _wrapped(cause: Exception) -> OperationalError:
    error = OperationalError("could not serialize access")
    error.__cause__ = cause
    return error


@pytest.fixture
def statement_by_statement(monkeypatch):
    """Single postings take the statement-by-statement path too (on PostgreSQL they are otherwise one statement of
    the server-side function), so a test can break a step of it."""
    monkeypatch.setattr(ledger.ledger_sql, "post_one_in_one_statement", lambda: False)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the one-statement posting exists on PostgreSQL only")
@pytest.mark.parametrize("cause", [FakeSerializationFailure(), FakeDeadlock()])
def test_a_one_statement_posting_is_retried_after_a_serialization_failure_or_deadlock(monkeypatch, year, faculty,
                                                                                      cause):
    account = ledger.points_account_get_or_create(faculty=faculty, year=year)
    real, calls = ledger.ledger_sql.post_one, []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) < 3:
            raise _wrapped(cause)  # the statement aborted: nothing of it happened
        return real(**kwargs)

    monkeypatch.setattr(ledger.ledger_sql, "post_one", flaky)
    monkeypatch.setattr(transactions.time, "sleep", lambda s: None)
    posted = grant(account, 5, key="retry")
    assert len(calls) == 3 and not posted.replayed
    assert figures(account) == (5, 0, 5) and account.entries.count() == 1
    assert_reconciles()


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="the one-statement posting exists on PostgreSQL only")
def test_inside_an_open_transaction_a_one_statement_posting_lets_a_retryable_error_through(monkeypatch, account):
    def failing(**kwargs):
        raise _wrapped(FakeDeadlock())

    monkeypatch.setattr(ledger.ledger_sql, "post_one", failing)
    with pytest.raises(OperationalError), transaction.atomic():
        grant(account, 5)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("statement_by_statement")
@pytest.mark.parametrize("cause", [FakeSerializationFailure(), FakeDeadlock()])
def test_the_whole_transaction_is_retried_after_a_serialization_failure_or_deadlock(monkeypatch, year, faculty, cause):
    account = ledger.points_account_get_or_create(faculty=faculty, year=year)
    real, calls = ledger._posted_in_locked, []

    def flaky(*args, **kwargs):
        calls.append(1)
        result = real(*args, **kwargs)  # the entry is written, then the transaction is aborted: it must roll back
        if len(calls) < 3:
            raise _wrapped(cause)
        return result

    monkeypatch.setattr(ledger, "_posted_in_locked", flaky)
    monkeypatch.setattr(transactions.time, "sleep", lambda s: None)
    posted = grant(account, 5, key="retry")
    assert len(calls) == 3 and not posted.replayed
    assert figures(account) == (5, 0, 5) and account.entries.count() == 1
    assert_reconciles()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("statement_by_statement")
def test_other_database_errors_and_too_many_failures_are_not_hidden(monkeypatch, year, faculty):
    account = ledger.points_account_get_or_create(faculty=faculty, year=year)
    monkeypatch.setattr(transactions.time, "sleep", lambda s: None)

    def broken(*args, **kwargs):
        raise OperationalError("disk full")

    monkeypatch.setattr(ledger, "_posted_in_locked", broken)
    with pytest.raises(OperationalError, match="disk full"):
        grant(account, 5)
    calls = []

    def always(*args, **kwargs):
        calls.append(1)
        raise _wrapped(FakeDeadlock())

    monkeypatch.setattr(ledger, "_posted_in_locked", always)
    with pytest.raises(OperationalError):
        grant(account, 5)
    assert len(calls) == transactions.ATTEMPTS
    assert figures(account) == (0, 0, 0)


@pytest.mark.usefixtures("statement_by_statement")
def test_inside_an_open_transaction_a_retryable_error_goes_to_the_outer_caller(monkeypatch, account):
    def failing(*args, **kwargs):
        raise _wrapped(FakeSerializationFailure())

    monkeypatch.setattr(ledger, "_posted_in_locked", failing)
    with pytest.raises(OperationalError):
        grant(account, 5)


def test_is_retryable_reads_the_sqlstate_of_the_wrapped_error():
    assert transactions.is_retryable(_wrapped(FakeDeadlock()))
    assert not transactions.is_retryable(OperationalError("other"))
