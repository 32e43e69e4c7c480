"""The forms of the findings pages; the services check every value again."""

from __future__ import annotations

from django import forms

from reviews.evidence_links import MAX_LINKS
from reviews.finding_models import Finding


class LinksField(forms.CharField):
    """One URL per line -> a list (the service checks each is http or https)."""

    widget = forms.Textarea(attrs={"rows": 2, "placeholder": "One link per line (optional)"})

    def to_python(self, value: str | None) -> list[str]:  # type: ignore[override]
        lines = [line.strip() for line in (value or "").splitlines() if line.strip()]
        if len(lines) > MAX_LINKS:
            raise forms.ValidationError(f"At most {MAX_LINKS} links.")
        return lines


class FindingStatusForm(forms.Form):
    status = forms.ChoiceField(choices=Finding.Status.choices)
    comment = forms.CharField(
        required=False,
        max_length=10000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "Why (needed to accept the risk, close or reopen)"}
        ),
    )
    evidence = forms.CharField(
        required=False,
        max_length=10000,
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "placeholder": "Remediation evidence (needed for remediated unless already given)",
            }
        ),
    )
    links = LinksField(required=False)


class FindingEvidenceForm(forms.Form):
    evidence = forms.CharField(
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What shows the remediation"}),
    )
    links = LinksField(required=False)
