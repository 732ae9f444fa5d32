"""Calibration of the swap-request prediction (DESIGN §9) to the recorded swap history."""

from __future__ import annotations

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count

from gtsched_site.permissions import user_or_none
from stability.algorithms.calibration import calibrate_prediction
from stability.algorithms.types import FITTED
from stability.estimates import finite
from stability.models import PredictionCalibration, PublicationRecord, SwapRequest


@transaction.atomic
def prediction_calibrate(*, actor=None) -> PredictionCalibration:
    """Fit predicted_swap_requests = A × (base + pressure × distance) to the swap history of published schedules.

    One sample per schedule that went through the gate: its published nash_distance, its assignment count and the
    swap requests posted against it. Needs samples at two or more distinct distances.
    """
    records = list(
        PublicationRecord.objects.select_related("schedule")
        .annotate(_assignments=Count("schedule__assignments", distinct=True))
        .order_by("published_at", "pk")
    )
    requests = dict(
        SwapRequest.objects.filter(schedule_id__in=[r.schedule_id for r in records])
        .values_list("schedule_id").annotate(n=Count("pk")).values_list("schedule_id", "n")
    )
    distance = np.array([r.nash_distance for r in records], dtype=float)
    assignments = np.array([r._assignments for r in records], dtype=float)
    observed = np.array([requests.get(r.schedule_id, 0) for r in records], dtype=float)
    distinct = len(np.unique(np.round(distance, 12)))
    if distinct < 2:
        raise ValidationError({
            "history": (
                f"Calibration needs published schedules at two or more different nash distances; there "
                f"{'is' if len(records) == 1 else 'are'} {len(records)} published schedule(s) at {distinct} distance(s)."
            )
        })
    calibration = calibrate_prediction(distance, assignments, observed)
    if calibration.status != FITTED:
        raise ValidationError({"history": f"The swap history could not be fitted ({calibration.status})."})
    return PredictionCalibration.objects.create(
        base=float(calibration.base), pressure=float(calibration.pressure),
        r_squared=finite(calibration.r_squared), samples=int(calibration.samples), created_by=user_or_none(actor),
    )
