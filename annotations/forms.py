"""Form validation for the browser: every field gets a sentence when it is wrong."""

from django import forms
from django.core.validators import URLValidator
from django.utils import timezone

from annotations.importing import SUPPORTED_SUFFIXES
from annotations.models import Claim, RatingLabel, Source, Stance

BAD_URL = "Enter a web address starting with http:// or https://."
HTTP_URL = URLValidator(schemes=["http", "https"], message=BAD_URL)
MAX_RATIONALE = 20_000
MAX_QUOTE = 5_000


def not_in_future(value, field: str):
    if value and value > timezone.localdate():
        raise forms.ValidationError(f"The {field} cannot be in the future.")
    return value


class ClaimForm(forms.ModelForm):
    revision = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    class Meta:
        model = Claim
        fields = ["claim_reviewed", "claimant", "claim_date", "rating", "rationale"]
        widgets = {
            "claim_date": forms.DateInput(attrs={"type": "date"}),
            "rationale": forms.Textarea(attrs={"rows": 6}),
            "claim_reviewed": forms.TextInput(attrs={"placeholder": "The claim in one neutral sentence"}),
        }
        error_messages = {
            "claim_reviewed": {"max_length": "Keep the restatement under %(limit_value)d characters (it has %(show_value)d)."},
            "claimant": {"max_length": "The claimant can be at most %(limit_value)d characters (it has %(show_value)d)."},
            "claim_date": {"invalid": "Enter the claim date as YYYY-MM-DD."},
            "rating": {"invalid_choice": "Choose a rating from this desk's scale."},
        }

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rating"].queryset = RatingLabel.objects.filter(scale__workspace=workspace).order_by("position")
        self.fields["rating"].empty_label = "Not rated yet"

    def clean_claim_reviewed(self):
        value = self.cleaned_data["claim_reviewed"].strip()
        if "\n" in value:
            raise forms.ValidationError("The restatement is one line; remove the line breaks.")
        return value

    def clean_claim_date(self):
        return not_in_future(self.cleaned_data.get("claim_date"), "claim date")

    def clean_rationale(self):
        value = self.cleaned_data["rationale"]
        if len(value) > MAX_RATIONALE:
            raise forms.ValidationError(f"The rationale can be at most {MAX_RATIONALE} characters (it has {len(value)}).")
        return value


class SourceForm(forms.ModelForm):
    url = forms.URLField(
        label="URL", max_length=2000, assume_scheme="https",
        error_messages={"required": "Give the source's web address.", "invalid": BAD_URL,
                        "max_length": "The web address is too long (at most %(limit_value)d characters)."},
    )
    archive_url = forms.URLField(
        label="Archive URL", max_length=2000, required=False, assume_scheme="https",
        error_messages={"invalid": BAD_URL, "max_length": "The web address is too long (at most %(limit_value)d characters)."},
    )

    class Meta:
        model = Source
        fields = ["url", "title", "publisher", "quote", "stance", "accessed_on", "archive_url"]
        widgets = {
            "accessed_on": forms.DateInput(attrs={"type": "date"}),
            "quote": forms.Textarea(attrs={"rows": 2}),
        }
        error_messages = {
            "title": {"max_length": "The title can be at most %(limit_value)d characters (it has %(show_value)d)."},
            "publisher": {"max_length": "The publisher can be at most %(limit_value)d characters (it has %(show_value)d)."},
            "stance": {"invalid_choice": "Choose whether the source supports, refutes or gives context."},
            "accessed_on": {"invalid": "Enter the date you accessed the source as YYYY-MM-DD."},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["url"].validators = [HTTP_URL]
        self.fields["archive_url"].validators = [HTTP_URL]
        self.fields["stance"].choices = Stance.choices

    def clean_quote(self):
        value = self.cleaned_data["quote"]
        if len(value) > MAX_QUOTE:
            raise forms.ValidationError(f"The quote can be at most {MAX_QUOTE} characters (it has {len(value)}).")
        return value

    def clean_accessed_on(self):
        return not_in_future(self.cleaned_data.get("accessed_on"), "access date")


SourceFormSet = forms.modelformset_factory(Source, form=SourceForm, extra=1, can_delete=True)


class ArticleAddForm(forms.Form):
    title = forms.CharField(max_length=500, required=False, help_text="Leave empty to use the first line of the text.")
    url = forms.URLField(
        max_length=2000, required=False, validators=[HTTP_URL], assume_scheme="https",
        error_messages={"invalid": BAD_URL},
    )
    publisher = forms.CharField(max_length=200, required=False)
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), required=False, strip=False)
    file = forms.FileField(required=False, help_text="A .txt or .html file, instead of pasting.")

    def clean(self):
        cleaned = super().clean()
        text, upload = cleaned.get("text", ""), cleaned.get("file")
        if upload and text.strip():
            raise forms.ValidationError("Paste the text or upload a file, not both.")
        if not upload and not text.strip():
            self.add_error("text", "Paste the article's text or choose a file to upload.")
        if upload and not upload.name.lower().endswith(SUPPORTED_SUFFIXES):
            self.add_error("file", "Upload a .txt or .html file.")
        return cleaned


class ArticleFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    has_claims = forms.BooleanField(required=False)
    has_drafts = forms.BooleanField(required=False)
    publisher = forms.CharField(required=False, max_length=200)
