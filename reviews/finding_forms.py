"""The forms of the findings pages; the services check every value again."""

from __future__ import annotations

from typing import Any

from django import forms

from governance.text import text_form_field
from reviews.evidence_links import MAX_LINKS
from reviews.finding_assignment import MAX_REASON, finding_owner_candidates
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


class FindingAssignForm(forms.Form):
    """A new owner (one of those who work on findings) and/or due date, and why."""

    owner = forms.ChoiceField(required=False)
    due_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    reason = text_form_field(
        limit=MAX_REASON, rows=2, placeholder="Why the owner or due date changes"
    )

    def __init__(self, *args: Any, finding: Finding | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owners = {user.get_username(): user for user in finding_owner_candidates()}
        self.fields["owner"].choices = [("", "(unchanged)"), *((n, n) for n in self.owners)]
        if finding is not None:
            current = finding.owner.get_username() if finding.owner else ""
            self.initial = {"owner": current if current in self.owners else ""}
            self.initial["due_date"] = finding.due_date

    def chosen_owner(self) -> Any:
        return self.owners.get(self.cleaned_data["owner"]) if self.cleaned_data["owner"] else None
