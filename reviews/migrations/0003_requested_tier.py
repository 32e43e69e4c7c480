"""Requests remember the risk tier they were made under (issue #8, hole 2).

Existing requests take their model's current tier: the best that is known about them.
"""

from django.db import migrations, models

TIERS = [("low", "Low"), ("medium", "Medium"), ("high", "High")]
HELP = (
    "The model's risk tier when the request was made. The request is decided under the "
    "strictest tier the model has had while it was open."
)


def backfill(apps, schema_editor):
    version_model = apps.get_model("models_registry", "ModelVersion")
    tier_of = dict(version_model.objects.values_list("pk", "model__risk_tier"))
    for name in ("PromotionRequest", "HistoricalPromotionRequest"):
        model = apps.get_model("reviews", name)
        for version_id, tier in tier_of.items():
            model.objects.filter(model_version_id=version_id).update(requested_tier=tier)


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0002_decided_card_hash"),
        ("models_registry", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="historicalpromotionrequest",
            name="requested_tier",
            field=models.CharField(choices=TIERS, default="high", help_text=HELP, max_length=16),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="promotionrequest",
            name="requested_tier",
            field=models.CharField(choices=TIERS, default="high", help_text=HELP, max_length=16),
            preserve_default=False,
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
