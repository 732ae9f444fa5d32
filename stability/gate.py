"""The publish gate (DESIGN §9) and recommended swaps: how a draft becomes the year's published schedule, and how a
coordinator applies a swap the report recommends. The admin action, the coordinator page and the API all call these.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from allocation.changes import schedule_draft_swap_apply, schedule_swaps_apply
from allocation.models import Schedule, ScheduleChange
from allocation.services.coverage import ScheduleCoverage, schedule_coverage
from allocation.signals import schedule_published, send_on_commit
from gtsched_site.permissions import user_or_none
from preferences.models import AcademicYear
from stability.algorithms.swaps import nash_distance
from stability.market.lifecycle import swap_requests_after_change, swap_requests_close_for_archived
from stability.models import NashStabilityReport, PublicationRecord, StabilityLevel
from stability.reports import stability_report_for

CHANNELS = ("admin", "page", "api")


class PublishRefused(ValidationError):
    """The gate refused to publish. `conflict` is true when the schedule's state is the obstacle (a CRITICAL report or
    a failed coverage check without an override, a schedule that is not a draft), false when the request itself is incomplete."""

    def __init__(self, message: Mapping[str, Any], *, conflict: bool) -> None:
        super().__init__(dict(message))
        self.conflict = conflict


@dataclass(frozen=True)
class PublicationResult:
    schedule: Schedule
    record: PublicationRecord
    report: NashStabilityReport
    coverage: ScheduleCoverage
    archived: list[Schedule] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def forced(self) -> bool:
        return self.record.forced


def _percent(x: float) -> str:
    return f"{100 * x:.1f}%".replace(".0%", "%")


def _gate_warning(report: NashStabilityReport) -> str:
    return (
        f"Published with a {report.stability_level} stability report: {_percent(report.nash_distance)} of assignments "
        f"are in at least one blocking swap ({report.num_blocking_swaps} blocking swap"
        f"{'s' if report.num_blocking_swaps != 1 else ''}); expect about {report.predicted_swap_requests} swap requests."
    )


def critical_refusal(report: NashStabilityReport) -> str:
    return (
        f"The stability report is CRITICAL: {_percent(report.nash_distance)} of assignments are in at least one "
        f"blocking swap (threshold {_percent(report.parameters.get('thresholds', [0, 0, 0.30])[-1])}), and about "
        f"{report.predicted_swap_requests} swap requests are expected. Apply recommended swaps and recompute, or "
        "tick force and write the reason for publishing anyway."
    )


@transaction.atomic
def schedule_publish(
    *, schedule: Schedule, actor, force: bool = False, reason: str = "", channel: str,
) -> PublicationResult:
    """Publish a draft through the stability gate (DESIGN §9).

    Runs (or reuses a fresh) report and the coverage check. CRITICAL, empty seats, and assignments in a blocked week
    or an unqualified rotation are each refused unless force is set and a reason is written; UNSTABLE and MARGINAL,
    and faculty above their target load, publish with a warning. The year's previously published schedule is archived. A refusal raises
    PublishRefused with field-named messages and changes nothing.
    """
    if channel not in CHANNELS:
        raise ValidationError({"channel": f"Unknown channel {channel!r}; use one of {', '.join(CHANNELS)}."})
    reason = (reason or "").strip()
    AcademicYear.objects.select_for_update().filter(pk=schedule.year_id).first()  # one publication per year at a time
    locked = Schedule.objects.select_for_update(of=("self",)).select_related("year").filter(pk=schedule.pk).first()
    if locked is None:
        raise ValidationError({"schedule": "This schedule no longer exists."})
    if locked.status != Schedule.Status.DRAFT:
        when = f" on {locked.published_at:%d %b %Y}" if locked.published_at else ""
        raise PublishRefused(
            {"status": [f"“{locked.name}” is {locked.get_status_display().lower()}{when}; only a draft can be published."]},
            conflict=True,
        )
    if not locked.assignments.exists():
        raise PublishRefused({"schedule": [f"“{locked.name}” has no assignments; there is nothing to publish."]},
                             conflict=True)
    report = stability_report_for(schedule=locked, actor=actor)
    coverage = schedule_coverage(schedule=locked)
    critical = report.stability_level == StabilityLevel.CRITICAL
    refusals = ([critical_refusal(report)] if critical else []) + ([coverage.refusal()] if coverage.refused else [])
    if refusals and not force:
        raise PublishRefused({"force": refusals, **coverage.messages()}, conflict=True)
    if refusals and not reason:
        over = " and ".join(
            (["a CRITICAL report"] if critical else []) + (["a failed coverage check"] if coverage.refused else [])
        )
        raise PublishRefused(
            {"reason": [f"Publishing over {over} needs a written reason; it is kept with the schedule."]},
            conflict=False,
        )
    if len(reason) > 2000:
        raise PublishRefused({"reason": ["Keep the reason under 2000 characters."]}, conflict=False)

    warnings: list[str] = []
    if critical:
        warnings.append(
            f"Published over a CRITICAL stability report ({_percent(report.nash_distance)} of assignments in a "
            f"blocking swap); override reason recorded: {reason}"
        )
    elif report.stability_level in (StabilityLevel.MARGINAL, StabilityLevel.UNSTABLE):
        warnings.append(_gate_warning(report))
    if coverage.refused:
        warnings.append(f"Published over the coverage check ({coverage.summary()}); override reason recorded: {reason}")
    warnings += coverage.warnings()

    now = timezone.now()
    actor = user_or_none(actor)
    archived = list(
        Schedule.objects.select_for_update().filter(year_id=locked.year_id, status=Schedule.Status.PUBLISHED)
    )
    if archived:
        Schedule.objects.filter(pk__in=[s.pk for s in archived]).update(status=Schedule.Status.ARCHIVED)
        for old in archived:
            old.status = Schedule.Status.ARCHIVED
        warnings.append("Archived the previously published " + ", ".join(f"“{s.name}”" for s in archived) + ".")
        if closed := swap_requests_close_for_archived(schedules=archived):
            warnings.append(f"Closed {closed} open swap request{'s' if closed != 1 else ''} on the archived schedule.")
    locked.status = Schedule.Status.PUBLISHED
    locked.published_at = now
    locked.published_by = actor
    locked.save(update_fields=["status", "published_at", "published_by"])
    record = PublicationRecord.objects.create(
        schedule=locked,
        report=report,
        nash_distance=report.nash_distance,
        stability_level=report.stability_level,
        predicted_swap_requests=report.predicted_swap_requests,
        forced=bool(refusals),
        override_reason=reason,
        warnings=warnings,
        coverage=coverage.as_dict(),
        published_by=actor,
        published_at=now,
        channel=channel,
    )
    AcademicYear.objects.filter(pk=locked.year_id).update(
        status=AcademicYear.Status.PUBLISHED, first_published_at=Coalesce("first_published_at", Value(now)),
    )
    send_on_commit(schedule_published, sender=Schedule, schedule_id=locked.pk, year_id=locked.year_id)
    schedule.refresh_from_db()
    return PublicationResult(schedule=locked, record=record, report=report, coverage=coverage, archived=archived,
                             warnings=warnings)


# --- recommended swaps -----------------------------------------------------------------------------------------


def _assignment_id(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ValidationError({name: "Give the assignment's id as a whole number."})
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError({name: f"{value!r} is not an assignment id; give it as a whole number."}) from None


@transaction.atomic
def schedule_recommended_swap_apply(*, schedule: Schedule, assignment_a: Any, assignment_b: Any, actor) -> ScheduleChange:
    """Apply one recommended (blocking) swap: audited on a published schedule, a plain edit of a draft — both leave
    a ScheduleChange. Refused, changing nothing, when the swap is no longer feasible or no longer helps both."""
    a_id, b_id = _assignment_id(assignment_a, "assignment_a"), _assignment_id(assignment_b, "assignment_b")
    locked = Schedule.objects.select_for_update().get(pk=schedule.pk)
    if locked.status == Schedule.Status.PUBLISHED:
        change = schedule_swaps_apply(
            schedule=locked, pairs=[(a_id, b_id)], actor=actor, kind=ScheduleChange.Kind.RECOMMENDED,
            reason="Recommended swap from the stability report", require_gain=True, measure=nash_distance,
        )
        swap_requests_after_change(change=change)
        return change
    if locked.status != Schedule.Status.DRAFT:
        raise ValidationError({"schedule": f"“{locked.name}” is archived; archived schedules do not change."})
    return schedule_draft_swap_apply(
        schedule=locked, assignment_a=a_id, assignment_b=b_id, actor=actor, kind=ScheduleChange.Kind.RECOMMENDED,
        reason="Recommended swap from the stability report (draft edited before publication)", measure=nash_distance,
    )


@dataclass(frozen=True)
class RecommendedSwapsApplied:
    """What applying a report's recommended swaps did: the changes recorded (one on a published schedule, one per
    pair on a draft) and the nash distance before the first swap and after the last."""

    changes: list[ScheduleChange]
    swaps: int
    distance_before: float | None
    distance_after: float | None


def _recommended_pairs(report: NashStabilityReport) -> list[tuple[int, int]]:
    rows = (report.payload or {}).get("recommended_swaps") or []
    return [(_assignment_id(row.get("assignment_a"), "assignment_a"), _assignment_id(row.get("assignment_b"), "assignment_b"))
            for row in rows]


@transaction.atomic
def schedule_recommended_swaps_apply_all(*, schedule: Schedule, report: NashStabilityReport, actor) -> RecommendedSwapsApplied:
    """Apply every recommended swap of `report` (a conflict-free set: nobody is in two pairs) under the rules of
    schedule_recommended_swap_apply: one audited change on a published schedule, one edit per pair on a draft. If any
    pair is no longer feasible or no longer helps both, the whole request is refused and nothing changes."""
    locked = Schedule.objects.select_for_update().get(pk=schedule.pk)
    if report.schedule_id != locked.pk:
        raise ValidationError({"report": f"Report #{report.pk} is not a report of “{locked.name}”."})
    pairs = _recommended_pairs(report)
    if not pairs:
        raise ValidationError({"report": "This report recommends no swaps; there is nothing to apply."})
    count = len(pairs)
    reason = f"All {count} recommended swap{'s' if count != 1 else ''} of stability report #{report.pk}"
    if locked.status == Schedule.Status.PUBLISHED:
        change = schedule_swaps_apply(
            schedule=locked, pairs=pairs, actor=actor, kind=ScheduleChange.Kind.RECOMMENDED, reason=reason,
            require_gain=True, measure=nash_distance,
        )
        swap_requests_after_change(change=change)
        return RecommendedSwapsApplied([change], count, change.nash_distance_before, change.nash_distance_after)
    if locked.status != Schedule.Status.DRAFT:
        raise ValidationError({"schedule": f"“{locked.name}” is archived; archived schedules do not change."})
    changes = []
    for position, (a_id, b_id) in enumerate(pairs):
        # Measured at the ends only: the distance before the first swap and after the last is what the change is
        # about, and each measure is a full swap analysis of the schedule.
        measured = position in (0, count - 1)
        try:
            changes.append(schedule_draft_swap_apply(
                schedule=locked, assignment_a=a_id, assignment_b=b_id, actor=actor,
                kind=ScheduleChange.Kind.RECOMMENDED, reason=f"{reason} (draft edited before publication)",
                measure=nash_distance if measured else None,
            ))
        except ValidationError as exc:
            raise ValidationError({"pairs": f"Swap {position + 1} of {count}: " + " ".join(exc.messages)}) from None
    return RecommendedSwapsApplied(changes, count, changes[0].nash_distance_before, changes[-1].nash_distance_after)
