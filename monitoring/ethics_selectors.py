"""Reads of the ethics dashboard: explainability coverage, data governance, flags, and the
one row per model of the cross-model page.

Every function takes a list of models and answers for all of them with a fixed number of
grouped queries (no query per model or per version), so /ethics/ costs the same for one
model as for fifty. Fairness over time is in monitoring/ethics_fairness.py.

Explainability coverage of a version: of its predictions (failed calls have none), the
share that has an explanation in the inference log, or can get one here: the version has a
logged MLflow model (what the model page calls "served here", RecordedArtifact) and the
row's inputs were not erased. A version served elsewhere cannot be explained here.

Data governance: the retention periods of RetentionPolicy (models_registry/retention.py
deletes what is past them daily, unless a legal hold keeps it), the records past them that
are still stored, and the subjects who withdrew consent (ConsentWithdrawal) whose records
still hold their subject id (0 once models_registry/consent.py erased them), and the legal
basis of processing (GDPR Art. 6(1)) recorded on the same policy; a model without one is a
gap the pages mark, not a fact about the model.

Flags: those still open, by reason, whenever they were raised (an open flag is work to do
however old it is), and those closed (resolved or dismissed) in the last FLAG_DAYS.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.db.models import Count, Q
from django.utils import timezone

from models_registry.model_artifact import RecordedArtifact
from models_registry.models import (
    ConsentWithdrawal,
    ModelVersion,
    Prediction,
    ReferenceDataset,
    RegisteredModel,
    RetentionPolicy,
)
from monitoring.models import PredictionFlag

FLAG_DAYS = 90  # closed flags shown: as the monitoring page's flags (check_pages.HISTORY_DAYS)


@dataclass(frozen=True)
class VersionCoverage:
    version: int
    served_here: bool  # a logged MLflow model: this server can explain its inputs
    predictions: int
    explained: int
    explainable: int  # no explanation yet, but one can be computed here

    @property
    def covered(self) -> int:
        return self.explained + self.explainable

    @property
    def share(self) -> float | None:
        return self.covered / self.predictions if self.predictions else None

    @property
    def percent(self) -> float | None:
        return None if self.share is None else 100 * self.share


@dataclass(frozen=True)
class ModelCoverage:
    versions: list[VersionCoverage] = field(default_factory=list)

    @property
    def predictions(self) -> int:
        return sum(v.predictions for v in self.versions)

    @property
    def covered(self) -> int:
        return sum(v.covered for v in self.versions)

    @property
    def share(self) -> float | None:
        return self.covered / self.predictions if self.predictions else None

    @property
    def percent(self) -> float | None:
        return None if self.share is None else 100 * self.share


def explainability_coverage(models: list[RegisteredModel]) -> dict[int, ModelCoverage]:
    """model id -> coverage per version (newest first); two queries for any number."""
    counts = {
        row["version_id"]: row
        for row in Prediction.objects.filter(model__in=models, prediction__isnull=False)
        .order_by()
        .values("version_id")
        .annotate(
            n=Count("pk"),
            explained=Count("pk", filter=Q(explanation__isnull=False)),
            unexplained_kept=Count("pk", filter=Q(explanation__isnull=True, erased_at=None)),
        )
    }
    versions = (
        ModelVersion.objects.filter(model__in=models)
        .order_by("model_id", "-version")
        .values_list("pk", "model_id", "version", "run_facts")
    )
    coverage: dict[int, ModelCoverage] = {model.pk: ModelCoverage() for model in models}
    for pk, model_id, number, run_facts in versions:
        row = counts.get(pk, {})
        served_here = RecordedArtifact.of(run_facts) is not None
        coverage[model_id].versions.append(
            VersionCoverage(
                version=number,
                served_here=served_here,
                predictions=row.get("n", 0),
                explained=row.get("explained", 0),
                explainable=row.get("unexplained_kept", 0) if served_here else 0,
            )
        )
    return coverage


@dataclass(frozen=True)
class ReferenceDataRow:
    dataset: ReferenceDataset
    retention_days: int | None
    past_retention: bool  # older than the period and its file still stored


@dataclass
class DataGovernance:
    """One model's inference log and reference data against retention and consent."""

    policy: RetentionPolicy | None = None
    records_past_retention: int = 0
    references_past_retention: int = 0
    withdrawn_subjects_present: int = 0
    withdrawn_records_present: int = 0
    references: list[ReferenceDataRow] = field(default_factory=list)

    @property
    def inference_log_days(self) -> int | None:
        return self.policy.inference_log_days if self.policy else None

    @property
    def reference_data_days(self) -> int | None:
        return self.policy.reference_data_days if self.policy else None

    @property
    def legal_hold(self) -> bool:
        return bool(self.policy and self.policy.legal_hold)

    @property
    def legal_basis(self) -> str:
        """The recorded basis in words ("Contract (Art. 6(1)(b))"); "" when not recorded."""
        if self.policy is None or not self.policy.legal_basis:
            return ""
        return self.policy.get_legal_basis_display()

    @property
    def legal_basis_note(self) -> str:
        return self.policy.legal_basis_note if self.legal_basis else ""


def _cutoffs(policies: dict[int, RetentionPolicy], days: str, now: datetime) -> dict[int, datetime]:
    return {
        model_id: now - timedelta(days=getattr(policy, days))
        for model_id, policy in policies.items()
        if getattr(policy, days)
    }


def _per_model_before(cutoffs: dict[int, datetime], model: str, moment: str) -> Q:
    """Rows of each model older than that model's cutoff, as one filter (one query)."""
    clauses = [Q(**{model: pk, f"{moment}__lt": cutoff}) for pk, cutoff in cutoffs.items()]
    return reduce(or_, clauses) if clauses else Q(pk__in=[])


def data_governance(
    models: list[RegisteredModel], *, with_references: bool = False, now: datetime | None = None
) -> dict[int, DataGovernance]:
    """model id -> its retention and consent state; a fixed number of queries for any
    number of models (`with_references` adds the list of reference data sets: one more)."""
    now = now or timezone.now()
    found = {model.pk: DataGovernance() for model in models}
    policies = {p.model_id: p for p in RetentionPolicy.objects.filter(model__in=models)}
    for model_id, policy in policies.items():
        found[model_id].policy = policy
    log_cutoffs = _cutoffs(policies, "inference_log_days", now)
    old_records = (
        Prediction.objects.filter(_per_model_before(log_cutoffs, "model_id", "occurred_at"))
        .order_by()
        .values("model_id")
        .annotate(n=Count("pk"))
    )
    for row in old_records:
        found[row["model_id"]].records_past_retention = row["n"]
    reference_cutoffs = _cutoffs(policies, "reference_data_days", now)
    old_references = (
        ReferenceDataset.objects.filter(
            _per_model_before(reference_cutoffs, "model_version__model_id", "uploaded_at"),
            erased_at=None,
        )
        .order_by()
        .values("model_version__model_id")
        .annotate(n=Count("pk"))
    )
    for row in old_references:
        found[row["model_version__model_id"]].references_past_retention = row["n"]
    withdrawn = (
        Prediction.objects.filter(
            model__in=models, subject_id__in=ConsentWithdrawal.objects.values("subject_id")
        )
        .order_by()
        .values("model_id")
        .annotate(subjects=Count("subject_id", distinct=True), records=Count("pk"))
    )
    for row in withdrawn:
        found[row["model_id"]].withdrawn_subjects_present = row["subjects"]
        found[row["model_id"]].withdrawn_records_present = row["records"]
    if with_references:
        datasets = ReferenceDataset.objects.filter(model_version__model__in=models).select_related(
            "model_version"
        )
        for dataset in datasets.order_by("-uploaded_at", "-id"):
            model_id = dataset.model_version.model_id
            cutoff = reference_cutoffs.get(model_id)
            found[model_id].references.append(
                ReferenceDataRow(
                    dataset=dataset,
                    retention_days=found[model_id].reference_data_days,
                    past_retention=bool(
                        cutoff and dataset.erased_at is None and dataset.uploaded_at < cutoff
                    ),
                )
            )
    return found


@dataclass(frozen=True)
class FlagState:
    """One model's open flags by reason, and the flags closed in the last FLAG_DAYS."""

    open_by_reason: dict[str, int]  # every reason, in PredictionFlag.Reason order, 0 when none
    resolved: int = 0
    dismissed: int = 0

    @property
    def open(self) -> int:
        return sum(self.open_by_reason.values())

    @property
    def closed(self) -> int:
        return self.resolved + self.dismissed


def flag_states(
    models: list[RegisteredModel], *, now: datetime | None = None
) -> dict[int, FlagState]:
    """model id -> its open flags by reason and its flags closed in the last FLAG_DAYS; one
    query for any number of models."""
    since = (now or timezone.now()) - timedelta(days=FLAG_DAYS)
    open_ = PredictionFlag.Status.OPEN
    rows = (
        PredictionFlag.objects.filter(Q(status=open_) | Q(resolved_at__gt=since), model__in=models)
        .order_by()
        .values("model_id", "status", "reason")
        .annotate(n=Count("pk"))
    )
    open_counts: dict[int, dict[str, int]] = defaultdict(dict)
    closed: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        if row["status"] == open_:
            open_counts[row["model_id"]][row["reason"]] = row["n"]
        else:
            closed[row["model_id"]][row["status"]] += row["n"]
    return {
        model.pk: FlagState(
            open_by_reason={
                reason: open_counts[model.pk].get(reason, 0)
                for reason in PredictionFlag.Reason.values
            },
            resolved=closed[model.pk][PredictionFlag.Status.RESOLVED],
            dismissed=closed[model.pk][PredictionFlag.Status.DISMISSED],
        )
        for model in models
    }
