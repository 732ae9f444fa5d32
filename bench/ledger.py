"""Ledger benchmark: postings per second through the service layer on PostgreSQL, against the same postings as
plain SQL statements without the ledger's guarantees, measured in the same run.

Run:  DATABASE_URL=postgres://user@host:5432/any .venv/bin/python -m bench.ledger [--quick] [--json]
It creates its own database next to the one DATABASE_URL names (gtsched_bench_ledger_<pid>), migrates it, and
drops it at the end. Clients are processes (8), each with its own connection, each posting alternately +1 and −1
with its own idempotency keys:
- spread: across 50 accounts (client c posts to accounts c, c+8, c+16, … in turn) — the goal is ≥ 1,000/s;
- hot: every client on one account, so each posting waits for the account's row lock.
ledger_post per posting: one transaction; SELECT … FOR UPDATE of the account, the key lookup, INSERT of the entry
(checked balances, chain, version) and UPDATE of the account. The baseline per posting: INSERT of a bare row into
an unconstrained table and UPDATE of a copy of the account's balance, each in autocommit — no lock, no check, no key.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
import time
from urllib.parse import urlparse, urlunparse

from bench.common import arguments

CLIENTS = 8
ACCOUNTS = 50
GOAL_PER_S = 1000


def _database_urls() -> tuple[str, str, str]:
    """(the server's maintenance URL, the benchmark database's URL, its name) from DATABASE_URL."""
    url = os.environ.get("DATABASE_URL", "")
    parsed = urlparse(url)
    if parsed.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit("bench.ledger needs DATABASE_URL pointing at PostgreSQL (e.g. postgres://postgres@127.0.0.1:5432/x).")
    name = f"gtsched_bench_ledger_{os.getpid()}"
    return urlunparse(parsed._replace(path="/postgres")), urlunparse(parsed._replace(path=f"/{name}")), name


def _admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gtsched_site.settings")
    import django

    django.setup()


def _prepare() -> list[int]:
    """Migrate; 50 faculty with an account each for one year, 1,000 points each (entries through the ledger)."""
    import datetime as dt

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from auctions.ledger import EntryType, ledger_post, points_account_get_or_create
    from preferences.models import AcademicYear, Faculty

    call_command("migrate", verbosity=0)
    now = timezone.now()
    year = AcademicYear.objects.create(label=2026, first_monday=dt.date(2026, 7, 6), num_weeks=52,
                                       preference_opens=now, preference_closes=now + dt.timedelta(days=30))
    ids = []
    for i in range(ACCOUNTS):
        user = get_user_model().objects.create(username=f"bench{i}")
        person = Faculty.objects.create(user=user, external_id=f"B{i:03d}", display_name=f"Bench {i}")
        account = points_account_get_or_create(faculty=person, year=year)
        ledger_post(account=account, amount=1000, type=EntryType.GRANT, idempotency_key="start")
        ids.append(account.pk)
    with connection.cursor() as cursor:  # the baseline's tables: the same columns, no constraint, no trigger
        cursor.execute("CREATE TABLE bench_plain_entry (id bigserial PRIMARY KEY, account_id bigint, amount bigint, "
                       "type varchar(16), description varchar(300), idempotency_key varchar(200), "
                       "created_at timestamptz DEFAULT now())")
        cursor.execute("CREATE TABLE bench_plain_account AS SELECT id, balance FROM auctions_prioritypointaccount")
        cursor.execute("ALTER TABLE bench_plain_account ADD PRIMARY KEY (id)")
    return ids


def _client(kind: str, client: int, targets: list[int], postings: int, start, done) -> None:
    """One client process: `postings` postings over `targets` (in turn), +1 then −1."""
    from django.db import connection

    from auctions.ledger import EntryType, Posting, ledger_post_many

    connection.ensure_connection()
    plain = connection.connection  # the raw psycopg connection, for the baseline
    start.wait()
    begun = time.perf_counter()
    for n in range(postings):
        account_id = targets[n % len(targets)]
        amount = 1 if n % 2 == 0 else -1
        key = f"{kind}-{client}-{n}"
        if kind.startswith("plain"):
            plain.autocommit = True
            plain.execute("INSERT INTO bench_plain_entry (account_id, amount, type, description, idempotency_key) "
                          "VALUES (%s, %s, %s, %s, %s)", (account_id, amount, "grant", "bench", key))
            plain.execute("UPDATE bench_plain_account SET balance = balance + %s WHERE id = %s",
                          (amount, account_id))
        else:
            ledger_post_many(postings=[Posting(account_id=account_id, amount=amount, type=EntryType.GRANT,
                                               description="bench", idempotency_key=key)])
    done.put(time.perf_counter() - begun)
    connection.close()


def _run(kind: str, accounts: list[int], postings_per_client: int) -> dict:
    from django.db import connections

    connections.close_all()  # the children fork: none may share the parent's connection
    context = mp.get_context("fork")
    start, done = context.Barrier(CLIENTS + 1), context.Queue()
    hot = kind.endswith("hot")
    children = []
    for c in range(CLIENTS):
        targets = [accounts[0]] if hot else accounts[c::CLIENTS]
        children.append(context.Process(target=_client, args=(kind, c, targets, postings_per_client, start, done)))
    for child in children:
        child.start()
    start.wait()
    begun = time.perf_counter()
    for _ in children:
        done.get()
    wall = time.perf_counter() - begun
    for child in children:
        child.join()
        if child.exitcode:
            raise SystemExit(f"a {kind} client failed (exit {child.exitcode})")
    total = CLIENTS * postings_per_client
    return {"kind": kind, "postings": total, "seconds": wall, "per_second": total / wall}


def _reconciles() -> bool:
    from auctions.reconcile import points_reconcile

    return points_reconcile().ok


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, "Fewer postings per client (100 instead of 500)", argv)
    maintenance, url, name = _database_urls()
    per_client = 100 if args.quick else 500
    _admin(maintenance, f'CREATE DATABASE "{name}"')
    try:
        _setup_django(url)
        accounts = _prepare()
        results = {kind: _run(kind, accounts, per_client) for kind in ("ledger-spread", "plain-spread",
                                                                        "ledger-hot", "plain-hot")}
        reconciled = _reconciles()
    finally:
        from django.db import connections

        connections.close_all()
        _admin(maintenance, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    rows = []
    for case, size in (("spread", f"{ACCOUNTS} accounts"), ("hot", "1 account")):
        ours, plain = results[f"ledger-{case}"], results[f"plain-{case}"]
        rows.append({
            "case": f"service-layer postings, {case}", "size": f"{CLIENTS} clients × {per_client}, {size}",
            "ours_per_s": ours["per_second"], "goal_per_s": GOAL_PER_S if case == "spread" else None,
            "baseline_per_s": plain["per_second"], "ratio": plain["per_second"] / ours["per_second"],
            "meets_goal": ours["per_second"] >= GOAL_PER_S if case == "spread" else None,
            "baseline": "the same postings as plain INSERT + UPDATE in autocommit (no lock, check or key)",
        })
    if args.json:
        print(json.dumps({"rows": rows, "reconciles": reconciled}, indent=2))
        return 0
    header = (f"{'case':34} {'size':>34} {'ours /s':>9} {'goal /s':>8} {'baseline /s':>12} {'ratio':>7}  met  "
              "baseline")
    print(header)
    print("-" * len(header))
    for r in rows:
        met = "" if r["meets_goal"] is None else ("yes" if r["meets_goal"] else "NO")
        print(f"{r['case']:34} {r['size']:>34} {r['ours_per_s']:>9.0f} {r['goal_per_s'] or '':>8} "
              f"{r['baseline_per_s']:>12.0f} {r['ratio']:>6.1f}×  {met:3}  {r['baseline']}")
    print(f"ledger reconciles after the run: {'yes' if reconciled else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
