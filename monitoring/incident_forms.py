"""The forms of the incident page; the services check every value again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model

from governance.roles import ROLE_CAPABILITIES, Capability, user_can
from monitoring.models import Incident


def incident_workers() -> list[Any]:
    """Active users whose roles let them work on incidents: who may own one."""
    roles = [
        role.value for role, caps in ROLE_CAPABILITIES.items() if Capability.WORK_INCIDENTS in caps
    ]
    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=roles)
        .distinct()
        .order_by("username")
    )
    return [user for user in users if user_can(user, Capability.WORK_INCIDENTS)]


class AssignForm(forms.Form):
    owner = forms.ChoiceField(required=False)
    comment = forms.CharField(required=False, max_length=5000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.workers = {user.get_username(): user for user in incident_workers()}
        self.fields["owner"].choices = [("", "nobody"), *((n, n) for n in self.workers)]

    def chosen_owner(self) -> Any:
        return self.workers.get(self.cleaned_data["owner"]) if self.cleaned_data["owner"] else None


class CommentForm(forms.Form):
    comment = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Incident.Status.choices)
    comment = forms.CharField(
        required=False, max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class FlagSeriousForm(forms.Form):
    kind = forms.ChoiceField(choices=Incident.SeriousKind.choices)
    reason = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    aware_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="When you became aware of it (server time zone); now if left empty.",
    )


class ReportForm(forms.Form):
    """The serious incident was reported to the authority: under which reference, when."""

    reference = forms.CharField(max_length=200)
    reported_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="When it was reported (server time zone); now if left empty.",
    )
    comment = forms.CharField(required=False, max_length=5000)


class IncidentRollbackForm(forms.Form):
    comment = forms.CharField(max_length=5000)
    from_version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class RetrainForm(forms.Form):
    """Retrain the production version over the default window (RETRAINING_WINDOW_HOURS)."""
