"""reconcile_points finds every kind of breakage, naming the account and the check. The rows are broken with raw SQL
(the services never break them); entries can only be broken on SQLite, where no trigger guards them and check
constraints can be switched off."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from auctions import ledger
from auctions.ledger import EntryType
from auctions.reconcile import points_reconcile

pytestmark = pytest.mark.django_db


@pytest.fixture
def books(account, other_account):
    for amount in (10, -4, 6):
        ledger.ledger_post(account=account, amount=amount, type=EntryType.GRANT)
    ledger.ledger_post(account=other_account, amount=5, type=EntryType.GRANT)
    hold = ledger.hold_place(account=account, amount=3).hold
    posted = ledger.hold_place(account=account, amount=2).hold
    ledger.hold_post(hold=posted, amount=2)
    return account, other_account, hold


def sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def sqlite_only() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("entries cannot be changed on PostgreSQL (the trigger refuses)")


def broken_checks(account) -> set[str]:
    result = points_reconcile()
    found = {b.account_id: b for b in result.broken}
    assert set(found) == {account.pk}, result.as_dict()
    return set(found[account.pk].problems)


def test_clean_books_reconcile_and_the_command_says_so(books, capsys):
    assert points_reconcile().ok
    call_command("reconcile_points")
    assert "Ledger reconciles: 2 accounts, 5 entries, 2 holds" in capsys.readouterr().out
    call_command("reconcile_points", "--json", "--year", "2026")
    assert json.loads(capsys.readouterr().out)["ok"] is True


def test_a_balance_that_is_not_the_sum_of_entries_is_found(books):
    account = books[0]
    sql("UPDATE auctions_prioritypointaccount SET balance = balance + 1 WHERE id = %s", [account.pk])
    assert broken_checks(account) == {"balance", "last_entry"}


def test_held_that_is_not_the_sum_of_pending_holds_is_found(books):
    account, _, hold = books
    sql("UPDATE auctions_prioritypointhold SET status = 'voided', resolved_at = created_at WHERE id = %s", [hold.pk])
    assert broken_checks(account) == {"held"}


def test_lifetime_figures_that_do_not_add_up_are_found(books):
    account = books[0]
    sql("UPDATE auctions_prioritypointaccount SET lifetime_spent = 0 WHERE id = %s", [account.pk])
    assert broken_checks(account) == {"lifetime"}


def test_a_broken_chain_is_found(books):
    sqlite_only()
    account = books[0]
    entry = account.entries.order_by("pk")[1]
    sql("UPDATE auctions_prioritypointtransaction SET balance_before = 11, balance_after = 7 WHERE id = %s", [entry.pk])
    assert broken_checks(account) == {"chain"}


def test_a_last_entry_that_disagrees_with_the_balance_is_found(books):
    sqlite_only()
    account = books[0]
    last = account.entries.order_by("-pk").first()
    sql("UPDATE auctions_prioritypointtransaction SET amount = amount - 1, balance_after = balance_after - 1 "
        "WHERE id = %s", [last.pk])
    assert {"last_entry", "balance"} <= broken_checks(account)


def test_a_negative_balance_ever_recorded_is_found(books):
    sqlite_only()
    account = books[0]
    sql("PRAGMA ignore_check_constraints = ON")
    try:
        first, second = account.entries.order_by("pk")[:2]
        sql("UPDATE auctions_prioritypointtransaction SET amount = -2, balance_after = -2 WHERE id = %s", [first.pk])
        sql("UPDATE auctions_prioritypointtransaction SET amount = 12, balance_before = -2 WHERE id = %s", [second.pk])
    finally:
        sql("PRAGMA ignore_check_constraints = OFF")
    assert "negative" in broken_checks(account)


def test_a_deleted_entry_is_found(books):
    sqlite_only()
    account = books[0]
    sql("DELETE FROM auctions_prioritypointtransaction WHERE id = %s", [account.entries.order_by("pk")[1].pk])
    assert {"balance", "chain", "lifetime"} <= broken_checks(account)


def test_a_posted_hold_without_its_entry_is_found(books):
    account = books[0]
    sql("UPDATE auctions_prioritypointhold SET posted_amount = 1 WHERE status = 'posted'")
    assert broken_checks(account) == {"holds"}


def test_the_command_exits_non_zero_naming_each_broken_account(books, capsys):
    account, other, _ = books
    sql("UPDATE auctions_prioritypointaccount SET balance = balance + 1, lifetime_earned = 0 WHERE id IN (%s, %s)",
        [account.pk, other.pk])
    with pytest.raises(CommandError) as failed:
        call_command("reconcile_points")
    message = str(failed.value)
    assert "2 of 2 accounts break" in message
    assert f"account {account.pk} (F001, 2026)" in message and f"account {other.pk} (F002, 2026)" in message
    assert "balance: balance 11 ≠ Σ entries 10" in message
    with pytest.raises(CommandError):
        call_command("reconcile_points", "--json")
    body = json.loads(capsys.readouterr().out)
    assert body["ok"] is False and {b["faculty"] for b in body["broken"]} == {"F001", "F002"}


def test_an_unknown_year_is_refused_naming_it(books):
    with pytest.raises(CommandError, match="year: No academic year 1999"):
        call_command("reconcile_points", "--year", "1999")
