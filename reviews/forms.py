from django import forms

from reviews.models import SignOff


class SignOffForm(forms.Form):
    decision = forms.ChoiceField(choices=SignOff.Decision.choices, widget=forms.HiddenInput)
    comment = forms.CharField(
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What you checked, and why"}),
    )
