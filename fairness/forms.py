"""Forms of the fairness pages: the compute form (method, samples, seed) and the reason for applying fair targets."""

from __future__ import annotations

from django import forms

from fairness.algorithms.shapley import DEFAULT_SAMPLES, EXACT_MAX, MAX_SAMPLES, MIN_SAMPLES
from fairness.targets import REASON_MAX
from gtsched_site.limits import SEED_MAX

METHOD_CHOICES = [
    ("auto", f"Automatic: exact up to {EXACT_MAX} faculty"),
    ("exact", "Exact: every coalition"),
    ("monte_carlo", "Monte Carlo: random orders"),
]


class ComputeForm(forms.Form):
    method = forms.ChoiceField(
        choices=METHOD_CHOICES, initial="auto",
        help_text=f"Exact averages over every order of joining (up to {EXACT_MAX} faculty); Monte Carlo samples "
                  "orders and gives each value a 95 % interval.")
    samples = forms.IntegerField(
        required=False, min_value=MIN_SAMPLES, max_value=MAX_SAMPLES, label="Permutations",
        help_text=f"Monte Carlo only: {MIN_SAMPLES:,}–{MAX_SAMPLES:,} (default {DEFAULT_SAMPLES:,}).",
        widget=forms.NumberInput(attrs={"placeholder": f"{DEFAULT_SAMPLES}"}),
    )
    seed = forms.IntegerField(required=False, min_value=0, max_value=SEED_MAX,
                              help_text="Monte Carlo only; the same seed gives the same values.")


class TargetsForm(forms.Form):
    reason = forms.CharField(
        max_length=REASON_MAX, strip=True, label="Why change the target loads?",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept with the change in the audit trail, with every load before and after.",
    )
