"""Database guard of the frozen agenda: once a meeting has left the scheduled and prepared
states, its agenda items refuse INSERT, UPDATE and DELETE, whoever writes (a bulk ORM call,
a script, a SQL prompt). The services refuse first (reviews/meetings/services.py) and
AgendaItem.save() after them; this is the last guard, as the audit tables' triggers are
(governance/migrations/0006).

One change stays allowed: the minutes of an item, and nothing else of it, while its meeting
is in progress (what was said is written during the meeting).

PostgreSQL only: a row trigger that compares the whole row except `minutes` (so a column
added later is frozen too), and takes a share lock on the meeting's row, so that a meeting
cannot start between the check and the commit. SQLite (the embedded mode) has no such
trigger, as it has none of the audit tables': Django changes a SQLite table by building a
new one, copying the rows and dropping the old table, which drops that table's triggers
silently, and a trigger naming reviews_meeting makes every such rebuild of the meeting
table fail ("error in trigger ... no such table"). There the services and
AgendaItem.save()/delete() are the guard.
"""

from django.db import migrations

OPEN_STATES = "('scheduled', 'prepared')"
MESSAGE = "refused: the meeting has started, its agenda is frozen"

POSTGRESQL = f"""
CREATE OR REPLACE FUNCTION reviews_agenda_frozen_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    old_status text;
    new_status text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        SELECT status INTO old_status FROM reviews_meeting WHERE id = OLD.meeting_id FOR SHARE;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT status INTO new_status FROM reviews_meeting WHERE id = NEW.meeting_id FOR SHARE;
    END IF;
    IF coalesce(old_status, 'scheduled') IN {OPEN_STATES}
       AND coalesce(new_status, 'scheduled') IN {OPEN_STATES} THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND old_status = 'in_progress'
       AND (to_jsonb(NEW) - 'minutes') = (to_jsonb(OLD) - 'minutes') THEN
        RETURN NEW;  -- minutes, written while the meeting runs
    END IF;
    RAISE EXCEPTION '% on reviews_agendaitem {MESSAGE}', TG_OP
        USING ERRCODE = 'integrity_constraint_violation',
              HINT = 'Agenda items change through the meeting services, before the start.';
END $$;

CREATE TRIGGER reviews_agenda_frozen BEFORE INSERT OR UPDATE OR DELETE ON reviews_agendaitem
    FOR EACH ROW EXECUTE FUNCTION reviews_agenda_frozen_refuse();
"""

POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS reviews_agenda_frozen ON reviews_agendaitem;
DROP FUNCTION IF EXISTS reviews_agenda_frozen_refuse();
"""


def on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)  # None: no placeholders, '%' is plpgsql's

    return run


class Migration(migrations.Migration):

    dependencies = [("reviews", "0008_decision_finding")]

    operations = [migrations.RunPython(on_postgresql(POSTGRESQL), on_postgresql(POSTGRESQL_DROP))]
