"""The chance of a top-choice week under RSD for one faculty member, from the stored chances when they are current
(registered with preferences.outlook in AllocationConfig.ready())."""

from __future__ import annotations

from allocation.chance_reads import faculty_row
from allocation.services.chances import chances_current
from preferences.models import AcademicYear, Faculty


def rsd_top_choice_probability(*, year: AcademicYear, faculty: Faculty) -> tuple[float | None, str]:
    """(probability, "") from the fresh RSD chances, else (None, why there is no number)."""
    matrix, fresh = chances_current(year=year, mechanism="rsd")
    if matrix is None:
        return None, "No chances have been computed for this year yet."
    if not fresh:
        return None, "The stored chances were computed before the latest preferences; they are being recomputed."
    row = faculty_row(matrix, faculty.pk)
    if row is None:
        return None, "You are not among the faculty the year's chances were computed for."
    return float(matrix.summary[row]["top1"]), ""
