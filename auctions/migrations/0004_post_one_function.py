"""On PostgreSQL, one server-side function posts one entry (DESIGN §8's write path in a single statement): lock the
account FOR UPDATE, look the key up, check that a debit leaves at least the held points, append the entry and update
the account. auctions.ledger calls it for a single posting; several postings at once keep the statement-by-statement
path. Each statement in a VOLATILE PL/pgSQL function takes a fresh snapshot under READ COMMITTED, so the key lookup
after the lock sees an entry committed by the previous holder of the lock. A no-op on SQLite."""

from django.db import migrations

FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION auctions_ledger_post_one(
    p_account bigint, p_amount bigint, p_type varchar, p_description varchar, p_auction bigint, p_week bigint,
    p_reverses bigint, p_processed_by bigint, p_key varchar, p_hash varchar, p_now timestamptz,
    OUT o_status text, OUT o_entry bigint, OUT o_before bigint, OUT o_after bigint, OUT o_version bigint,
    OUT o_hash varchar
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    acc record;
BEGIN
    SELECT a.balance, a.held, a.version INTO acc
      FROM auctions_prioritypointaccount a WHERE a.id = p_account FOR UPDATE;
    IF NOT FOUND THEN
        o_status := 'missing';
        RETURN;
    END IF;
    SELECT e.id, e.request_hash INTO o_entry, o_hash
      FROM auctions_prioritypointtransaction e WHERE e.account_id = p_account AND e.idempotency_key = p_key;
    IF FOUND THEN
        o_status := 'replay';
        RETURN;
    END IF;
    o_before := acc.balance;
    o_after := acc.balance + p_amount;
    IF p_amount < 0 AND o_after < acc.held THEN
        o_status := 'short';
        RETURN;
    END IF;
    o_version := acc.version + 1;
    INSERT INTO auctions_prioritypointtransaction (account_id, amount, type, description, auction_id, week_id,
            reverses_id, processed_by_id, balance_before, balance_after, account_version, idempotency_key,
            request_hash, created_at)
        VALUES (p_account, p_amount, p_type, p_description, p_auction, p_week, p_reverses, p_processed_by, o_before,
                o_after, o_version, p_key, p_hash, p_now)
        RETURNING id INTO o_entry;
    UPDATE auctions_prioritypointaccount
       SET balance = o_after, version = o_version, updated_at = p_now,
           lifetime_earned = lifetime_earned + GREATEST(p_amount, 0),
           lifetime_spent = lifetime_spent + GREATEST(-p_amount, 0)
     WHERE id = p_account;
    o_hash := p_hash;
    o_status := 'posted';
END;
$$;
"""

REVERSE_SQL = "DROP FUNCTION IF EXISTS auctions_ledger_post_one(bigint, bigint, varchar, varchar, bigint, bigint, " \
              "bigint, bigint, varchar, varchar, timestamptz);"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION_SQL, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("auctions", "0003_auctions")]

    operations = [migrations.RunPython(forwards, backwards)]
