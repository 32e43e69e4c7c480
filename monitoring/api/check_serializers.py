"""Check runs in and out: the request body, and one serializer per kind of check."""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.api.serializers import StrictInputSerializer
from monitoring.models import CheckMetric, CheckRun


class AwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date-time that names its time zone (a naive one is a 400, not UTC)."""

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip()) if value.strip() else None
            except ValueError:  # well formed but impossible (minute 60): DRF says invalid
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        return super().to_internal_value(value)

    default_error_messages = {
        **serializers.DateTimeField.default_error_messages,
        "naive": "Give a time zone (e.g. 2026-11-27T10:00:00Z).",
    }


class CheckRequestSerializer(StrictInputSerializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    window_start = AwareDateTimeField(
        required=False, help_text="Default: window_end minus the config's window_hours (24)."
    )
    window_end = AwareDateTimeField(required=False, help_text="Default: now.")


class CheckQueuedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=CheckRun.Status.choices)


class CheckRunSerializer(serializers.ModelSerializer):
    """What every check run says about itself, whatever its kind."""

    model = serializers.CharField(source="model.name")
    version = serializers.IntegerField(source="version.version")
    requested_by = serializers.CharField(
        source="requested_by.username", allow_null=True, default=None
    )

    class Meta:
        model = CheckRun
        fields = [
            "id",
            "model",
            "version",
            "kind",
            "status",
            "window_start",
            "window_end",
            "reference_rows",
            "current_rows",
            "labelled_rows",
            "duration_ms",
            "error",
            "trigger",
            "requested_by",
            "queued_at",
            "started_at",
            "finished_at",
            "attempts",
        ]


def _result(run: CheckRun, key: str) -> Any:
    return (run.results or {}).get(key)


def _metrics(run: CheckRun, skip: tuple[str, ...] = ("rows",)) -> dict[str, float | None]:
    return {metric.name: metric.value for metric in run.metrics.all() if metric.name not in skip}


class DriftCheckSerializer(CheckRunSerializer):
    dataset_drift = serializers.SerializerMethodField()
    drift_share = serializers.SerializerMethodField()
    drift_share_threshold = serializers.SerializerMethodField()
    features = serializers.SerializerMethodField()
    untested = serializers.SerializerMethodField()

    class Meta(CheckRunSerializer.Meta):
        fields = [
            *CheckRunSerializer.Meta.fields,
            "dataset_drift",
            "drift_share",
            "drift_share_threshold",
            "features",
            "untested",
        ]

    @extend_schema_field(serializers.BooleanField(allow_null=True))
    def get_dataset_drift(self, run: CheckRun) -> bool | None:
        return _result(run, "dataset_drift")

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_drift_share(self, run: CheckRun) -> float | None:
        return _result(run, "drift_share")

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_drift_share_threshold(self, run: CheckRun) -> float | None:
        return _result(run, "drift_share_threshold")

    @extend_schema_field(
        serializers.DictField(
            child=serializers.DictField(),
            help_text='Per feature {"method", "statistic", "threshold", "drifted", "column_type", '
            '"reference_rows", "current_rows", "picture"}; empty until done.',
        )
    )
    def get_features(self, run: CheckRun) -> dict[str, Any]:
        return _result(run, "features") or {}

    @extend_schema_field(
        serializers.DictField(
            child=serializers.CharField(),
            help_text="Features not tested, and why (text columns, no values).",
        )
    )
    def get_untested(self, run: CheckRun) -> dict[str, str]:
        return _result(run, "untested") or {}


class QualityCheckSerializer(CheckRunSerializer):
    labelled = serializers.IntegerField(
        source="labelled_rows", allow_null=True, help_text="Predictions with ground truth."
    )
    metrics = serializers.SerializerMethodField()

    class Meta(CheckRunSerializer.Meta):
        fields = [*CheckRunSerializer.Meta.fields, "labelled", "metrics"]

    @extend_schema_field(
        serializers.DictField(
            child=serializers.FloatField(allow_null=True),
            help_text="accuracy, precision, recall, f1, roc_auc, log_loss (binary "
            "classification) or mae, rmse, r2 (regression); null: not computable.",
        )
    )
    def get_metrics(self, run: CheckRun) -> dict[str, float | None]:
        computed = _result(run, "metrics")
        return computed if isinstance(computed, dict) else _metrics(run, skip=("rows", "labelled"))


class FairnessCheckSerializer(CheckRunSerializer):
    attributes = serializers.SerializerMethodField()

    class Meta(CheckRunSerializer.Meta):
        fields = [*CheckRunSerializer.Meta.fields, "attributes"]

    @extend_schema_field(
        serializers.DictField(
            child=serializers.DictField(),
            help_text='Per protected attribute {"groups": {group: {"count", "selection_rate", '
            '"tpr", "fpr"}}, "demographic_parity_difference", "demographic_parity_ratio", '
            '"equalized_odds_difference"}.',
        )
    )
    def get_attributes(self, run: CheckRun) -> dict[str, Any]:
        return _result(run, "attributes") or {}


class EstimationCheckSerializer(CheckRunSerializer):
    metrics = serializers.SerializerMethodField()
    results = serializers.JSONField(read_only=True)

    class Meta(CheckRunSerializer.Meta):
        fields = [*CheckRunSerializer.Meta.fields, "metrics", "results"]

    @extend_schema_field(
        serializers.DictField(
            child=serializers.FloatField(allow_null=True),
            help_text="estimated_accuracy, estimated_roc_auc, and realized_accuracy, "
            "realized_roc_auc once labels exist.",
        )
    )
    def get_metrics(self, run: CheckRun) -> dict[str, float | None]:
        return _metrics(run)


KIND_SERIALIZERS: dict[str, type[CheckRunSerializer]] = {
    CheckRun.Kind.DRIFT: DriftCheckSerializer,
    CheckRun.Kind.QUALITY: QualityCheckSerializer,
    CheckRun.Kind.FAIRNESS: FairnessCheckSerializer,
    CheckRun.Kind.ESTIMATION: EstimationCheckSerializer,
}


class CheckMetricSerializer(serializers.ModelSerializer):
    run = serializers.IntegerField(source="run_id")
    version = serializers.IntegerField(source="version.version")

    class Meta:
        model = CheckMetric
        fields = ["name", "value", "kind", "run", "version", "computed_at"]
