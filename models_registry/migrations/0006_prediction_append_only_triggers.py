"""PostgreSQL triggers: the inference log refuses UPDATE, DELETE and TRUNCATE.

Only the retention and erasure services change it, inside a transaction that set
`SET LOCAL governance.retention = 'on'` (see governance/migrations/0006). SQLite has none.
"""

from django.db import migrations

TRIGGERS = """
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON models_registry_prediction
    FOR EACH ROW EXECUTE FUNCTION governance_audit_refuse();
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON models_registry_prediction
    FOR EACH ROW EXECUTE FUNCTION governance_audit_refuse();
CREATE TRIGGER audit_append_only_truncate BEFORE TRUNCATE ON models_registry_prediction
    FOR EACH STATEMENT EXECUTE FUNCTION governance_audit_refuse();
"""

DROP = """
DROP TRIGGER IF EXISTS audit_append_only_update ON models_registry_prediction;
DROP TRIGGER IF EXISTS audit_append_only_delete ON models_registry_prediction;
DROP TRIGGER IF EXISTS audit_append_only_truncate ON models_registry_prediction;
"""


def on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, None)

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("models_registry", "0005_prediction_batch"),
        ("governance", "0006_audit_append_only_triggers"),
    ]

    operations = [
        migrations.RunPython(on_postgresql(TRIGGERS), on_postgresql(DROP)),
    ]
