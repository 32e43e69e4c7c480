"""Fairness over time for the ethics dashboard: each fairness check run, its groups, and the
verdict of the model's fairness alert rules on it.

The thresholds are the model's own: the `alerts:` rules of its monitoring config whose
metric a fairness check produces (`demographic_parity_difference.gender`, a `fairness`
alias, `equalized_odds_difference.*`). Each is compared by the rule engine
(monitoring/rules/engine.py), the one place a metric meets its threshold, so the dashboard
and the alerts agree. A model without such a rule has runs but no verdict ("no threshold").
Reads only: finished runs with their metric rows prefetched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from models_registry.models import RegisteredModel
from monitoring.config import MonitoringSettings, default_document, settings_from_document
from monitoring.config_document import FAIRNESS_MEASURES
from monitoring.models import CheckMetric, CheckRun, MonitoringConfig
from monitoring.rules import MetricValues, Outcome, Rule, rule_evaluate, rule_kind

FAIRNESS_RUNS_SHOWN = 50


@dataclass(frozen=True)
class GroupRates:
    name: str
    count: int | None
    selection_rate: float | None
    tpr: float | None
    fpr: float | None


@dataclass(frozen=True)
class AttributeRow:
    name: str
    groups: list[GroupRates]
    measures: dict[str, float | None]  # FAIRNESS_MEASURES -> value (None: not computable)


@dataclass(frozen=True)
class RuleVerdict:
    outcome: str  # "breach", "clean", "skipped"
    text: str  # "breach: demographic_parity_difference.gender 0.31 >= 0.2"


@dataclass(frozen=True)
class FairnessRun:
    run: CheckRun
    attributes: list[AttributeRow]
    verdicts: list[RuleVerdict]

    @property
    def breaches(self) -> list[RuleVerdict]:
        return [v for v in self.verdicts if v.outcome == Outcome.BREACH]

    @property
    def status(self) -> str:
        """In words: the breaches, "within thresholds", or why there is no verdict."""
        if self.breaches:
            return "; ".join(v.text for v in self.breaches)
        if any(v.outcome == Outcome.CLEAN for v in self.verdicts):
            return "within thresholds"
        if self.verdicts:
            return "not judged: " + "; ".join(v.text for v in self.verdicts)
        return "no threshold: the monitoring config has no fairness alert rule"


def fairness_rules(settings: MonitoringSettings) -> list[Rule]:
    """The config's alert rules on metrics a fairness check produces."""
    return [
        Rule.from_dict(entry)
        for entry in settings.alerts
        if rule_kind(entry["metric"], settings) == CheckRun.Kind.FAIRNESS
    ]


def _verdict(rule: Rule, values: MetricValues, settings: MonitoringSettings) -> RuleVerdict:
    evaluation = rule_evaluate(rule, values, settings=settings)
    if evaluation.outcome == Outcome.SKIPPED:
        return RuleVerdict(Outcome.SKIPPED, f"{rule.describe()} skipped ({evaluation.reason})")
    word = "breach" if evaluation.outcome == Outcome.BREACH else "within"
    text = f"{word}: {rule.metric} {evaluation.value:.3g} {rule.comparison} {rule.threshold:g}"
    return RuleVerdict(evaluation.outcome, text)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _attributes(results: dict[str, Any]) -> list[AttributeRow]:
    rows = []
    for name, one in sorted(((results or {}).get("attributes") or {}).items()):
        if not isinstance(one, dict):
            continue
        groups = [
            GroupRates(
                name=str(group),
                count=rates.get("count"),
                selection_rate=_number(rates.get("selection_rate")),
                tpr=_number(rates.get("tpr")),
                fpr=_number(rates.get("fpr")),
            )
            for group, rates in sorted((one.get("groups") or {}).items())
            if isinstance(rates, dict)
        ]
        measures = {measure: _number(one.get(measure)) for measure in FAIRNESS_MEASURES}
        rows.append(AttributeRow(name=name, groups=groups, measures=measures))
    return rows


def fairness_run_judge(run: CheckRun, settings: MonitoringSettings) -> FairnessRun:
    """One finished fairness run (its `metrics` prefetched) against the model's rules."""
    values = MetricValues(
        kind=run.kind,
        values={metric.name: metric.value for metric in run.metrics.all()},
        rows=run.current_rows,
        labelled=run.labelled_rows,
        source=f"fairness check #{run.pk}",
        check_run=run,
        window=(run.window_start, run.window_end),
    )
    return FairnessRun(
        run=run,
        attributes=_attributes(run.results),
        verdicts=[_verdict(rule, values, settings) for rule in fairness_rules(settings)],
    )


def _finished_fairness_runs() -> QuerySet[CheckRun]:
    return (
        CheckRun.objects.filter(kind=CheckRun.Kind.FAIRNESS, status=CheckRun.Status.DONE)
        .select_related("version")
        .prefetch_related(Prefetch("metrics", queryset=CheckMetric.objects.order_by("name")))
    )


def fairness_history(
    *, model: RegisteredModel, settings: MonitoringSettings, limit: int = FAIRNESS_RUNS_SHOWN
) -> list[FairnessRun]:
    """The model's newest finished fairness runs, newest first, each judged."""
    runs = _finished_fairness_runs().filter(model=model).order_by("-finished_at", "-id")[:limit]
    return [fairness_run_judge(run, settings) for run in runs]


def settings_of_models(models: Iterable[RegisteredModel]) -> dict[int, MonitoringSettings]:
    """model id -> its monitoring settings, in one query for all of them."""
    models = list(models)
    documents = dict(
        MonitoringConfig.objects.filter(model__in=models).values_list("model_id", "document")
    )
    return {
        model.pk: settings_from_document(documents.get(model.pk) or default_document(model), model)
        for model in models
    }


def latest_fairness_of_models(
    models: Iterable[RegisteredModel], settings: dict[int, MonitoringSettings]
) -> dict[int, FairnessRun]:
    """model id -> its newest finished fairness run, judged; two queries for any number."""
    newest = (
        CheckRun.objects.filter(
            model=OuterRef("pk"), kind=CheckRun.Kind.FAIRNESS, status=CheckRun.Status.DONE
        )
        .order_by("-finished_at", "-id")
        .values("pk")[:1]
    )
    ids = (
        RegisteredModel.objects.filter(pk__in=[m.pk for m in models])
        .annotate(latest=Subquery(newest))
        .exclude(latest=None)
        .values_list("latest", flat=True)
    )
    runs = _finished_fairness_runs().filter(pk__in=ids)
    return {run.model_id: fairness_run_judge(run, settings[run.model_id]) for run in runs}
