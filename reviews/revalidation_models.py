"""Revalidation by risk (SR 26-2): how often each model is validated again, and the record
of each validation. The schedule itself is computed in reviews/revalidation_schedule.py."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from governance.history import governed_history
from governance.models import RiskTier
from models_registry.models import ModelVersion, RegisteredModel

MAX_INTERVAL_MONTHS = 120


class RevalidationPolicy(models.Model):
    """How many months may pass between validations of a model of one risk level.

    A model's risk level is the stricter of its risk tier and its materiality. Without a
    row the default of reviews/revalidation_schedule.py applies (high 6, medium 12, low 24).
    """

    risk_level = models.CharField(max_length=16, choices=RiskTier.choices, unique=True)
    interval_months = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_INTERVAL_MONTHS)],
        help_text="Months from one validation (or the model's registration) to the next due.",
    )
    reason = models.TextField(help_text="Why the interval is what it is; given with each change.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = governed_history()

    class Meta:
        ordering = ["risk_level"]
        verbose_name_plural = "revalidation policies"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    interval_months__gte=1, interval_months__lte=MAX_INTERVAL_MONTHS
                ),
                name="revalidation_interval_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_risk_level_display()} risk: every {self.interval_months} month(s)"


class ModelMateriality(models.Model):
    """How much harm a model's errors could do (exposure, decisions it drives).

    Without a row, a model's materiality is its risk tier. A materiality above the tier
    makes the model's revalidation as frequent as that level's; one below changes nothing
    (the tier already asks for its own frequency).
    """

    model = models.OneToOneField(
        RegisteredModel, on_delete=models.PROTECT, related_name="materiality"
    )
    materiality = models.CharField(max_length=16, choices=RiskTier.choices)
    reason = models.TextField(help_text="Why the model has this materiality.")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history = governed_history()

    class Meta:
        ordering = ["model__name"]
        verbose_name_plural = "model materialities"

    def __str__(self) -> str:
        return f"{self.model.name}: {self.materiality} materiality"


class Validation(models.Model):
    """One recorded validation of a model (optionally of one version): who checked what,
    and the outcome. A passing outcome sets the model's last-validated date."""

    class Outcome(models.TextChoices):
        PASSED = "passed", "Passed"
        PASSED_WITH_FINDINGS = "passed_with_findings", "Passed with findings"
        FAILED = "failed", "Failed"

    # A failed validation is on record but does not restart the clock: the model stays due.
    RESETS_SCHEDULE = (Outcome.PASSED, Outcome.PASSED_WITH_FINDINGS)

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="validations")
    version = models.ForeignKey(
        ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="validations"
    )
    validated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="validations"
    )
    validated_on = models.DateField(db_index=True)
    scope = models.TextField(help_text="What was checked.")
    outcome = models.CharField(max_length=32, choices=Outcome.choices)
    evidence = models.TextField(blank=True)
    links = models.JSONField(default=list, blank=True, help_text="Evidence links (http/https).")
    recorded_at = models.DateTimeField(auto_now_add=True)

    history = governed_history()

    class Meta:
        ordering = ["-validated_on", "-id"]

    def __str__(self) -> str:
        return f"{self.model.name} validated {self.validated_on}: {self.outcome}"

    @property
    def resets_schedule(self) -> bool:
        return self.outcome in self.RESETS_SCHEDULE
