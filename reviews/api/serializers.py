from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from governance.api.serializers import StrictInputSerializer
from reviews.models import PromotionRequest, SignOff
from reviews.policy import card_hash_for, is_stale, policy_evaluate


class SignOffSerializer(serializers.ModelSerializer):
    signer = serializers.CharField(source="signer.username")
    stale = serializers.SerializerMethodField()

    class Meta:
        model = SignOff
        fields = [
            "id",
            "signer",
            "signer_roles",
            "decision",
            "comment",
            "card_hash",
            "stale",
            "signed_at",
        ]

    @extend_schema_field(serializers.BooleanField())
    def get_stale(self, obj: SignOff) -> bool:
        current = self.context.get("card_hash") or card_hash_for(obj.request)
        return is_stale(obj, current)


class PolicyStateSerializer(serializers.Serializer):
    risk_tier = serializers.CharField()
    required_approvals = serializers.IntegerField()
    required_roles = serializers.ListField(child=serializers.CharField())
    valid_approvals = serializers.IntegerField()
    stale_approvals = serializers.IntegerField()
    missing_approvals = serializers.IntegerField()
    missing_roles = serializers.ListField(child=serializers.CharField())
    satisfied = serializers.BooleanField()
    summary = serializers.CharField()


class PromotionRequestSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model_version.model.name")
    version = serializers.IntegerField(source="model_version.version")
    card_hash = serializers.CharField(source="model_version.card_hash")
    requested_by = serializers.CharField(source="requested_by.username")
    executed_by = serializers.CharField(
        source="executed_by.username", default=None, allow_null=True
    )
    sign_offs = serializers.SerializerMethodField()
    policy = serializers.SerializerMethodField()
    replaces = serializers.IntegerField(
        source="replaces_id",
        allow_null=True,
        read_only=True,
        help_text="The withdrawn request this one was made again from.",
    )
    replaced_by = serializers.SerializerMethodField(
        help_text="The request made again in place of this one, once withdrawn for it."
    )

    class Meta:
        model = PromotionRequest
        fields = [
            "id",
            "model",
            "version",
            "target_stage",
            "strategy",
            "canary_traffic",
            "justification",
            "status",
            "requested_by",
            "requested_tier",
            "created_at",
            "decided_at",
            "executed_at",
            "executed_by",
            "card_hash",
            "sign_offs",
            "policy",
            "replaces",
            "replaced_by",
        ]

    @extend_schema_field(SignOffSerializer(many=True))
    def get_sign_offs(self, obj: PromotionRequest) -> list[dict[str, Any]]:
        sign_offs = list(obj.sign_offs.all())
        for sign_off in sign_offs:
            sign_off.request = obj
        context = {"card_hash": card_hash_for(obj)}
        return SignOffSerializer(sign_offs, many=True, context=context).data

    def get_replaced_by(self, obj: PromotionRequest) -> int | None:
        replacement = getattr(obj, "replaced_by", None)
        return replacement.pk if replacement is not None else None

    @extend_schema_field(PolicyStateSerializer)
    def get_policy(self, obj: PromotionRequest) -> dict[str, Any]:
        outcome = policy_evaluate(obj, obj.sign_offs.all())
        return {
            "risk_tier": outcome.policy.risk_tier,
            "required_approvals": outcome.policy.required_approvals,
            "required_roles": list(outcome.policy.required_roles),
            "valid_approvals": len(outcome.valid_approvals),
            "stale_approvals": len(outcome.stale),
            "missing_approvals": outcome.missing_approvals,
            "missing_roles": outcome.missing_roles,
            "satisfied": outcome.satisfied,
            "summary": outcome.summary(),
        }


class PromotionRequestCreateSerializer(StrictInputSerializer):
    target_stage = serializers.ChoiceField(
        choices=PromotionRequest.TargetStage.choices,
        default=PromotionRequest.TargetStage.PRODUCTION,
    )
    justification = serializers.CharField(max_length=5000)
    strategy = serializers.ChoiceField(
        choices=PromotionRequest.Strategy.choices, default=PromotionRequest.Strategy.DIRECT
    )
    canary_traffic = serializers.IntegerField(min_value=1, max_value=99, required=False)


class SignOffCreateSerializer(StrictInputSerializer):
    decision = serializers.ChoiceField(choices=SignOff.Decision.choices)
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class WithdrawSerializer(StrictInputSerializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RequestAgainSerializer(StrictInputSerializer):
    reason = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default="the card changed"
    )
