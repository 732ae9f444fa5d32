"""Fair targets (DESIGN §7): the Shapley expected workloads in whole weeks as the faculty's loads — for one run
(`loads=shapley`, stored targets untouched) or applied as the target loads by a coordinator, audited.

Target loads are part of the game's inputs, so applying fair targets that differ from the present ones makes the
values they came from stale: the fairness report then asks for a new computation on the new loads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction

from fairness.models import FairTargetChange, ShapleyComputation, ShapleyValue
from fairness.services import shapley_current
from gtsched_site.permissions import user_or_none
from preferences.models import AcademicYear, Faculty

SHAPLEY_LOADS = "shapley"
REASON_MAX = FairTargetChange._meta.get_field("reason").max_length


def _fresh(*, year: AcademicYear, field: str) -> ShapleyComputation:
    computation, fresh = shapley_current(year=year)
    if computation is None:
        raise ValidationError({field: f"Year {year.label} has no Shapley values yet; compute them first."})
    if not fresh:
        raise ValidationError({field: (
            f"The Shapley values of year {year.label} are stale: qualifications, target loads, blocked weeks or "
            "demand changed since they were computed. Compute them again first."
        )})
    return computation


def shapley_loads(*, year: AcademicYear, faculty_ids: np.ndarray) -> np.ndarray:
    """The load source "shapley" (allocation.loads): each faculty member's expected workload in whole weeks from
    the year's current Shapley values; a ValidationError naming `loads` when there are none."""
    computation = _fresh(year=year, field="loads")
    weeks = dict(computation.values.values_list("faculty_id", "expected_weeks"))
    missing = [int(pk) for pk in np.asarray(faculty_ids).tolist() if int(pk) not in weeks]
    if missing:  # cannot happen while fresh (the fingerprint covers the faculty); kept as a clear refusal
        raise ValidationError({"loads": "The Shapley values do not cover every faculty member; compute them again."})
    return np.array([weeks[int(pk)] for pk in np.asarray(faculty_ids).tolist()], dtype=np.int64)


@dataclass(frozen=True)
class TargetProposal:
    """One faculty member's present target load and the fair one (Shapley expected workload in whole weeks)."""

    faculty_id: int
    external_id: str
    faculty_name: str
    current: int
    proposed: int

    @property
    def changes(self) -> bool:
        return self.current != self.proposed


def shapley_targets_preview(*, year: AcademicYear) -> list[TargetProposal]:
    """What applying fair targets would change, faculty in the game's order; ValidationError (on `targets`) when the
    year has no current Shapley values."""
    computation = _fresh(year=year, field="targets")
    rows = ShapleyValue.objects.filter(computation=computation).select_related("faculty").order_by("position")
    return [
        TargetProposal(faculty_id=row.faculty_id, external_id=row.faculty.external_id,
                       faculty_name=row.faculty.display_name, current=row.faculty.target_load,
                       proposed=row.expected_weeks)
        for row in rows
    ]


@transaction.atomic
def shapley_targets_apply(*, year: AcademicYear, actor, reason: str) -> FairTargetChange:
    """Write the fair targets as the faculty's target loads, with an audit row naming who, when, why and every
    load before and after — all in one transaction. Refused (ValidationError, nothing changed) without a reason or
    when the year's Shapley values are missing or stale."""
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError({"reason": "Say why the target loads change; the reason is kept with the change."})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason to {REASON_MAX} characters; it has {len(reason)}."})
    AcademicYear.objects.select_for_update().filter(pk=year.pk).first()  # one application at a time per year
    computation = _fresh(year=year, field="targets")
    rows = list(ShapleyValue.objects.filter(computation=computation).order_by("position")
                .values_list("faculty_id", "expected_weeks"))
    faculty = Faculty.objects.select_for_update().in_bulk([pk for pk, _ in rows])
    changes = []
    for pk, weeks in rows:
        person = faculty[pk]
        changes.append({"faculty": pk, "external_id": person.external_id, "name": person.display_name,
                        "before": person.target_load, "after": int(weeks)})
        if person.target_load != weeks:
            person.target_load = int(weeks)
            person.save(update_fields=["target_load"])
    return FairTargetChange.objects.create(year=year, computation=computation, actor=user_or_none(actor),
                                           reason=reason, changes=changes)
