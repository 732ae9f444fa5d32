"""Previewing a change of a year's utility weights (DESIGN §4): how many utilities it would change, on the year's
full model (time off, swap history), before a coordinator saves it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from allocation.problem import year_problem
from preferences.algorithms.utility import with_factors
from preferences.models import AcademicYear

EPSILON = 1e-9


@dataclass(frozen=True)
class WeightsPreview:
    changed: int  # (faculty, week) utilities that change
    total: int  # utilities of weeks not blocked
    faculty_changed: int
    faculty: int
    largest_change: float


def utility_weights_preview(*, year: AcademicYear, weights: Mapping[str, float]) -> WeightsPreview:
    model = year_problem(year=year, seed=0).model  # utilities do not depend on the seed
    new = with_factors(model, {}, weights=weights)
    open_ = ~model.blocked
    diff = np.abs(new.utility - model.utility) * open_
    moved = diff > EPSILON
    return WeightsPreview(
        changed=int(moved.sum()), total=int(open_.sum()), faculty_changed=int(moved.any(axis=1).sum()),
        faculty=int(model.score.shape[0]), largest_change=float(diff.max()) if diff.size else 0.0,
    )
