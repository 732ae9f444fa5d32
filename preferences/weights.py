"""A year's utility weights (DESIGN §4): coordinators set them; each is non-negative and together they sum to 1."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from gtsched_site.signals import send_on_commit
from preferences.algorithms.utility import FACTORS
from preferences.models import AcademicYear
from preferences.signals import preferences_changed

FACTOR_WORDS = {
    "preference": "your ranking",
    "workload_balance": "your workload",
    "time_off_proximity": "your time off",
    "swap_out_rate": "your swap history",
}
TOLERANCE = 1e-6


def utility_weights_clean(raw: Mapping[str, Any]) -> dict[str, float]:
    """The four weights as floats; ValidationError naming each bad factor, or `utility_weights` for the sum."""
    errors: dict[str, list[str]] = {}
    for key in raw:
        if key not in FACTORS:
            errors.setdefault(str(key), []).append(f"Unknown factor; the factors are {', '.join(FACTORS)}.")
    weights = {}
    for name in FACTORS:
        value = raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            errors.setdefault(name, []).append(f"Give a number from 0 to 1, e.g. 0.25 (got {value!r}).")
        elif value < 0:
            errors.setdefault(name, []).append(f"A weight cannot be negative (got {value:g}).")
        else:
            weights[name] = float(value)
    if not errors and abs(sum(weights.values()) - 1.0) > TOLERANCE:
        errors["utility_weights"] = [f"The weights must add up to 1 (100 %); these add up to {sum(weights.values()):.4g}."]
    if errors:
        raise ValidationError(errors)
    total = sum(weights.values())
    return {name: value / total for name, value in weights.items()}  # exactly 1 after rounding within the tolerance


@transaction.atomic
def year_weights_set(*, year: AcademicYear, weights: Mapping[str, Any], actor=None) -> AcademicYear:
    """Store the year's weights (coordinators only); every utility of the year is recomputed from them."""
    if actor is not None and not actor.is_staff:
        raise PermissionDenied("Only coordinators change a year's utility weights.")
    clean = utility_weights_clean(weights)
    year = AcademicYear.objects.select_for_update().get(pk=year.pk)
    year.utility_weights = clean
    year.save(update_fields=["utility_weights"])
    send_on_commit(preferences_changed, sender=AcademicYear, year_id=year.pk, faculty_id=None)
    return year
