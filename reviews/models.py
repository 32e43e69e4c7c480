from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models

from governance.history import governed_history
from governance.models import RiskTier
from models_registry.models import ModelVersion


class PromotionRequest(models.Model):
    """A request to put a candidate version into production, decided by sign-offs."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        EXECUTED = "executed", "Executed"
        WITHDRAWN = "withdrawn", "Withdrawn"

    class Strategy(models.TextChoices):
        DIRECT = "direct", "Direct"
        CANARY = "canary", "Canary"

    class TargetStage(models.TextChoices):
        PRODUCTION = "production", "Production"

    OPEN_STATUSES = (Status.PENDING, Status.APPROVED)

    model_version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="promotion_requests"
    )
    target_stage = models.CharField(
        max_length=16, choices=TargetStage.choices, default=TargetStage.PRODUCTION
    )
    strategy = models.CharField(max_length=16, choices=Strategy.choices, default=Strategy.DIRECT)
    canary_traffic = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Percent of traffic for a canary; default from settings."
    )
    justification = models.TextField()
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="promotion_requests"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    executed_at = models.DateTimeField(null=True, blank=True)
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_card_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text="The card hash when the request closed; its sign-offs are judged against it.",
    )
    replaces = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
        help_text="The request withdrawn to make this one (requested again, say because "
        "approvals went stale): its sign-offs stay on record there.",
    )
    requested_tier = models.CharField(
        max_length=16,
        choices=RiskTier.choices,
        help_text="The model's risk tier when the request was made. The request is decided "
        "under the strictest tier the model has had while it was open.",
    )

    history = governed_history()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [  # the home page's "recently decided", newest first
            models.Index(fields=["decided_at"], name="request_decided_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["model_version"],
                condition=models.Q(status__in=["pending", "approved"]),
                name="one_open_request_per_version",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.model_version} → {self.target_stage} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def closed_at(self) -> datetime | None:
        """When the request stopped being open (executed, rejected or withdrawn)."""
        if self.is_open:
            return None
        return self.executed_at or self.decided_at


class SignOff(models.Model):
    """One reviewer's decision on a request, bound to the card hash they read."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"

    request = models.ForeignKey(
        PromotionRequest, on_delete=models.PROTECT, related_name="sign_offs"
    )
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sign_offs"
    )
    signer_roles = models.JSONField(
        default=list, help_text="The signer's roles when signing; the policy counts these."
    )
    decision = models.CharField(max_length=16, choices=Decision.choices)
    comment = models.TextField(blank=True)
    card_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField(auto_now_add=True)

    history = governed_history()

    class Meta:
        ordering = ["signed_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "signer"], name="one_sign_off_per_signer")
        ]

    def __str__(self) -> str:
        return f"{self.signer} {self.decision}s request #{self.request_id}"


from reviews.finding_models import Finding, FindingEvent  # noqa: E402
from reviews.impact_models import (  # noqa: E402  (Django finds models here)
    BusinessImpactReview,
    BusinessKpi,
    KpiValue,
)
from reviews.meeting_models import (  # noqa: E402
    AgendaItem,
    Attendance,
    Board,
    BoardMember,
    Decision,
    Meeting,
)
from reviews.revalidation_models import (  # noqa: E402
    ModelMateriality,
    RevalidationPolicy,
    Validation,
)
from reviews.summary_models import ReviewSummary  # noqa: E402

__all__ = [
    "AgendaItem",
    "Attendance",
    "Board",
    "BoardMember",
    "BusinessImpactReview",
    "BusinessKpi",
    "Decision",
    "Finding",
    "FindingEvent",
    "KpiValue",
    "Meeting",
    "ModelMateriality",
    "PromotionRequest",
    "RevalidationPolicy",
    "ReviewSummary",
    "SignOff",
    "Validation",
]
