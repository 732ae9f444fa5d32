"""On PostgreSQL, a trigger refuses UPDATE and DELETE of ledger entries (DESIGN §8): corrections are new reversing
entries, whatever code (or person with a SQL prompt) tries. A no-op on SQLite, where the model and its queryset refuse
instead. TRUNCATE stays possible: Django empties the test database with it between transactional tests."""

from django.db import migrations

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION auctions_entries_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'priority-point ledger entries are append-only: % refused on entry %', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER auctions_entries_append_only
    BEFORE UPDATE OR DELETE ON auctions_prioritypointtransaction
    FOR EACH ROW EXECUTE FUNCTION auctions_entries_append_only();
"""

REVERSE_SQL = """
DROP TRIGGER IF EXISTS auctions_entries_append_only ON auctions_prioritypointtransaction;
DROP FUNCTION IF EXISTS auctions_entries_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER_SQL, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [("auctions", "0001_ledger")]

    operations = [migrations.RunPython(forwards, backwards)]
