"""The forms of the board and meeting pages; the services in reviews/meetings/ check every
value again (roles, seats, the meeting's state), so a form only shapes the input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from reviews.finding_models import Finding
from reviews.meeting_models import BoardMember, Decision

TEXT = 10000


def _people() -> Any:
    return get_user_model().objects.filter(is_active=True).order_by("username")


class UserChoice(forms.ModelChoiceField):
    """A person by username (the choices list them; the service checks their roles)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("to_field_name", "username")
        super().__init__(queryset=_people(), **kwargs)

    def label_from_instance(self, obj: Any) -> str:
        return obj.username


class BoardForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
    description = forms.CharField(
        required=False, max_length=TEXT, widget=forms.Textarea(attrs={"rows": 2})
    )
    cadence_months = forms.IntegerField(
        initial=3,
        min_value=1,
        max_value=24,
        help_text="3 is quarterly; closing a meeting schedules the next one.",
    )
    quorum = forms.IntegerField(
        initial=2, min_value=1, help_text="Voting members present for the board to decide."
    )


class MemberForm(forms.Form):
    user = UserChoice()
    role = forms.ChoiceField(choices=BoardMember.Role.choices, initial=BoardMember.Role.MEMBER)
    voting = forms.BooleanField(required=False, initial=True)


class ScheduleForm(forms.Form):
    scheduled_for = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
    )
    title = forms.CharField(required=False, max_length=200, strip=True)


class AgendaItemForm(forms.Form):
    title = forms.CharField(max_length=300, strip=True)
    summary = forms.CharField(
        required=False, max_length=TEXT, widget=forms.Textarea(attrs={"rows": 2})
    )


class AttendanceForm(forms.Form):
    user = UserChoice(widget=forms.HiddenInput)
    present = forms.TypedChoiceField(
        choices=[("yes", "present"), ("no", "absent")], coerce=lambda value: value == "yes"
    )


class MinutesForm(forms.Form):
    """Minutes of one agenda item, or (without an item) the meeting's general notes."""

    item = forms.IntegerField(required=False, widget=forms.HiddenInput)
    text = forms.CharField(
        required=False, max_length=TEXT, widget=forms.Textarea(attrs={"rows": 3})
    )


class DecisionForm(forms.Form):
    """A decision on one agenda item. What it concerns (the request to approve or reject,
    the incident, the model) comes from the item; the service says what is missing."""

    item = forms.IntegerField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=Decision.Kind.choices)
    text = forms.CharField(max_length=TEXT, widget=forms.Textarea(attrs={"rows": 2}))
    severity = forms.ChoiceField(
        required=False,
        choices=[("", "—"), *Finding.Severity.choices],
        help_text="Findings: how grave (the finding is raised with it).",
    )
    owner = UserChoice(required=False, help_text="Action items and findings: who does it.")
    due_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Action items and findings.",
    )


class ActionItemDoneForm(forms.Form):
    note = forms.CharField(required=False, max_length=TEXT, strip=True)
