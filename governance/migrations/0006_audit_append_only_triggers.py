"""PostgreSQL triggers: the audit tables refuse UPDATE, DELETE and TRUNCATE.

Allowed: the sequencer filling in an event's place (sequence, previous_hash, hash of a row
that has none, its content unchanged) and moving the head forward; and anything inside a
transaction that set `SET LOCAL governance.retention = 'on'`, which only the retention and
erasure services do (governance/audit/retention_path.py, `retention_path()`). SQLite has no such triggers.
"""

from django.db import migrations

GUARD = """
CREATE OR REPLACE FUNCTION governance_audit_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('governance.retention', true), '') = 'on' THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% on % refused: the audit trail is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Retention and erasure go through their services.';
END $$;

CREATE OR REPLACE FUNCTION governance_auditevent_sequence_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.sequence IS NULL AND NEW.sequence IS NOT NULL
       AND (NEW.occurred_at, NEW.actor_id, NEW.actor_username, NEW.origin, NEW.action,
            NEW.object_type, NEW.object_id, NEW.data, NEW.entry_hash)
           IS NOT DISTINCT FROM
           (OLD.occurred_at, OLD.actor_id, OLD.actor_username, OLD.origin, OLD.action,
            OLD.object_type, OLD.object_id, OLD.data, OLD.entry_hash) THEN
        RETURN NEW;  -- the sequencer giving a new event its place
    END IF;
    RETURN governance_audit_refuse_row(TG_OP, TG_TABLE_NAME, NEW);
END $$;

CREATE OR REPLACE FUNCTION governance_auditchainhead_forward_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = OLD.id AND NEW.last_sequence > OLD.last_sequence THEN
        RETURN NEW;  -- the sequencer moving the head forward
    END IF;
    RETURN governance_audit_refuse_row(TG_OP, TG_TABLE_NAME, NEW);
END $$;

CREATE OR REPLACE FUNCTION governance_audit_refuse_row(op text, tbl name, new_row anyelement)
RETURNS anyelement LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('governance.retention', true), '') = 'on' THEN
        RETURN new_row;
    END IF;
    RAISE EXCEPTION '% on % refused: the audit trail is append-only', op, tbl
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Retention and erasure go through their services.';
END $$;
"""

TRIGGERS = """
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON governance_auditevent
    FOR EACH ROW EXECUTE FUNCTION governance_auditevent_sequence_only();
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON governance_auditevent
    FOR EACH ROW EXECUTE FUNCTION governance_audit_refuse();
CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON governance_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION governance_audit_refuse();

CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON governance_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION governance_auditchainhead_forward_only();
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON governance_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION governance_audit_refuse();
CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON governance_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION governance_audit_refuse();

CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON governance_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION governance_audit_refuse();
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON governance_auditcheckpoint
    FOR EACH ROW EXECUTE FUNCTION governance_audit_refuse();
CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON governance_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION governance_audit_refuse();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_append_only_update ON governance_auditevent;
DROP TRIGGER IF EXISTS audit_append_only_delete ON governance_auditevent;
DROP TRIGGER IF EXISTS audit_append_only_truncate ON governance_auditevent;
DROP TRIGGER IF EXISTS audit_append_only_update ON governance_auditchainhead;
DROP TRIGGER IF EXISTS audit_append_only_delete ON governance_auditchainhead;
DROP TRIGGER IF EXISTS audit_append_only_truncate ON governance_auditchainhead;
DROP TRIGGER IF EXISTS audit_append_only_update ON governance_auditcheckpoint;
DROP TRIGGER IF EXISTS audit_append_only_delete ON governance_auditcheckpoint;
DROP TRIGGER IF EXISTS audit_append_only_truncate ON governance_auditcheckpoint;
DROP FUNCTION IF EXISTS governance_auditevent_sequence_only();
DROP FUNCTION IF EXISTS governance_auditchainhead_forward_only();
DROP FUNCTION IF EXISTS governance_audit_refuse_row(text, name, anyelement);
DROP FUNCTION IF EXISTS governance_audit_refuse();
"""


def on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)  # None: no placeholders, '%' is plpgsql's

    return run


class Migration(migrations.Migration):

    dependencies = [("governance", "0005_audit_chain_sequencer_checkpoints")]

    operations = [
        migrations.RunPython(on_postgresql(GUARD + TRIGGERS), on_postgresql(DROP)),
    ]
