"""Forms for starting allocation runs and comparisons; the services validate again and have the last word."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from allocation.algorithms.registry import MECHANISMS, option_specs
from gtsched_site.forms import add_service_errors
from gtsched_site.limits import SEED_MAX

MECHANISM_CHOICES = [
    ("rsd", "Random serial dictatorship (lottery)"),
    ("least_regret", "Least regret"),
    ("min_cost_flow", "Min-cost flow"),
    ("cp_sat", "CP-SAT (constraints and fairness)"),
    ("vcg", "VCG (reported values, with payments)"),
    ("probabilistic_serial", "Probabilistic serial (lottery, efficient chances)"),
    ("rsd_trading", "RSD + probability trading (lottery)"),
]
assert [m for m, _ in MECHANISM_CHOICES] == list(MECHANISMS), "Describe every registered mechanism here."

MECHANISM_HELP = {
    "rsd": "Draws a random order; each faculty member in turn takes their favourite weeks still free. "
           "Nobody gains by misreporting; the seed makes the lottery repeatable.",
    "least_regret": "Minimises the total regret: how far below their first choice people land, summed over everyone.",
    "min_cost_flow": "A network flow that gives every faculty member ranked weeks at the least total rank.",
    "cp_sat": "A constraint solver: fairness tiers, holiday limits and back-to-back rules that the others cannot express.",
    "vcg": "Maximises the reported values (0–100) and charges each person the cost their presence imposes on others.",
    "probabilistic_serial": "Everyone \"eats\" their favourite weeks at the same speed; the shares eaten are each "
                            "person's chances, and one schedule is drawn from them. When everyone serves one week, nobody "
                            "would swap chances with anyone else.",
    "rsd_trading": "RSD's chances, then faculty trade probability of weeks when both gain; one schedule is drawn from "
                   "the traded chances. Everyone is at least as happy as under plain RSD.",
}

# The options each mechanism understands, besides the ones every mechanism has (COMMON_OPTIONS).
MECHANISM_OPTIONS: dict[str, tuple[str, ...]] = {
    "rsd": (),
    "least_regret": ("cost",),
    "min_cost_flow": ("fill_unlisted", "allow_unassigned"),
    "cp_sat": ("objective", "cost", "fairness", "max_holidays", "back_to_back", "time_limit_s"),
    "vcg": (),
    "probabilistic_serial": (),
    "rsd_trading": ("draws",),
}
COMMON_OPTIONS = ("non_respondents",)
_CP_SAT = option_specs("cp_sat")
_RSD_TRADING = option_specs("rsd_trading")
OPTION_FIELDS = tuple(dict.fromkeys(name for names in MECHANISM_OPTIONS.values() for name in names)) + COMMON_OPTIONS


def _seed_field() -> forms.IntegerField:
    return forms.IntegerField(
        label="Seed", required=False, min_value=0, max_value=SEED_MAX,
        help_text="Leave blank for a fresh random seed. The same seed on the same preferences gives the same schedule.",
        widget=forms.NumberInput(attrs={"placeholder": "random", "class": "seed"}),
    )


class RunForm(forms.Form):
    mechanism = forms.ChoiceField(label="Mechanism", choices=MECHANISM_CHOICES, initial="rsd")
    seed = _seed_field()

    cost = forms.ChoiceField(
        label="Regret cost", initial="squared",
        choices=[("squared", "Squared — (rank − 1)²"), ("linear", "Linear — rank − 1")],
        help_text="How much a worse choice costs. Squared spreads disappointment thinly: two people at their 2nd "
                  "choice beat one at their 3rd.",
    )
    fill_unlisted = forms.BooleanField(
        label="Also use weeks people did not list", required=False, initial=False,
        help_text="When ranked weeks run out, assign eligible unlisted weeks (costed below every ranked week).",
    )
    allow_unassigned = forms.BooleanField(
        label="Allow unfilled demand as a last resort", required=False, initial=True,
        help_text="Keeps the run from failing when not every load can be met; leftovers are reported as unassigned.",
    )
    objective = forms.ChoiceField(
        label="Objective", initial="regret",
        choices=[("regret", "Least total regret"), ("fairness", "Fairness tiers")],
        help_text="Fairness tiers rank outcomes choice by choice instead of by the total.",
    )
    fairness = forms.ChoiceField(
        label="Fairness reading", initial="greedy",
        choices=[("greedy", "Greedy — most 1st choices, then 2nd, …"),
                 ("generous", "Generous — fewest people at the worst rank, …")],
        help_text="Used only with the fairness-tiers objective.",
    )
    max_holidays = forms.IntegerField(
        label="Most major-holiday weeks per person", required=False, min_value=0,
        help_text="Blank: no limit.", widget=forms.NumberInput(attrs={"placeholder": "no limit"}),
    )
    back_to_back = forms.ChoiceField(
        label="Back-to-back service weeks", initial="off",
        choices=[("off", "Allowed"), ("soft", "Avoid when possible"), ("hard", "Never")],
    )
    time_limit_s = forms.FloatField(
        label="Time limit (seconds)", required=False, min_value=0.1, max_value=_CP_SAT["time_limit_s"].maximum,
        help_text=f"Blank: 10 seconds; at most {_CP_SAT['time_limit_s'].maximum:g} (10 minutes). "
                  "The solver stops here and keeps the best schedule found so far.",
        widget=forms.NumberInput(attrs={"placeholder": "default", "step": "any"}),
    )
    draws = forms.IntegerField(
        label="Lotteries drawn before trading", required=False,
        min_value=_RSD_TRADING["draws"].minimum, max_value=_RSD_TRADING["draws"].maximum,
        help_text="Blank: 10,000. More lotteries give more precise chances to trade, and take longer.",
        widget=forms.NumberInput(attrs={"placeholder": "10000"}),
    )
    non_respondents = forms.ChoiceField(
        label="Faculty who submitted nothing", initial="neutral",
        choices=[("neutral", "Include them, neutral on every unblocked week"), ("exclude", "Leave them out")],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the selected mechanism's options are validated; the others are not even shown.
        for name in OPTION_FIELDS:
            if name not in self.option_names:
                self.fields[name].required = False

    @property
    def selected_mechanism(self) -> str:
        value = self["mechanism"].value()
        return value if value in MECHANISM_OPTIONS else "rsd"

    @property
    def option_names(self) -> tuple[str, ...]:
        return MECHANISM_OPTIONS[self.selected_mechanism] + COMMON_OPTIONS

    def option_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.option_names]

    def hidden_option_names(self) -> list[str]:
        return [name for name in OPTION_FIELDS if name not in self.option_names]

    def options(self) -> dict[str, Any]:
        """The options dict for allocation_run_start: the selected mechanism's options, blanks left to defaults."""
        data = self.cleaned_data
        return {name: data[name] for name in self.option_names if data.get(name) not in (None, "")}

    def add_service_errors(self, exc: ValidationError) -> None:
        add_service_errors(self, exc, prefix="options.")


class ComparisonForm(forms.Form):
    mechanisms = forms.MultipleChoiceField(
        label="Mechanisms", choices=MECHANISM_CHOICES, initial=list(MECHANISMS), widget=forms.CheckboxSelectMultiple,
        help_text="Each one runs on the same preferences with the same seed, using its default options.",
    )
    seed = _seed_field()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "compare_%s")  # shares a page with RunForm: keep element ids unique
        super().__init__(*args, **kwargs)

    def clean_mechanisms(self) -> list[str]:
        chosen = self.cleaned_data["mechanisms"]
        if len(chosen) < 2:
            raise ValidationError("Choose at least two mechanisms to compare.")
        return chosen

    def add_service_errors(self, exc: ValidationError) -> None:
        add_service_errors(self, exc, prefix="options_by_mechanism.")


