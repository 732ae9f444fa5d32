"""The ledger's four hot statements in plain SQL (lock the accounts, look up used keys, append entries, save the
accounts): the ORM spends about a millisecond building each query, several times what PostgreSQL needs to run it,
and the write path runs them on every posting. Same tables, same constraints; auctions.ledger is the only caller."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection
from django.utils import timezone

from auctions.models import PriorityPointAccount, PriorityPointTransaction

Account = PriorityPointAccount
Entry = PriorityPointTransaction

ACCOUNT_FIELDS = ["id", "faculty_id", "year_id", "balance", "held", "lifetime_earned", "lifetime_spent", "version"]
ENTRY_FIELDS = ["account_id", "amount", "type", "description", "auction_id", "week_id", "reverses_id",
                "processed_by_id", "balance_before", "balance_after", "account_version", "idempotency_key",
                "request_hash", "created_at"]


def _marks(count: int) -> str:
    return ", ".join(["%s"] * count)


def accounts_select_for_update(ids: Sequence[int]) -> dict[int, Account]:
    """The accounts, locked FOR UPDATE in ascending id order (the ORDER BY is applied before the row locks), as
    model instances with the ledger's fields loaded (the timestamps deferred)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = (f"SELECT {', '.join(ACCOUNT_FIELDS)} FROM {Account._meta.db_table} WHERE id IN ({_marks(len(ids))}) "
           f"ORDER BY id{lock}")
    with connection.cursor() as cursor:
        cursor.execute(sql, list(ids))
        rows = cursor.fetchall()
    return {row[0]: Account.from_db(connection.alias, ACCOUNT_FIELDS, row) for row in rows}


def keys_used(pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], tuple[int, str]]:
    """(account id, key) → (entry id, request hash) for each pair already used by an entry."""
    pairs = list(pairs)
    accounts, keys = sorted({a for a, _ in pairs}), sorted({k for _, k in pairs})
    sql = (f"SELECT account_id, idempotency_key, id, request_hash FROM {Entry._meta.db_table} "
           f"WHERE account_id IN ({_marks(len(accounts))}) AND idempotency_key IN ({_marks(len(keys))})")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*accounts, *keys])
        found = {(a, k): (pk, digest) for a, k, pk, digest in cursor.fetchall()}
    return {pair: found[pair] for pair in pairs if pair in found}


def entries_insert(entries: Sequence[Entry]) -> None:
    """INSERT the new entries (one statement), setting each one's id and created_at."""
    now = timezone.now()
    stored_now = connection.ops.adapt_datetimefield_value(now)
    row = f"({_marks(len(ENTRY_FIELDS))})"
    params: list = []
    for entry in entries:
        entry.created_at = now
        params += [getattr(entry, name) for name in ENTRY_FIELDS[:-1]] + [stored_now]
    sql = (f"INSERT INTO {Entry._meta.db_table} ({', '.join(ENTRY_FIELDS)}) VALUES "
           f"{', '.join([row] * len(entries))} RETURNING id")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [r[0] for r in cursor.fetchall()]
    for entry, pk in zip(entries, sorted(ids), strict=True):  # ids rise in VALUES order within one statement
        entry.pk = pk
        entry._state.adding, entry._state.db = False, connection.alias


def accounts_save(accounts: Iterable[Account]) -> None:
    """Write back the ledger's figures of locked accounts."""
    stored_now = connection.ops.adapt_datetimefield_value(timezone.now())
    sql = (f"UPDATE {Account._meta.db_table} SET balance = %s, held = %s, lifetime_earned = %s, lifetime_spent = %s, "
           "version = %s, updated_at = %s WHERE id = %s")
    with connection.cursor() as cursor:
        for a in accounts:
            cursor.execute(sql, [a.balance, a.held, a.lifetime_earned, a.lifetime_spent, a.version, stored_now, a.pk])


def entries_append(entries: Sequence[Entry], accounts: Sequence[Account]) -> None:
    """entries_insert and accounts_save: on PostgreSQL one statement (the INSERT and the UPDATE as data-modifying
    CTEs, which always run to completion), elsewhere the two."""
    if not entries or connection.vendor != "postgresql":
        if entries:
            entries_insert(entries)
        accounts_save(accounts)
        return
    now = timezone.now()
    stored_now = connection.ops.adapt_datetimefield_value(now)
    row = f"({_marks(len(ENTRY_FIELDS))})"
    params: list = []
    for entry in entries:
        entry.created_at = now
        params += [getattr(entry, name) for name in ENTRY_FIELDS[:-1]] + [stored_now]
    params.append(stored_now)  # the accounts' updated_at, then their figures, in the order the text uses them
    figures = ", ".join(["(%s::bigint, %s::bigint, %s::bigint, %s::bigint, %s::bigint, %s::bigint)"] * len(accounts))
    for a in accounts:
        params += [a.pk, a.balance, a.held, a.lifetime_earned, a.lifetime_spent, a.version]
    sql = (f"WITH ins AS (INSERT INTO {Entry._meta.db_table} ({', '.join(ENTRY_FIELDS)}) VALUES "
           f"{', '.join([row] * len(entries))} RETURNING id), "
           f"upd AS (UPDATE {Account._meta.db_table} AS a SET balance = v.balance, held = v.held, "
           "lifetime_earned = v.earned, lifetime_spent = v.spent, version = v.version, updated_at = %s "
           f"FROM (VALUES {figures}) AS v(id, balance, held, earned, spent, version) WHERE a.id = v.id) "
           "SELECT id FROM ins ORDER BY id")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [r[0] for r in cursor.fetchall()]
    for entry, pk in zip(entries, ids, strict=True):  # ids rise in VALUES order within one statement
        entry.pk = pk
        entry._state.adding, entry._state.db = False, connection.alias


def post_one_in_one_statement() -> bool:
    """Whether this database has auctions_ledger_post_one (PostgreSQL: migration 0004)."""
    return connection.vendor == "postgresql"


def post_one(*, account_id: int, amount: int, type: str, description: str, auction_id: int | None,
             week_id: int | None, reverses_id: int | None, processed_by_id: int | None, key: str,
             request_hash: str) -> tuple[str, Entry | None, str | None]:
    """Post one entry by auctions_ledger_post_one: (status, entry, the key's request hash). status is "posted" (the
    new entry), "replay" (the key was used: the entry's id only, and the first request's hash), "short" (a debit below
    the held points: nothing written) or "missing" (no such account)."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM auctions_ledger_post_one(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                       [account_id, amount, type, description, auction_id, week_id, reverses_id, processed_by_id,
                        key, request_hash, now])
        status, pk, before, after, version, digest = cursor.fetchone()
    if status != "posted":
        return status, (Entry(pk=pk) if pk is not None else None), digest
    entry = Entry(
        pk=pk, account_id=account_id, amount=amount, type=type, description=description, auction_id=auction_id,
        week_id=week_id, reverses_id=reverses_id, processed_by_id=processed_by_id, balance_before=before,
        balance_after=after, account_version=version, idempotency_key=key, request_hash=digest, created_at=now,
    )
    entry._state.adding, entry._state.db = False, connection.alias
    return status, entry, digest
