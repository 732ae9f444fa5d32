"""How swap requests are locked, closed and reopened, and what audited changes made elsewhere close.

The lowest market services: the publish gate, recommended swaps and the receivers of schedule changes close
requests through here without depending on the matcher.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db.models import Q
from django.utils import timezone

from allocation.models import Assignment, Schedule, ScheduleChange
from stability.market.strategy import strategy_performance_update
from stability.models import SwapRequest

Status = SwapRequest.Status


def swap_request_lock(swap: SwapRequest) -> SwapRequest:
    return SwapRequest.objects.select_for_update(of=("self",)).select_related(
        "schedule__year", "requester__user", "give__week", "give__faculty", "counterparty__user", "take__week",
    ).get(pk=swap.pk)


def cycle_members(swap: SwapRequest) -> list[SwapRequest]:
    """The requests of the request's trading cycle (just itself when it has none), locked, in exchange order."""
    if swap.cycle is None:
        return [swap]
    members = list(
        SwapRequest.objects.select_for_update(of=("self",)).select_related("give__week", "take__week", "requester__user", "schedule__year")
        .filter(cycle=swap.cycle).order_by("pk")
    )
    by_give = {m.give_id: m for m in members}
    ordered, current = [], members[0]
    while current is not None and current not in ordered:
        ordered.append(current)
        current = by_give.get(current.take_id)
    return ordered if len(ordered) == len(members) else members


def is_stale_give(swap: SwapRequest) -> bool:
    give = Assignment.objects.filter(pk=swap.give_id).values_list("faculty_id", "week_id").first()
    return give is None or give != (swap.requester_id, swap.give_week_id or give[1])


def is_stale_take(swap: SwapRequest) -> bool:
    if swap.take_id is None:
        return True
    take = Assignment.objects.filter(pk=swap.take_id).values_list("faculty_id", "week_id").first()
    return take != (swap.counterparty_id, swap.take_week_id)


def close(swaps: Sequence[SwapRequest], status: str, outcome: str, *, change: ScheduleChange | None = None) -> None:
    now = timezone.now()
    for r in swaps:
        r.status = status
        r.outcome = outcome[:300]
        r.closed_at = now
        if change is not None:
            r.change = change
        r.save(update_fields=["status", "outcome", "closed_at", "change"])


def expire(swaps: Sequence[SwapRequest], outcome: str) -> SwapRequest:
    close(swaps, Status.EXPIRED, outcome)
    strategy_performance_update(year=swaps[0].schedule.year)
    return swaps[0]


def reopen(swaps: Iterable[SwapRequest], outcome: str) -> None:
    for r in swaps:
        r.status = Status.OPEN
        r.cycle = None
        r.counterparty = None
        r.take = None
        r.take_week = None
        r.requester_gain = r.counterparty_gain = r.mutual_gain = r.distance_reduction = None
        r.requester_confirmed = r.counterparty_confirmed = False
        r.matched_at = None
        r.outcome = outcome[:300]
        r.save()


def close_affected(change: ScheduleChange, *, exclude: set[int]) -> None:
    """Other active requests touching a moved assignment: fulfilled when the week it got is wanted, else stale."""
    moved = {row["assignment"]: row["week"] for row in change.after}
    affected = (
        SwapRequest.objects.select_for_update().filter(status__in=SwapRequest.ACTIVE)
        .filter(Q(give_id__in=moved) | Q(take_id__in=moved)).exclude(pk__in=exclude)
    )
    for other in affected:
        members = cycle_members(other) if other.cycle else [other]
        if other.give_id in moved and other.wanted_weeks.filter(pk=moved[other.give_id]).exists() and other.cycle is None:
            close([other], Status.EXECUTED, "Fulfilled: another swap gave you one of the weeks you asked for.", change=change)
        else:
            close([m for m in members if m.status in SwapRequest.ACTIVE],
                  Status.EXPIRED, "No longer possible: one of its weeks moved in another swap.")


def swap_requests_after_change(*, change: ScheduleChange) -> None:
    """Requests touched by an audited change made outside the market (a coordinator's recommended swap, an
    auction settlement): those whose given week moved to a week they wanted are fulfilled, the rest that touch a
    moved week expire."""
    close_affected(change, exclude=set())


def swap_requests_close_for_archived(*, schedules: Sequence[Schedule]) -> int:
    """A schedule archived by a new publication takes its open and matched requests with it."""
    active = list(
        SwapRequest.objects.select_for_update().filter(schedule__in=schedules, status__in=SwapRequest.ACTIVE)
    )
    if active:
        close(active, Status.EXPIRED, "No longer possible: a new schedule was published for this year.")
    return len(active)
