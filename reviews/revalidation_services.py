"""Revalidation by risk: the interval policy, a model's materiality, recorded validations.

Who (governance/roles.py):
- compliance officers edit the interval of a risk level (`use_admin`, as for approval
  policies) and set a model's materiality (`change_risk_tier`: like the tier, it decides how
  strictly the model is governed); each change needs a reason, kept on the row, in its
  history and in the audit event (SR 26-2 asks for the rationale of the frequency);
- validators and compliance officers record validations (`record_validation`). A validation
  is independent of the model's development: the model's owner, the user who registered the
  validated version and the author of its MLflow run may not record it (403).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import transaction
from django.utils import timezone

from governance.errors import InvalidInput, NotAllowed
from governance.history import set_change_reason
from governance.models import RiskTier
from governance.roles import Capability, user_can
from governance.services import audit_record, require
from governance.text import text_checked
from models_registry.models import ModelVersion, RegisteredModel
from reviews.duties import is_run_author
from reviews.evidence_links import links_checked
from reviews.finding_services import finding_raise
from reviews.revalidation_models import (
    MAX_INTERVAL_MONTHS,
    ModelMateriality,
    RevalidationPolicy,
    Validation,
)
from reviews.revalidation_schedule import DEFAULT_INTERVAL_MONTHS

MAX_TEXT = 10000
MAX_REASON = 2000
# What a finding raised with a validation may say; model, version and raiser are the validation's.
FINDING_FIELDS = frozenset({"title", "description", "severity", "owner", "due_date", "links"})


def _level(value: Any, field: str) -> str:
    if value not in RiskTier.values:
        raise InvalidInput(
            f"Not a {field}.", extra={field: [f"One of: {', '.join(RiskTier.values)}."]}
        )
    return str(value)


@transaction.atomic
def revalidation_policy_save(
    *, actor: Any, risk_level: str, interval_months: int, reason: str
) -> tuple[RevalidationPolicy, bool]:
    """Set how many months may pass between validations at `risk_level`; (policy, changed).

    The same interval again changes nothing and records nothing.
    """
    if not user_can(actor, Capability.USE_ADMIN) and not getattr(actor, "is_superuser", False):
        raise NotAllowed("Only compliance officers edit revalidation intervals.")
    risk_level = _level(risk_level, "risk_level")
    if (
        isinstance(interval_months, bool)
        or not isinstance(interval_months, int)
        or not 1 <= interval_months <= MAX_INTERVAL_MONTHS
    ):
        raise InvalidInput(
            "The interval is a whole number of months.",
            extra={"interval_months": [f"Between 1 and {MAX_INTERVAL_MONTHS}."]},
        )
    reason = text_checked(reason, "reason", limit=MAX_REASON)
    policy = RevalidationPolicy.objects.select_for_update().filter(risk_level=risk_level).first()
    before = policy.interval_months if policy else DEFAULT_INTERVAL_MONTHS[RiskTier(risk_level)]
    if policy is not None and policy.interval_months == interval_months:
        return policy, False
    policy = policy or RevalidationPolicy(risk_level=risk_level)
    policy.interval_months = interval_months
    policy.reason = reason
    policy.updated_by = actor
    set_change_reason(policy, f"{before} -> {interval_months} months: {reason}"[:100])
    policy.save()
    audit_record(
        action="revalidation_policy.edited",
        object_type="revalidation_policy",
        object_id=risk_level,
        data={"interval_months": {"old": before, "new": interval_months}, "reason": reason},
        actor=actor,
    )
    return policy, True


@transaction.atomic
def materiality_set(
    *, actor: Any, model: RegisteredModel, materiality: str, reason: str
) -> tuple[ModelMateriality, bool]:
    """Record `model`'s materiality (low, medium, high); (row, changed)."""
    if not user_can(actor, Capability.CHANGE_RISK_TIER):
        raise NotAllowed("Only compliance officers set a model's materiality.")
    materiality = _level(materiality, "materiality")
    reason = text_checked(reason, "reason", limit=MAX_REASON)
    row = ModelMateriality.objects.select_for_update().filter(model=model).first()
    before = row.materiality if row else None
    if row is not None and before == materiality:
        return row, False
    row = row or ModelMateriality(model=model)
    row.materiality = materiality
    row.reason = reason
    row.updated_by = actor
    set_change_reason(row, f"{before or 'as tier'} -> {materiality}: {reason}"[:100])
    row.save()
    audit_record(
        action="model.materiality_set",
        object_type="model",
        object_id=model.name,
        data={"materiality": {"old": before, "new": materiality}, "reason": reason},
        actor=actor,
    )
    return row, True


def _version_of(model: RegisteredModel, number: int | None) -> ModelVersion | None:
    if number is None:
        return None
    version = (
        ModelVersion.objects.filter(model=model, version=number).select_related("model").first()
    )
    if version is None:
        raise InvalidInput(
            f"{model.name} has no version {number}.",
            extra={"version": [f"{model.name} has no version {number}."]},
        )
    return version


def validation_independence_refusal(
    actor: Any, model: RegisteredModel, version: ModelVersion | None
) -> str | None:
    """Why `actor` is too close to the model's development to validate it, or None."""
    if actor.pk == model.owner_id:
        return f"You own model {model.name}; its validation must be independent."
    if version is not None and actor.pk == version.registered_by_id:
        return f"You registered {model.name} v{version.version}; someone else must validate it."
    if version is not None and is_run_author(actor, version):
        return "You ran the MLflow run this version was trained in; someone else must validate it."
    return None


def _validated_on(value: date | None, model: RegisteredModel) -> date:
    today = timezone.localdate()
    day = value or today
    if day > today:
        raise InvalidInput(
            "A validation is recorded once done.",
            extra={"validated_on": ["May not be in the future."]},
        )
    if day < timezone.localdate(model.created_at):
        raise InvalidInput(
            "The model did not exist yet.",
            extra={
                "validated_on": [
                    f"{model.name} was registered on {timezone.localdate(model.created_at)}."
                ]
            },
        )
    return day


@transaction.atomic
def validation_record(
    *,
    actor: Any,
    model: RegisteredModel,
    scope: str,
    outcome: str,
    version: int | None = None,
    validated_on: date | None = None,
    evidence: str = "",
    links: list[str] | None = None,
    findings: list[dict[str, Any]] | None = None,
) -> Validation:
    """Record a validation of `model` (of its `version` number, if given); a passing one
    sets the model's last-validated date (reviews/revalidation_schedule.py).

    `findings` (each: title, description, severity, optional owner, due_date, links) are
    raised with it, on its version; a validation that passed outright raises none. All or
    nothing: one bad finding is a 400 naming its index, and nothing is stored.
    """
    require(actor, Capability.RECORD_VALIDATION, "record validations")
    if outcome not in Validation.Outcome.values:
        raise InvalidInput(
            "Not an outcome.",
            extra={"outcome": [f"One of: {', '.join(Validation.Outcome.values)}."]},
        )
    scope = text_checked(scope, "scope", limit=MAX_TEXT)
    evidence = text_checked(evidence, "evidence", limit=MAX_TEXT, required=False)
    links = links_checked(links)
    the_version = _version_of(model, version)
    day = _validated_on(validated_on, model)
    findings = findings or []
    for index, finding in enumerate(findings):
        unknown = sorted(set(finding) - FINDING_FIELDS)
        if unknown:
            raise InvalidInput(
                f"Finding {index} has unknown fields.",
                extra={"findings": [f"Item {index}: unknown {', '.join(unknown)}."]},
            )
    if findings and outcome == Validation.Outcome.PASSED:
        raise InvalidInput(
            "A validation that passed raises no findings.",
            extra={"findings": ["Record the outcome as passed_with_findings (or failed)."]},
        )
    refusal = validation_independence_refusal(actor, model, the_version)
    if refusal:
        raise NotAllowed(refusal)
    validation = Validation(
        model=model,
        version=the_version,
        validated_by=actor,
        validated_on=day,
        scope=scope,
        outcome=outcome,
        evidence=evidence,
        links=links,
    )
    set_change_reason(validation, f"recorded ({outcome})")
    validation.save()
    raised = []
    for index, finding in enumerate(findings):
        try:
            raised.append(
                finding_raise(
                    actor=actor, model=model, version=version, validation=validation, **finding
                )
            )
        except InvalidInput as error:
            problems = [f"{name}: {' '.join(map(str, msgs))}" for name, msgs in error.extra.items()]
            raise InvalidInput(
                f"Finding {index}: {error.detail}",
                extra={"findings": [f"Item {index}: {'; '.join(problems) or error.detail}"]},
            ) from None
    audit_record(
        action="validation.recorded",
        object_type="validation",
        object_id=validation.pk,
        data={
            "model": model.name,
            "version": version,
            "outcome": outcome,
            "validated_on": day.isoformat(),
            "scope": scope,
            "findings": [f.pk for f in raised],
        },
        actor=actor,
    )
    return validation
