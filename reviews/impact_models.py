"""Business impact: the KPIs a model is meant to move, and the review after each release.

A BusinessKpi is what is measured (name, unit, which direction is better); a KpiValue is
its value over one period of days (start and end inclusive, in UTC). Periods of one KPI
never overlap, so each day has at most one value to set beside the model's quality
metrics. A BusinessImpactReview is scheduled by each production promotion (one per
deployment event) and completed once, with notes, by the board (reviews/impact.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from governance.history import governed_history
from models_registry.models import DeploymentEvent, ModelVersion, RegisteredModel


class BusinessKpi(models.Model):
    class Direction(models.TextChoices):
        HIGHER = "higher", "Higher is better"
        LOWER = "lower", "Lower is better"

    model = models.ForeignKey(
        RegisteredModel, on_delete=models.PROTECT, related_name="business_kpis"
    )
    name = models.CharField(max_length=100)
    unit = models.CharField(max_length=50, blank=True, help_text="e.g. %, EUR, customers.")
    direction = models.CharField(max_length=8, choices=Direction.choices)
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    history = governed_history()

    class Meta:
        verbose_name = "business KPI"
        ordering = ["model__name", "name"]
        constraints = [models.UniqueConstraint(fields=["model", "name"], name="kpi_name_per_model")]

    def __str__(self) -> str:
        unit = f" ({self.unit})" if self.unit else ""
        return f"{self.model.name}: {self.name}{unit}"


class KpiValue(models.Model):
    kpi = models.ForeignKey(BusinessKpi, on_delete=models.PROTECT, related_name="values")
    period_start = models.DateField()
    period_end = models.DateField(help_text="Inclusive: a month is its first to its last day.")
    value = models.FloatField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now=True)

    history = governed_history()

    class Meta:
        verbose_name = "KPI value"
        ordering = ["kpi", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["kpi", "period_start", "period_end"], name="kpi_value_per_period"
            ),
            models.CheckConstraint(
                condition=models.Q(period_end__gte=models.F("period_start")),
                name="kpi_period_ends_after_it_starts",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kpi.name} {self.period_start}..{self.period_end}: {self.value}"


class BusinessImpactReview(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"

    model = models.ForeignKey(
        RegisteredModel, on_delete=models.PROTECT, related_name="impact_reviews"
    )
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    deployment_event = models.OneToOneField(
        DeploymentEvent,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The promotion to production that scheduled it.",
    )
    promoted_at = models.DateTimeField()
    due_on = models.DateField(db_index=True)
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    notes = models.TextField(blank=True, help_text="What the review found.")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    history = governed_history()

    class Meta:
        verbose_name = "business-impact review"
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return f"business impact of {self.model.name} v{self.version.version}, due {self.due_on}"
