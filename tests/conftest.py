"""Shared fixtures: one user per role (plus an outsider), API clients, a model with a version.

Tests run on SQLite by default and on PostgreSQL when DATABASE_URL is set (CI). Tasks run
in-process unless a test starts a real worker (tests/models_registry/test_celery_worker.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.backends.signals import connection_created
from django.test import TestCase, override_settings
from rest_framework.test import APIClient

from governance.audit_context import Origin, acting_as
from governance.services import user_set_roles, user_token
from models_registry import services as registry
from models_registry.models import ModelVersion, RegisteredModel


@pytest.fixture(autouse=True)
def _tasks_in_process(settings: Any) -> None:
    """Unit tests run tasks in-process; the Celery worker test switches this off itself."""
    from governance.celery import app

    app.conf.task_always_eager = True
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # No background loading threads: their connections would see none of a test's data.
    settings.SERVING_WARM_UP = False
    # Test databases reuse primary keys: no version's feature kinds outlive its test.
    from models_registry.inference_columns import version_kinds_forget

    version_kinds_forget()


def make_user(username: str, *roles: str, password: str = "pw-for-tests-1") -> Any:
    if not roles:
        return get_user_model().objects.create_user(username=username, password=password)
    user, _ = user_set_roles(username=username, roles=list(roles), password=password)
    return user


def users_make() -> dict[str, Any]:
    """Two people per signing role, so rules that need distinct signers can be exercised."""
    return {
        "ds": make_user("dana", "data_scientist"),
        "ds2": make_user("dave", "data_scientist"),
        "ci": make_user("ci-bot", "ci"),
        "validator": make_user("vera", "validator"),
        "validator2": make_user("vince", "validator"),
        "board": make_user("bella", "board"),
        "board2": make_user("bruno", "board"),
        "compliance": make_user("carla", "compliance"),
        "compliance2": make_user("conrad", "compliance"),
        "outsider": make_user("otto"),
    }


@pytest.fixture
def users(db: Any) -> dict[str, Any]:
    """The people of `users_make`, made for each test."""
    return users_make()


class CommittingAPIClient(APIClient):
    """Runs the request's on-commit callbacks (queued tasks) when the request ends.

    Tests run inside a transaction that never commits, so without this the tasks a request
    queues (card generation, analysis) would never run. In production they run when the
    service's transaction commits, a moment before the response is written.
    """

    def request(self, **kwargs: Any) -> Any:
        with TestCase.captureOnCommitCallbacks(execute=True):
            return super().request(**kwargs)


@pytest.fixture
def api(users: dict[str, Any]) -> Callable[[str | None], APIClient]:
    """api("validator") -> a client authenticated with that user's token; api(None) anonymous."""

    def client_for(who: str | None) -> APIClient:
        client = CommittingAPIClient()
        if who is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {user_token(user=users[who])}")
        return client

    return client_for


def model_maker_for(users: dict[str, Any]) -> Callable[..., RegisteredModel]:
    """What `make_model` gives a test, for the people `users` (also outside a test)."""

    def create(name: str = "churn-classifier", risk_tier: str = "low", **kwargs: Any):
        with acting_as(origin=Origin.SYSTEM):
            return registry.model_create(
                actor=kwargs.pop("actor", users["ds"]), name=name, risk_tier=risk_tier, **kwargs
            )

    return create


def version_maker_for(users: dict[str, Any]) -> Callable[..., ModelVersion]:
    """What `make_version` gives a test, for the people `users` (also outside a test)."""

    def create(model: RegisteredModel, **kwargs: Any) -> ModelVersion:
        kwargs.setdefault("metrics", {"auc": 0.91})
        with acting_as(origin=Origin.SYSTEM), TestCase.captureOnCommitCallbacks(execute=True):
            version = registry.version_register(
                actor=kwargs.pop("actor", users["ds"]), model=model, **kwargs
            )
        version.refresh_from_db()
        return version

    return create


@pytest.fixture
def make_model(users: dict[str, Any]) -> Callable[..., RegisteredModel]:
    return model_maker_for(users)


@pytest.fixture
def make_version(users: dict[str, Any]) -> Callable[..., ModelVersion]:
    return version_maker_for(users)


T = TypeVar("T")


def shared_world(django_db_blocker: Any, build: Callable[[], T]) -> Iterator[T]:
    """For a class-scoped fixture: `build()` once in a transaction around the class's tests.

    Each test's own transaction is a savepoint inside it and rolls back to it, so every test
    starts from the same world (what Django's `setUpTestData` does); the whole is rolled back
    after the last one, so no other test sees it. Tasks run in-process while it is built, as
    in every test (`_tasks_in_process`).
    """
    from governance.celery import app

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer._from_testcase = True  # a durable block in a test stays allowed, as in TestCase
        outer.__enter__()
        eager = app.conf.task_always_eager
        app.conf.task_always_eager = True
        try:
            with override_settings(CELERY_TASK_ALWAYS_EAGER=True, SERVING_WARM_UP=False):
                world = build()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
        finally:
            app.conf.task_always_eager = eager
    try:
        yield world
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def assert_json_error(response: Any, status: int) -> dict[str, Any]:
    """The contract's error shape: the status, JSON, and a human-readable `detail`."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def database_url(db: dict[str, Any]) -> str:
    """The URL of the database this test session uses (the test database, once set up),
    for processes the tests start (a Celery worker, gunicorn)."""
    from urllib.parse import quote

    user = quote(db.get("USER") or "", safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(db['NAME'], safe='')}"


def is_postgres() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def services_required() -> bool:
    """CI sets REQUIRE_SERVICES=True: then a missing PostgreSQL, Redis or Chromium fails."""
    return os.getenv("REQUIRE_SERVICES", "") == "True"


def skip_unless(condition: bool, reason: str) -> None:
    """Skip with `reason` on a machine that lacks a service; fail instead where CI needs it."""
    if condition:
        return
    if services_required():
        pytest.fail(f"REQUIRE_SERVICES=True but: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real MLflow tracking store (SQLite + local artifacts) for the whole test session."""
    root = tmp_path_factory.mktemp("mlflow")
    previous = settings.MLFLOW_TRACKING_URI, settings.MLFLOW_ARTIFACT_ROOT
    settings.MLFLOW_TRACKING_URI = f"sqlite:///{root / 'mlflow.db'}"
    settings.MLFLOW_ARTIFACT_ROOT = (root / "artifacts").as_uri()
    yield settings.MLFLOW_TRACKING_URI
    settings.MLFLOW_TRACKING_URI, settings.MLFLOW_ARTIFACT_ROOT = previous


@pytest.fixture(scope="session")
def churn_run(mlflow_store: str) -> dict[str, Any]:
    """One real scikit-learn churn classifier, trained and logged once per session."""
    from models_registry import demo_model, mlflow_adapter

    data = demo_model.customers(rows=1500, seed=3)
    trained = demo_model.train_churn_model(data, n_estimators=40, max_depth=3)
    run_id = mlflow_adapter.run_log_sklearn(
        model=trained.model,
        experiment="tests",
        params=trained.params,
        metrics=trained.metrics,
        metric_history={"train_loss": [0.61, 0.52, 0.47]},
        input_example=trained.train[demo_model.FEATURES].head(5),
        tags={"mlflow.source.git.commit": "0123abcd" * 5, "team": "retention"},
        artifacts={"reports/evaluation.txt": "hold-out evaluation"},
    )
    return {"run_id": run_id, "trained": trained}


def pytest_configure(config: pytest.Config) -> None:
    # Hashing ten passwords per test with PBKDF2 costs seconds and proves nothing here.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Tests that must have the machine to themselves: real Celery workers (under pytest-xdist
# two test processes would share one Redis broker and take each other's tasks), the
# browser, and the timing tests of serving processes (a rollback served by every worker
# within a second loses the CPU race to a second test process; seen 2026-12-02).
SERIAL_MARKERS = ("celery_worker", "browser")
SERIAL_MODULES = (
    "tests/models_registry/test_serving_processes.py",
    "tests/models_registry/test_rollback_races.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark what `make test` runs alone, after the parallel phase: `-m serial`."""
    for item in items:
        path = item.path.as_posix()
        if any(item.get_closest_marker(name) for name in SERIAL_MARKERS) or any(
            path.endswith(module) for module in SERIAL_MODULES
        ):
            item.add_marker(pytest.mark.serial)


def _audit_tables_open_for_tests(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Tests tamper with the record by hand and flush tables between transactional tests,
    both refused by the audit tables' triggers: open them for the session. The trigger tests
    close them again (tests/governance/test_audit_triggers.py)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET governance.retention = 'on'")


connection_created.connect(_audit_tables_open_for_tests)
