"""The forms of the alert page. A silence is checked here with the services' own rule
(silence_problems), so a bad one shows its errors beside the fields; alert_silence checks
it again."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.utils import timezone

from monitoring.services.alert_actions import silence_problems

UNTIL = "until"
DURATIONS = {
    "1h": ("1 hour", timedelta(hours=1)),
    "4h": ("4 hours", timedelta(hours=4)),
    "24h": ("24 hours", timedelta(hours=24)),
    "7d": ("7 days", timedelta(days=7)),
}


class CommentForm(forms.Form):
    """Acknowledge or unsilence, with an optional note."""

    comment = forms.CharField(required=False, max_length=5000)


class SilenceForm(forms.Form):
    duration = forms.ChoiceField(
        choices=[
            *((key, label) for key, (label, _) in DURATIONS.items()),
            (UNTIL, "until the time below"),
        ],
        initial="4h",
        label="For",
    )
    until = forms.DateTimeField(
        required=False,
        label="Until",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="With “until the time below”: when the silence ends (server time zone).",
    )
    reason = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        duration = cleaned.get("duration")
        if duration is None:
            return cleaned
        now = timezone.now()
        until: datetime | None = cleaned.get("until")
        if duration != UNTIL:
            until = now + DURATIONS[duration][1]
        elif until is None:
            if "until" not in self.errors:
                self.add_error("until", "Give the date and time the silence ends.")
            return cleaned
        for name, errors in silence_problems(until, cleaned.get("reason"), now).items():
            if name not in self.errors:  # a blank reason already says so
                self.add_error(name, errors)
        cleaned["ends_at"] = until
        return cleaned
