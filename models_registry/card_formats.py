"""A model card as YAML or Markdown, and the difference between two revisions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

# The order a reader expects; the keys of an MLflow-based card come first.
TOP_LEVEL_ORDER = [
    "model_name",
    "version",
    "run_id",
    "parameters",
    "metrics",
    "artifacts",
    "metadata",
    "model_details",
    "training",
    "evaluation",
    "explainability",
    "approvals",
    "monitoring",
    "limitations",
    "ethical_considerations",
    "schema",
]


def _ordered(card: dict[str, Any]) -> dict[str, Any]:
    def sort_nested(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: sort_nested(value[key]) for key in sorted(value)}
        if isinstance(value, list):
            return [sort_nested(item) for item in value]
        return value

    rank = {key: index for index, key in enumerate(TOP_LEVEL_ORDER)}
    keys = sorted(card, key=lambda key: (rank.get(key, len(rank)), key))
    return {key: sort_nested(card[key]) for key in keys}


def card_to_yaml(card: dict[str, Any]) -> str:
    return yaml.safe_dump(_ordered(card), sort_keys=False, allow_unicode=True, width=100)


def _table(rows: dict[str, Any], headers: tuple[str, str]) -> list[str]:
    if not rows:
        return ["_None._", ""]
    lines = [f"| {headers[0]} | {headers[1]} |", "|---|---|"]
    for key, value in rows.items():
        text = str(value).replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {key} | {text} |")
    return [*lines, ""]


def _joined(values: list[str] | None) -> str:
    return ", ".join(values or []) or "—"


def _text(value: Any) -> str:
    return str(value).strip() if value else "_Not stated._"


def _model_files(card: dict[str, Any], model_format: dict[str, Any]) -> list[str]:
    """The logged model's files with their SHA-256 (what loading verifies) and its format."""
    files = (card.get("artifacts") or {}).get("model_files") or {}
    lines = []
    if model_format:
        safety = "runs code when loaded" if model_format.get("executes_code") else "data only"
        lines += [
            f"Format: {model_format.get('flavor')} / {model_format.get('serialization')} "
            f"({safety}).",
            "",
        ]
    digests = {
        path: f"`{entry.get('sha256')}` ({entry.get('size')} B)" for path, entry in files.items()
    }
    return [*lines, *_table(digests, ("file", "SHA-256"))]


def card_to_markdown(card: dict[str, Any]) -> str:
    details = card.get("model_details", {})
    training = card.get("training", {})
    evaluation = card.get("evaluation", {})
    explain = card.get("explainability", {})
    meta = card.get("metadata", {})
    run = training.get("mlflow_run") or {}
    lines = [
        f"# Model card: {card.get('model_name')} v{card.get('version')}",
        "",
        f"Owner: {details.get('owner')} · risk tier: {details.get('risk_tier')} · "
        f"created {meta.get('created')} · updated {meta.get('updated')}",
        "",
        "## Model details",
        "",
        _text(details.get("description")),
        "",
        f"- **Intended use:** {_text(details.get('intended_use'))}",
        f"- **Out of scope:** {_text(details.get('out_of_scope_uses'))}",
        f"- **Protected attributes:** {_joined(details.get('protected_attributes'))}",
        "",
        "## Training",
        "",
        f"- **Git commit:** `{training.get('git_commit') or '—'}`",
        f"- **MLflow run:** `{card.get('run_id') or '—'}`"
        + (f" ([open]({run['link']}))" if run.get("link") else ""),
        f"- **Model:** {training.get('model', {}).get('uri') or '—'} "
        f"({', '.join(training.get('model', {}).get('flavors') or []) or 'flavor unknown'})",
        "",
        "### Parameters",
        "",
        *_table(card.get("parameters") or {}, ("parameter", "value")),
        "### Model files",
        "",
        *_model_files(card, training.get("model", {}).get("format") or {}),
        "## Evaluation",
        "",
        *_table(card.get("metrics") or {}, ("metric", "value")),
    ]
    for attribute, groups in (evaluation.get("per_group") or {}).items():
        lines += [f"### By {attribute}", ""]
        for group, metrics in groups.items():
            summary = ", ".join(f"{k} {v}" for k, v in metrics.items())
            lines.append(f"- **{group}**: {summary}")
        lines.append("")
    lines += ["## Explainability", ""]
    if explain.get("status") == "available":
        lines.append(
            f"Mean absolute SHAP value per feature ({explain.get('method')}, "
            f"{explain.get('sample_rows')} reference rows):"
        )
        lines.append("")
        lines += _table(explain.get("global_importance") or {}, ("feature", "importance"))
    else:
        lines += [f"_Unavailable: {explain.get('reason') or 'not computed'}._", ""]
    monitoring = card.get("monitoring") or {}
    lines += ["## Monitoring", ""]
    for incident in monitoring.get("open_incidents", []):
        lines.append(
            f"- Open incident #{incident['incident']} ({incident['severity']}): {incident['title']}"
        )
    if not monitoring.get("open_incidents"):
        lines.append(f"_No open incidents ({monitoring.get('resolved_incidents', 0)} resolved)._")
    lines.append("")
    approvals = card.get("approvals") or []
    lines += ["## Approvals", ""]
    if not approvals:
        lines += ["_No decided promotion requests yet._", ""]
    for request in approvals:
        lines.append(
            f"- Request #{request.get('request')} ({request.get('status')}), "
            f"requested by {request.get('requested_by')}"
        )
        for sign_off in request.get("sign_offs", []):
            lines.append(
                f"  - {sign_off.get('signer')} {sign_off.get('decision')}d "
                f"on {sign_off.get('signed_at')}: {sign_off.get('comment') or ''}".rstrip()
            )
    lines += [
        "",
        "## Limitations",
        "",
        _text(card.get("limitations")),
        "",
        "## Ethical considerations",
        "",
        _text(card.get("ethical_considerations")),
        "",
        f"_Generated by {meta.get('generator')}._",
        "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class CardChange:
    path: str
    kind: str  # added | removed | changed
    old: Any = None
    new: Any = None


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key in sorted(value):
            flat.update(_flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: value}


def card_diff(old: dict[str, Any], new: dict[str, Any]) -> list[CardChange]:
    """Changed leaves between two cards, by dotted path (lists compare whole)."""
    before, after = _flatten(old), _flatten(new)
    changes = []
    for path in sorted(set(before) | set(after)):
        if path not in before:
            changes.append(CardChange(path, "added", new=after[path]))
        elif path not in after:
            changes.append(CardChange(path, "removed", old=before[path]))
        elif before[path] != after[path]:
            changes.append(CardChange(path, "changed", old=before[path], new=after[path]))
    return changes
