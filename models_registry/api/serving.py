"""POST /models/{name}/predict/ and /explain/."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.authentication import ServingTokenAuthentication
from governance.api.parsers import SafeJSONParser
from governance.api.schema import errors
from governance.api.serializers import StrictInputSerializer
from governance.errors import InvalidInput
from governance.roles import Capability
from models_registry.serving.service import serve


class LenientJSONParser(SafeJSONParser):
    """Accepts NaN and Infinity, so the feature check can name the feature that holds one."""

    strict = False


class PredictInput(StrictInputSerializer):
    """Documents the body; ServeView checks it (and the features against the model)."""

    features = serializers.DictField()
    subject_id = serializers.CharField(
        required=False,
        max_length=100,
        help_text="Whom the call is about (optional): a consent withdrawal for this id "
        "erases the call's inputs and explanation from the inference log.",
    )
    attributes = serializers.DictField(
        required=False,
        help_text="Protected or segment attributes the model never sees (gender, region), "
        "stored with the call for fairness checks: at most 20, names of 1 to 50 characters, "
        "values a string (at most 200 characters), a number or true/false.",
    )


class PredictOutput(serializers.Serializer):
    prediction = serializers.FloatField()
    version = serializers.IntegerField()
    request_id = serializers.CharField()
    stage = serializers.ChoiceField(choices=["production", "canary"])


class ExplainOutput(PredictOutput):
    base_value = serializers.FloatField()
    shap = serializers.DictField(child=serializers.FloatField())
    explainer = serializers.CharField(help_text="shap.TreeExplainer or shap.PermutationExplainer")
    output_space = serializers.CharField(
        help_text="What base_value + sum(shap) adds up to: log_odds, probability or prediction"
    )


ROUTING_KEY = OpenApiParameter(
    "X-Routing-Key",
    OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    description="Sticky canary routing: calls with the same key reach the same version "
    "(default: the caller's identity).",
)


class ServeView(APIView):
    authentication_classes = [ServingTokenAuthentication, SessionAuthentication]
    parser_classes = [LenientJSONParser]
    required_capabilities = {"post": Capability.PREDICT}
    explain = False

    def post(self, request: Request, model_name: str) -> Response:
        body = request.data
        if not isinstance(body, dict) or "features" not in body:
            raise InvalidInput(
                'The body must be {"features": {...}}.',
                extra={"features": ["This field is required."]},
            )
        unknown = sorted(set(body) - {"features", "subject_id", "attributes"})
        if unknown:
            raise InvalidInput(
                f"Unknown field(s): {', '.join(unknown)}.",
                extra={name: ["Unknown field."] for name in unknown},
            )
        subject_id = body.get("subject_id", "")
        if not isinstance(subject_id, str) or len(subject_id) > 100:
            raise InvalidInput(
                "subject_id must be a string of at most 100 characters.",
                extra={"subject_id": ["A string of at most 100 characters."]},
            )
        answer = serve(
            actor=request.user,
            subject_id=subject_id,
            model_name=model_name,
            features=body["features"],
            attributes=body.get("attributes"),
            explain=self.explain,
            routing_key=request.headers.get("X-Routing-Key") or f"user:{request.user.pk}",
        )
        return Response(answer.as_dict())


class PredictView(ServeView):
    @extend_schema(
        request=PredictInput,
        responses={200: PredictOutput, **errors(409, 503)},
        parameters=[ROUTING_KEY],
    )
    def post(self, request: Request, model_name: str) -> Response:
        """Predict with the production version (or the canary, for its share of callers)."""
        return super().post(request, model_name)


class ExplainView(ServeView):
    explain = True

    @extend_schema(
        request=PredictInput,
        responses={200: ExplainOutput, **errors(409, 503)},
        parameters=[ROUTING_KEY],
    )
    def post(self, request: Request, model_name: str) -> Response:
        """Predict and return the SHAP value of each feature and the base value."""
        return super().post(request, model_name)
