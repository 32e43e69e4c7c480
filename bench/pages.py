"""Main pages' render times with 1,000 models x 10 versions (issue #12; goal: p95 < 100 ms).

    .venv/bin/python bench/pages.py                 # embedded SQLite in a temporary directory
    DATABASE_URL=postgres://.../gov_x .venv/bin/python bench/pages.py    # an empty database
    VAR_DIR=/tmp/bench-pages-... .venv/bin/python bench/pages.py  # again, on the seeded world

Seeds one model through the services (10 versions registered with their cards, every
version requested and signed, 5 promoted, so deployment events and closed requests, one
left open; incidents, alerts, findings, a validation, a tier change and served traffic),
then copies that model's rows 999 times with bulk_create (new keys, every foreign key
pointing into the copy), so every row is one the services wrote; on PostgreSQL it then
runs ANALYZE, as autovacuum would in production, so the planner knows the tables' sizes.
Then renders each main page with Django's test Client `--renders` times as a validator and
per page beside the login page measured the same way in the same run: the baseline is the
cost of a page that reads nothing (session, middleware, a template), so the ratio says
what each page's own reads and rendering add on this machine, whatever else runs on it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "governance.settings")
os.environ.setdefault("VAR_DIR", tempfile.mkdtemp(prefix="bench-pages-"))
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "True")

VERSIONS = 10
PROMOTED = 5
ROWS_EACH = 5  # incidents, alerts, findings per model


def seed_template(users: dict):
    """One model with everything, written by the services."""
    from django.test import TestCase
    from django.utils import timezone

    from governance.audit_context import Origin, acting_as
    from models_registry import services as registry
    from models_registry.models import Prediction
    from monitoring.models import Alert
    from monitoring.services.incidents import incident_open
    from reviews import services as reviews
    from reviews.finding_services import finding_raise
    from reviews.revalidation_services import validation_record

    ds, validator, board = users["ds"], users["validator"], users["board"]
    with acting_as(origin=Origin.SYSTEM), TestCase.captureOnCommitCallbacks(execute=True):
        model = registry.model_create(actor=ds, name="bench-0", risk_tier="low")
        for index in range(VERSIONS):
            version = registry.version_register(actor=ds, model=model, metrics={"auc": 0.8})
            request = reviews.promotion_request_create(
                actor=ds, version=version, justification="Better AUC."
            )
            reviews.signoff_create(actor=board, request_id=request.pk, decision="approve")
            if index < PROMOTED:
                reviews.promotion_execute(actor=ds, request_id=request.pk)
            elif index < VERSIONS - 1:
                reviews.promotion_withdraw(actor=ds, request_id=request.pk)
        registry.model_update(actor=users["compliance"], model=model, risk_tier="medium")
        now = timezone.now()
        for index in range(ROWS_EACH):
            incident_open(
                model=model,
                version=version,
                severity="warning",
                source="manual",
                title=f"Incident {index}",
                description="Latency above the limit.",
                actor=ds,
            )
            Alert.objects.create(  # as the rule engine stores an open alert
                model=model,
                version=version,
                rule_key=f"{index:064d}",
                rule={"metric": "error_rate", "threshold": 0.05, "severity": "warning"},
                metric="error_rate",
                value=0.2,
                threshold=0.05,
                comparison=">=",
                severity="warning",
                first_seen=now,
                last_seen=now,
            )
            finding_raise(
                actor=validator,
                model=model,
                title=f"Finding {index}",
                description="Recall drops for new customers.",
                severity="high",
            )
        validation_record(
            actor=validator, model=model, scope="Back-test 2026 Q3.", outcome="passed"
        )
        Prediction.objects.bulk_create(  # served traffic, as the inference log stores it
            Prediction(
                model=model,
                version=version,
                request_id=f"bench-{index}",
                source=Prediction.Source.SERVED,
                slot=Prediction.Slot.PRODUCTION,
                occurred_at=now - timedelta(minutes=index),
                features={"tenure_months": index % 40},
                prediction=0.3,
                latency_ms=12.0,
            )
            for index in range(200)
        )
    return model


def copy_model(template, copies: int) -> None:
    """`copies` more models like `template`: its rows (and their history rows) copied with
    bulk_create, each copy's foreign keys pointing at the copy's own rows."""
    from django.db import transaction

    from models_registry.models import (
        DeploymentEvent,
        ModelCardRevision,
        ModelVersion,
        Prediction,
        RegisteredModel,
    )
    from monitoring.models import Alert, Incident, IncidentEvent
    from reviews.finding_models import Finding, FindingEvent
    from reviews.impact_models import BusinessImpactReview
    from reviews.models import PromotionRequest, SignOff
    from reviews.revalidation_models import Validation

    plan = [  # each after the rows its foreign keys point at
        (RegisteredModel, {"pk": template.pk}),
        (ModelVersion, {"model": template}),
        (ModelCardRevision, {"model_version__model": template}),
        (DeploymentEvent, {"model": template}),
        (PromotionRequest, {"model_version__model": template}),
        (SignOff, {"request__model_version__model": template}),
        (Incident, {"model": template}),
        (IncidentEvent, {"incident__model": template}),
        (Alert, {"model": template}),
        (Validation, {"model": template}),
        (Finding, {"model": template}),
        (FindingEvent, {"finding__model": template}),
        (BusinessImpactReview, {"model": template}),
        (Prediction, {"model": template}),
    ]
    for start in range(1, copies + 1, 100):
        batch = range(start, min(start + 100, copies + 1))
        with transaction.atomic():
            keys: dict[type, dict[int, list[int]]] = {}
            for model_class, lookup in plan:
                rows = list(model_class.objects.filter(**lookup).order_by("pk"))
                keys[model_class] = _copy_rows(model_class, rows, batch, keys)
            for model_class, _ in plan:
                if hasattr(model_class, "history"):
                    _copy_history(model_class, keys[model_class])


def _copy_rows(model_class, rows, batch, keys) -> dict[int, list[int]]:
    """Copy `rows` once per number in `batch`; returns old pk -> the copies' pks."""
    links = [
        f for f in model_class._meta.concrete_fields if f.is_relation and f.related_model in keys
    ]
    copies = []
    for number in batch:
        for row in rows:
            values = {f.attname: getattr(row, f.attname) for f in model_class._meta.concrete_fields}
            values.pop(model_class._meta.pk.attname)
            for link in links:
                if values[link.attname] is not None:
                    values[link.attname] = keys[link.related_model][values[link.attname]][
                        number - batch[0]
                    ]
            if "name" in values and model_class.__name__ == "RegisteredModel":
                values["name"] = f"bench-{number}"
            if model_class.__name__ == "Prediction":
                values["request_id"] = f"{values['request_id']}-{number}"
            copies.append(model_class(**values))
    made = model_class.objects.bulk_create(copies)
    found: dict[int, list[int]] = {row.pk: [] for row in rows}
    for index, copy in enumerate(made):
        found[rows[index % len(rows)].pk].append(copy.pk)
    return found


def _copy_history(model_class, keys: dict[int, list[int]]) -> None:
    """The simple-history rows of the copied objects, as their service calls wrote them."""
    history = model_class.history.model
    rows = list(history.objects.filter(id__in=keys).order_by("history_id"))
    fields = [f.attname for f in history._meta.concrete_fields if f.attname != "history_id"]
    copies = []
    for row in rows:
        for copy_pk in keys[row.id]:
            values = {name: getattr(row, name) for name in fields}
            values["id"] = copy_pk
            if model_class.__name__ == "RegisteredModel":
                values["name"] = f"bench-{keys[row.id].index(copy_pk) + 1}"
            copies.append(history(**values))
    history.objects.bulk_create(copies)


def timed(client, url: str, renders: int) -> list[float]:
    times = []
    for _ in range(renders):
        began = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code}")
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--renders", type=int, default=30)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from governance.services import user_set_roles
    from models_registry.models import ModelVersion, Prediction, RegisteredModel

    settings.ALLOWED_HOSTS = ["*"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    people = {
        "ds": ("dana", "data_scientist"),
        "validator": ("vera", "validator"),
        "board": ("bella", "board"),
        "compliance": ("carla", "compliance"),
    }
    users = {
        key: user_set_roles(username=name, roles=[role], password="bench-pw-1")[0]
        for key, (name, role) in people.items()
    }
    began = time.perf_counter()
    template = RegisteredModel.objects.filter(name="bench-0").first()
    if template is None:  # a database seeded by an earlier run is used as it is
        template = seed_template(users)
        copy_model(template, args.models - 1)
    seeded = time.perf_counter() - began
    if connection.vendor == "postgresql":  # statistics, as autovacuum keeps them in production
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    request = template.versions.get(version=VERSIONS).promotion_requests.get()
    counts = (
        RegisteredModel.objects.count(),
        ModelVersion.objects.count(),
        Prediction.objects.count(),
    )
    name = template.name
    live = f"/models/{name}/"
    pages = {
        "login (baseline)": "/login/",
        "sign-off queue": "/",
        "request": f"/requests/{request.pk}/",
        "requests": "/requests/",
        "model list": "/models/",
        "model": live,
        "version": f"{live}versions/{VERSIONS}/",
        "card diff": f"{live}versions/1/card/diff/",
        "alerts": "/alerts/",
        "incidents": "/incidents/",
        "findings": "/findings/",
        "revalidations": "/revalidations/",
        "model health": f"{live}health/",
        "model monitoring": f"{live}monitoring/",
        "business impact": f"{live}business-impact/",
        "ethics": "/ethics/",
        "model ethics": f"{live}ethics/",
    }
    reader, anonymous = Client(), Client()
    reader.force_login(users["validator"])
    for url in pages.values():  # warm-up: imports, template loading
        (anonymous if url == "/login/" else reader).get(url)
    times = {label: [] for label in pages}
    for _ in range(args.renders):  # interleaved, so a busy moment hits every page alike
        for label, url in pages.items():
            times[label] += timed(anonymous if url == "/login/" else reader, url, 1)
    base_median = statistics.median(times["login (baseline)"])
    print(
        f"main pages, {connection.vendor}, {counts[0]} models, {counts[1]} versions, "
        f"{counts[2]} predictions (seeded in {seeded:.0f} s), {args.renders} renders each"
    )
    print(f"  {'page':<18} {'median ms':>9} {'p95 ms':>7} {'median/baseline':>15}")
    for label, values in times.items():
        median = statistics.median(values)
        flag = "" if p95(values) < 100 else "  p95 over 100 ms"
        print(f"  {label:<18} {median:9.1f} {p95(values):7.1f} {median / base_median:14.1f}x{flag}")


if __name__ == "__main__":
    main()
