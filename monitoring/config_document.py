"""The monitoring config document: parse the submitted YAML or JSON, validate it and
normalize it (README, "Monitoring config", shows the shape and the defaults).

`config_normalize` names every problem by its path (`alerts[0].threshold`); the names
here (metric types, measures, directions, threshold ranges) are the one definition the
rule engine reads too.
"""

from __future__ import annotations

import json
import math
from typing import Any

import yaml

from governance.errors import InvalidInput
from monitoring.drift_methods import CATEGORICAL, DRIFT_METHODS, NUMERICAL, P_VALUE

BINARY, REGRESSION = "binary_classification", "regression"
TASKS = (BINARY, REGRESSION)
SEVERITIES = ("info", "warning", "critical")
COMPARISONS = (">=", ">", "<=", "<")
ACTIONS = ("notify", "retrain")

BINARY_MEASURES = ("accuracy", "precision", "recall", "f1", "roc_auc", "log_loss", "positive_rate")
REGRESSION_MEASURES = ("mae", "rmse", "r2")
FAIRNESS_MEASURES = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
)
GROUP_MEASURES = ("selection_rate", "tpr", "fpr")
ESTIMATION_MEASURES = (
    "estimated_accuracy",
    "estimated_roc_auc",
    "realized_accuracy",
    "realized_roc_auc",
)
DRIFT_MEASURES = ("drift_share", "dataset_drift")
# `flags`, `flag_rate`: flags people raised in the window (monitoring/flag_selectors.py).
WINDOW_METRICS = ("error_rate", "p95_latency_ms", "prediction_volume", "flags", "flag_rate")
COUNTS = ("rows", "labelled", "prediction_volume", "flags")

# Metric type of a `metrics:` entry -> (check kind it is computed from, default measure).
METRIC_TYPES: dict[str, tuple[str, str]] = {
    BINARY: ("quality", "positive_rate"),
    REGRESSION: ("quality", "rmse"),
    "fairness": ("fairness", "demographic_parity_difference"),
    "drift": ("drift", "drift_share"),
    "estimated_performance": ("estimation", "estimated_roc_auc"),
}
MEASURES_OF_TYPE = {
    BINARY: BINARY_MEASURES,
    REGRESSION: REGRESSION_MEASURES,
    "fairness": FAIRNESS_MEASURES,
    "drift": DRIFT_MEASURES,
    "estimated_performance": ESTIMATION_MEASURES,
}

HIGHER_IS_WORSE = (
    "drift_share",
    "log_loss",
    "mae",
    "rmse",
    "error_rate",
    "p95_latency_ms",
    "flags",
    "flag_rate",
)
LOWER_IS_WORSE = ("accuracy", "precision", "recall", "f1", "roc_auc", "r2")

TOP_KEYS = ("task", "threshold", "window", "metrics", "drift", "fairness", "alerts")
DEFAULT_DRIFT_SHARE = 0.5
DEFAULT_THRESHOLD = 0.5
DEFAULT_MIN_GROUP_SIZE = 30
DEFAULT_WINDOW_HOURS = 24
MAX_WINDOW_HOURS = 24 * 366
DEFAULT_CLEAR_AFTER = 3


class ConfigErrors(InvalidInput):
    """Every problem of a document, by path: `{"alerts[0].threshold": ["..."]}`."""


# --- parsing ---------------------------------------------------------------------------


def source_load(source: str, source_format: str) -> Any:
    """The document in `source` (YAML with safe_load, or JSON), or a 400 naming the line."""
    if source_format == "json":
        try:
            return json.loads(source)
        except ValueError as exc:
            line = getattr(exc, "lineno", None)
            raise _one("source", f"Not valid JSON (line {line}): {exc}") from exc
    if source_format != "yaml":
        raise _one("source_format", "Must be yaml or json.")
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(source, yaml.SafeLoader)):
            raise _one("source", "YAML aliases (*name) are not accepted; write the value out.")
        return yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise _one("source", f"Not valid YAML{where}: {problem}") from exc


def document_yaml(document: dict) -> str:
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _as_float(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _one(path: str, message: str) -> ConfigErrors:
    return ConfigErrors(f"{path}: {message}", extra={path: [message]})


# --- validation ------------------------------------------------------------------------


class _Checker:
    """Collects errors by path while normalizing one document."""

    def __init__(self, features: dict[str, str] | None, protected: list[str]) -> None:
        self.features = features  # name -> kind (number, integer, string, boolean); None: unknown
        self.protected = protected
        self.errors: dict[str, list[str]] = {}

    def error(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)

    def mapping(self, value: Any, path: str, allowed: tuple[str, ...]) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(path, "Expected a mapping.")
            return {}
        for key in value:
            if key not in allowed:
                self.error(
                    f"{path}.{key}" if path else str(key),
                    f"Unknown key; expected one of {', '.join(allowed)}.",
                )
        return value

    def listing(self, value: Any, path: str) -> list:
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, "Expected a list.")
            return []
        return value

    def text(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            self.error(path, "Expected a name (1 to 200 characters).")
            return None
        return value

    def number(
        self,
        value: Any,
        path: str,
        low: float,
        high: float,
        *,
        open_low: bool = False,
        open_high: bool = False,
        integer: bool = False,
    ) -> float | None:
        ok_type = isinstance(value, int) if integer else isinstance(value, int | float)
        if isinstance(value, bool) or not ok_type or not math.isfinite(_as_float(value)):
            self.error(path, "Expected an integer." if integer else "Expected a finite number.")
            return None
        too_low = value <= low if open_low else value < low
        too_high = value >= high if open_high else value > high
        if too_low or too_high:
            left, right = "(" if open_low else "[", ")" if open_high else "]"
            hi = "inf" if math.isinf(high) else f"{high:g}"
            lo = "-inf" if math.isinf(low) else f"{low:g}"
            self.error(path, f"Out of range: must be in {left}{lo}, {hi}{right}.")
            return None
        return value

    def choice(self, value: Any, path: str, choices: tuple[str, ...], what: str) -> str | None:
        if value not in choices:
            self.error(path, f"Unknown {what} {value!r}; expected one of {', '.join(choices)}.")
            return None
        return value

    def feature(self, value: Any, path: str) -> str | None:
        name = self.text(value, path)
        if name is None:
            return None
        if self.features is None:
            self.error(
                path,
                "The model's features are unknown: no version has a model signature or "
                "reference data yet.",
            )
            return None
        if name not in self.features:
            self.error(path, f"The model has no feature {name!r}.")
            return None
        return name


def config_normalize(
    data: Any, *, features: dict[str, str] | None, protected: list[str]
) -> dict[str, Any]:
    """The normalized document, or ConfigErrors naming every problem by its path."""
    check = _Checker(features, protected)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _one("document", "Expected a mapping of metrics, drift, fairness and alerts.")
    top = check.mapping(data, "", TOP_KEYS)
    metrics = _metrics(check, top.get("metrics"))
    task = _task(check, top, metrics)
    threshold = DEFAULT_THRESHOLD
    if "threshold" in top:
        threshold = (
            check.number(top["threshold"], "threshold", 0, 1, open_low=True, open_high=True)
            or DEFAULT_THRESHOLD
        )
    window = check.mapping(top.get("window"), "window", ("hours",))
    hours = DEFAULT_WINDOW_HOURS
    if "hours" in window:
        hours = int(
            check.number(window["hours"], "window.hours", 1, MAX_WINDOW_HOURS, integer=True)
            or DEFAULT_WINDOW_HOURS
        )
    drift = _drift(check, top.get("drift"))
    fairness = _fairness(check, top.get("fairness"))
    names = {entry["name"]: entry for entry in metrics}
    alerts = [
        _alert(check, rule, f"alerts[{i}]", names, drift)
        for i, rule in enumerate(check.listing(top.get("alerts"), "alerts"))
    ]
    if check.errors:
        listed = "; ".join(
            f"{path or 'document'}: {' '.join(msgs)}" for path, msgs in check.errors.items()
        )
        raise ConfigErrors(f"The monitoring config is not valid. {listed}", extra=check.errors)
    return {
        "task": task,
        "threshold": threshold,
        "window": {"hours": hours},
        "metrics": metrics,
        "drift": drift,
        "fairness": fairness,
        "alerts": alerts,
    }


def _metrics(check: _Checker, value: Any) -> list[dict]:
    entries: list[dict] = []
    seen: set[str] = set()
    for i, raw in enumerate(check.listing(value, "metrics")):
        path = f"metrics[{i}]"
        entry = check.mapping(raw, path, ("name", "type", "measure", "attribute", "feature"))
        if not isinstance(raw, dict):
            continue
        name = check.text(entry.get("name"), f"{path}.name")
        if name is not None and (name in seen or metric_kind(name) is not None):
            what = "is used by another entry" if name in seen else "is a built-in metric name"
            check.error(f"{path}.name", f"{name!r} {what}.")
            name = None
        kind = check.choice(entry.get("type"), f"{path}.type", tuple(METRIC_TYPES), "metric type")
        if name is None or kind is None:
            continue
        seen.add(name)
        measure = entry.get("measure", METRIC_TYPES[kind][1])
        measure = check.choice(measure, f"{path}.measure", MEASURES_OF_TYPE[kind], "measure")
        normalized = {"name": name, "type": kind, "measure": measure}
        if "attribute" in entry:
            if kind != "fairness":
                check.error(f"{path}.attribute", "Only a fairness metric names an attribute.")
            elif check.text(entry["attribute"], f"{path}.attribute"):
                normalized["attribute"] = entry["attribute"]
        if "feature" in entry:
            if kind != "drift":
                check.error(f"{path}.feature", "Only a drift metric names a feature.")
            else:
                normalized["feature"] = check.feature(entry["feature"], f"{path}.feature")
        entries.append(normalized)
    return entries


def _task(check: _Checker, top: dict, metrics: list[dict]) -> str:
    declared = {entry["type"] for entry in metrics if entry["type"] in TASKS}
    if len(declared) > 1:
        check.error("metrics", "Metrics of both binary_classification and regression.")
    if "task" in top:
        task = check.choice(top["task"], "task", TASKS, "task")
        if task and declared and declared != {task}:
            check.error("task", f"The metrics are of type {declared.pop()}, not {task}.")
        return task or BINARY
    return declared.pop() if len(declared) == 1 else BINARY


def _drift(check: _Checker, value: Any) -> dict[str, Any]:
    drift = check.mapping(value, "drift", ("features", "drift_share"))
    share = DEFAULT_DRIFT_SHARE
    if "drift_share" in drift:
        share = check.number(drift["drift_share"], "drift.drift_share", 0, 1, open_low=True)
    features: list[str] | None = None
    overrides: dict[str, dict[str, Any]] = {}
    if drift.get("features") is not None:
        features = []
        for i, raw in enumerate(check.listing(drift["features"], "drift.features")):
            path = f"drift.features[{i}]"
            if isinstance(raw, dict):
                spec = check.mapping(raw, path, ("name", "method", "threshold"))
                name = check.feature(spec.get("name"), f"{path}.name")
                override = _override(check, spec, path, name)
                if name and override:
                    overrides[name] = override
            else:
                name = check.feature(raw, path)
            if name in features:
                check.error(path, f"{name!r} is listed twice.")
            elif name:
                features.append(name)
    return {
        "features": features,
        "drift_share": share or DEFAULT_DRIFT_SHARE,
        "overrides": overrides,
    }


def _override(check: _Checker, spec: dict, path: str, name: str | None) -> dict[str, Any]:
    method_name = spec.get("method")
    method = None
    if method_name is not None:
        if not isinstance(method_name, str) or method_name not in DRIFT_METHODS:
            check.error(
                f"{path}.method",
                f"Unknown drift method {method_name!r}; expected one "
                f"of {', '.join(DRIFT_METHODS)}.",
            )
            return {}
        method = DRIFT_METHODS[method_name]
        kind = (check.features or {}).get(name or "")
        column = {"number": NUMERICAL, "string": CATEGORICAL, "boolean": CATEGORICAL}.get(kind)
        if column and column not in method.column_types:
            check.error(
                f"{path}.method",
                f"{method_name} does not apply to the {kind} "
                f"feature {name!r} ({', '.join(sorted(method.column_types))} only).",
            )
    threshold = None
    if "threshold" in spec:
        at = f"{path}.threshold"
        if method is not None and method.kind == P_VALUE:
            threshold = check.number(spec["threshold"], at, 0, 1, open_low=True, open_high=True)
        else:
            threshold = check.number(spec["threshold"], at, 0, math.inf, open_low=True)
    if method is None and threshold is None:
        return {}
    return {"method": method_name, "threshold": threshold}


def _fairness(check: _Checker, value: Any) -> dict[str, Any]:
    fairness = check.mapping(value, "fairness", ("attributes", "min_group_size"))
    attributes: list[str] | None = None
    if fairness.get("attributes") is not None:
        attributes = []
        for i, raw in enumerate(check.listing(fairness["attributes"], "fairness.attributes")):
            name = check.text(raw, f"fairness.attributes[{i}]")
            if name and name not in attributes:
                attributes.append(name)
    size = DEFAULT_MIN_GROUP_SIZE
    if "min_group_size" in fairness:
        size = int(
            check.number(
                fairness["min_group_size"], "fairness.min_group_size", 1, 10_000_000, integer=True
            )
            or DEFAULT_MIN_GROUP_SIZE
        )
    return {"attributes": attributes, "min_group_size": size}


ALERT_KEYS = (
    "metric",
    "threshold",
    "severity",
    "comparison",
    "min_samples",
    "consecutive",
    "clear_after",
    "action",
)


def _alert(
    check: _Checker, raw: Any, path: str, aliases: dict[str, dict], drift: dict[str, Any]
) -> dict[str, Any]:
    rule = check.mapping(raw, path, ALERT_KEYS)
    metric = check.text(rule.get("metric"), f"{path}.metric")
    target = None
    if metric is not None:
        target = alias_target(aliases[metric]) if metric in aliases else metric
        if metric_kind(target) is None:
            check.error(
                f"{path}.metric",
                f"Unknown metric {metric!r}: neither a built-in "
                "metric nor a name of the config's metrics.",
            )
            target = None
        elif target.startswith("drift.") and target.split(".")[1] and check.features is not None:
            feature = target.split(".")[1]
            if feature not in check.features:
                check.error(f"{path}.metric", f"The model has no feature {feature!r}.")
    p_value = bool(target and _drift_p_value(target, drift))
    if "threshold" not in rule:
        check.error(f"{path}.threshold", "Required.")
        threshold = None
    else:
        low, high, open_low, open_high = _threshold_range(target, p_value)
        threshold = check.number(
            rule["threshold"],
            f"{path}.threshold",
            low,
            high,
            open_low=open_low,
            open_high=open_high,
        )
    severity = check.choice(rule.get("severity"), f"{path}.severity", SEVERITIES, "severity")
    comparison = rule.get("comparison", _default_comparison(target, p_value))
    check.choice(comparison, f"{path}.comparison", COMPARISONS, "comparison")
    counts = {}
    for key, low, default in (
        ("min_samples", 0, 0),
        ("consecutive", 1, 1),
        ("clear_after", 1, DEFAULT_CLEAR_AFTER),
    ):
        counts[key] = default
        if key in rule:
            counts[key] = (
                check.number(rule[key], f"{path}.{key}", low, 10_000_000, integer=True) or default
            )
    action = check.choice(rule.get("action", "notify"), f"{path}.action", ACTIONS, "action")
    return {
        "metric": metric,
        "threshold": threshold,
        "severity": severity,
        "comparison": comparison,
        **counts,
        "action": action,
    }


def alias_target(entry: dict) -> str:
    """The built-in metric an alias stands for (its worst attribute: the `measure.` family)."""
    if entry["type"] == "drift" and entry.get("feature"):
        return f"drift.{entry['feature']}"
    if entry["type"] == "fairness":
        return f"{entry['measure']}.{entry.get('attribute') or '*'}"
    return entry["measure"]


def metric_kind(name: str) -> str | None:
    """The check kind (or "window") that produces the built-in metric `name`, else None."""
    if name in DRIFT_MEASURES or (name.startswith("drift.") and len(name) > 6):
        return "drift"
    if name in BINARY_MEASURES or name in REGRESSION_MEASURES or name == "labelled":
        return "quality"
    if name in ESTIMATION_MEASURES:
        return "estimation"
    if name in WINDOW_METRICS:
        return "window"
    if name == "rows":
        return "any"
    head, _, rest = name.partition(".")
    if head in FAIRNESS_MEASURES and rest:
        return "fairness"
    if head in GROUP_MEASURES and rest.count(".") >= 1:
        return "fairness"
    return None


def _drift_p_value(target: str, drift: dict[str, Any]) -> bool:
    parts = target.split(".")
    if parts[0] != "drift" or len(parts) != 2:
        return False
    method = (drift["overrides"].get(parts[1]) or {}).get("method")
    return bool(method and DRIFT_METHODS[method].kind == P_VALUE)


def metric_direction(target: str | None, *, p_value: bool = False) -> str:
    """ "lower_is_worse", "higher_is_worse" or "unknown" for a built-in metric name
    (`p_value`: a drift.<feature> whose method gives a p-value)."""
    if not target:
        return "unknown"
    head = target.split(".")[0]
    if (
        p_value
        or head in LOWER_IS_WORSE
        or head.endswith("_ratio")
        or head.startswith("estimated_")
    ):
        return "lower_is_worse"
    if head in HIGHER_IS_WORSE or head.endswith("_difference") or target.startswith("drift."):
        return "higher_is_worse"
    return "unknown"


def _default_comparison(target: str | None, p_value: bool) -> str:
    """Lower is worse: fires below the threshold; otherwise when it reaches it (contract)."""
    return "<" if metric_direction(target, p_value=p_value) == "lower_is_worse" else ">="


def _threshold_range(target: str | None, p_value: bool) -> tuple[float, float, bool, bool]:
    """(low, high, low open, high open) of a rule's threshold on `target`."""
    if target is None:
        return -math.inf, math.inf, False, False
    head = target.split(".")[0]
    if p_value:
        return 0, 1, True, True
    if head == "drift" and "." in target and not target.endswith(".drifted"):
        return 0, math.inf, True, False
    if head == "r2":
        return -math.inf, 1, False, False
    if head in ("mae", "rmse", "log_loss", "p95_latency_ms") or head in COUNTS:
        return 0, math.inf, False, False
    return 0, 1, False, False
