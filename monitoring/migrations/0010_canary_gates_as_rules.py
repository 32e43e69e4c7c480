"""The canary gates become rules of the engine (issue 10): every model's configured gates,
and every historical row of them, are rewritten as the rules they meant, then the columns go.

    max_error_rate_increase x -> error_rate, relative difference, > x
    max_latency_ratio x       -> p95_latency_ms, relative ratio, > x
    max_quality_drop x        -> accuracy, relative difference, < -x, min_samples min_labelled
    max_fairness_gap x        -> demographic_parity_difference.* (the worst attribute's
                                 positive-rate gap on the canary), > x, min_samples min_labelled

The mapping is written out here, not imported, so that later edits of the defaults cannot
change what this migration did. Backwards, the columns are read back from the rules this
mapping produces (a rule added later, of another shape, is dropped with a default column).
The fairness gate's min_samples now counts the canary's calls: positive rates need no labels.
"""

from django.db import migrations, models

import monitoring.canary_defaults

FAIRNESS = "demographic_parity_difference.*"


def rules_of(row):
    labelled = row.min_labelled
    return [
        {
            "metric": "error_rate",
            "relative": "difference",
            "comparison": ">",
            "threshold": row.max_error_rate_increase,
            "severity": "critical",
        },
        {
            "metric": "p95_latency_ms",
            "relative": "ratio",
            "comparison": ">",
            "threshold": row.max_latency_ratio,
            "severity": "critical",
        },
        {
            "metric": "accuracy",
            "relative": "difference",
            "comparison": "<",
            "threshold": -row.max_quality_drop,
            "severity": "critical",
            "min_samples": labelled,
        },
        {
            "metric": FAIRNESS,
            "comparison": ">",
            "threshold": row.max_fairness_gap,
            "severity": "critical",
            "min_samples": labelled,
        },
    ]


def columns_of(rules):
    columns = {}
    for rule in rules:
        shape = (rule.get("metric"), rule.get("relative"), rule.get("comparison"))
        if shape == ("error_rate", "difference", ">"):
            columns["max_error_rate_increase"] = rule["threshold"]
        elif shape == ("p95_latency_ms", "ratio", ">"):
            columns["max_latency_ratio"] = rule["threshold"]
        elif shape == ("accuracy", "difference", "<"):
            columns["max_quality_drop"] = -rule["threshold"]
            columns["min_labelled"] = rule.get("min_samples", 30) or 1
        elif shape == (FAIRNESS, None, ">"):
            columns["max_fairness_gap"] = rule["threshold"]
    return columns


def forwards(apps, schema_editor):
    for name in ("CanaryGates", "HistoricalCanaryGates"):
        model = apps.get_model("monitoring", name)
        for row in model.objects.all().iterator():
            row.rules = rules_of(row)
            row.save(update_fields=["rules"])


def backwards(apps, schema_editor):
    for name in ("CanaryGates", "HistoricalCanaryGates"):
        model = apps.get_model("monitoring", name)
        for row in model.objects.all().iterator():
            columns = columns_of(row.rules)
            for field, value in columns.items():
                setattr(row, field, value)
            row.save(update_fields=list(columns) or None)


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0009_incident_event_alert_kinds"),
    ]

    operations = [
        migrations.AddField(
            model_name="canarygates",
            name="rules",
            field=models.JSONField(
                default=monitoring.canary_defaults.canary_default_rules,
                help_text="The gates: rules compared on the window, canary against production.",
            ),
        ),
        migrations.AddField(
            model_name="historicalcanarygates",
            name="rules",
            field=models.JSONField(
                default=monitoring.canary_defaults.canary_default_rules,
                help_text="The gates: rules compared on the window, canary against production.",
            ),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(
            model_name="canarygates",
            name="max_error_rate_increase",
        ),
        migrations.RemoveField(
            model_name="canarygates",
            name="max_fairness_gap",
        ),
        migrations.RemoveField(
            model_name="canarygates",
            name="max_latency_ratio",
        ),
        migrations.RemoveField(
            model_name="canarygates",
            name="max_quality_drop",
        ),
        migrations.RemoveField(
            model_name="canarygates",
            name="min_labelled",
        ),
        migrations.RemoveField(
            model_name="historicalcanarygates",
            name="max_error_rate_increase",
        ),
        migrations.RemoveField(
            model_name="historicalcanarygates",
            name="max_fairness_gap",
        ),
        migrations.RemoveField(
            model_name="historicalcanarygates",
            name="max_latency_ratio",
        ),
        migrations.RemoveField(
            model_name="historicalcanarygates",
            name="max_quality_drop",
        ),
        migrations.RemoveField(
            model_name="historicalcanarygates",
            name="min_labelled",
        ),
    ]
