from typing import Any

from django import forms

from reviews.models import SignOff


class SignOffForm(forms.Form):
    """A sign-off in the browser or the admin. A rejection closes the request for good, so
    the form asks why (the API keeps the contract's optional comment)."""

    decision = forms.ChoiceField(choices=SignOff.Decision.choices, widget=forms.HiddenInput)
    comment = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What you checked, and why"}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("decision") == SignOff.Decision.REJECT and not cleaned.get("comment", ""):
            self.add_error("comment", "Say why you reject: the requester reads it.")
        return cleaned


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "Why (kept in the request's history)"}),
    )


class RequestAgainForm(WithdrawForm):
    """Withdraw and request again on the current card; its fields are prefixed `again-` so
    they sit beside the withdraw form on one page."""

    prefix = "again"
