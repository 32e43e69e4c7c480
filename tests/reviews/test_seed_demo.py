"""`seed_demo` builds the demo the README's first command shows."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from governance.roles import Role
from models_registry.models import ModelVersion, Prediction, RegisteredModel, RetentionPolicy
from monitoring.models import Alert, CheckRun, GroundTruth, Incident, RetrainingRun
from reviews.models import PromotionRequest

pytestmark = pytest.mark.django_db(transaction=True)  # the demo commits step by step


def test_the_demo_has_every_role_models_versions_traffic_and_pending_requests(mlflow_store, capsys):
    call_command("seed_demo")
    printed = capsys.readouterr().out
    for role in Role:
        assert Group.objects.get(name=role.value).user_set.exists(), role
    assert RegisteredModel.objects.count() >= 2
    # Every model's legal basis of processing is recorded (the ethics dashboard shows it).
    policies = RetentionPolicy.objects.all()
    assert policies.count() == RegisteredModel.objects.count()
    assert not policies.filter(legal_basis="").exists()
    assert not policies.filter(legal_basis_note="").exists()
    assert ModelVersion.objects.filter(model__name="churn-classifier").count() == 4
    assert PromotionRequest.objects.filter(status="pending").count() >= 3
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
    assert_the_story_matches_the_numbers()
    run = assert_the_drift_loop_ran(printed)

    counts = [m.objects.count() for m in (ModelVersion, Alert, Incident, RetrainingRun)]
    call_command("seed_demo")
    again = capsys.readouterr().out
    assert "already holds models" in again
    assert [m.objects.count() for m in (ModelVersion, Alert, Incident, RetrainingRun)] == counts
    assert f"/incidents/{run.incident_id}/" in again
    assert f"/requests/{run.promotion_request_id}/" in again


def assert_the_drift_loop_ran(printed: str) -> RetrainingRun:
    """The drifted window broke the config's drift rule: a warning alert opened an incident,
    its action retrained production v2 into candidate v4, which waits for the board."""
    alert = Alert.objects.get()
    assert (alert.metric, alert.comparison, alert.threshold) == ("drift_share", ">=", 0.3)
    assert alert.severity == "warning" and alert.status == "open"
    assert alert.rule["action"] == "retrain"
    assert alert.value >= alert.threshold
    assert alert.check_run.kind == "drift" and alert.version.version == 2

    incident = Incident.objects.get()
    assert alert.incident == incident
    assert (incident.source, incident.status, incident.severity) == ("alert", "open", "warning")
    assert incident.version == alert.version
    kinds = list(incident.timeline.order_by("pk").values_list("kind", flat=True))
    assert kinds == ["opened", "retraining_started", "retraining_finished", "retraining_finished"]
    assert f"Alert #{alert.pk}" in incident.timeline.get(kind="opened").message

    run = RetrainingRun.objects.get()
    assert run.status == "done", run.reason
    assert (run.trigger, run.incident, run.alert) == ("rule", incident, alert)
    assert run.base_version == alert.version and run.labelled_rows >= 1500
    candidate = run.candidate_version
    assert (candidate.version, candidate.stage) == (4, ModelVersion.Stage.CANDIDATE)
    card = candidate.card_revisions.first().content
    assert card["metrics"]["current_roc_auc"] == run.metrics["current"]["roc_auc"]
    assert card["training"]["mlflow_run"]["tags"]["governance.incident"] == str(incident.pk)

    request = PromotionRequest.objects.get(pk=run.promotion_request_id)
    assert request.model_version == candidate
    assert (request.status, request.strategy) == ("pending", "canary")
    # Each metric, new against current on the same hold-out (the order of the metrics is
    # the one jsonb gives back on PostgreSQL, so it is not compared).
    assert "On that same hold-out, new vs current:" in request.justification
    for name in ("accuracy", "roc_auc", "f1"):
        new, current = run.metrics["new"][name], run.metrics["current"][name]
        assert f"{name} {new:.4f} vs {current:.4f} ({new - current:+.4f})" in request.justification
    assert f"incident #{incident.pk}, alert #{alert.pk}" in request.justification

    assert f"http://127.0.0.1:8000/incidents/{incident.pk}/" in printed
    assert f"http://127.0.0.1:8000/requests/{request.pk}/" in printed
    return run


def assert_the_story_matches_the_numbers() -> None:
    """Each churn release beats the one before on the hold-out, and v3's request says so in
    the versions' own figures (a reviewer checks the words against the card)."""
    versions = ModelVersion.objects.filter(model__name="churn-classifier", version__lte=3)
    auc = [v.metrics["auc"] for v in versions.order_by("version")]
    assert auc == sorted(auc) and len(set(auc)) == 3, auc
    v2, v3 = versions.get(version=2), versions.get(version=3)
    request = PromotionRequest.objects.get(model_version=v3)
    for name, label in (("auc", "AUC"), ("accuracy", "accuracy"), ("f1", "f1")):
        shown = f"{label} {v3.metrics[name]:.3f} vs {v2.metrics[name]:.3f}"
        assert shown in request.justification, (shown, request.justification)
