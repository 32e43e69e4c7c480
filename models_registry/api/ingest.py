"""POST /models/{name}/predictions/: predictions of a model served elsewhere, in batches."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance.api.schema import errors
from governance.api.serializers import StrictInputSerializer
from governance.errors import InvalidInput
from governance.roles import Capability
from models_registry.api.serving import LenientJSONParser
from models_registry.serving.ingest import predictions_ingest


class LoggedRecordInput(StrictInputSerializer):
    request_id = serializers.CharField(
        max_length=100,
        help_text="Unique per model: a retry with the same content is accepted and stored "
        "once; the same id with other content is a 409.",
    )
    features = serializers.DictField(help_text="As predict takes them: the version's schema.")
    prediction = serializers.FloatField()
    timestamp = serializers.DateTimeField(
        required=False,
        help_text="ISO 8601 with a time zone, not ahead of the server's clock by more than "
        "INGEST_CLOCK_SKEW_SECONDS (default 300); default: when the batch arrives.",
    )
    attributes = serializers.DictField(
        required=False,
        help_text="Protected or segment attributes: at most 20, names of 1 to 50 characters, "
        "values a string (at most 200 characters), a number or true/false.",
    )
    subject_id = serializers.CharField(
        required=False,
        max_length=100,
        help_text="Whom the record is about: a consent withdrawal erases its features and "
        "attributes.",
    )


class PredictionsIngestInput(StrictInputSerializer):
    """Documents the body; the service checks it, record by record."""

    version = serializers.IntegerField(min_value=1)
    records = LoggedRecordInput(
        many=True,
        max_length=settings.INGEST_MAX_RECORDS,
        help_text="At most INGEST_MAX_RECORDS (default 10,000).",
    )


class PredictionsIngestOutput(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Records of the batch: all of them.")
    stored = serializers.IntegerField(help_text="Rows new in the inference log.")
    duplicates = serializers.IntegerField(
        help_text="Records logged already with the same content, or repeated in the batch."
    )


class PredictionsIngestView(APIView):
    parser_classes = [LenientJSONParser]  # the record check names NaN and infinite features
    required_capabilities = {"post": Capability.LOG_PREDICTIONS}

    @extend_schema(
        request=PredictionsIngestInput,
        responses={202: PredictionsIngestOutput, **errors(409)},
    )
    def post(self, request: Request, model_name: str) -> Response:
        """Log predictions made elsewhere: all records or none; retries are safe."""
        body = request.data
        if not isinstance(body, dict):
            raise InvalidInput(
                'The body must be {"version": ..., "records": [...]}.',
                extra={"records": ["This field is required."]},
            )
        unknown = sorted(set(body) - {"version", "records"})
        if unknown:
            raise InvalidInput(
                f"Unknown field(s): {', '.join(unknown)}.",
                extra={name: ["Unknown field."] for name in unknown},
            )
        for name in ("version", "records"):
            if name not in body:
                raise InvalidInput(
                    f"{name} is required.", extra={name: ["This field is required."]}
                )
        result = predictions_ingest(
            actor=request.user,
            model_name=model_name,
            version=body["version"],
            records=body["records"],
        )
        return Response(
            {"accepted": result.accepted, "stored": result.stored, "duplicates": result.duplicates},
            status=status.HTTP_202_ACCEPTED,
        )
