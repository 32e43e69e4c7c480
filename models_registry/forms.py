from django import forms


class CardNotesForm(forms.Form):
    limitations = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 4})
    )
    ethical_considerations = forms.CharField(
        required=False, max_length=20000, widget=forms.Textarea(attrs={"rows": 4})
    )


class RollbackForm(forms.Form):
    """The model page's Roll back button: why, and the production version the page showed.

    The service answers a blank reason; `from_version` makes a second click on a stale page
    (someone rolled back meanwhile) a refusal instead of a second step back.
    """

    reason = forms.CharField(required=False, max_length=2000)
    from_version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
