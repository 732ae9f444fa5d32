"""The stability settings a report uses: thresholds, prediction coefficients, K restarts, seeds and inline limits."""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError

from gtsched_site.limits import seed_clean
from stability.models import PredictionCalibration

MAX_RESTARTS = 1000
SEED_DRAW = 2**31  # a drawn seed is below this, so it reads well in a report


DEFAULTS: dict[str, Any] = {
    "thresholds": (0.05, 0.15, 0.30), "prediction_base": 0.10, "prediction_pressure": 0.50, "restarts": 20,
    "top": 10, "report_max_age_s": 3600,
}


def stability_settings() -> dict[str, Any]:
    return {**DEFAULTS, **getattr(settings, "GTSCHED_STABILITY", {})}


def report_parameters(*, restarts: int | None = None) -> dict[str, Any]:
    """Thresholds and K from settings; the prediction coefficients of the newest calibration, else the defaults."""
    conf = stability_settings()
    calibration = PredictionCalibration.objects.order_by("-created_at", "-pk").first()
    return {
        "thresholds": [float(t) for t in conf["thresholds"]],
        "base": float(calibration.base if calibration else conf["prediction_base"]),
        "pressure": float(calibration.pressure if calibration else conf["prediction_pressure"]),
        "calibration": calibration.pk if calibration else None,
        "restarts": restarts_clean(conf["restarts"] if restarts is None else restarts),
        "top": int(conf["top"]),
    }


def restarts_clean(restarts: Any) -> int:
    if isinstance(restarts, bool) or not isinstance(restarts, int | np.integer) or not 1 <= int(restarts) <= MAX_RESTARTS:
        raise ValidationError(
            {"restarts": f"K random restarts must be a whole number from 1 to {MAX_RESTARTS}, got {restarts!r}."}
        )
    return int(restarts)


def seed_draw(seed: Any) -> int:
    """The seed given (checked by gtsched_site.limits.seed_clean), else a fresh one drawn for the record."""
    return secrets.randbelow(SEED_DRAW) if seed is None else seed_clean(seed)


def price_estimate_precompute_enabled() -> bool:
    return bool(stability_settings().get("precompute_price_of_anarchy", True))


def poa_inline_limit() -> int:
    return int(getattr(settings, "GTSCHED_STABILITY", {}).get("poa_inline_max_assignments", 3000))
