"""Form input for the browser: parsing here, field rules from annotations.validation.

A form turns what was typed into values (a date, a label of the scale) and says so when
it cannot; whether a value is allowed is decided by the same rules the services apply,
so the page and the API give one sentence for one mistake.
"""

from collections.abc import Callable

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator

from annotations import validation
from annotations.importing import SUPPORTED_SUFFIXES, canonical_text
from annotations.models import Claim, RatingLabel, Source, Stance


def _rules_apply(form: forms.BaseForm, check: Callable[[], None]) -> None:
    """Put the rules' sentences on the form's fields; a field that did not even parse
    keeps its one sentence."""
    try:
        check()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            if field not in form.errors:
                form.add_error(field, messages)


def _length_left_to_rules(field: forms.Field) -> None:
    """Drop Django's own length check (its sentence is not the rule's); the widget keeps
    its maxlength attribute, which stops the typing in the browser."""
    field.validators = [v for v in field.validators if not isinstance(v, MaxLengthValidator)]


def _parsed(form: forms.BaseForm, names) -> dict:
    return {name: form.cleaned_data[name] for name in names if name in form.cleaned_data}


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
            "claim_date": {"invalid": validation.CLAIM_DATE_INVALID},
            "rating": {"invalid_choice": validation.RATING_NOT_IN_SCALE},
        }

    def __init__(self, *args, workspace, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        rating = self.fields["rating"]
        assert isinstance(rating, forms.ModelChoiceField)  # what a ModelForm makes of a ForeignKey
        rating.queryset = RatingLabel.objects.filter(scale__workspace=workspace).order_by("position")
        rating.empty_label = "Not rated yet"
        _length_left_to_rules(self.fields["claim_reviewed"])
        _length_left_to_rules(self.fields["claimant"])

    def clean(self):
        super().clean()
        fields = _parsed(self, self.Meta.fields)
        _rules_apply(self, lambda: validation.claim_fields_validate(fields=fields, workspace_id=self.workspace.pk))
        return self.cleaned_data


class SourceForm(forms.ModelForm):
    # Text, not forms.URLField: that one would add "https://" to "example.org" here, while
    # the API refuses it; the rules decide what a web address is, for both.
    url = forms.CharField(label="URL", required=False, widget=forms.URLInput(attrs={"maxlength": validation.MAX_URL}))
    archive_url = forms.CharField(
        label="Archive URL", required=False, widget=forms.URLInput(attrs={"maxlength": validation.MAX_URL})
    )

    class Meta:
        model = Source
        fields = ["url", "title", "publisher", "quote", "stance", "accessed_on", "archive_url"]
        widgets = {
            "accessed_on": forms.DateInput(attrs={"type": "date"}),
            "quote": forms.Textarea(attrs={"rows": 2}),
        }
        error_messages = {
            "stance": {"invalid_choice": validation.STANCE_UNKNOWN, "required": validation.STANCE_UNKNOWN},
            "accessed_on": {"invalid": validation.ACCESSED_ON_INVALID},
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stance = self.fields["stance"]
        assert isinstance(stance, forms.ChoiceField)  # what a ModelForm makes of a field with choices
        stance.choices = Stance.choices
        _length_left_to_rules(self.fields["title"])
        _length_left_to_rules(self.fields["publisher"])

    def clean(self):
        super().clean()
        fields = _parsed(self, self.Meta.fields)
        new = self.instance.pk is None
        _rules_apply(self, lambda: validation.source_fields_validate(fields=fields, new=new))
        return self.cleaned_data


SourceFormSet = forms.modelformset_factory(Source, form=SourceForm, extra=1, can_delete=True)


class ArticleAddForm(forms.Form):
    title = forms.CharField(
        required=False, help_text="Leave empty to use the first line of the text.",
        widget=forms.TextInput(attrs={"maxlength": validation.MAX_ARTICLE_TITLE}),
    )
    # Text, not forms.URLField, for the same reason as SourceForm.url.
    url = forms.CharField(
        required=False, widget=forms.URLInput(attrs={"maxlength": validation.MAX_URL}),
        help_text="With no text or file, the desk fetches this page and reads its text, title, author and date.",
    )
    watch = forms.BooleanField(
        required=False, initial=True, label="Watch the page for edits",
        help_text="A fetched page is fetched again on a schedule; a changed text becomes a new version.",
    )
    publisher = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"maxlength": validation.MAX_ARTICLE_PUBLISHER})
    )
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}), required=False, strip=False)
    file = forms.FileField(required=False, help_text="A .txt or .html file, instead of pasting.")

    @property
    def fetches_url(self) -> bool:
        """No text and no file, but a web address: the page is fetched (article_import_url)."""
        cleaned = self.cleaned_data
        return bool(cleaned.get("url", "").strip()) and not cleaned.get("file") and not cleaned.get("text", "").strip()

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        text, upload = cleaned.get("text", ""), cleaned.get("file")
        if upload and text.strip():
            raise forms.ValidationError("Paste the text or upload a file, not both.")
        if upload and not upload.name.lower().endswith(SUPPORTED_SUFFIXES):
            self.add_error("file", "Upload a .txt or .html file.")
        fields = _parsed(self, ["title", "url", "publisher"])
        if not upload and "text" in cleaned and not self.fetches_url:
            # Measured as it will be stored; an uploaded file's text is checked once read.
            fields["text"] = canonical_text(text)
        _rules_apply(self, lambda: validation.article_fields_validate(fields=fields))
        return cleaned


class ArticleFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    has_claims = forms.BooleanField(required=False)
    has_drafts = forms.BooleanField(required=False)
    publisher = forms.CharField(required=False, max_length=200)
