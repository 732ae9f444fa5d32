"""Swap suggestions, the matcher and trading cycles of the swap market (DESIGN §9).

Matching rule (the documented choice of DESIGN §9's "mutual gain"): the requester's own request is their consent
to any week they named, so the matcher only asks that the counterparty does not lose by their own stated
preferences (gain ≥ −ε); blocking swaps (both strictly gain) naturally rank first because candidates are ranked by
mutual gain (gain_requester + gain_counterparty), then by how much the swap lowers nash_distance. Each party
still confirms before anything changes. Swap suggestions, by contrast, list only blocking swaps.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from allocation.algorithms.exchange import EPSILON
from allocation.models import Assignment, Schedule
from gtsched_site.permissions import is_coordinator, user_or_none
from preferences.models import Faculty, Week
from stability.algorithms.swaps import apply_swap, swap_candidates, swap_gains
from stability.algorithms.ttc import top_trading_cycles
from stability.market import notices
from stability.market.lifecycle import expire, is_stale_give, swap_request_lock
from stability.market.state import SUGGESTION_LIMIT, Market, Status, Strategy, reserved_assignment_ids, week_label
from stability.models import SwapRequest

# --- suggestions ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwapSuggestion:
    """A blocking swap open to `give`'s holder: they would get `take_week` from `partner`, both strictly gaining."""

    give_id: int
    give_week: Week
    give_rotation: str
    take_id: int
    take_week: Week
    take_rotation: str
    partner_id: int
    partner_name: str
    gain: float
    partner_gain: float
    mutual_gain: float
    distance_reduction: float
    distance_after: float
    utility_give: float  # the faculty member's own utility of the week they give, and of the week they would get
    utility_take: float


def swap_suggestions(*, faculty: Faculty, schedule: Schedule) -> list[SwapSuggestion]:
    """The weeks `faculty` could get by a mutually beneficial (blocking) swap on `schedule`, best first.

    For each of their assignments, the core's swap candidates where both sides strictly gain; ranked by mutual
    gain, then by how much nash_distance would drop. Access control is the caller's.
    """
    market = Market.of(schedule)
    built = market.built
    mine = list(
        schedule.assignments.filter(faculty=faculty).select_related("week", "rotation").order_by("week__index")
    )
    found: list[tuple[Assignment, Any]] = []
    for assignment in mine:
        a = market.index(assignment.pk)
        if a is None or bool(market.problem.locked[a]):
            continue
        for candidate in swap_candidates(market.problem, a, limit=SUGGESTION_LIMIT):
            if candidate.gain_self > EPSILON and candidate.gain_partner > EPSILON:
                found.append((assignment, candidate))
    partner_ids = {int(built.assignment_ids[c.partner]) for _, c in found}
    partners = {
        p.pk: p for p in Assignment.objects.filter(pk__in=partner_ids).select_related("faculty", "week", "rotation")
    }
    suggestions = []
    for assignment, c in found:
        partner = partners[int(built.assignment_ids[c.partner])]
        suggestions.append(SwapSuggestion(
            give_id=assignment.pk, give_week=assignment.week, give_rotation=assignment.rotation.name,
            take_id=partner.pk, take_week=partner.week, take_rotation=partner.rotation.name,
            partner_id=partner.faculty_id, partner_name=partner.faculty.display_name,
            gain=float(c.gain_self), partner_gain=float(c.gain_partner), mutual_gain=float(c.mutual_gain),
            distance_reduction=float(c.distance_reduction), distance_after=float(c.distance_after),
            utility_give=market.utility(faculty.pk, assignment.week_id), utility_take=market.utility(faculty.pk, partner.week_id),
        ))
    suggestions.sort(key=lambda s: (-round(s.mutual_gain, 12), -round(s.distance_reduction, 12), s.give_week.index,
                                    s.take_week.index, s.take_id))
    return suggestions

# --- the matcher ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    take_id: int
    gain: float
    partner_gain: float
    mutual_gain: float
    distance_reduction: float

    @property
    def key(self) -> tuple[float, float, int]:
        return (-round(self.mutual_gain, 12), -round(self.distance_reduction, 12), self.take_id)


def _match_candidates(market: Market, swap: SwapRequest, *, take_ids: set[int] | None = None) -> list[_Candidate]:
    """Feasible swaps of the request's week with a holder of a wanted week who does not lose, best first (the
    distance reduction is measured for those tied at the best mutual gain, 0.0 for the rest)."""
    a = market.index(swap.give_id)
    if a is None:
        return []
    wanted = set(swap.wanted_weeks.values_list("pk", flat=True))
    reserved = reserved_assignment_ids(swap.schedule, exclude=swap.pk)
    holders = swap.schedule.assignments.filter(week_id__in=wanted).exclude(faculty_id=swap.requester_id)
    if take_ids is not None:
        holders = holders.filter(pk__in=take_ids)
    found = []
    for take_id in holders.exclude(pk__in=reserved).values_list("pk", flat=True):
        b = market.index(take_id)
        if b is None:
            continue
        feasible, gain_a, gain_b = swap_gains(market.problem, a, b)
        if not feasible or gain_b < -EPSILON:
            continue
        found.append((take_id, b, float(gain_a), float(gain_b)))
    if not found:
        return []
    # Mutual gain ranks first, so only the candidates tied at the best one need the (whole-schedule) distance probe.
    best = max(round(g + h, 12) for _, _, g, h in found)
    candidates = [
        _Candidate(
            take_id=take_id, gain=g, partner_gain=h, mutual_gain=g + h,
            distance_reduction=(market.distance - market.distance_after([(a, b)])) if round(g + h, 12) == best else 0.0,
        )
        for take_id, b, g, h in found
    ]
    return sorted(candidates, key=lambda c: c.key)


@transaction.atomic
def swap_request_match(*, swap: SwapRequest, take: Assignment | None = None) -> SwapRequest:
    """Propose the best counterparty for an open request (status matched), or leave it open saying why.

    Counterparties hold a wanted week; among feasible swaps where the counterparty does not lose, the best by
    mutual gain, then by nash_distance reduction. `take` limits the search to that one assignment (a request made
    from a swap suggestion). A suggested request counts as confirmed by its requester: they chose that very swap.
    """
    Schedule.objects.select_for_update().filter(pk=swap.schedule_id).first()  # one matcher per schedule at a time
    swap = swap_request_lock(swap)
    if swap.status != Status.OPEN:
        raise ValidationError({"status": f"Request #{swap.pk} is {swap.get_status_display().lower()}; only open requests are matched."})
    if swap.schedule.status != Schedule.Status.PUBLISHED:
        return expire([swap], "No longer possible: this schedule is no longer the published one.")
    if is_stale_give(swap):
        return expire([swap], "Your week changed since you posted this request.")
    market = Market.of(swap.schedule)
    candidates = _match_candidates(market, swap, take_ids={take.pk} if take is not None else None)
    if not candidates:
        swap.outcome = (
            "That swap is no longer possible, or it would leave your colleague worse off." if take is not None else
            "Nobody holding the weeks you want can take yours without losing by it yet; the request stays open, "
            "and a trading cycle may still clear it."
        )
        swap.save(update_fields=["outcome"])
        return swap
    best = candidates[0]
    partner = Assignment.objects.select_related("faculty", "week").get(pk=best.take_id)
    swap.status = Status.MATCHED
    swap.counterparty = partner.faculty
    swap.take = partner
    swap.take_week = partner.week
    swap.requester_gain = best.gain
    swap.counterparty_gain = best.partner_gain
    swap.mutual_gain = best.mutual_gain
    swap.distance_reduction = best.distance_reduction
    swap.matched_at = timezone.now()
    swap.requester_confirmed = swap.strategy == Strategy.SUGGESTED
    swap.counterparty_confirmed = False
    swap.outcome = f"Proposed: {week_label(partner.week)} from {partner.faculty}; waiting for confirmation."
    swap.save()
    notices.swap_proposed([swap])
    return swap


# --- trading cycles ------------------------------------------------------------------------------------------


@transaction.atomic
def swap_requests_clear_cycles(*, schedule: Schedule, actor) -> list[list[SwapRequest]]:
    """Top Trading Cycles over the schedule's open requests; every cycle of two or more is proposed (matched).

    Each open request is an agent owning its `give`; its preferences are the other open requests' weeks it
    wants and could take (eligible for the slot, not a week its requester already serves), by its utility.
    A cycle's requests share a cycle id and each member confirms their own. Returns the cycles cleared.
    """
    if user_or_none(actor) is not None and not is_coordinator(actor):
        raise PermissionDenied("Only coordinators clear trading cycles.")
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    if schedule.status != Schedule.Status.PUBLISHED:
        raise ValidationError({"schedule": f"“{schedule.name}” is not published; trading cycles run on the published schedule."})
    requests = list(
        SwapRequest.objects.select_for_update().filter(schedule=schedule, status=Status.OPEN)
        .select_related("give__week", "requester").prefetch_related("wanted_weeks").order_by("created_at", "pk")
    )
    for stale in [r for r in requests if is_stale_give(r)]:
        expire([stale], "Your week changed since you posted this request.")
    requests = [r for r in requests if r.status == Status.OPEN]
    if len(requests) < 2:
        return []
    market = Market.of(schedule)
    problem = market.problem
    index = {r.pk: market.index(r.give_id) for r in requests}
    requests = [r for r in requests if index[r.pk] is not None and not bool(problem.locked[index[r.pk]])]
    held_weeks: dict[int, set[int]] = {}
    for faculty_id, week_id in schedule.assignments.values_list("faculty_id", "week_id"):
        held_weeks.setdefault(faculty_id, set()).add(week_id)
    preferences: list[list[int]] = []  # agent k (request k) owns its given assignment; lists other requests, best first
    for k, r in enumerate(requests):
        wanted = {w.pk for w in r.wanted_weeks.all()}
        i = market.faculty_pos[r.requester_id]
        options = []
        for m, other in enumerate(requests):
            if m == k or other.give.week_id not in wanted or other.requester_id == r.requester_id:
                continue
            _, w, rot = problem.assignments[index[other.pk]].tolist()
            if not problem.eligible[i, w, rot] or other.give.week_id in held_weeks.get(r.requester_id, set()) - {r.give.week_id}:
                continue
            options.append((-float(problem.utility[i, w]), other.give.week.index, m))
        preferences.append([m for *_, m in sorted(options)])
    result = top_trading_cycles([r.give_id for r in requests], [[requests[m].give_id for m in ranked] for ranked in preferences])
    cleared = []
    for cycle in _ttc_cycles(result):
        if len(cycle) < 2:
            continue
        members = [requests[k] for k in cycle]
        pairs = [(index[members[j].pk], index[members[j + 1].pk]) for j in range(len(members) - 1)]
        if not _cycle_feasible(market, pairs, [index[m.pk] for m in members]):
            continue
        _propose_cycle(market, members, pairs)
        notices.swap_proposed(members)
        cleared.append(members)
    return cleared


def _ttc_cycles(result: Any) -> list[list[int]]:
    return [[int(agent) for agent in cycle] for cycle in result.cycles]


def _cycle_feasible(market: Market, pairs: list[tuple[int, int]], indices: list[int]) -> bool:
    """The exchange's end state is feasible: each holder eligible for the slot they get, no week held twice."""
    problem = market.problem
    rows = problem.assignments
    for a, b in pairs:
        rows = apply_swap(rows, a, b)
    for k in indices:
        i, w, r = rows[k].tolist()
        if not problem.eligible[i, w, r]:
            return False
    faculty_weeks = rows[:, :2]
    return len(np.unique(faculty_weeks, axis=0)) == len(faculty_weeks)


def _propose_cycle(market: Market, members: list[SwapRequest], pairs: list[tuple[int, int]]) -> None:
    cycle_id = uuid.uuid4()
    reduction = market.distance - market.distance_after(pairs)
    gains = []
    for j, member in enumerate(members):
        receives = members[(j + 1) % len(members)]
        gains.append(market.utility(member.requester_id, receives.give.week_id) - market.utility(member.requester_id, member.give.week_id))
    now = timezone.now()
    for j, member in enumerate(members):
        receives = members[(j + 1) % len(members)]
        member.status = Status.MATCHED
        member.cycle = cycle_id
        member.counterparty = receives.requester
        member.take = receives.give
        member.take_week = receives.give.week
        member.requester_gain = gains[j]
        member.counterparty_gain = None
        member.mutual_gain = float(sum(gains))
        member.distance_reduction = reduction
        member.requester_confirmed = False
        member.counterparty_confirmed = False
        member.matched_at = now
        member.outcome = (
            f"Trading cycle of {len(members)}: you would get {week_label(receives.give.week)} from {receives.requester}; "
            "every member confirms."
            if len(members) > 2 else
            f"Mutual swap with {receives.requester}: you would get {week_label(receives.give.week)}; both confirm."
        )
        member.save()
