"""Predictions of a model served elsewhere, logged in batches: all or nothing, retries safe.

`predictions_ingest` checks every record of a batch (features against the version's schema
with the rules of predict, a finite prediction, a timestamp with a time zone and not ahead
of the server's clock by more than INGEST_CLOCK_SKEW_SECONDS, attributes) before anything
is stored; one bad record is a 400 naming its index and field. Then, in one transaction, it
drops the records already logged for the model with the same content (a retry), refuses
a request id logged with other content (409), and writes the rest through the inference
log's write path (`inference_log_write`: COPY on PostgreSQL, one `predictions.recorded`
audit event per batch). Two copies of a batch racing each other meet at the unique
constraint `request_id_per_model`: the loser's transaction is rolled back and redone,
and now finds every record logged.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from governance.errors import Conflict, InvalidInput, NotFound
from governance.roles import Capability
from governance.services import require
from models_registry.models import ModelVersion, Prediction, RegisteredModel
from models_registry.serving.attributes import attribute_problems
from models_registry.serving.features import NUMBER, NUMBER_MAX, FeatureSpec, _coerce
from models_registry.serving.inference_log import inference_log_write
from models_registry.serving.inference_records import as_stored
from models_registry.serving.loader import feature_spec
from models_registry.serving.logged_records import LoggedRecord

RECORD_KEYS = frozenset(
    {"request_id", "features", "prediction", "timestamp", "attributes", "subject_id"}
)
REQUEST_ID_MAX = 100
SUBJECT_ID_MAX = 100
ERRORS_LISTED = 20  # bad records named in one 400, at most
RACE_ATTEMPTS = 3


@dataclass(frozen=True)
class IngestResult:
    accepted: int  # every record of the batch
    stored: int  # new rows
    duplicates: int  # logged already with the same content, or repeated within the batch


class _BadRecord(Exception):
    def __init__(self, errors: dict[str, Any], message: str) -> None:
        self.errors, self.message = errors, message


@lru_cache(maxsize=256)
def _number_getter(columns: tuple[tuple[str, str], ...]) -> operator.itemgetter | None:
    """For a schema of two or more number features only: a getter of their values."""
    if len(columns) < 2 or any(kind != NUMBER for _, kind in columns):
        return None
    return operator.itemgetter(*(name for name, _ in columns))


FLOATS_ONLY = {float}


def _features(spec: FeatureSpec, features: Any) -> tuple[dict[str, Any], bool]:
    """FeatureSpec.validate's rules, raising the problems of this record; and whether every
    value is a float (the record's JSON can then be encoded the fast way)."""
    getter = _number_getter(spec.columns)
    if getter is not None and type(features) is dict and len(features) == len(spec.columns):
        # The common case in C calls: exactly the features, every one a float in range
        # (a NaN or infinity makes the sum non-finite; floats in range cannot overflow it).
        try:
            values = getter(features)
        except KeyError:
            pass
        else:
            if (
                set(map(type, values)) == FLOATS_ONLY
                and math.isfinite(sum(values))
                and min(values) >= -NUMBER_MAX
                and max(values) <= NUMBER_MAX
            ):
                return features, True
    if not isinstance(features, dict):
        raise _BadRecord({"features": "expected an object"}, "features must be an object")
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, kind in spec.columns:
        if name in features:
            value = features[name]
            # The common case without a call: a finite float in range (NaN fails the test).
            if kind == NUMBER and type(value) is float and -NUMBER_MAX <= value <= NUMBER_MAX:
                clean[name] = value
                continue
            value, problem = _coerce(value, kind)
            if problem:
                errors[name] = problem
            else:
                clean[name] = value
        else:
            errors[name] = "missing"
    if len(features) != len(clean):
        for name in features:
            if name not in clean and name not in errors:
                errors[str(name)] = "unknown feature"
    if errors:
        name, problem = sorted(errors.items())[0]
        said = {"missing": "is missing", "unknown feature": "is not a feature of this version"}
        raise _BadRecord({"features": errors}, f"features.{name} {said.get(problem, problem)}")
    return clean, False


def _timestamp(value: Any, now: datetime, skew: timedelta) -> datetime:
    if not isinstance(value, str):
        raise _BadRecord({"timestamp": "expected an ISO 8601 string"}, "timestamp must be a string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _BadRecord(
            {"timestamp": "not an ISO 8601 date and time"}, "timestamp is not ISO 8601"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _BadRecord(
            {"timestamp": "must carry a time zone (Z or +hh:mm)"}, "timestamp has no time zone"
        )
    moment = moment.astimezone(UTC)
    if moment > now + skew:
        raise _BadRecord(
            {"timestamp": f"lies in the future (more than {skew.seconds} s ahead)"},
            "timestamp lies in the future",
        )
    return moment


def _timestamp_cached(value: Any, now: datetime, skew: timedelta) -> datetime:
    """_timestamp, parsed once per distinct string of a batch (clients often send one)."""
    if type(value) is not str:
        return _timestamp(value, now, skew)
    found = _parsed.get(value)
    if found is None or found[0] is not now:
        found = _parsed[value] = (now, _timestamp(value, now, skew))
        if len(_parsed) > 20_000:
            _parsed.clear()
            _parsed[value] = found
    return found[1]


# string -> (the batch's `now` it was checked against, the moment); bad strings raise.
_parsed: dict[str, tuple[datetime, datetime]] = {}


def _text(record: dict[str, Any], name: str, limit: int, required: bool) -> str:
    value = record.get(name, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        low = 1 if required else 0
        raise _BadRecord(
            {name: f"a string of {low} to {limit} characters"},
            f"{name} must be a string of {low} to {limit} characters",
        )
    return value


def _record(
    record: Any, spec: FeatureSpec, base: dict[str, Any], now: datetime, skew: timedelta
) -> tuple[LoggedRecord, bool]:
    """(the checked record, whether it gave its own timestamp)."""
    if not isinstance(record, dict):
        raise _BadRecord({"": "expected an object"}, "expected an object")
    if not RECORD_KEYS.issuperset(record):
        unknown = sorted(str(key) for key in record if key not in RECORD_KEYS)
        raise _BadRecord({key: "unknown field" for key in unknown}, f"{unknown[0]} is unknown")
    for name in ("request_id", "features", "prediction"):
        if name not in record:
            raise _BadRecord({name: "missing"}, f"{name} is missing")
    request_id = _text(record, "request_id", REQUEST_ID_MAX, required=True)
    features, floats_only = _features(spec, record["features"])
    prediction = record["prediction"]
    if isinstance(prediction, bool) or not isinstance(prediction, int | float):
        raise _BadRecord({"prediction": "expected a number"}, "prediction must be a number")
    prediction = float(prediction) if -1e308 < prediction < 1e308 else math.inf
    if not math.isfinite(prediction):
        raise _BadRecord({"prediction": "must be a finite number"}, "prediction is not finite")
    stamped = "timestamp" in record
    occurred_at = _timestamp_cached(record["timestamp"], now, skew) if stamped else now
    attributes = record.get("attributes", {})
    if attributes != {}:
        problems = attribute_problems(attributes)
        if isinstance(problems, str):
            raise _BadRecord({"attributes": problems}, f"attributes: {problems}")
        if problems:
            name, problem = next(iter(problems.items()))
            raise _BadRecord({"attributes": problems}, f"attributes.{name}: {problem}")
    subject_id = _text(record, "subject_id", SUBJECT_ID_MAX, required=False)
    row = LoggedRecord(
        **base,
        request_id=request_id,
        occurred_at=occurred_at,
        features=features,
        attributes=attributes,
        prediction=prediction,
        subject_id=subject_id,
        floats_only=floats_only,
    )
    return row, stamped


def _same(row: LoggedRecord, stamped: bool, other: dict[str, Any] | LoggedRecord) -> bool:
    """Whether `other` (a stored row's values, or a record) says what `row` says.

    A record without a timestamp matches any time (it took the time it arrived); a stored
    row whose personal fields were erased matches on what is left of it.
    """
    get = other.get if isinstance(other, dict) else lambda name: getattr(other, name)
    if get("version_id") != row.version_id or get("prediction") != row.prediction:
        return False
    if stamped and get("occurred_at") != row.occurred_at:
        return False
    if isinstance(other, dict) and other["erased_at"] is not None:
        return True
    # Numbers compared as the database gives them back (3.4e+38 as a whole number).
    return (
        as_stored(get("features")) == as_stored(row.features)
        and as_stored(get("attributes") or {}) == as_stored(row.attributes)
        and get("subject_id") == row.subject_id
    )


def _check(
    records: Any, spec: FeatureSpec, base: dict[str, Any]
) -> list[tuple[LoggedRecord, bool]]:
    """Every record checked (with whether it gave a timestamp), repeats within the batch
    dropped; a 400 naming each bad record's index and field (the first ERRORS_LISTED)."""
    now = timezone.now()
    skew = timedelta(seconds=settings.INGEST_CLOCK_SKEW_SECONDS)
    checked: list[tuple[LoggedRecord, bool]] = []
    seen: dict[str, tuple[int, LoggedRecord, bool]] = {}
    errors: dict[str, Any] = {}
    messages: list[str] = []
    for index, record in enumerate(records):
        if len(errors) >= ERRORS_LISTED:
            break
        try:
            row, stamped = _record(record, spec, base, now, skew)
        except _BadRecord as bad:
            errors[str(index)] = bad.errors
            messages.append(f"Record {index}: {bad.message}.")
            continue
        earlier = seen.get(row.request_id)
        if earlier is None:
            seen[row.request_id] = (index, row, stamped)
            checked.append((row, stamped))
        elif earlier[2] != stamped or not _same(row, stamped, earlier[1]):
            errors[str(index)] = {"request_id": f"repeats record {earlier[0]} with other content"}
            messages.append(
                f"Record {index}: request_id {row.request_id!r} repeats record {earlier[0]} "
                "with other content."
            )
    if errors:
        more = f" ({len(errors)} records listed)" if len(errors) > 1 else ""
        raise InvalidInput(messages[0] + more, extra={"records": errors})
    return checked


def _stored(model_id: int, request_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The rows of these ids logged already (one array parameter on PostgreSQL, not
    10,000 placeholders to parse)."""
    if connection.vendor == "postgresql":
        ids = RawSQL("SELECT unnest(%s::text[])", (request_ids,))
        found = Prediction.objects.filter(model_id=model_id, request_id__in=ids)
    else:
        found = Prediction.objects.filter(model_id=model_id, request_id__in=request_ids)
    rows = found.values(
        "request_id",
        "version_id",
        "occurred_at",
        "features",
        "attributes",
        "prediction",
        "subject_id",
        "erased_at",
    )
    return {row["request_id"]: row for row in rows}


def _write(model_id: int, checked: list[tuple[LoggedRecord, bool]]) -> int:
    """Store what is not logged yet, in one transaction; how many rows were new."""
    with transaction.atomic():
        stored = _stored(model_id, [row.request_id for row, _ in checked])
        if not stored:
            fresh = [row for row, _ in checked]
        else:
            conflicting = [
                row.request_id
                for row, stamped in checked
                if row.request_id in stored and not _same(row, stamped, stored[row.request_id])
            ]
            if conflicting:
                listed = ", ".join(repr(request_id) for request_id in conflicting[:20])
                raise Conflict(
                    f"Logged already with other content: request_id {listed}. Nothing of "
                    "this batch was stored.",
                    extra={"request_ids": conflicting},
                )
            fresh = [row for row, _ in checked if row.request_id not in stored]
        if fresh:
            inference_log_write(fresh)
        return len(fresh)


def predictions_ingest(*, actor: Any, model_name: str, version: Any, records: Any) -> IngestResult:
    """Log a batch of predictions made elsewhere: all of it, or nothing (see the module)."""
    require(actor, Capability.LOG_PREDICTIONS, "log predictions")
    model = RegisteredModel.objects.filter(name=model_name).only("pk", "name").first()
    if model is None:
        raise NotFound(f"No model named {model_name!r}.")
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidInput("version must be a version number.", extra={"version": ["An integer."]})
    found = ModelVersion.objects.filter(model=model, version=version).first()
    if found is None:
        raise NotFound(
            f"{model.name} has no version {version}.",
            extra={"version": [f"{model.name} has no version {version}."]},
        )
    limit = settings.INGEST_MAX_RECORDS
    if not isinstance(records, list) or len(records) > limit:
        raise InvalidInput(
            f"records must be a list of at most {limit} records.",
            extra={"records": [f"A list of at most {limit} records."]},
        )
    spec = feature_spec(found)
    base = {"model_id": model.pk, "version_id": found.pk, "actor_id": actor.pk}
    checked = _check(records, spec, base)
    for attempt in range(RACE_ATTEMPTS):
        try:
            new = _write(model.pk, checked)
            break
        except IntegrityError:
            # Another request logged some of these ids since we looked: look again.
            if attempt + 1 == RACE_ATTEMPTS:
                raise
    return IngestResult(accepted=len(records), stored=new, duplicates=len(records) - new)
