"""Forms of the auction pages: a coordinator's new auction and a faculty member's bid. The services validate again
and have the last word; their errors land on the field they name."""

from __future__ import annotations

import secrets
from typing import Any

from django import forms

from allocation.preassignment_forms import WeekChoiceField
from auctions.algorithms.vickrey import MAX_POINTS
from auctions.auction_models import VickreyAuction
from auctions.ledger import DESCRIPTION_MAX
from preferences.models import AcademicYear, Rotation

KINDS = [(VickreyAuction.Kind.DESIRABLE, "Wanted week: bids"), (VickreyAuction.Kind.REVERSE, "Unwanted week: asks")]


class AuctionCreateForm(forms.Form):
    week = WeekChoiceField(label="Week", queryset=None, empty_label="Choose…",
                           error_messages={"required": "Choose the week.", "invalid_choice": "Choose a week of this year."})
    rotation = forms.ModelChoiceField(label="Rotation", queryset=Rotation.objects.order_by("name"), empty_label="Choose…",
                                      error_messages={"required": "Choose the rotation."})
    kind = forms.ChoiceField(label="Kind", choices=KINDS, initial=VickreyAuction.Kind.DESIRABLE,
                             help_text="Desirable: faculty bid points for it. Undesirable: they ask points for taking it.")
    reserve_price = forms.IntegerField(
        label="Reserve (points)", min_value=0, max_value=MAX_POINTS, initial=0,
        help_text="Desirable: the lowest winning bid. Undesirable: the most the programme pays.",
        error_messages={"required": "Give the reserve in whole points (0 for none).",
                        "invalid": "Give the reserve in whole points."})
    closes_at = forms.DateTimeField(label="Bids close at", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                    input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
                                    error_messages={"required": "Give the deadline.",
                                                    "invalid": "Give the deadline as a date and time."})
    holder = forms.ModelChoiceField(label="Offered by", queryset=None, required=False,
                                    empty_label="Nobody (a free seat)",
                                    help_text="The faculty member giving up their seat, if any.")

    def __init__(self, *args: Any, year: AcademicYear, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["week"].queryset = year.weeks.order_by("index")
        self.fields["holder"].queryset = year.faculty_queryset().order_by("display_name")


class BidForm(forms.Form):
    amount = forms.IntegerField(
        label="Your sealed bid (points)", min_value=0, max_value=MAX_POINTS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1, "min": 0}),
        error_messages={"required": "Give your bid in whole points.", "invalid": "Give your bid in whole points.",
                        "min_value": "A bid cannot be negative."},
    )


class GrantForm(forms.Form):
    """A coordinator's grant (or, negative, a correction) with its reason. `key` is drawn when the form is shown and
    becomes the entry's idempotency key, so a form sent twice (a double click, a resent POST) posts once."""

    faculty = forms.ModelChoiceField(label="Faculty member", queryset=None, empty_label="Choose…",
                                     error_messages={"required": "Choose who gets the points.",
                                                     "invalid_choice": "Choose a faculty member of this year."})
    amount = forms.IntegerField(
        label="Points", min_value=-MAX_POINTS, max_value=MAX_POINTS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1}),
        help_text="Positive grants points; negative corrects an earlier figure (never below the points held by bids).",
        error_messages={"required": "Give the points as a whole number.", "invalid": "Give the points as a whole number."},
    )
    reason = forms.CharField(label="Reason", max_length=DESCRIPTION_MAX, strip=True,
                             help_text="Kept in the ledger and shown to the faculty member.",
                             error_messages={"required": "Write the reason; it is kept in the ledger.",
                                             "max_length": f"Keep the reason under {DESCRIPTION_MAX} characters."})
    key = forms.RegexField(regex=r"^[A-Za-z0-9_-]{16,64}$", widget=forms.HiddenInput,
                           error_messages={"required": "The form expired; reload the page and send it again.",
                                           "invalid": "The form expired; reload the page and send it again."})

    def __init__(self, *args: Any, year: AcademicYear, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["faculty"].queryset = year.faculty_queryset().order_by("display_name")
        self.fields["faculty"].label_from_instance = lambda f: f"{f.display_name} ({f.external_id})"
        if not self.is_bound:
            self.initial.setdefault("key", secrets.token_urlsafe(24))

    def clean_amount(self) -> int:
        amount = self.cleaned_data["amount"]
        if amount == 0:
            raise forms.ValidationError("A grant of 0 points changes nothing; give a positive or negative number.")
        return amount
