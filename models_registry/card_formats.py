"""A model card as YAML or Markdown, and the difference between two revisions."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import yaml

# The order a reader expects; the keys of an MLflow-based card come first.
# How a sign-off's decision reads in a sentence ("vera approved on ...").
SIGN_OFF_VERBS = {"approve": "approved", "reject": "rejected"}

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


# Markup Markdown sees anywhere in a line (Python-Markdown, CommonMark and GitHub agree on
# these backslash escapes); < > & become HTML entities, so no raw HTML gets through.
_INLINE_MARKUP = re.compile(r"([\\`*_\[\]!|])")
# Markup only at the start of a line: headings, list items, setext underlines, fences.
_MARKER_AT_START = re.compile(r"^([#+-])")
_NUMBERED_AT_START = re.compile(r"^(\d+)([.)])")
# Setext underlines and fences begin with characters that have no backslash escape everywhere.
_ENTITY_AT_START = {"=": "&#61;", "~": "&#126;"}


def md_inline(value: Any) -> str:
    """Text that is not ours, for inside one line of the card: shown as written, no markup.

    Newlines collapse to spaces, so a value never starts a line (and so never a heading).
    """
    text = " ".join(str(value).split())
    return _INLINE_MARKUP.sub(r"\\\1", html.escape(text, quote=False))


def md_block(value: Any) -> str:
    """Text that is not ours, as lines of its own: no line can open a heading, list or block."""
    if not str(value or "").strip():
        return "_Not stated._"
    lines = []
    for raw in str(value).strip().splitlines():
        line = md_inline(raw)  # also drops leading spaces: no indented code block
        line = _NUMBERED_AT_START.sub(r"\1\\\2", _MARKER_AT_START.sub(r"\\\1", line))
        if line[:1] in _ENTITY_AT_START:
            line = _ENTITY_AT_START[line[0]] + line[1:]
        lines.append(line)
    return "\n".join(lines)


def _code(value: Any) -> str:
    """An id (commit, run id) as code when it is one, else as plain text."""
    text = str(value or "—")
    return f"`{text}`" if re.fullmatch(r"[\w.:/@+-]+", text) else md_inline(text)


def _url(link: str) -> str:
    """A link target that cannot close its <...> brackets or the line."""
    return quote(str(link), safe=":/?#[]@!$&'()*+,;=%~-._")


def _table(rows: dict[str, Any], headers: tuple[str, str]) -> list[str]:
    if not rows:
        return ["_None._", ""]
    lines = [f"| {headers[0]} | {headers[1]} |", "|---|---|"]
    for key, value in rows.items():
        lines.append(f"| {md_inline(key)} | {md_inline(value)} |")
    return [*lines, ""]


def _joined(values: list[str] | None) -> str:
    return ", ".join(md_inline(value) for value in values or []) or "—"


def _stated(value: Any) -> str:
    return md_inline(value) if value else "_Not stated._"


def _model_files(card: dict[str, Any], model_format: dict[str, Any]) -> list[str]:
    """The logged model's files with their SHA-256 (what loading verifies) and its format."""
    files = (card.get("artifacts") or {}).get("model_files") or {}
    lines = []
    if model_format:
        safety = "runs code when loaded" if model_format.get("executes_code") else "data only"
        lines += [
            f"Format: {md_inline(model_format.get('flavor'))} / "
            f"{md_inline(model_format.get('serialization'))} ({safety}).",
            "",
        ]
    digests = {
        path: f"`{entry.get('sha256')}` ({entry.get('size')} B)" for path, entry in files.items()
    }
    return [*lines, *_table(digests, ("file", "SHA-256"))]


def card_to_markdown(card: dict[str, Any]) -> str:
    """The card for people to read. Every value is escaped (md_inline, md_block): only the
    headings and layout written here are Markdown, whatever the card's text holds."""
    details = card.get("model_details", {})
    training = card.get("training", {})
    evaluation = card.get("evaluation", {})
    explain = card.get("explainability", {})
    meta = card.get("metadata", {})
    run = training.get("mlflow_run") or {}
    model = training.get("model", {})
    esc = md_inline
    lines = [
        f"# Model card: {esc(card.get('model_name'))} v{esc(card.get('version'))}",
        "",
        f"Owner: {esc(details.get('owner'))} · risk tier: {esc(details.get('risk_tier'))} · "
        f"created {esc(meta.get('created'))} · updated {esc(meta.get('updated'))}",
        "",
        "## Model details",
        "",
        md_block(details.get("description")),
        "",
        f"- **Intended use:** {_stated(details.get('intended_use'))}",
        f"- **Out of scope:** {_stated(details.get('out_of_scope_uses'))}",
        f"- **Protected attributes:** {_joined(details.get('protected_attributes'))}",
        "",
        "## Training",
        "",
        f"- **Git commit:** {_code(training.get('git_commit'))}",
        f"- **MLflow run:** {_code(card.get('run_id'))}"
        + (f" ([open](<{_url(run['link'])}>))" if run.get("link") else ""),
        f"- **Model:** {esc(model.get('uri') or '—')} "
        f"({esc(', '.join(model.get('flavors') or []) or 'flavor unknown')})",
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
        lines += [f"### By {esc(attribute)}", ""]
        for group, metrics in groups.items():
            summary = ", ".join(f"{esc(k)} {esc(v)}" for k, v in metrics.items())
            lines.append(f"- **{esc(group)}**: {summary}")
        lines.append("")
    lines += ["## Explainability", ""]
    if explain.get("status") == "available":
        lines.append(
            f"Mean absolute SHAP value per feature ({esc(explain.get('method'))}, "
            f"{esc(explain.get('sample_rows'))} reference rows):"
        )
        lines.append("")
        lines += _table(explain.get("global_importance") or {}, ("feature", "importance"))
    else:
        lines += [f"_Unavailable: {esc(explain.get('reason') or 'not computed')}._", ""]
    monitoring = card.get("monitoring") or {}
    lines += ["## Monitoring", ""]
    for incident in monitoring.get("open_incidents", []):
        lines.append(
            f"- Open incident #{esc(incident['incident'])} ({esc(incident['severity'])}): "
            f"{esc(incident['title'])}"
        )
    if not monitoring.get("open_incidents"):
        resolved = esc(monitoring.get("resolved_incidents", 0))
        lines.append(f"_No open incidents ({resolved} resolved)._")
    lines.append("")
    approvals = card.get("approvals") or []
    lines += ["## Approvals", ""]
    if not approvals:
        lines += ["_No decided promotion requests yet._", ""]
    for request in approvals:
        lines.append(
            f"- Request #{esc(request.get('request'))} ({esc(request.get('status'))}), "
            f"requested by {esc(request.get('requested_by'))}"
        )
        for sign_off in request.get("sign_offs", []):
            comment = esc(sign_off.get("comment") or "")
            decision = SIGN_OFF_VERBS.get(sign_off.get("decision"), sign_off.get("decision"))
            # Four spaces: Python-Markdown nests a list only at four (CommonMark at two).
            lines.append(
                f"    - {esc(sign_off.get('signer'))} {esc(decision)} "
                f"on {esc(sign_off.get('signed_at'))}: {comment}".rstrip()
            )
    lines += [
        "",
        "## Limitations",
        "",
        md_block(card.get("limitations")),
        "",
        "## Ethical considerations",
        "",
        md_block(card.get("ethical_considerations")),
        "",
        f"_Generated by {esc(meta.get('generator'))}._",
        "",
    ]
    return "\n".join(lines)


@dataclass(frozen=True)
class CardChange:
    path: str
    kind: str  # added | removed | changed
    old: Any = None
    new: Any = None

    @property
    def section(self) -> str:
        """The card section the change is in ("evaluation" of "evaluation.metrics.auc")."""
        return self.path.split(".", 1)[0]

    @property
    def field(self) -> str:
        """Where in its section, for people: "metrics / auc"."""
        rest = self.path.split(".", 1)[1] if "." in self.path else self.path
        return rest.replace(".", " / ").replace("_", " ")


@dataclass(frozen=True)
class CardSectionChanges:
    section: str
    title: str
    changes: list[CardChange]


LAST_SECTIONS = ("metadata",)  # when and by what the card was made: read last


def card_diff_by_section(changes: list[CardChange]) -> list[CardSectionChanges]:
    """The changes grouped by card section, in the card's reading order as the paths sort,
    the card's own metadata last."""
    grouped: dict[str, list[CardChange]] = {}
    for change in changes:
        grouped.setdefault(change.section, []).append(change)
    order = sorted(grouped, key=lambda name: (name in LAST_SECTIONS, name))
    return [
        CardSectionChanges(name, name.replace("_", " ").capitalize(), grouped[name])
        for name in order
    ]


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
