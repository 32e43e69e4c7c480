"""Card generation cost for 100 versions, without MLflow I/O.

    .venv/bin/python bench/cards.py            # embedded SQLite in a temporary directory
    DATABASE_URL=postgres://... .venv/bin/python bench/cards.py

Prints, per version: the first generation (build, hash, store a revision), a no-op
regeneration (build and hash, nothing stored), and a baseline measured in the same run on
the same rows: one locked read and one single-column update of the version, the least any
regeneration must do. Figures are ratios to that baseline, because the machine is shared.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

VERSIONS = 100
ROUNDS = 3

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="bench-cards-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")


def run_facts(index: int) -> dict:
    """What a real run looks like once read (params, metric history, signature, example)."""
    features = ["tenure_months", "monthly_charges", "support_calls", "age", "contract", "payment"]
    return {
        "run_id": f"{index:032x}",
        "run_name": f"run-{index}",
        "experiment_name": "churn",
        "status": "FINISHED",
        "user": "ci",
        "start_time": "2026-11-27T10:00:00+00:00",
        "end_time": "2026-11-27T10:05:00+00:00",
        "tags": {"team": "retention", "dataset": "2026-11"},
        "artifacts": {f"reports/fig{i}.png": 20_000 + i for i in range(10)},
        "metric_history": {
            "train_loss": [{"step": s, "value": 1 / (s + 1), "timestamp": None} for s in range(50)]
        },
        "datasets": [{"name": "train", "digest": "abc123", "source": "local"}],
        "logged_model": {
            "model_uri": f"models:/m-{index}",
            "flavors": ["python_function", "sklearn"],
            "signature": {"inputs": [{"name": f, "type": "double"} for f in features]},
            "input_example": [dict.fromkeys(features, 1.0) for _ in range(5)],
        },
    }


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from governance.services import user_set_roles
    from models_registry.cards import card_regenerate
    from models_registry.models import ModelVersion, RegisteredModel

    call_command("migrate", verbosity=0)
    user, _ = user_set_roles(username="bench", roles=["data_scientist"])
    model, _ = RegisteredModel.objects.get_or_create(
        name="bench-model", defaults={"owner": user, "risk_tier": "high", "description": "bench"}
    )
    start = ModelVersion.objects.filter(model=model).count()
    ids = [
        ModelVersion.objects.create(
            model=model,
            version=start + i + 1,
            registered_by=user,
            metrics={"auc": 0.8 + i / 1000, "f1": 0.6, "accuracy": 0.85},
            params={"n_estimators": "100", "max_depth": "3"},
            mlflow_run_id=f"{i:032x}",
            run_facts=run_facts(i),
        ).pk
        for i in range(VERSIONS)
    ]

    def baseline() -> float:
        began = time.perf_counter()
        for pk in ids:
            with transaction.atomic():
                version = ModelVersion.objects.select_for_update().get(pk=pk)
                version.save(update_fields=["card_status"])
        return time.perf_counter() - began

    def regenerate_all() -> float:
        began = time.perf_counter()
        for pk in ids:
            card_regenerate(version_id=pk, reason="bench")
        return time.perf_counter() - began

    base = statistics.median(baseline() for _ in range(ROUNDS))
    first = regenerate_all()
    noop = statistics.median(regenerate_all() for _ in range(ROUNDS))
    per = 1000 / VERSIONS
    engine = django.db.connection.vendor
    print(f"card generation, {VERSIONS} versions, {engine}, no MLflow I/O")
    print(f"  baseline (locked read + update) {base * per:7.2f} ms/version")
    for label, seconds in (("first generation", first), ("no-op regeneration", noop)):
        print(f"  {label:<31} {seconds * per:7.2f} ms/version  {seconds / base:4.1f}x baseline")


if __name__ == "__main__":
    main()
