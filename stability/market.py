"""The swap market (DESIGN §9): swap requests on a published schedule, the matcher, trading cycles, confirmation.

A faculty member offers one published week (`give`) for weeks they want. The matcher proposes one counterparty;
Top Trading Cycles clears exchanges among open requests; once every party confirmed, the exchange runs through
`allocation.changes.schedule_swaps_apply` (the audited way a published schedule changes), the stability report is
refreshed once the change is committed, and StrategyPerformance moves one replicator step (on every close).

Matching rule (the documented choice of DESIGN §9's "mutual gain"): the requester's own request is their consent
to any week they named, so the matcher only asks that the counterparty does not lose by their own stated
preferences (gain ≥ −ε); blocking swaps (both strictly gain) naturally rank first because candidates are ranked by
mutual gain (gain_requester + gain_counterparty), then by how much the swap lowers nash_distance. Each party
still confirms before anything changes. Swap suggestions, by contrast, list only blocking swaps.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from allocation.changes import schedule_swaps_apply
from allocation.models import Assignment, Schedule, ScheduleChange
from allocation.problem import ScheduleProblem, schedule_problem
from preferences.models import AcademicYear, Faculty, Week
from preferences.querysets import is_coordinator
from preferences.services import submissions_current
from stability.algorithms.replicator import fitness as replicator_fitness
from stability.algorithms.replicator import replicator_step
from stability.algorithms.swaps import apply_swap, nash_distance, swap_analysis, swap_candidates, swap_gains
from stability.algorithms.ttc import top_trading_cycles
from stability.models import StrategyPerformance, SwapRequest

logger = logging.getLogger(__name__)

EPS = 1e-9
SUGGESTION_LIMIT = 20  # candidates per given week
Status = SwapRequest.Status
Strategy = SwapRequest.Strategy
CLOSED = (Status.EXECUTED, Status.CANCELLED, Status.DECLINED, Status.EXPIRED)


def _week_label(week: Week) -> str:
    return f"week {week.index + 1} ({week.start_date:%d %b %Y})"


def _user(actor):
    return actor if getattr(actor, "pk", None) else None


# --- the schedule as the market sees it ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Market:
    """A schedule's problem with lookups from rows to indices, and its nash_distance now."""

    built: ScheduleProblem
    distance: float
    week_pos: dict[int, int]
    faculty_pos: dict[int, int]

    @classmethod
    def of(cls, schedule: Schedule) -> _Market:
        built = schedule_problem(schedule=schedule)
        return cls(
            built=built,
            distance=float(swap_analysis(built.problem).nash_distance),
            week_pos={int(pk): k for k, pk in enumerate(built.week_ids.tolist())},
            faculty_pos={int(pk): i for i, pk in enumerate(built.faculty_ids.tolist())},
        )

    @property
    def problem(self):
        return self.built.problem

    def index(self, assignment_id: int) -> int | None:
        return self.built.assignment_index(assignment_id)

    def utility(self, faculty_id: int, week_id: int) -> float | None:
        i, w = self.faculty_pos.get(faculty_id), self.week_pos.get(week_id)
        return None if i is None or w is None else float(self.problem.utility[i, w])

    def distance_after(self, pairs: Sequence[tuple[int, int]]) -> float:
        rows = self.problem.assignments
        for a, b in pairs:
            rows = apply_swap(rows, a, b)
        return float(swap_analysis(dataclasses.replace(self.problem, assignments=rows)).nash_distance)


def schedule_nash_distance(*, schedule: Schedule) -> float:
    """The schedule's nash_distance as it stands (share of assignments in a blocking swap)."""
    return _Market.of(schedule).distance


def faculty_fit(*, faculty: Faculty, schedule: Schedule) -> dict[int, float]:
    """Week id -> the faculty member's own utility u[i, w] in the schedule's year (empty when off the roster)."""
    market = _Market.of(schedule)
    i = market.faculty_pos.get(faculty.pk)
    if i is None:
        return {}
    return {pk: float(market.problem.utility[i, w]) for pk, w in market.week_pos.items()}


def blocked_week_ids(*, faculty: Faculty, year: AcademicYear) -> set[int]:
    """Weeks the faculty member blocked (or rejected) in the submission that counts for the year."""
    submission = submissions_current(year=year).get(faculty.pk)
    if submission is None:
        return set()
    indices = set(submission.blocked_weeks)
    indices |= {e["week"] for e in submission.entries if e.get("accept") is False}
    return set(Week.objects.filter(year=year, index__in=indices).values_list("pk", flat=True))


def _reserved_assignment_ids(schedule: Schedule, *, exclude: int | None = None) -> set[int]:
    """Assignments already promised in a matched proposal: the matcher does not offer them twice."""
    matched = SwapRequest.objects.filter(schedule=schedule, status=Status.MATCHED).exclude(pk=exclude)
    return {pk for pair in matched.values_list("give_id", "take_id") for pk in pair if pk is not None}


# --- posting a request ----------------------------------------------------------------------------------------


_ID_MAX = 2**63 - 1  # larger integers overflow the database's bigint before they can miss


def _resolve_weeks(values: Iterable[Any]) -> tuple[list[Week], list[str]]:
    """Week instances from Weeks or Week ids; unknown ids become messages."""
    weeks, problems, ids = [], [], []
    for value in values:
        if isinstance(value, Week):
            weeks.append(value)
        elif isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= _ID_MAX:
            ids.append(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            problems.append(f"There is no week with id {value}.")
        else:
            problems.append(f"{value!r} is not a week.")
    if ids:
        found = {w.pk: w for w in Week.objects.filter(pk__in=ids).select_related("year")}
        for pk in ids:
            if pk in found:
                weeks.append(found[pk])
            else:
                problems.append(f"There is no week with id {pk}.")
    unique = list({w.pk: w for w in weeks}.values())
    return sorted(unique, key=lambda w: (w.year_id, w.index)), problems


@transaction.atomic
def swap_request_create(
    *, actor, give: Assignment, wanted_weeks: Iterable[Any] | None, strategy: str = Strategy.FLEXIBLE, note: str = "",
) -> SwapRequest:
    """Post a request offering `give` (one of the requester's published weeks) for any of `wanted_weeks`.

    Only on a published schedule; only the assignment's own faculty member, or a coordinator on their behalf.
    Wanted weeks must be of the same year, not the week given, not a week the requester already serves or blocked.
    With the any_better strategy and no weeks named, every week the requester values above the given one is
    wanted. One active (open or matched) request per given week. Refused with field-named errors, nothing stored.
    """
    if _user(actor) is None or not actor.is_authenticated:
        raise PermissionDenied("Log in to post a swap request.")
    errors: dict[str, list[str]] = {}
    locked = (
        Assignment.objects.select_for_update().filter(pk=getattr(give, "pk", None)).first()
        if isinstance(give, Assignment) else None
    )
    if locked is None:
        raise ValidationError({"give": "Choose one of your assignments to offer."})
    give = Assignment.objects.select_related("schedule__year", "faculty__user", "week", "rotation").get(pk=locked.pk)
    schedule, requester = give.schedule, give.faculty
    if not is_coordinator(actor) and requester.user_id != actor.pk:
        raise ValidationError({"give": "That week is not one of yours; you can only offer a week you serve."})
    if schedule.status != Schedule.Status.PUBLISHED:
        errors.setdefault("give", []).append(
            f"Swaps happen only on a published schedule; “{schedule.name}” is {schedule.get_status_display().lower()}."
        )
    if strategy not in Strategy.values:
        errors.setdefault("strategy", []).append(
            f"{strategy!r} is not a strategy; choose one of {', '.join(Strategy.values)}."
        )
    note = (note or "").strip()
    if len(note) > SwapRequest._meta.get_field("note").max_length:
        errors.setdefault("note", []).append("Keep the note under 300 characters.")
    if errors:
        raise ValidationError(errors)

    market = _Market.of(schedule)
    a = market.index(give.pk)
    if a is None:
        errors.setdefault("give", []).append(
            f"{requester} is not on the roster analysed for {schedule.year}, so this week cannot be swapped."
        )
    elif bool(market.problem.locked[a]):
        errors.setdefault("give", []).append(
            f"{_week_label(give.week).capitalize()} was pre-assigned by the coordinators and cannot be swapped."
        )
    active = SwapRequest.objects.filter(give=give, status__in=SwapRequest.ACTIVE).first()
    if active is not None:
        errors.setdefault("give", []).append(
            f"You already offer {_week_label(give.week)} in request #{active.pk} ({active.get_status_display().lower()}); "
            "cancel it before posting another."
        )

    weeks, problems = _resolve_weeks(wanted_weeks or [])
    for message in problems:
        errors.setdefault("wanted_weeks", []).append(message)
    held = set(schedule.assignments.filter(faculty=requester).values_list("week_id", flat=True))
    blocked = blocked_week_ids(faculty=requester, year=schedule.year)
    for week in weeks:
        label = _week_label(week)
        if week.year_id != schedule.year_id:
            errors.setdefault("wanted_weeks", []).append(
                f"{label.capitalize()} belongs to academic year {week.year}, not {schedule.year}; "
                f"choose weeks of {schedule.year}."
            )
        elif week.pk == give.week_id:
            errors.setdefault("wanted_weeks", []).append(f"{label.capitalize()} is the week you are giving; choose other weeks.")
        elif week.pk in held:
            errors.setdefault("wanted_weeks", []).append(f"You already serve {label}; nobody serves twice in one week.")
        elif week.pk in blocked:
            errors.setdefault("wanted_weeks", []).append(
                f"You blocked {label} in your preferences, so you cannot take it; untick it."
            )
    if not weeks and not problems and strategy in Strategy.values:
        if strategy == Strategy.ANY_BETTER and a is not None:
            weeks = _better_weeks(market, give=give, held=held, blocked=blocked)
            if not weeks:
                errors.setdefault("wanted_weeks", []).append(
                    f"By your preferences no week you could serve is better than {_week_label(give.week)}."
                )
        else:
            errors.setdefault("wanted_weeks", []).append("Tick at least one week you would rather serve.")
    if strategy == Strategy.TARGETED and len(weeks) > 1:
        errors.setdefault("wanted_weeks", []).append(
            "A targeted request names exactly one week; choose “A few wanted weeks” to name more."
        )
    if errors:
        raise ValidationError(errors)

    try:
        with transaction.atomic():
            request = SwapRequest.objects.create(
                schedule=schedule, requester=requester, give=give, give_week=give.week, strategy=strategy, note=note,
                created_by=actor,
            )
    except IntegrityError:  # a concurrent post for the same week won the race
        raise ValidationError({"give": f"You already offer {_week_label(give.week)} in another active request."}) from None
    request.wanted_weeks.set(weeks)
    return request


def _better_weeks(market: _Market, *, give: Assignment, held: set[int], blocked: set[int]) -> list[Week]:
    i = market.faculty_pos[give.faculty_id]
    own = market.utility(give.faculty_id, give.week_id)
    utility, eligible = market.problem.utility[i], market.problem.eligible[i].any(axis=1)
    ids = [
        int(pk) for w, pk in enumerate(market.built.week_ids.tolist())
        if utility[w] > own + EPS and eligible[w] and pk not in held and pk not in blocked
    ]
    return list(Week.objects.filter(pk__in=ids).order_by("index"))


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
    market = _Market.of(schedule)
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
            if candidate.gain_self > EPS and candidate.gain_partner > EPS:
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


def _match_candidates(market: _Market, request: SwapRequest, *, take_ids: set[int] | None = None) -> list[_Candidate]:
    """Feasible swaps of the request's week with a holder of a wanted week who does not lose, best first (the
    distance reduction is measured for those tied at the best mutual gain, 0.0 for the rest)."""
    a = market.index(request.give_id)
    if a is None:
        return []
    wanted = set(request.wanted_weeks.values_list("pk", flat=True))
    reserved = _reserved_assignment_ids(request.schedule, exclude=request.pk)
    holders = request.schedule.assignments.filter(week_id__in=wanted).exclude(faculty_id=request.requester_id)
    if take_ids is not None:
        holders = holders.filter(pk__in=take_ids)
    found = []
    for take_id in holders.exclude(pk__in=reserved).values_list("pk", flat=True):
        b = market.index(take_id)
        if b is None:
            continue
        feasible, gain_a, gain_b = swap_gains(market.problem, a, b)
        if not feasible or gain_b < -EPS:
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


def _lock_request(request: SwapRequest) -> SwapRequest:
    return SwapRequest.objects.select_for_update(of=("self",)).select_related(
        "schedule__year", "requester__user", "give__week", "give__faculty", "counterparty__user", "take__week",
    ).get(pk=request.pk)


@transaction.atomic
def swap_request_match(*, request: SwapRequest, take: Assignment | None = None) -> SwapRequest:
    """Propose the best counterparty for an open request (status matched), or leave it open saying why.

    Counterparties hold a wanted week; among feasible swaps where the counterparty does not lose, the best by
    mutual gain, then by nash_distance reduction. `take` limits the search to that one assignment (a request made
    from a swap suggestion). A suggested request counts as confirmed by its requester: they chose that very swap.
    """
    Schedule.objects.select_for_update().filter(pk=request.schedule_id).first()  # one matcher per schedule at a time
    request = _lock_request(request)
    if request.status != Status.OPEN:
        raise ValidationError({"status": f"Request #{request.pk} is {request.get_status_display().lower()}; only open requests are matched."})
    if request.schedule.status != Schedule.Status.PUBLISHED:
        return _expire([request], "No longer possible: this schedule is no longer the published one.")
    if _is_stale_give(request):
        return _expire([request], "Your week changed since you posted this request.")
    market = _Market.of(request.schedule)
    candidates = _match_candidates(market, request, take_ids={take.pk} if take is not None else None)
    if not candidates:
        request.outcome = (
            "That swap is no longer possible, or it would leave your colleague worse off." if take is not None else
            "Nobody holding the weeks you want can take yours without losing by it yet; the request stays open, "
            "and a trading cycle may still clear it."
        )
        request.save(update_fields=["outcome"])
        return request
    best = candidates[0]
    partner = Assignment.objects.select_related("faculty", "week").get(pk=best.take_id)
    request.status = Status.MATCHED
    request.counterparty = partner.faculty
    request.take = partner
    request.take_week = partner.week
    request.requester_gain = best.gain
    request.counterparty_gain = best.partner_gain
    request.mutual_gain = best.mutual_gain
    request.distance_reduction = best.distance_reduction
    request.matched_at = timezone.now()
    request.requester_confirmed = request.strategy == Strategy.SUGGESTED
    request.counterparty_confirmed = False
    request.outcome = f"Proposed: {_week_label(partner.week)} from {partner.faculty}; waiting for confirmation."
    request.save()
    return request


@transaction.atomic
def swap_request_from_suggestion(*, actor, give: Assignment, take: Assignment, note: str = "") -> SwapRequest:
    """"Request this swap" on a suggestion: a suggested-strategy request for the partner's week, matched at once."""
    if not isinstance(take, Assignment) or take.schedule_id != getattr(give, "schedule_id", None):
        raise ValidationError({"take": "Choose a week of the same schedule."})
    request = swap_request_create(actor=actor, give=give, wanted_weeks=[take.week], strategy=Strategy.SUGGESTED, note=note)
    request = swap_request_match(request=request, take=take)
    if request.status != Status.MATCHED:  # refused as a whole: nothing stays behind
        raise ValidationError({"take": f"{request.outcome} Reload the suggestions to see the swaps open to you now."})
    return request


# --- trading cycles ------------------------------------------------------------------------------------------


@transaction.atomic
def swap_requests_clear_cycles(*, schedule: Schedule, actor) -> list[list[SwapRequest]]:
    """Top Trading Cycles over the schedule's open requests; every cycle of two or more is proposed (matched).

    Each open request is an agent owning its `give`; its preferences are the other open requests' weeks it
    wants and could take (eligible for the slot, not a week its requester already serves), by its utility.
    A cycle's requests share a cycle id and each member confirms their own. Returns the cycles cleared.
    """
    if _user(actor) is not None and not is_coordinator(actor):
        raise PermissionDenied("Only coordinators clear trading cycles.")
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    if schedule.status != Schedule.Status.PUBLISHED:
        raise ValidationError({"schedule": f"“{schedule.name}” is not published; trading cycles run on the published schedule."})
    requests = list(
        SwapRequest.objects.select_for_update().filter(schedule=schedule, status=Status.OPEN)
        .select_related("give__week", "requester").prefetch_related("wanted_weeks").order_by("created_at", "pk")
    )
    for stale in [r for r in requests if _is_stale_give(r)]:
        _expire([stale], "Your week changed since you posted this request.")
    requests = [r for r in requests if r.status == Status.OPEN]
    if len(requests) < 2:
        return []
    market = _Market.of(schedule)
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
        cleared.append(members)
    return cleared


def _ttc_cycles(result: Any) -> list[list[int]]:
    return [[int(agent) for agent in cycle] for cycle in result.cycles]


def _cycle_feasible(market: _Market, pairs: list[tuple[int, int]], indices: list[int]) -> bool:
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


def _propose_cycle(market: _Market, members: list[SwapRequest], pairs: list[tuple[int, int]]) -> None:
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
            f"Trading cycle of {len(members)}: you would get {_week_label(receives.give.week)} from {receives.requester}; "
            "every member confirms."
            if len(members) > 2 else
            f"Mutual swap with {receives.requester}: you would get {_week_label(receives.give.week)}; both confirm."
        )
        member.save()


# --- confirming, declining, cancelling ------------------------------------------------------------------------


def _actor_faculty(actor) -> Faculty | None:
    if _user(actor) is None:
        return None
    return Faculty.objects.filter(user=actor).first()


def _cycle_members(request: SwapRequest) -> list[SwapRequest]:
    """The requests of the request's trading cycle (just itself when it has none), locked, in exchange order."""
    if request.cycle is None:
        return [request]
    members = list(
        SwapRequest.objects.select_for_update(of=("self",)).select_related("give__week", "take__week", "requester__user", "schedule__year")
        .filter(cycle=request.cycle).order_by("pk")
    )
    by_give = {m.give_id: m for m in members}
    ordered, current = [], members[0]
    while current is not None and current not in ordered:
        ordered.append(current)
        current = by_give.get(current.take_id)
    return ordered if len(ordered) == len(members) else members


def _is_stale_give(request: SwapRequest) -> bool:
    give = Assignment.objects.filter(pk=request.give_id).values_list("faculty_id", "week_id").first()
    return give is None or give != (request.requester_id, request.give_week_id or give[1])


def _is_stale_take(request: SwapRequest) -> bool:
    if request.take_id is None:
        return True
    take = Assignment.objects.filter(pk=request.take_id).values_list("faculty_id", "week_id").first()
    return take != (request.counterparty_id, request.take_week_id)


def _close(requests: Sequence[SwapRequest], status: str, outcome: str, *, change: ScheduleChange | None = None) -> None:
    now = timezone.now()
    for r in requests:
        r.status = status
        r.outcome = outcome[:300]
        r.closed_at = now
        if change is not None:
            r.change = change
        r.save(update_fields=["status", "outcome", "closed_at", "change"])


def _expire(requests: Sequence[SwapRequest], outcome: str) -> SwapRequest:
    _close(requests, Status.EXPIRED, outcome)
    strategy_performance_update(year=requests[0].schedule.year)
    return requests[0]


def _reopen(requests: Iterable[SwapRequest], outcome: str) -> None:
    for r in requests:
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


def _all_confirmed(members: Sequence[SwapRequest]) -> bool:
    if members[0].cycle is None:
        return members[0].requester_confirmed and members[0].counterparty_confirmed
    return all(m.requester_confirmed for m in members)


@transaction.atomic
def swap_request_confirm(*, request: SwapRequest, actor) -> SwapRequest:
    """The requester or the counterparty confirms their side (in a cycle, each member confirms their own request).

    Once every party has confirmed, the exchange executes as one audited ScheduleChange (kind swap, or trading
    cycle as consecutive pairs); a request whose weeks moved meanwhile expires with the reason instead.
    """
    request = _lock_request(request)
    if request.status != Status.MATCHED:
        raise ValidationError({"status": f"Request #{request.pk} is {request.get_status_display().lower()}; there is nothing to confirm."})
    faculty = _actor_faculty(actor)
    members = _cycle_members(request)
    if request.cycle is None:
        if faculty is not None and faculty.pk == request.requester_id:
            request.requester_confirmed = True
        elif faculty is not None and faculty.pk == request.counterparty_id:
            request.counterparty_confirmed = True
        else:
            raise PermissionDenied("Only the two faculty members of this swap can confirm it.")
        request.save(update_fields=["requester_confirmed", "counterparty_confirmed"])
        members = [request]
    else:
        own = [m for m in members if faculty is not None and m.requester_id == faculty.pk]
        if not own:
            raise PermissionDenied("Only the members of this trading cycle can confirm it.")
        for m in own:
            m.requester_confirmed = True
            m.save(update_fields=["requester_confirmed"])
    if not _all_confirmed(members):
        return SwapRequest.objects.get(pk=request.pk)
    _execute(members, actor=actor)
    return SwapRequest.objects.get(pk=request.pk)


def _execute(members: list[SwapRequest], *, actor) -> None:
    schedule = members[0].schedule
    if not Schedule.objects.filter(pk=schedule.pk, status=Schedule.Status.PUBLISHED).exists():
        _expire(members, "The schedule is no longer published, so the swap cannot happen.")
        return
    if any(_is_stale_give(m) or _is_stale_take(m) for m in members):
        _expire(members, "No longer possible: one of the weeks changed hands in another swap since it was proposed.")
        return
    cycle = members[0].cycle is not None
    if cycle:
        pairs = [(members[j].give_id, members[j + 1].give_id) for j in range(len(members) - 1)]
        kind = ScheduleChange.Kind.TRADING_CYCLE
        reason = f"Trading cycle of {len(members)} swap requests ({', '.join(f'#{m.pk}' for m in members)})"
    else:
        only = members[0]
        pairs = [(only.give_id, only.take_id)]
        kind = ScheduleChange.Kind.SWAP
        reason = f"Swap request #{only.pk}: {only.requester} {_week_label(only.give_week)} ↔ {only.counterparty} {_week_label(only.take_week)}"
    try:
        with transaction.atomic():
            change = schedule_swaps_apply(schedule=schedule, pairs=pairs, actor=_user(actor), kind=kind, reason=reason,
                                          measure=nash_distance)
    except ValidationError as exc:
        _expire(members, f"No longer possible: {' '.join(exc.messages)}")
        return
    done = "The trading cycle" if cycle else "The swap"
    _close(members, Status.EXECUTED, f"{done} is now part of the published schedule.", change=change)
    _close_affected(change, exclude={m.pk for m in members})
    strategy_performance_update(year=schedule.year)  # the stability report refreshes on commit (receivers)


def _close_affected(change: ScheduleChange, *, exclude: set[int]) -> None:
    """Other active requests touching a moved assignment: fulfilled when the week it got is wanted, else stale."""
    moved = {row["assignment"]: row["week"] for row in change.after}
    affected = (
        SwapRequest.objects.select_for_update().filter(status__in=SwapRequest.ACTIVE)
        .filter(Q(give_id__in=moved) | Q(take_id__in=moved)).exclude(pk__in=exclude)
    )
    for other in affected:
        members = _cycle_members(other) if other.cycle else [other]
        if other.give_id in moved and other.wanted_weeks.filter(pk=moved[other.give_id]).exists() and other.cycle is None:
            _close([other], Status.EXECUTED, "Fulfilled: another swap gave you one of the weeks you asked for.", change=change)
        else:
            _close([m for m in members if m.status in SwapRequest.ACTIVE],
                   Status.EXPIRED, "No longer possible: one of its weeks moved in another swap.")


@transaction.atomic
def swap_request_decline(*, request: SwapRequest, actor) -> SwapRequest:
    """A party turns a proposal down. The decliner's request (or, for a pair, the proposal) closes as declined;
    the other members of a trading cycle go back to open."""
    request = _lock_request(request)
    if request.status != Status.MATCHED:
        raise ValidationError({"status": f"Request #{request.pk} is {request.get_status_display().lower()}; only proposals can be declined."})
    faculty = _actor_faculty(actor)
    members = _cycle_members(request)
    if request.cycle is None:
        if faculty is None or faculty.pk not in (request.requester_id, request.counterparty_id):
            raise PermissionDenied("Only the two faculty members of this swap can decline it.")
        who = "You" if faculty.pk == request.requester_id else str(faculty)
        _close([request], Status.DECLINED, f"Declined by {faculty}." if who != "You" else "You declined the proposal.")
    else:
        own = [m for m in members if faculty is not None and m.requester_id == faculty.pk]
        if not own:
            raise PermissionDenied("Only the members of this trading cycle can decline it.")
        _close(own, Status.DECLINED, "You declined the trading cycle.")
        _reopen([m for m in members if m not in own], f"{faculty} declined the trading cycle; your request is open again.")
    strategy_performance_update(year=request.schedule.year)
    return SwapRequest.objects.get(pk=request.pk)


@transaction.atomic
def swap_request_cancel(*, request: SwapRequest, actor) -> SwapRequest:
    """The requester (or a coordinator) withdraws an open or matched request; a cycle's other members reopen."""
    request = _lock_request(request)
    faculty = _actor_faculty(actor)
    if not is_coordinator(actor) and (faculty is None or faculty.pk != request.requester_id):
        raise PermissionDenied("Only the faculty member who posted the request can cancel it.")
    if request.status not in SwapRequest.ACTIVE:
        raise ValidationError({"status": f"Request #{request.pk} is already {request.get_status_display().lower()}."})
    members = _cycle_members(request)
    _close([request], Status.CANCELLED, "Cancelled by the requester." if faculty and faculty.pk == request.requester_id
           else f"Cancelled by coordinator {actor.get_username()}.")
    others = [m for m in members if m.pk != request.pk]
    if others:
        _reopen(others, f"{request.requester} withdrew from the trading cycle; your request is open again.")
    strategy_performance_update(year=request.schedule.year)
    return SwapRequest.objects.get(pk=request.pk)


# --- strategy performance ---------------------------------------------------------------------------------------


@transaction.atomic
def strategy_performance_update(*, year: AcademicYear) -> list[StrategyPerformance]:
    """Attempts and successes per strategy from the year's closed requests, then one replicator step.

    success rate f_s = successes / attempts; shares x_s = the strategy's part of all the year's requests;
    fitness_s = f_s − f̄ with f̄ = Σ x_s f_s; growth_s = x_s × fitness_s; the stored frequency is x_s + growth_s.
    """
    strategies = list(Strategy.values)
    requests = SwapRequest.objects.filter(schedule__year=year)
    counts = {
        row["strategy"]: row
        for row in requests.values("strategy").annotate(
            total=Count("pk"),
            closed=Count("pk", filter=Q(status__in=CLOSED)),
            executed=Count("pk", filter=Q(status=Status.EXECUTED)),
        )
    }
    attempts = np.array([counts.get(s, {}).get("closed", 0) for s in strategies], dtype=np.int64)
    successes = np.array([counts.get(s, {}).get("executed", 0) for s in strategies], dtype=np.int64)
    totals = np.array([counts.get(s, {}).get("total", 0) for s in strategies], dtype=float)
    rate = np.divide(successes, attempts, out=np.zeros(len(strategies)), where=attempts > 0)
    if totals.sum() > 0:
        share = totals / totals.sum()
        fitness, growth = replicator_fitness(share, rate)
        frequency = replicator_step(share, rate, dt=1.0)
    else:  # no request yet: nothing to evolve
        share = fitness = growth = frequency = np.zeros(len(strategies))
    rows = {p.strategy: p for p in StrategyPerformance.objects.select_for_update().filter(year=year)}
    out = []
    for k, strategy in enumerate(strategies):
        row = rows.get(strategy) or StrategyPerformance(year=year, strategy=strategy)
        row.attempts, row.successes = int(attempts[k]), int(successes[k])
        row.share = float(share[k])
        row.frequency = float(frequency[k])
        row.fitness = float(fitness[k])
        row.growth = float(growth[k])
        row.save()
        out.append(row)
    return out


def swap_requests_after_change(*, change: ScheduleChange) -> None:
    """Requests touched by an audited change made outside the market (a coordinator's recommended swap, an
    auction settlement): those whose given week moved to a week they wanted are fulfilled, the rest that touch a
    moved week expire."""
    _close_affected(change, exclude=set())


def swap_requests_close_for_archived(*, schedules: Sequence[Schedule]) -> int:
    """A schedule archived by a new publication takes its open and matched requests with it."""
    active = list(
        SwapRequest.objects.select_for_update().filter(schedule__in=schedules, status__in=SwapRequest.ACTIVE)
    )
    if active:
        _close(active, Status.EXPIRED, "No longer possible: a new schedule was published for this year.")
    return len(active)
