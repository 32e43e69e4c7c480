"""The audit chain appended without a lock and sequenced afterwards; checkpoints; reports.

Existing events are re-hashed in the new format (entry hash + link hash), in their order,
only if the old chain verifies: re-hashing a tampered chain would launder it.
"""

import hashlib
import json

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

GENESIS = "0" * 64


def _canonical(data):
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _sha(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rehash(apps, schema_editor):
    # The formats are frozen here, so later changes to governance.audit cannot alter them.
    Event = apps.get_model("governance", "AuditEvent")
    Head = apps.get_model("governance", "AuditChainHead")
    old_previous, new_previous, sequence = GENESIS, GENESIS, 0
    for event in Event.objects.order_by("sequence").iterator():
        payload = {
            "occurred_at": event.occurred_at.isoformat(),
            "actor": event.actor_username,
            "origin": event.origin,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "data": event.data,
        }
        old = _sha(old_previous + _canonical({"sequence": event.sequence, **payload}))
        if event.previous_hash != old_previous or event.hash != old:
            raise RuntimeError(
                f"Audit event #{event.sequence} does not verify: the chain was tampered with "
                "before this upgrade. Investigate before migrating; nothing was changed."
            )
        old_previous = event.hash
        sequence = event.sequence
        event.entry_hash = _sha(_canonical(payload))
        event.previous_hash = new_previous
        event.hash = _sha(f"{new_previous}:{sequence}:{event.entry_hash}")
        event.save(update_fields=["entry_hash", "previous_hash", "hash"])
        new_previous = event.hash
    Head.objects.update_or_create(
        pk=1, defaults={"last_sequence": sequence, "last_hash": new_previous}
    )


class Migration(migrations.Migration):

    dependencies = [
        ("governance", "0004_audit_object_id_200"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="entry_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(rehash, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="sequence",
            field=models.PositiveBigIntegerField(blank=True, null=True, unique=True),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="previous_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.AlterModelOptions(
            name="auditevent",
            options={"ordering": [models.OrderBy(models.F("sequence"), descending=True, nulls_first=True), "-id"]},
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(
                condition=models.Q(("sequence__isnull", True)),
                fields=["id"],
                name="auditevent_unsequenced",
            ),
        ),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("size", models.PositiveBigIntegerField(db_index=True)),
                ("root_hash", models.CharField(max_length=64)),
                ("signed_at", models.DateTimeField()),
                ("key_name", models.CharField(max_length=100)),
                ("note", models.TextField()),
            ],
            options={"ordering": ["-size", "-id"]},
        ),
        migrations.CreateModel(
            name="AuditVerification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("started_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("full", models.BooleanField(default=False, help_text="From the first entry, not a checkpoint.")),
                ("from_sequence", models.PositiveBigIntegerField(default=0)),
                ("to_sequence", models.PositiveBigIntegerField(default=0)),
                ("checked", models.PositiveBigIntegerField(default=0)),
                ("ok", models.BooleanField(help_text="Empty while the run has not finished.", null=True)),
                ("first_bad", models.PositiveBigIntegerField(blank=True, null=True)),
                ("detail", models.TextField(blank=True)),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["-started_at", "-id"]},
        ),
    ]
