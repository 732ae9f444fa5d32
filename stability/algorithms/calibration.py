"""Calibration of predicted_swap_requests = round(A × (base + pressure × distance)) to recorded history (DESIGN §9).

Weighted least squares (Gauss–Markov; e.g. Seber & Lee, *Linear Regression Analysis*, 2003, §3.10) of the request
rate y_k = requests_k / assignments_k on distance_k with weights assignments_k: each assignment counts once, so a
large schedule's rate, the more precise estimate, weighs more, and the fit minimises Σ_k A_k (y_k − base −
pressure·d_k)². R² is the weighted coefficient of determination (1 when every rate is fitted exactly).
"""

from __future__ import annotations

import numpy as np

from stability.algorithms import _validate
from stability.algorithms.types import FITTED, INSUFFICIENT_DATA, Calibration


def calibrate_prediction(distance: np.ndarray, assignments: np.ndarray, requests: np.ndarray) -> Calibration:
    """Fit base and pressure to observations (distance, assignments, swap requests) of past schedules.

    Observations with no assignments are left out; fewer than two distinct distances is INSUFFICIENT_DATA.
    """
    d = _validate.vector("distance", distance)
    a = _validate.vector("assignments", assignments, length=len(d))
    q = _validate.vector("requests", requests, length=len(d))
    if len(d) and (d.min() < 0 or d.max() > 1):
        raise ValueError("distance must lie in [0, 1] (a nash_distance).")
    if len(d) and (a.min() < 0 or q.min() < 0):
        raise ValueError("assignments and requests must be non-negative counts.")
    use = a > 0
    d, a, q = d[use], a[use], q[use]
    samples = int(use.sum())
    if len(np.unique(d)) < 2:
        return Calibration(INSUFFICIENT_DATA, None, None, None, samples)
    y = q / a
    root = np.sqrt(a)
    design = np.column_stack([np.ones_like(d), d])
    (base, pressure), *_ = np.linalg.lstsq(design * root[:, None], y * root, rcond=None)
    fitted = base + pressure * d
    mean = np.average(y, weights=a)
    total = float(np.sum(a * (y - mean) ** 2))
    residual = float(np.sum(a * (y - fitted) ** 2))
    r_squared = 1.0 if total <= 1e-12 * max(1.0, float(np.sum(a * y**2))) else 1.0 - residual / total
    return Calibration(FITTED, float(base), float(pressure), float(r_squared), samples)
