"""Check each journal entry's balance once per transaction, not once per posting.

The deferred trigger of 0002 runs for every posting row and sums the whole entry each time: an entry
of n postings costs n sums of n rows at commit. The engine writes one entry of a few hundred postings
per batch, so that quadratic check was a large part of every batch's commit.

Now the trigger remembers, in a transaction-local setting, the entry it last found balanced, and
skips the rows of that entry that fire after it. Every posting written clears the mark of its entry
(in the BEFORE INSERT trigger that already checks its asset), so an entry that gains postings after a
check (say after `SET CONSTRAINTS ALL IMMEDIATE`) is checked again: whatever fires last for an entry
still sees all of it. The mark ends with the transaction, and a rolled-back savepoint takes back the
marks it set. Like the triggers themselves, this guards against mistakes, not against a session that
sets the mark on purpose; the ledger audit (invariant 1) still sums every entry.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION wallets_check_entry_balanced() RETURNS trigger AS $$
DECLARE
    unbalanced record;
BEGIN
    IF current_setting('wallets.balanced_entry', true) = NEW.entry_id::text THEN
        RETURN NULL;  -- checked in this transaction after its last posting was written
    END IF;
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
    PERFORM set_config('wallets.balanced_entry', NEW.entry_id::text, true);
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION wallets_check_posting_asset() RETURNS trigger AS $$
BEGIN
    IF NEW.asset_id IS DISTINCT FROM (SELECT asset_id FROM wallets_ledgeraccount WHERE id = NEW.account_id) THEN
        RAISE EXCEPTION 'posting on account % names asset %, not the account''s asset', NEW.account_id, NEW.asset_id
            USING ERRCODE = 'check_violation';
    END IF;
    IF current_setting('wallets.balanced_entry', true) = NEW.entry_id::text THEN
        PERFORM set_config('wallets.balanced_entry', '', true);  -- its entry changed: check it again
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""

# The functions as 0002 created them.
BACKWARD = """
CREATE OR REPLACE FUNCTION wallets_check_entry_balanced() RETURNS trigger AS $$
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

CREATE OR REPLACE FUNCTION wallets_check_posting_asset() RETURNS trigger AS $$
BEGIN
    IF NEW.asset_id IS DISTINCT FROM (SELECT asset_id FROM wallets_ledgeraccount WHERE id = NEW.account_id) THEN
        RAISE EXCEPTION 'posting on account % names asset %, not the account''s asset', NEW.account_id, NEW.asset_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("wallets", "0006_withdrawal_client_id")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
