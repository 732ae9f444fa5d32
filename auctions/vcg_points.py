"""Settling a VCG run's Clarke payments in priority points (DESIGN §8 "VCG payments from the allocation engine can
optionally be settled in points").

A completed VCG run records each faculty member's Clarke payment on the 0–100 value scale (the run's
details["payments"], DESIGN §13). Settling debits each positive payment, times `points_per_unit` and rounded half
up to whole points, from the faculty member's account for the run's year as a `vcg_payment` entry. It is all or
nothing — when anyone cannot afford their payment nothing is posted and the refusal names each of them
(`payments.F002`) — and exactly once per run: every entry's idempotency key is the run's and the faculty member's,
so a repeat returns the first entries and posts nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from allocation.models import AllocationRun
from auctions.ledger import Posted, Posting, ledger_post_many, points_account_get_or_create
from auctions.models import PriorityPointTransaction
from preferences.models import Faculty

MAX_SCALE = 1_000.0


@dataclass(frozen=True)
class VcgSettlement:
    run_id: int
    points_per_unit: float
    posted: tuple[Posted, ...]

    @property
    def replayed(self) -> bool:
        return bool(self.posted) and all(p.replayed for p in self.posted)

    @property
    def total(self) -> int:
        return -sum(p.entry.amount for p in self.posted)


def vcg_points_settle(*, run: AllocationRun, points_per_unit: float = 1.0, actor=None) -> VcgSettlement:
    """Debit the run's Clarke payments from the faculty's point accounts (see the module docstring)."""
    if run.mechanism != "vcg":
        raise ValidationError({"run": f"Run {run.pk} used {run.mechanism}; only a VCG run charges payments."})
    if run.status != AllocationRun.Status.COMPLETED:
        raise ValidationError({"run": f"Run {run.pk} is {run.status}; only a completed run can be settled."})
    if isinstance(points_per_unit, bool) or not isinstance(points_per_unit, int | float) \
            or not math.isfinite(points_per_unit) or not 0 < points_per_unit <= MAX_SCALE:
        raise ValidationError({"points_per_unit": f"Give a number above 0 and at most {MAX_SCALE:g}."})
    rows = (run.details or {}).get("payments") or []
    charges = {}
    for row in rows:
        points = math.floor(float(row["vcg_payment"]) * points_per_unit + 0.5)
        if points > 0:
            charges[int(row["faculty_id"])] = (row, points)
    people = Faculty.objects.in_bulk(list(charges))
    postings, short = [], {}
    for faculty_id, (row, points) in sorted(charges.items()):
        person = people.get(faculty_id)
        if person is None:
            raise ValidationError({f"payments.{row['faculty']}": "This faculty member no longer exists."})
        account = points_account_get_or_create(faculty=person, year=run.year)
        key = f"vcg:{run.pk}:{faculty_id}"
        already = account.entries.filter(idempotency_key=key).exists()
        if not already and account.available < points:
            short[f"payments.{person.external_id}"] = (
                f"{person.display_name} owes {points} points for run {run.pk} but has fewer available.")
        postings.append(Posting(
            account_id=account.pk, amount=-points, type=PriorityPointTransaction.Type.VCG_PAYMENT,
            description=f"VCG payment for run {run.pk} ({row['vcg_payment']:g} × {points_per_unit:g})"[:300],
            idempotency_key=key,
        ))
    if short:
        raise ValidationError(short)
    posted = ledger_post_many(postings=postings, processed_by=actor) if postings else []
    return VcgSettlement(run.pk, float(points_per_unit), tuple(posted))
