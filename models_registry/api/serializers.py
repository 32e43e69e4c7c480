from __future__ import annotations

from rest_framework import serializers

from governance.api.serializers import MetricsField, ParamsField, StrictInputSerializer
from governance.models import RiskTier
from models_registry.models import (
    DeploymentEvent,
    ModelCardRevision,
    ModelVersion,
    ReferenceDataset,
    RegisteredModel,
)


class ModelSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    production_version = serializers.IntegerField(
        source="production_version_number", read_only=True, allow_null=True
    )
    canary_version = serializers.IntegerField(
        source="canary_version_number", read_only=True, allow_null=True
    )

    class Meta:
        model = RegisteredModel
        fields = [
            "name",
            "description",
            "owner",
            "risk_tier",
            "intended_use",
            "out_of_scope_uses",
            "protected_attributes",
            "tags",
            "production_version",
            "canary_version",
            "canary_traffic",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ModelCreateSerializer(StrictInputSerializer):
    name = serializers.SlugField(max_length=100)
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    intended_use = serializers.CharField(required=False, allow_blank=True, default="")
    out_of_scope_uses = serializers.CharField(required=False, allow_blank=True, default="")
    protected_attributes = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, default=list, max_length=100
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, default=list, max_length=50
    )


class ModelUpdateSerializer(StrictInputSerializer):
    risk_tier = serializers.ChoiceField(choices=RiskTier.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    intended_use = serializers.CharField(required=False, allow_blank=True)
    out_of_scope_uses = serializers.CharField(required=False, allow_blank=True)
    protected_attributes = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=100
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=50
    )


class VersionSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name", read_only=True)
    registered_by = serializers.CharField(source="registered_by.username", read_only=True)

    class Meta:
        model = ModelVersion
        fields = [
            "model",
            "version",
            "stage",
            "metrics",
            "params",
            "mlflow_run_id",
            "artifact_uri",
            "git_commit",
            "registered_by",
            "registered_at",
            "card_status",
            "card_hash",
        ]
        read_only_fields = fields


class VersionCreateSerializer(StrictInputSerializer):
    mlflow_run_id = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default=""
    )
    git_commit = serializers.RegexField(
        r"^[0-9a-fA-F]{7,64}$",
        required=False,
        allow_blank=True,
        default="",
        error_messages={"invalid": "A git commit hash (7 to 64 hex digits)."},
    )
    artifact_uri = serializers.CharField(
        max_length=500, required=False, allow_blank=True, default=""
    )
    metrics = MetricsField(required=False, default=dict)
    params = ParamsField(required=False, default=dict)


class VersionUpdateSerializer(StrictInputSerializer):
    limitations = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    ethical_considerations = serializers.CharField(
        required=False, allow_blank=True, max_length=20000
    )


class CardRevisionSerializer(serializers.ModelSerializer):
    card_hash = serializers.CharField(source="content_hash")

    class Meta:
        model = ModelCardRevision
        fields = ["revision", "card_hash", "reason", "created_at"]


class CardRegenerationSerializer(CardRevisionSerializer):
    """The latest revision after an in-process rebuild, and whether the content changed."""

    changed = serializers.BooleanField(help_text="False: the rebuild stored no new revision.")

    class Meta(CardRevisionSerializer.Meta):
        fields = [*CardRevisionSerializer.Meta.fields, "changed"]


class QueuedSerializer(serializers.Serializer):
    """202: the work runs in the background."""

    status = serializers.ChoiceField(choices=["queued"])


class CardChangeSerializer(serializers.Serializer):
    path = serializers.CharField()
    kind = serializers.ChoiceField(choices=["added", "removed", "changed"])
    old = serializers.JSONField(allow_null=True)
    new = serializers.JSONField(allow_null=True)


class CardDiffSerializer(serializers.Serializer):
    """What changed between revision `from` and revision `to`."""

    to = serializers.IntegerField()
    changes = CardChangeSerializer(many=True)

    def get_fields(self) -> dict[str, serializers.Field]:
        # `from` is a Python keyword, so it cannot be declared in the class body.
        return {"from": serializers.IntegerField(), **super().get_fields()}


class ReferenceDataUploadSerializer(StrictInputSerializer):
    file = serializers.FileField()
    label_column = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=100
    )
    feature_columns = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="Comma-separated feature columns; default: the logged model's signature.",
    )


class ReferenceDatasetSerializer(serializers.ModelSerializer):
    uploaded_by = serializers.CharField(source="uploaded_by.username")

    class Meta:
        model = ReferenceDataset
        fields = [
            "id",
            "original_name",
            "format",
            "sha256",
            "rows",
            "columns",
            "feature_columns",
            "label_column",
            "protected_columns",
            "uploaded_by",
            "uploaded_at",
        ]


class DeploymentEventSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.version")
    previous_version = serializers.IntegerField(
        source="previous_version.version", allow_null=True, default=None
    )
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)

    class Meta:
        model = DeploymentEvent
        fields = [
            "kind",
            "version",
            "previous_version",
            "actor",
            "reason",
            "reference",
            "canary_traffic",
            "occurred_at",
        ]


class RollbackSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=2000)
    from_version = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The production version you roll back from; 409 if production is another "
        "one by now (someone else changed it). Without it, the current production is used.",
    )
