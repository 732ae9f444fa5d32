"""/coordinator/years/<label>/utility/: a year's utility weights, previewed (how many utilities change) and saved."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from allocation.weights import utility_weights_preview
from gtsched_site.permissions import coordinator_required
from preferences.algorithms.utility import FACTORS
from preferences.querysets import access_year
from preferences.weights import FACTOR_WORDS, utility_weights_clean, year_weights_set

LABELS = {
    "preference": "Stated preference (rank, value or accept)",
    "workload_balance": "Workload balance (load against the mean, in an analysed schedule)",
    "time_off_proximity": "Time-off proximity (weeks near leave or a conference)",
    "swap_out_rate": "Swap history (how often this week was swapped away in earlier years)",
}


class WeightsForm(forms.Form):
    """The four weights in percent; they must add up to 100."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in FACTORS:
            self.fields[name] = forms.DecimalField(label=LABELS[name], min_value=0, max_value=100, decimal_places=2,
                                                   widget=forms.NumberInput(attrs={"step": "any"}))

    def weights(self) -> dict[str, float]:
        """The weights as fractions of 1, checked by the service (errors go back onto the fields)."""
        try:
            return utility_weights_clean({name: float(self.cleaned_data[name] / Decimal(100)) for name in FACTORS})
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for message in errors:
                    self.add_error(field if field in self.fields else None, message.replace("add up to 1 (100 %)", "add up to 100 %"))
            raise


def _percent(weight: float) -> str:
    """0.1 → "10", 0.125 → "12.5": as a coordinator would type it."""
    return format(round(Decimal(str(weight)) * 100, 2).normalize(), "f")


@coordinator_required
@require_http_methods(["GET", "POST"])
def utility_weights(request: HttpRequest, label: int) -> HttpResponse:
    year = access_year(label)
    current = year.weights
    initial = {name: _percent(current[name]) for name in FACTORS}
    form = WeightsForm(request.POST or None, initial=initial)
    preview, status = None, 200
    if request.method == "POST":
        try:
            if not form.is_valid():
                raise ValidationError("invalid")
            weights = form.weights()
        except ValidationError:
            status = 400
        else:
            if request.POST.get("action") == "save":
                year_weights_set(year=year, weights=weights, actor=request.user)
                messages.success(request, f"Saved the utility weights of {year}.")
                url = reverse("utility_weights", args=[year.label])
                return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
            preview = utility_weights_preview(year=year, weights=weights)
    context = {"year": year, "form": form, "preview": preview, "current": current, "words": FACTOR_WORDS}
    if request.htmx:  # htmx swaps only 2xx answers: the form with its errors is the answer
        return render(request, "allocation/utility_weights.html#weights_form", context)
    return render(request, "allocation/utility_weights.html", {**context, "section": "allocation"}, status=status)
