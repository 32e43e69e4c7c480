"""The monitoring config: PUT YAML or JSON, validated by path, kept with history, edited in
the admin by compliance officers; the defaults when a model has none."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from governance.models import AuditEvent
from models_registry.models import ModelVersion
from monitoring.config import monitoring_settings
from monitoring.models import MonitoringConfig
from monitoring.services.monitoring_config import document_hash
from tests.conftest import assert_json_error

URL = "/api/v1/models/churn-classifier/monitoring-config/"

CONTRACT_YAML = """\
metrics:
  - name: churn_rate
    type: binary_classification
  - name: demographic_fairness
    type: fairness
drift:
  features: [age, income, gender]
alerts:
  - metric: churn_rate
    threshold: 0.05
    severity: warning
"""
CONTRACT_JSON = {
    "metrics": [
        {"name": "churn_rate", "type": "binary_classification"},
        {"name": "demographic_fairness", "type": "fairness"},
    ],
    "drift": {"features": ["age", "income", "gender"]},
    "alerts": [{"metric": "churn_rate", "threshold": 0.05, "severity": "warning"}],
}
SIGNATURE = [
    {"name": "age", "type": "long"},
    {"name": "income", "type": "double"},
    {"name": "gender", "type": "string"},
]


@pytest.fixture
def model(make_model: Any, make_version: Any) -> Any:
    model = make_model(protected_attributes=["gender"])
    version = make_version(model)
    ModelVersion.objects.filter(pk=version.pk).update(
        run_facts={"logged_model": {"signature": {"inputs": SIGNATURE}}}
    )
    return model


def put_yaml(api: Any, text: str, who: str = "ds") -> Any:
    return api(who).put(URL, text.encode(), content_type="application/yaml")


def put_json(api: Any, body: Any, who: str = "ds") -> Any:
    return api(who).put(URL, json.dumps(body), content_type="application/json")


def errors_of(response: Any) -> dict[str, Any]:
    body = assert_json_error(response, 400)
    return {key: value for key, value in body.items() if key != "detail"}


def test_the_contracts_yaml_is_stored_normalized_and_returned(api, users, model):
    response = put_yaml(api, CONTRACT_YAML)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["configured"] is True
    assert body["source"] == CONTRACT_YAML
    assert body["source_format"] == "yaml"
    assert body["document"] == {
        "task": "binary_classification",
        "threshold": 0.5,
        "window": {"hours": 24},
        "metrics": [
            {"name": "churn_rate", "type": "binary_classification", "measure": "positive_rate"},
            {
                "name": "demographic_fairness",
                "type": "fairness",
                "measure": "demographic_parity_difference",
            },
        ],
        "drift": {"features": ["age", "income", "gender"], "drift_share": 0.5, "overrides": {}},
        "fairness": {"attributes": None, "min_group_size": 30},
        "alerts": [
            {
                "metric": "churn_rate",
                "threshold": 0.05,
                "severity": "warning",
                "comparison": ">=",
                "min_samples": 0,
                "consecutive": 1,
                "clear_after": 3,
                "action": "notify",
            }
        ],
    }
    got = api("validator").get(URL)
    assert got.status_code == 200
    assert got.json()["document"] == body["document"]
    as_yaml = api("validator").get(URL + "?format=yaml")
    assert as_yaml["Content-Type"] == "application/yaml"
    assert as_yaml.content.decode() == CONTRACT_YAML


def test_the_contracts_json_gives_the_same_document(api, model):
    from_yaml = put_yaml(api, CONTRACT_YAML).json()["document"]

    response = put_json(api, CONTRACT_JSON)

    assert response.status_code == 200, response.content
    assert response.json()["document"] == from_yaml
    assert response.json()["source_format"] == "json"
    # JSON source: ?format=yaml renders the document.
    assert "churn_rate" in api("ds").get(URL + "?format=yaml").content.decode()


def test_settings_and_aliases_follow_the_document(api, model):
    put_json(
        api,
        {
            **CONTRACT_JSON,
            "threshold": 0.3,
            "window": {"hours": 6},
            "drift": {
                "features": ["age", {"name": "income", "method": "psi", "threshold": 0.2}],
                "drift_share": 0.3,
            },
            "metrics": [
                *CONTRACT_JSON["metrics"],
                {"name": "income_drift", "type": "drift", "feature": "income"},
                {"name": "auc", "type": "estimated_performance"},
            ],
        },
    )

    settings = monitoring_settings(model=model)

    assert settings.task == "binary_classification"
    assert settings.threshold == 0.3
    assert settings.window_hours == 6
    assert settings.drift_features == ["age", "income"]
    assert settings.drift_overrides == {"income": ("psi", 0.2)}
    assert settings.drift_share == 0.3
    assert settings.fairness_attributes == ["gender"]
    assert settings.aliases("quality", {"positive_rate": 0.07, "accuracy": 0.9}) == {
        "churn_rate": 0.07
    }
    assert settings.aliases(
        "fairness",
        {"demographic_parity_difference.gender": 0.12, "demographic_parity_difference.x": 0.5},
    ) == {"demographic_fairness": 0.12}
    assert settings.aliases("drift", {"drift_share": 0.1, "drift.income": 0.4}) == {
        "income_drift": 0.4
    }
    assert settings.aliases("estimation", {"estimated_roc_auc": 0.8}) == {"auc": 0.8}


def test_a_model_without_a_config_gets_the_defaults(api, model):
    response = api("validator").get(URL)

    assert response.status_code == 200
    assert response.json()["configured"] is False
    assert response.json()["document"]["drift"] == {
        "features": None,
        "drift_share": 0.5,
        "overrides": {},
    }
    settings = monitoring_settings(model=model)
    assert settings.drift_features is None
    assert settings.fairness_attributes == ["gender"]
    assert settings.min_group_size == 30
    assert settings.window_hours == 24
    assert settings.alerts == []


@pytest.mark.parametrize(
    ("document", "path", "words"),
    [
        (
            {"metrics": [{"name": "a", "type": "nonsense"}]},
            "metrics[0].type",
            "Unknown metric type",
        ),
        (
            {"metrics": [{"name": "a", "type": "fairness", "colour": 1}]},
            "metrics[0].colour",
            "Unknown key",
        ),
        (
            {"metrics": [{"name": "accuracy", "type": "binary_classification"}]},
            "metrics[0].name",
            "built-in",
        ),
        (
            {"metrics": [{"name": "a", "type": "regression", "measure": "f1"}]},
            "metrics[0].measure",
            "Unknown measure",
        ),
        (
            {"drift": {"features": ["age", "income", "height"]}},
            "drift.features[2]",
            "no feature 'height'",
        ),
        (
            {"drift": {"features": [{"name": "age", "method": "magic"}]}},
            "drift.features[0].method",
            "Unknown drift method",
        ),
        (
            {"drift": {"features": [{"name": "gender", "method": "ks"}]}},
            "drift.features[0].method",
            "does not apply",
        ),
        (
            {"drift": {"features": [{"name": "income", "method": "chisquare"}]}},
            "drift.features[0].method",
            "does not apply",
        ),
        (
            {"drift": {"features": [{"name": "age", "method": "ks", "threshold": 1.5}]}},
            "drift.features[0].threshold",
            "Out of range",
        ),
        (
            {"drift": {"features": [{"name": "age", "method": "psi", "threshold": 0}]}},
            "drift.features[0].threshold",
            "Out of range",
        ),
        ({"drift": {"drift_share": 1.2}}, "drift.drift_share", "Out of range"),
        ({"drift": {"features": ["age", "age"]}}, "drift.features[1]", "twice"),
        ({"threshold": 1}, "threshold", "Out of range"),
        ({"window": {"hours": 0}}, "window.hours", "Out of range"),
        ({"fairness": {"min_group_size": -1}}, "fairness.min_group_size", "Out of range"),
        ({"colour": "red"}, "colour", "Unknown key"),
        (
            {"alerts": [{"metric": "drift_share", "threshold": 2, "severity": "warning"}]},
            "alerts[0].threshold",
            "Out of range",
        ),
        (
            {"alerts": [{"metric": "rmse", "threshold": -1, "severity": "warning"}]},
            "alerts[0].threshold",
            "Out of range",
        ),
        (
            {"alerts": [{"metric": "nothing", "threshold": 0.1, "severity": "warning"}]},
            "alerts[0].metric",
            "Unknown metric",
        ),
        (
            {"alerts": [{"metric": "drift.height", "threshold": 0.1, "severity": "warning"}]},
            "alerts[0].metric",
            "no feature",
        ),
        (
            {"alerts": [{"metric": "f1", "threshold": 0.1, "severity": "dire"}]},
            "alerts[0].severity",
            "Unknown severity",
        ),
        ({"alerts": [{"metric": "f1", "severity": "info"}]}, "alerts[0].threshold", "Required"),
        (
            {"alerts": [{"metric": "f1", "threshold": "x", "severity": "info"}]},
            "alerts[0].threshold",
            "finite number",
        ),
        (
            {
                "alerts": [
                    {"metric": "f1", "threshold": 0.5, "severity": "info", "comparison": "=="}
                ]
            },
            "alerts[0].comparison",
            "Unknown comparison",
        ),
        (
            {"alerts": [{"metric": "f1", "threshold": 0.5, "severity": "info", "action": "panic"}]},
            "alerts[0].action",
            "Unknown action",
        ),
        (
            {"alerts": [{"metric": "f1", "threshold": 0.5, "severity": "info", "consecutive": 0}]},
            "alerts[0].consecutive",
            "Out of range",
        ),
        (
            {"task": "regression", "metrics": [{"name": "a", "type": "binary_classification"}]},
            "task",
            "not regression",
        ),
    ],
)
def test_a_bad_document_is_refused_naming_the_path(api, model, document, path, words):
    response = put_json(api, document)

    errors = errors_of(response)
    assert path in errors, errors
    assert words in " ".join(errors[path])
    assert words in response.json()["detail"]
    assert not MonitoringConfig.objects.exists()


def test_features_are_refused_when_no_version_declares_any(api, make_model, make_version):
    make_version(make_model())

    errors = errors_of(put_json(api, {"drift": {"features": ["age"]}}))

    assert "features are unknown" in errors["drift.features[0]"][0]


def test_bad_yaml_is_a_400_naming_the_line(api, model):
    response = put_yaml(api, "metrics:\n  - name: a\n    type: [unclosed\n")

    body = assert_json_error(response, 400)
    assert "line" in body["detail"]
    assert not MonitoringConfig.objects.exists()


def test_yaml_aliases_and_unsafe_tags_are_refused(api, model):
    assert_json_error(put_yaml(api, "a: &x [1]\nb: *x\n"), 400)
    assert_json_error(put_yaml(api, "metrics: !!python/object/apply:os.system ['true']\n"), 400)
    assert not MonitoringConfig.objects.exists()


def test_a_document_that_is_not_a_mapping_is_refused(api, model):
    assert "document" in errors_of(put_json(api, [1, 2]))
    assert "document" in errors_of(put_yaml(api, "just text\n"))


@pytest.mark.parametrize("role", ["validator", "board", "outsider"])
def test_roles_without_the_capability_get_403(api, model, role):
    assert_json_error(put_yaml(api, CONTRACT_YAML, who=role), 403)
    assert not MonitoringConfig.objects.exists()


def test_anonymous_callers_get_401(api, model):
    assert_json_error(put_yaml(api, CONTRACT_YAML, who=None), 401)
    assert_json_error(api(None).get(URL), 401)


def test_an_unknown_model_is_404(api, model):
    response = api("ds").put(
        "/api/v1/models/nope/monitoring-config/", CONTRACT_YAML, content_type="application/yaml"
    )
    assert_json_error(response, 404)


def test_each_change_is_history_and_audit_and_an_unchanged_put_is_not(api, users, model):
    put_yaml(api, CONTRACT_YAML)
    put_yaml(api, CONTRACT_YAML)
    changed = CONTRACT_YAML.replace("0.05", "0.08")
    put_yaml(api, changed, who="compliance")

    config = MonitoringConfig.objects.get(model=model)
    assert config.history.count() == 2
    assert config.updated_by == users["compliance"]
    assert config.document["alerts"][0]["threshold"] == 0.08
    events = list(AuditEvent.objects.filter(action="monitoring_config.changed").order_by("id"))
    assert len(events) == 2
    first, second = (event.data for event in events)
    assert first["previous_sha256"] is None
    assert set(first["changed"]) == {
        "task",
        "threshold",
        "window",
        "metrics",
        "drift",
        "fairness",
        "alerts",
    }
    assert second["changed"] == ["alerts"]
    assert second["previous_sha256"] == first["sha256"]
    assert second["sha256"] == document_hash(config.document)
    assert events[1].actor == users["compliance"]


def admin_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_compliance_edits_the_config_in_the_admin(users, model):
    client = admin_client(users["compliance"])

    response = client.post(
        reverse("admin:monitoring_monitoringconfig_add"),
        {"model": model.pk, "source_format": "yaml", "source": CONTRACT_YAML},
    )

    assert response.status_code == 302, response.content
    config = MonitoringConfig.objects.get(model=model)
    assert config.document["alerts"][0]["metric"] == "churn_rate"
    assert config.history.get().history_origin == "admin"
    change = reverse("admin:monitoring_monitoringconfig_change", args=[config.pk])
    response = client.post(
        change, {"source_format": "yaml", "source": CONTRACT_YAML.replace("age, ", "height, ")}
    )
    assert response.status_code == 200
    assert "drift.features[0]" in str(response.context["adminform"].form.errors["source"])
    config.refresh_from_db()
    assert config.document["drift"]["features"] == ["age", "income", "gender"]
    history = reverse("admin:monitoring_monitoringconfig_history", args=[config.pk])
    assert client.get(history).status_code == 200


@pytest.mark.parametrize("role", ["ds", "validator", "board"])
def test_other_roles_cannot_edit_it_in_the_admin(users, model, role):
    client = admin_client(users[role])

    response = client.post(
        reverse("admin:monitoring_monitoringconfig_add"),
        {"model": model.pk, "source_format": "yaml", "source": CONTRACT_YAML},
    )

    assert response.status_code in (302, 403)
    assert not MonitoringConfig.objects.exists()


def test_numbers_beyond_a_float_and_nul_characters_are_refused_in_the_admin(users, model):
    client = admin_client(users["compliance"])
    huge = "alerts:\n  - {metric: f1, threshold: 1" + "0" * 400 + ", severity: info}\n"

    for source in (huge, "metrics: []\x00\n"):
        response = client.post(
            reverse("admin:monitoring_monitoringconfig_add"),
            {"model": model.pk, "source_format": "yaml", "source": source},
        )
        assert response.status_code == 200
        assert response.context["adminform"].form.errors["source"]
    assert not MonitoringConfig.objects.exists()
