"""Coordinator approval of confirmed swaps (DESIGN §14): when the year's swaps need approval, a swap every party
confirmed waits (awaiting_approval) until a coordinator, who sees the stability change it makes, approves it (the
audited change executes, through the same path as an unapproved swap) or refuses it with a reason (the schedule is
untouched). Both parties are told either way."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from allocation.models import Schedule
from gtsched_site.permissions import is_coordinator, user_or_none
from preferences.models import AcademicYear
from stability.algorithms.swaps import apply_swap, swap_analysis
from stability.market import notices
from stability.market.lifecycle import close, cycle_members, swap_request_lock
from stability.market.requests import exchange_execute, exchange_impossible, exchange_pairs
from stability.market.state import Market, Status
from stability.market.strategy import strategy_performance_update
from stability.models import SwapRequest

REASON_MAX = SwapRequest._meta.get_field("review_reason").max_length


@dataclass(frozen=True)
class StabilityChange:
    """What executing the swap does to the published schedule's stability (DESIGN §9 definitions)."""

    distance_before: float
    distance_after: float
    blocking_before: int
    blocking_after: int

    @property
    def distance_delta(self) -> float:
        return self.distance_after - self.distance_before

    @property
    def blocking_delta(self) -> int:
        return self.blocking_after - self.blocking_before


@dataclass(frozen=True)
class PendingApproval:
    """One exchange waiting for a coordinator: a pair, or every request of a trading cycle in exchange order."""

    members: list[SwapRequest]
    change: StabilityChange | None  # None when the exchange can no longer happen (then `problem` says why)
    problem: str | None

    @property
    def first(self) -> SwapRequest:
        return self.members[0]


def swap_stability_change(*, members: Sequence[SwapRequest]) -> StabilityChange | None:
    """nash_distance and the number of blocking swaps before and after the exchange (stability's swap analysis on
    the schedule as it stands); None when one of its assignments is not in the analysed schedule any more."""
    market = Market.of(members[0].schedule)
    indices = [(market.index(a), market.index(b)) for a, b in exchange_pairs(members)]
    if any(a is None or b is None for a, b in indices):
        return None
    before = swap_analysis(market.problem)
    rows = market.problem.assignments
    for a, b in indices:
        rows = apply_swap(rows, a, b)
    after = swap_analysis(dataclasses.replace(market.problem, assignments=rows))
    return StabilityChange(float(before.nash_distance), float(after.nash_distance),
                           int(before.num_blocking_swaps), int(after.num_blocking_swaps))


def swap_approvals_pending(*, year: AcademicYear | None = None) -> list[PendingApproval]:
    """Every exchange awaiting approval (of `year`, or all), oldest confirmation first, with its stability change."""
    qs = (SwapRequest.objects.filter(status=Status.AWAITING_APPROVAL)
          .select_related("schedule__year", "requester", "counterparty", "give__week", "give__rotation",
                          "take__week", "take__rotation", "give_week", "take_week")
          .order_by("confirmed_at", "pk"))
    if year is not None:
        qs = qs.filter(schedule__year=year)
    out, seen = [], set()
    for swap in qs:
        if swap.pk in seen:
            continue
        members = _ordered(swap, list(qs.filter(cycle=swap.cycle)) if swap.cycle else [swap])
        seen.update(m.pk for m in members)
        problem = exchange_impossible(members)
        out.append(PendingApproval(members, None if problem else swap_stability_change(members=members), problem))
    return out


def _ordered(swap: SwapRequest, members: list[SwapRequest]) -> list[SwapRequest]:
    """A cycle's requests in exchange order (each takes the next one's given week)."""
    if swap.cycle is None:
        return members
    by_give = {m.give_id: m for m in members}
    ordered, current = [], min(members, key=lambda m: m.pk)
    while current is not None and current not in ordered:
        ordered.append(current)
        current = by_give.get(current.take_id)
    return ordered if len(ordered) == len(members) else sorted(members, key=lambda m: m.pk)


def _awaiting(swap: SwapRequest, actor, verb: str) -> list[SwapRequest]:
    if not is_coordinator(actor):
        raise PermissionDenied(f"Only coordinators can {verb} swaps.")
    Schedule.objects.select_for_update().filter(pk=swap.schedule_id).first()  # as the matcher: schedule, then request
    locked = swap_request_lock(swap)
    if locked.status != Status.AWAITING_APPROVAL:
        raise ValidationError({"status": f"Request #{locked.pk} is {locked.get_status_display().lower()}; only swaps "
                                         f"awaiting approval can be {verb}d."})
    members = cycle_members(locked)
    own = getattr(actor, "faculty", None)
    if own is not None and any(p.pk == own.pk for p in notices.parties(members)):
        raise ValidationError({"reviewer": f"You are a party to this swap, so another coordinator must {verb} it."})
    return members


def _mark_reviewed(members: Sequence[SwapRequest], actor, reason: str = "") -> None:
    now = timezone.now()
    for m in members:
        m.reviewed_by, m.reviewed_at, m.review_reason = user_or_none(actor), now, reason
        m.save(update_fields=["reviewed_by", "reviewed_at", "review_reason"])


@transaction.atomic
def swap_request_approve(*, swap: SwapRequest, actor) -> SwapRequest:
    """Approve a confirmed swap: its audited change executes now (or, if a week moved meanwhile, it expires with the
    reason). Coordinators only; a swap not awaiting approval is refused on `status`."""
    members = _awaiting(swap, actor, "approve")
    _mark_reviewed(members, actor)
    exchange_execute(members, actor=actor)
    executed = [m for m in SwapRequest.objects.filter(pk__in=[m.pk for m in members]) if m.status == Status.EXECUTED]
    for m in executed:
        m.outcome = f"Approved by coordinator {actor.get_username()}; {m.outcome[0].lower()}{m.outcome[1:]}"[:300]
        m.save(update_fields=["outcome"])
    notices.swap_reviewed(members, approved=True)
    return SwapRequest.objects.get(pk=swap.pk)


@transaction.atomic
def swap_request_refuse(*, swap: SwapRequest, actor, reason: str) -> SwapRequest:
    """Refuse a confirmed swap with a reason the parties are told; the schedule does not change. Coordinators only;
    an empty or over-long reason is refused on `reason`, a swap not awaiting approval on `status`."""
    reason = (reason or "").strip() if isinstance(reason, str) else ""
    if not reason:
        raise ValidationError({"reason": "Say why you refuse the swap; both faculty members are told."})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": f"Keep the reason under {REASON_MAX} characters."})
    members = _awaiting(swap, actor, "refuse")
    _mark_reviewed(members, actor, reason)
    close(members, Status.REFUSED, f"Refused by coordinator {actor.get_username()}: {reason}")
    strategy_performance_update(year=members[0].schedule.year)
    notices.swap_reviewed(members, approved=False, reason=reason)
    return SwapRequest.objects.get(pk=swap.pk)


@transaction.atomic
def swap_approval_setting_update(*, year: AcademicYear, required: bool, actor) -> AcademicYear:
    """Turn the year's "swaps need approval" on or off (coordinators). Swaps already waiting keep waiting: turning
    it off does not execute them without a coordinator's decision."""
    if not is_coordinator(actor):
        raise PermissionDenied("Only coordinators change whether swaps need approval.")
    if not isinstance(required, bool):
        raise ValidationError({"swaps_need_approval": "Give true or false."})
    AcademicYear.objects.filter(pk=year.pk).update(swaps_need_approval=required)
    year.swaps_need_approval = required
    return year
