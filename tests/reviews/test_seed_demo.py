"""`seed_demo` builds the demo the README's first command shows."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from governance.roles import Role
from models_registry.models import ModelVersion, Prediction, RegisteredModel
from monitoring.models import CheckRun, GroundTruth
from reviews.models import PromotionRequest

pytestmark = pytest.mark.django_db(transaction=True)  # the demo commits step by step


def test_the_demo_has_every_role_models_versions_traffic_and_pending_requests(mlflow_store, capsys):
    call_command("seed_demo")
    printed = capsys.readouterr().out
    for role in Role:
        assert Group.objects.get(name=role.value).user_set.exists(), role
    assert RegisteredModel.objects.count() >= 2
    assert ModelVersion.objects.filter(model__name="churn-classifier").count() == 3
    assert PromotionRequest.objects.filter(status="pending").count() >= 2
    churn = ModelVersion.objects.get(model__name="churn-classifier", version=3)
    card = churn.card_revisions.first().content
    assert card["explainability"]["status"] == "available"
    assert set(card["evaluation"]["per_group"]) == {"gender", "age_band"}
    assert Prediction.objects.filter(source="served").count() == 300
    assert GroundTruth.objects.count() == 225 + 1500
    # A second region logs a drifted day from outside; its checks ran and say so.
    logged = Prediction.objects.filter(source="logged")
    assert logged.count() == 2000 and logged.exclude(attributes={}).count() == 2000
    runs = {run.kind: run for run in CheckRun.objects.filter(model__name="churn-classifier")}
    assert set(runs) == {"drift", "quality", "fairness", "estimation"}
    assert all(run.status == "done" for run in runs.values()), {
        r.kind: r.error for r in runs.values()
    }
    assert runs["drift"].results["dataset_drift"] is True
    assert runs["drift"].results["features"]["monthly_charges"]["drifted"] is True
    assert runs["quality"].labelled_rows >= 1500
    assert "demo-governance" in printed and "checkout-app API token:" in printed

    call_command("seed_demo")
    assert "already holds models" in capsys.readouterr().out
    assert ModelVersion.objects.filter(model__name="churn-classifier").count() == 3
