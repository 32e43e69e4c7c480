"""GET and PATCH /api/v1/models/{name}/retention-policy/: retention periods, legal hold and
the legal basis of processing (GDPR Art. 6(1)) of one model.

Everyone who reads the registry reads it; compliance officers (who set it in the admin too)
change it, through `retention_policy_set`. A PATCH changes the fields it names and keeps
the others as stored.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.schema import errors
from governance.api.serializers import StrictInputSerializer
from governance.roles import Capability
from models_registry.models import RetentionPolicy
from models_registry.retention import MAX_LEGAL_BASIS_NOTE, retention_policy_set
from models_registry.selectors import model_get, retention_policy_get

MAX_DAYS = 2**31 - 1  # what the column holds; more is a 400, never a 500
POLICY_FIELDS = (
    "inference_log_days",
    "reference_data_days",
    "legal_hold",
    "legal_hold_reason",
    "legal_basis",
    "legal_basis_note",
)


class RetentionPolicySerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")
    legal_basis = serializers.ChoiceField(
        choices=RetentionPolicy.LegalBasis.choices,
        allow_blank=True,
        help_text="GDPR Art. 6(1) basis of processing; blank: not recorded.",
    )
    legal_basis_label = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField(
        allow_null=True, help_text="Last change; null: no policy stored, the defaults apply."
    )

    class Meta:
        model = RetentionPolicy
        fields = ["model", *POLICY_FIELDS, "legal_basis_label", "updated_at"]
        read_only_fields = fields

    def get_legal_basis_label(self, policy: RetentionPolicy) -> str:
        """The basis in words ("Legitimate interests (Art. 6(1)(f))"); "" when not recorded."""
        return policy.get_legal_basis_display() if policy.legal_basis else ""


class RetentionPolicyUpdateSerializer(StrictInputSerializer):
    inference_log_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_DAYS,
        help_text="Delete predictions older than this many days; null: keep.",
    )
    reference_data_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_DAYS,
        help_text="Delete reference data files older than this many days; null: keep.",
    )
    legal_hold = serializers.BooleanField(
        required=False, help_text="While true, nothing of this model's data is deleted."
    )
    legal_hold_reason = serializers.CharField(
        required=False, allow_blank=True, max_length=500, help_text="Required with a legal hold."
    )
    legal_basis = serializers.ChoiceField(
        required=False,
        allow_blank=True,
        choices=RetentionPolicy.LegalBasis.choices,
        help_text="GDPR Art. 6(1) basis of processing; blank: not recorded.",
    )
    legal_basis_note = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_LEGAL_BASIS_NOTE,
        help_text="What the basis rests on: which legitimate interest, which law, which contract.",
    )


class RetentionPolicyView(APIView):
    """A model's retention policy; without one stored, the defaults (`updated_at` null)."""

    required_capabilities = {"get": Capability.READ, "patch": Capability.USE_ADMIN}

    @extend_schema(responses={200: RetentionPolicySerializer, **errors(404)})
    def get(self, request: Request, model_name: str) -> Response:
        policy = retention_policy_get(model=model_get(name=model_name))
        return Response(RetentionPolicySerializer(policy).data)

    @extend_schema(
        request=RetentionPolicyUpdateSerializer,
        responses={200: RetentionPolicySerializer, **errors(400, 403, 404)},
        summary="Change a model's retention policy",
        description="Compliance officers: the fields sent change, the others keep their "
        "stored values. `legal_basis` is one of GDPR Art. 6(1)'s (`consent`, `contract`, "
        "`legal_obligation`, `vital_interests`, `public_task`, `legitimate_interests`) or "
        "blank (not recorded). Recorded in the policy's history and the audit trail "
        "(`retention.policy_set`). A legal hold needs a reason.",
    )
    def patch(self, request: Request, model_name: str) -> Response:
        model = model_get(name=model_name)
        data = RetentionPolicyUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        stored = retention_policy_get(model=model)
        values = {name: getattr(stored, name) for name in POLICY_FIELDS}
        policy = retention_policy_set(
            actor=request.user, model=model, **{**values, **data.validated_data}
        )
        return Response(RetentionPolicySerializer(policy).data)
