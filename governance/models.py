from __future__ import annotations

import hashlib
from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

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
        noun = "approval" if self.required_approvals == 1 else "approvals"
        return f"{self.get_risk_tier_display()} risk: {self.required_approvals} {noun}"

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


def password_fingerprint(password_hash: str) -> str:
    """A digest of the user's stored password hash: a token minted under one password is
    refused once the password changes, however it changed (form, admin, command, SQL)."""
    return hashlib.sha256(password_hash.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """An API key for scripts and CI (`Authorization: Token <key>`).

    Only the key's SHA-256 is stored: a copy of the database lets nobody call the API. The
    key is shown once, when it is minted. `prefix` (its first characters) lets people tell
    their tokens apart in the admin; it is far too short to be used.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. ci-nightly.")
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    password_fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    def refusal(self, *, now: datetime) -> str:
        """Why the token may not be used at `now`; empty when it may. Reads `user`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        if self.password_fingerprint != password_fingerprint(self.user.password):
            return "revoked by a password change"
        return ""
