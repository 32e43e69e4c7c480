from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from governance.audit.models import (  # noqa: F401  (the audit trail's tables)
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    AuditVerification,
)
from governance.history import governed_history
from governance.roles import Role


class RiskTier(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class ApprovalPolicy(models.Model):
    """How many approvals, and from which roles, a promotion of a model of this tier needs."""

    SIGNING_ROLES = (Role.VALIDATOR, Role.BOARD, Role.COMPLIANCE)

    risk_tier = models.CharField(max_length=16, choices=RiskTier.choices, unique=True)
    required_approvals = models.PositiveSmallIntegerField(
        help_text="Valid approvals needed before a promotion may execute."
    )
    required_roles = models.JSONField(
        default=list,
        blank=True,
        help_text='Roles that must each be among the approvers, e.g. ["validator"].',
    )
    updated_at = models.DateTimeField(auto_now=True)

    history = governed_history()

    class Meta:
        ordering = ["risk_tier"]
        verbose_name_plural = "approval policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(required_approvals__gte=1), name="policy_needs_an_approval"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_risk_tier_display()} risk: {self.required_approvals} approval(s)"

    def clean(self) -> None:
        roles = self.required_roles
        signing = {role.value for role in self.SIGNING_ROLES}
        if not isinstance(roles, list) or any(role not in signing for role in roles):
            raise ValidationError(
                {"required_roles": f"A list of signing roles: {', '.join(sorted(signing))}."}
            )
        if len(set(roles)) != len(roles):
            raise ValidationError({"required_roles": "Each role at most once."})
        if self.required_approvals is not None and self.required_approvals < len(roles):
            raise ValidationError(
                {"required_approvals": "Must be at least the number of required roles."}
            )
