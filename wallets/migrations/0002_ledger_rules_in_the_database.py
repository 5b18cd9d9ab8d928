"""Rules of the ledger that the database itself enforces, whatever code (or person) writes to it.

- Every journal entry's postings sum to zero per asset, checked at commit (a deferred constraint
  trigger), so an entry can be written posting by posting inside one transaction.
- A posting's asset is its account's asset.
- Journal entries and postings are append-only: no UPDATE, no DELETE (corrections are new entries).
Balances can never go negative: that is a CHECK constraint on the account table (0001).
"""

from django.db import migrations

FORWARD = """
CREATE FUNCTION wallets_check_entry_balanced() RETURNS trigger AS $$
DECLARE
    unbalanced record;
BEGIN
    SELECT asset_id, SUM(amount) AS total INTO unbalanced
      FROM wallets_posting
     WHERE entry_id = NEW.entry_id
     GROUP BY asset_id
    HAVING SUM(amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'journal entry % is unbalanced: its postings in asset % sum to %',
            NEW.entry_id, unbalanced.asset_id, unbalanced.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER wallets_posting_entry_balanced
    AFTER INSERT ON wallets_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION wallets_check_entry_balanced();

CREATE FUNCTION wallets_check_posting_asset() RETURNS trigger AS $$
BEGIN
    IF NEW.asset_id IS DISTINCT FROM (SELECT asset_id FROM wallets_ledgeraccount WHERE id = NEW.account_id) THEN
        RAISE EXCEPTION 'posting on account % names asset %, not the account''s asset', NEW.account_id, NEW.asset_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER wallets_posting_asset_matches_account
    BEFORE INSERT ON wallets_posting
    FOR EACH ROW EXECUTE FUNCTION wallets_check_posting_asset();

CREATE FUNCTION wallets_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: write a correcting entry instead', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER wallets_posting_append_only
    BEFORE UPDATE OR DELETE ON wallets_posting
    FOR EACH ROW EXECUTE FUNCTION wallets_refuse_change();

CREATE TRIGGER wallets_journalentry_append_only
    BEFORE UPDATE OR DELETE ON wallets_journalentry
    FOR EACH ROW EXECUTE FUNCTION wallets_refuse_change();
"""

BACKWARD = """
DROP TRIGGER wallets_journalentry_append_only ON wallets_journalentry;
DROP TRIGGER wallets_posting_append_only ON wallets_posting;
DROP FUNCTION wallets_refuse_change();
DROP TRIGGER wallets_posting_asset_matches_account ON wallets_posting;
DROP FUNCTION wallets_check_posting_asset();
DROP TRIGGER wallets_posting_entry_balanced ON wallets_posting;
DROP FUNCTION wallets_check_entry_balanced();
"""


class Migration(migrations.Migration):
    dependencies = [("wallets", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
