"""Weekly review summaries: the Markdown the board was sent for a period, kept as sent.

Imported by reviews/models.py, so Django finds the model in the reviews app. Written only
by reviews/summary/services.py (one per period: storing the same period again returns the
stored one); afterwards only the addresses it was e-mailed to are added.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from governance.audit_context import Origin
from governance.history import governed_history


class ReviewSummary(models.Model):
    """What happened to the models in a period (whole UTC days, both ends included), as
    Markdown, with the same content as plain sections for the browser page."""

    period_start = models.DateField()
    period_end = models.DateField(help_text="The last day the summary covers (included).")
    markdown = models.TextField()
    sections = models.JSONField(
        default=list, help_text="The summary's sections as data; the page renders these."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.TASK)
    emailed_to = models.JSONField(
        default=list, blank=True, help_text="Addresses the summary was e-mailed to."
    )

    history = governed_history()

    class Meta:
        ordering = ["-period_end", "-id"]
        verbose_name_plural = "review summaries"
        constraints = [
            models.UniqueConstraint(
                fields=["period_start", "period_end"], name="one_review_summary_per_period"
            )
        ]

    def __str__(self) -> str:
        return f"Review summary {self.period_start} to {self.period_end}"

    @property
    def emailed_count(self) -> int:
        return len(self.emailed_to)

    @property
    def filename(self) -> str:
        return f"review-summary-{self.period_start}-to-{self.period_end}.md"
