"""Fill an empty database with a demo: users of every role, models, versions, requests,
served and logged traffic, and the loop after it: a drift alert, its incident and the
retrained candidate waiting for the board."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.audit_context import Origin, acting_as
from governance.services import user_set_roles, user_token
from models_registry import services as registry
from models_registry.models import RegisteredModel
from models_registry.reference_data import reference_data_upload
from models_registry.retention import retention_policy_set
from reviews import services as reviews

DEMO_USERS = [
    ("dana", ["data_scientist"], "Data scientist: registers versions, requests promotions"),
    ("vera", ["validator"], "Independent validator"),
    ("bella", ["board"], "Review-board member"),
    ("bruno", ["board"], "Review-board member"),
    ("carla", ["compliance"], "Compliance officer (admin at /admin/)"),
    ("ci-bot", ["ci"], "CI pipeline (use its API token)"),
    ("checkout-app", ["service"], "Application calling predict and explain"),
]

# (model, inference-log days, legal basis, what it rests on): long enough that the demo's
# traffic is never past its period.
DEMO_DATA_GOVERNANCE = [
    (
        "churn-classifier",
        365,
        "legitimate_interests",
        "Keeping existing subscribers with retention offers; balancing test LIA-2026-07, "
        "a person reviews every offer.",
    ),
    (
        "fraud-detector",
        1825,
        "legal_obligation",
        "Transaction monitoring required of payment service providers (PSD2 Art. 94, "
        "AML record keeping of five years).",
    ),
    (
        "credit-limit-advisor",
        180,
        "contract",
        "Steps taken at the applicant's request before entering into the credit agreement.",
    ),
]

# A third of the features drifting is worth a look and a retrained candidate (warning), not
# a page at night (critical).
DEMO_MONITORING_CONFIG = """\
alerts:
  - metric: drift_share
    threshold: 0.3
    severity: warning
    action: retrain
"""


def candidate_justification(*, new: dict[str, float], current: dict[str, float]) -> str:
    """The request's case in the demo's own numbers: v3 against production v2, same hold-out."""
    compared = ", ".join(
        f"{name.upper() if name == 'auc' else name} {new[name]:.3f} vs {current[name]:.3f}"
        for name in ("auc", "accuracy", "f1")
    )
    return f"More, shallower trees. On the same hold-out, v3 vs production v2: {compared}."


class Command(BaseCommand):
    help = (
        "Fill an empty database with demo users, models, versions, promotion requests, "
        "traffic and a drift incident with its retrained candidate."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--password",
            default="demo-governance",
            help="Password of every demo user (default: demo-governance).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("seed_demo refuses to run with PRODUCTION=True.")
        if RegisteredModel.objects.exists():
            self.stdout.write("The database already holds models; demo data not added.")
            self._print_logins(options["password"], created=False)
            self._print_drift_loop(seeded=False)
            return
        # No outer transaction: each service commits, so in-process tasks (cards, analysis)
        # run right after each step, as they would on a worker.
        with acting_as(origin=Origin.COMMAND):
            people = {
                name: user_set_roles(
                    username=name,
                    roles=roles,
                    password=None if "service" in roles else options["password"],
                )[0]
                for name, roles, _ in DEMO_USERS
            }
            self._seed_models(people)
        self._print_logins(options["password"], created=True)
        self._print_drift_loop(seeded=True)

    def _seed_models(self, people: dict[str, Any]) -> None:
        self._seed_churn(people)
        dana, ci = people["dana"], people["ci-bot"]
        fraud = registry.model_create(
            actor=dana,
            name="fraud-detector",
            risk_tier="medium",
            description="Flags card transactions for manual fraud review. Served by the "
            "payments platform, which logs its predictions here.",
            intended_use="Queue transactions for analysts.",
            protected_attributes=["country"],
            tags=["payments"],
        )
        first = registry.version_register(
            actor=ci, model=fraud, metrics={"precision": 0.78, "recall": 0.64}, git_commit="a1b2c3d"
        )
        self._approve_and_execute(first, people, ["vera", "bruno"])
        second = registry.version_register(
            actor=ci, model=fraud, metrics={"precision": 0.81, "recall": 0.66}, git_commit="d4e5f60"
        )
        reviews.promotion_request_create(
            actor=ci, version=second, justification="Nightly retrain passed its evaluation gates."
        )
        limits = registry.model_create(
            actor=dana,
            name="credit-limit-advisor",
            risk_tier="low",
            description="Suggests a starting credit limit band to an underwriter.",
            protected_attributes=["age_band"],
            tags=["credit"],
        )
        registry.version_register(
            actor=dana, model=limits, metrics={"rmse": 412.0, "mae": 301.5}, git_commit="77aa0e1"
        )
        self._record_data_governance(people["carla"])

    def _record_data_governance(self, carla: Any) -> None:
        """The compliance officer's retention policy of each model, with the legal basis on
        which it processes personal data (GDPR Art. 6(1)) and what that basis rests on."""
        for name, days, basis, note in DEMO_DATA_GOVERNANCE:
            retention_policy_set(
                actor=carla,
                model=RegisteredModel.objects.get(name=name),
                inference_log_days=days,
                legal_basis=basis,
                legal_basis_note=note,
            )

    def _seed_churn(self, people: dict[str, Any]) -> None:
        """A real classifier: trained here, logged to MLflow, registered from its run."""
        from models_registry import demo_model, mlflow_adapter

        dana, ci = people["dana"], people["ci-bot"]
        churn = registry.model_create(
            actor=dana,
            name="churn-classifier",
            risk_tier="high",
            description="Predicts which subscribers will cancel within 60 days.",
            intended_use="Prioritise retention offers; a person reviews every offer.",
            out_of_scope_uses="Pricing, credit or any decision made without a person.",
            protected_attributes=list(demo_model.PROTECTED),
            tags=["retention", "tabular"],
        )
        data = demo_model.customers(rows=3000, seed=11)
        # Each release beats the one before on the hold-out (AUC 0.815, 0.827, 0.832).
        releases = [(40, 2, 0.05, "3f2a9c1"), (60, 2, 0.1, "8b41d07"), (200, 1, 0.1, "c09e4a2")]
        versions, models, metrics = [], [], []
        for n_estimators, depth, rate, commit in releases:
            self.stdout.write(f"Training churn-classifier ({n_estimators} trees) ...")
            trained = demo_model.train_churn_model(
                data, n_estimators=n_estimators, max_depth=depth, learning_rate=rate
            )
            run_id = mlflow_adapter.run_log_sklearn(
                model=trained.model,
                experiment="churn-classifier",
                params=trained.params,
                metrics=trained.metrics,
                input_example=trained.train[demo_model.FEATURES].head(5),
                tags={"mlflow.source.git.commit": commit, "team": "retention"},
                artifacts={"data/README.txt": "Synthetic subscribers, generated by seed_demo."},
            )
            version = registry.version_register(actor=ci, model=churn, mlflow_run_id=run_id)
            reference = trained.test.to_csv(index=False).encode()
            reference_data_upload(
                actor=ci,
                version=version,
                upload=SimpleUploadedFile("churn-holdout.csv", reference, "text/csv"),
            )
            versions.append(version)
            models.append(trained.model)
            metrics.append(trained.metrics)
        registry.version_update_notes(
            actor=dana,
            version=versions[-1],
            limitations="Trained on synthetic subscribers; not validated for business accounts.",
            ethical_considerations="Gender and age band are not inputs; per-group recall is "
            "reviewed each quarter.",
        )
        for version in versions[:2]:
            self._approve_and_execute(version, people, ["vera", "carla", "bella"])
        request = reviews.promotion_request_create(
            actor=dana,
            version=versions[2],
            strategy="canary",
            canary_traffic=10,
            justification=candidate_justification(new=metrics[2], current=metrics[1]),
        )
        reviews.signoff_create(
            actor=people["vera"],
            request_id=request.pk,
            decision="approve",
            comment="Validation report attached to the run; metrics reproduce.",
        )
        self._serve_traffic(people, churn)
        self._watch_drift(people, churn)
        self._log_drifted_window(people, versions[1], models[1])

    def _watch_drift(self, people: dict[str, Any], churn: Any) -> None:
        """The alert rule the drifted window breaks: its alert opens an incident, and its
        action retrains the production version into a candidate waiting for the board."""
        from monitoring.services.monitoring_config import monitoring_config_put

        monitoring_config_put(
            actor=people["dana"],
            model=churn,
            source=DEMO_MONITORING_CONFIG,
            source_format="yaml",
            origin_label="seed_demo",
        )

    def _serve_traffic(self, people: dict[str, Any], churn: Any) -> None:
        """Real calls to the production model by the application, most later labelled."""
        from models_registry import demo_model
        from models_registry.serving.service import serve
        from monitoring.services import ground_truth_record

        self.stdout.write("Serving 300 demo predictions ...")
        traffic = demo_model.customers(rows=300, seed=23, shift=0.4)
        labels = []
        for index, row in enumerate(traffic.to_dict(orient="records")):
            answer = serve(
                actor=people["checkout-app"],
                model_name="churn-classifier",
                features={name: row[name] for name in demo_model.FEATURES},
                explain=index % 10 == 0,
                routing_key=f"customer-{index}",
                attributes={name: str(row[name]) for name in demo_model.PROTECTED},
            )
            if index % 4:  # outcomes arrive for most customers, not all
                labels.append({"request_id": answer.request_id, "label": int(row["label"])})
        ground_truth_record(actor=people["ci-bot"], model=churn, records=labels)

    def _log_drifted_window(self, people: dict[str, Any], version: Any, model: Any) -> None:
        """A second region's app, served elsewhere, logs a day of calls whose customers have
        drifted (higher charges, more support calls); the checks of that window say so."""
        from datetime import timedelta

        from django.utils import timezone

        from models_registry import demo_model
        from models_registry.serving.ingest import predictions_ingest
        from monitoring.services import check_request, ground_truth_record

        rows = 2000
        self.stdout.write(f"Logging {rows} drifted predictions from outside and checking them ...")
        traffic = demo_model.customers(rows=rows, seed=31, shift=2.0)
        scores = model.predict_proba(traffic[demo_model.FEATURES])[:, 1]
        start = timezone.now() - timedelta(hours=6)
        records = [
            {
                "request_id": f"eu-west-{index}",
                "features": {name: row[name] for name in demo_model.FEATURES},
                "prediction": float(score),
                "timestamp": (start + timedelta(seconds=10 * index)).isoformat(),
                "attributes": {name: str(row[name]) for name in demo_model.PROTECTED},
            }
            for index, (row, score) in enumerate(
                zip(traffic.to_dict(orient="records"), scores, strict=True)
            )
        ]
        ci = people["ci-bot"]
        predictions_ingest(
            actor=ci, model_name=version.model.name, version=version.version, records=records
        )
        labels = [
            {"request_id": record["request_id"], "label": int(label)}
            for record, label in zip(records, traffic[demo_model.LABEL], strict=True)
        ][: rows * 3 // 4]
        ground_truth_record(actor=ci, model=version.model, records=labels)
        for kind in ("drift", "quality", "fairness", "estimation"):
            check_request(
                actor=people["dana"],
                model=version.model,
                version=version.version,
                kind=kind,
                trigger="command",
            )

    def _approve_and_execute(
        self, version: Any, people: dict[str, Any], signers: list[str]
    ) -> None:
        request = reviews.promotion_request_create(
            actor=people["dana"], version=version, justification="Beats the current baseline."
        )
        for name in signers:
            reviews.signoff_create(actor=people[name], request_id=request.pk, decision="approve")
        reviews.promotion_execute(actor=people["dana"], request_id=request.pk)

    def _print_drift_loop(self, *, seeded: bool) -> None:
        """Where the alert, its incident and the retrained candidate are (with workers, the
        check has only been queued when the command ends)."""
        from django.urls import reverse

        from monitoring.retraining.selectors import retraining_run_list

        run = (
            retraining_run_list()
            .filter(model__name="churn-classifier", incident__isnull=False)
            .select_related("incident", "alert")
            .order_by("-pk")
            .first()
        )
        if run is None:
            if not seeded:
                return
            self.stdout.write(
                "The drift check of churn-classifier is queued: its alert, incident and "
                "retrained candidate appear once the workers have run it."
            )
            return
        self.stdout.write("")
        site, alert = settings.SITE_URL, run.alert
        about = run.incident.title
        if alert is not None:
            about = f"{alert.metric} {alert.value:.3g} {alert.comparison} {alert.threshold:g}"
        incident_url = site + reverse("monitoring:incident", args=[run.incident_id])
        self.stdout.write(f"Drift incident #{run.incident_id} ({about}): {incident_url}")
        if run.promotion_request_id is not None:
            request_url = site + reverse("reviews:request", args=[run.promotion_request_id])
            self.stdout.write(
                f"Retrained candidate v{run.candidate_version.version} waits for the board "
                f"(canary request #{run.promotion_request_id}): {request_url}"
            )
        else:
            why = f": {run.reason}" if run.reason else "."
            self.stdout.write(f"Retraining run #{run.pk} is {run.status}{why}")

    def _print_logins(self, password: str, *, created: bool) -> None:
        from django.contrib.auth import get_user_model

        users = get_user_model().objects.filter(username__in=[u for u, _, _ in DEMO_USERS])
        if not users:
            return
        self.stdout.write("")
        self.stdout.write(f"Demo logins ({settings.SITE_URL}/login/):")
        for user in sorted(users, key=lambda u: [n for n, _, _ in DEMO_USERS].index(u.username)):
            about = next(text for name, _, text in DEMO_USERS if name == user.username)
            shown = password if created else "(as set when seeded)"
            if not user.has_usable_password():
                shown = "(API token only)"
            self.stdout.write(f"  {user.username:<13} {shown:<22} {about}")
        self.stdout.write("")
        for name in ("ci-bot", "checkout-app"):
            account = users.filter(username=name).first()
            if account is not None:
                key = user_token(user=account, name="seed_demo")
                self.stdout.write(f"{name} API token: {key}")
        self.stdout.write(f"API docs: {settings.SITE_URL}/api/v1/docs/")
