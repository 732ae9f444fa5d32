"""Posting a swap request, and each party's answer to a proposal: confirm, decline, cancel (DESIGN §9).

Once every party confirmed, the exchange runs through `allocation.changes.schedule_swaps_apply` (the audited way a
published schedule changes); the stability report is refreshed once the change is committed (stability.receivers),
and StrategyPerformance moves one replicator step on every close.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from allocation.algorithms.exchange import EPSILON
from allocation.changes import schedule_swaps_apply
from allocation.models import Assignment, Schedule, ScheduleChange
from gtsched_site.limits import ID_MAX
from gtsched_site.permissions import is_coordinator, user_or_none
from preferences.models import Week
from preferences.querysets import own_faculty
from stability.algorithms.swaps import nash_distance
from stability.market import notices
from stability.market.lifecycle import (
    close,
    close_affected,
    cycle_members,
    expire,
    is_stale_give,
    is_stale_take,
    reopen,
    swap_request_lock,
)
from stability.market.matching import swap_request_match
from stability.market.state import Market, Status, Strategy, blocked_week_ids, week_label
from stability.market.strategy import strategy_performance_update
from stability.models import SwapRequest

# --- posting a request ----------------------------------------------------------------------------------------


def _resolve_weeks(values: Iterable[Any]) -> tuple[list[Week], list[str]]:
    """Week instances from Weeks or Week ids; unknown ids become messages."""
    weeks, problems, ids = [], [], []
    for value in values:
        if isinstance(value, Week):
            weeks.append(value)
        elif isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= ID_MAX:
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
    if user_or_none(actor) is None or not actor.is_authenticated:
        raise PermissionDenied("Log in to post a swap swap.")
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

    market = Market.of(schedule)
    a = market.index(give.pk)
    if a is None:
        errors.setdefault("give", []).append(
            f"{requester} is not on the roster analysed for {schedule.year}, so this week cannot be swapped."
        )
    elif bool(market.problem.locked[a]):
        errors.setdefault("give", []).append(
            f"{week_label(give.week).capitalize()} was pre-assigned by the coordinators and cannot be swapped."
        )
    active = SwapRequest.objects.filter(give=give, status__in=SwapRequest.ACTIVE).first()
    if active is not None:
        errors.setdefault("give", []).append(
            f"You already offer {week_label(give.week)} in request #{active.pk} ({active.get_status_display().lower()}); "
            "cancel it before posting another."
        )

    weeks, problems = _resolve_weeks(wanted_weeks or [])
    for message in problems:
        errors.setdefault("wanted_weeks", []).append(message)
    held = set(schedule.assignments.filter(faculty=requester).values_list("week_id", flat=True))
    blocked = blocked_week_ids(faculty=requester, year=schedule.year)
    for week in weeks:
        label = week_label(week)
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
                    f"By your preferences no week you could serve is better than {week_label(give.week)}."
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
            swap = SwapRequest.objects.create(
                schedule=schedule, requester=requester, give=give, give_week=give.week, strategy=strategy, note=note,
                created_by=actor,
            )
    except IntegrityError:  # a concurrent post for the same week won the race
        raise ValidationError({"give": f"You already offer {week_label(give.week)} in another active request."}) from None
    swap.wanted_weeks.set(weeks)
    return swap


def _better_weeks(market: Market, *, give: Assignment, held: set[int], blocked: set[int]) -> list[Week]:
    i = market.faculty_pos[give.faculty_id]
    own = market.utility(give.faculty_id, give.week_id)
    utility, eligible = market.problem.utility[i], market.problem.eligible[i].any(axis=1)
    ids = [
        int(pk) for w, pk in enumerate(market.built.week_ids.tolist())
        if utility[w] > own + EPSILON and eligible[w] and pk not in held and pk not in blocked
    ]
    return list(Week.objects.filter(pk__in=ids).order_by("index"))


@transaction.atomic
def swap_request_from_suggestion(*, actor, give: Assignment, take: Assignment, note: str = "") -> SwapRequest:
    """"Request this swap" on a suggestion: a suggested-strategy request for the partner's week, matched at once."""
    if not isinstance(take, Assignment) or take.schedule_id != getattr(give, "schedule_id", None):
        raise ValidationError({"take": "Choose a week of the same schedule."})
    swap = swap_request_create(actor=actor, give=give, wanted_weeks=[take.week], strategy=Strategy.SUGGESTED, note=note)
    swap = swap_request_match(swap=swap, take=take)
    if swap.status != Status.MATCHED:  # refused as a whole: nothing stays behind
        raise ValidationError({"take": f"{swap.outcome} Reload the suggestions to see the swaps open to you now."})
    return swap


@transaction.atomic
def swap_request_post(
    *, actor, give: Assignment, wanted_weeks: Iterable[Any] | None = None, strategy: str = Strategy.FLEXIBLE,
    note: str = "", take: Assignment | None = None, match: bool = True,
) -> SwapRequest:
    """What the page and the API do with a new request: with `take` (a swap suggestion), request exactly that swap;
    else post it and, unless match is False, propose the best counterparty at once (it stays open when none)."""
    if take is not None:
        return swap_request_from_suggestion(actor=actor, give=give, take=take, note=note)
    swap = swap_request_create(actor=actor, give=give, wanted_weeks=wanted_weeks, strategy=strategy, note=note)
    return swap_request_match(swap=swap) if match else swap


# --- confirming, declining, cancelling ------------------------------------------------------------------------


def _proposal(swap: SwapRequest, actor, refusal: str) -> tuple[SwapRequest, Any, list[SwapRequest]]:
    """The request locked if it is a proposal (matched), else a status error ending in `refusal`; with the acting
    faculty member and the members of its trading cycle (the request alone when it is a pair)."""
    swap = swap_request_lock(swap)
    if swap.status != Status.MATCHED:
        raise ValidationError({"status": f"Request #{swap.pk} is {swap.get_status_display().lower()}; {refusal}"})
    return swap, own_faculty(actor), cycle_members(swap)


def _own_in_cycle(members: Sequence[SwapRequest], faculty, verb: str) -> list[SwapRequest]:
    """The acting faculty member's requests in a trading cycle; none is a PermissionDenied."""
    own = [m for m in members if faculty is not None and m.requester_id == faculty.pk]
    if not own:
        raise PermissionDenied(f"Only the members of this trading cycle can {verb} it.")
    return own


def _all_confirmed(members: Sequence[SwapRequest]) -> bool:
    if members[0].cycle is None:
        return members[0].requester_confirmed and members[0].counterparty_confirmed
    return all(m.requester_confirmed for m in members)


@transaction.atomic
def swap_request_confirm(*, swap: SwapRequest, actor) -> SwapRequest:
    """The requester or the counterparty confirms their side (in a cycle, each member confirms their own request).

    Once every party has confirmed, the exchange executes as one audited ScheduleChange (kind swap, or trading
    cycle as consecutive pairs); a request whose weeks moved meanwhile expires with the reason instead.
    """
    swap, faculty, members = _proposal(swap, actor, "there is nothing to confirm.")
    if swap.cycle is None:
        if faculty is not None and faculty.pk == swap.requester_id:
            swap.requester_confirmed = True
        elif faculty is not None and faculty.pk == swap.counterparty_id:
            swap.counterparty_confirmed = True
        else:
            raise PermissionDenied("Only the two faculty members of this swap can confirm it.")
        swap.save(update_fields=["requester_confirmed", "counterparty_confirmed"])
        members = [swap]
    else:
        for m in _own_in_cycle(members, faculty, "confirm"):
            m.requester_confirmed = True
            m.save(update_fields=["requester_confirmed"])
    if not _all_confirmed(members):
        notices.swap_accepted(members, confirmer=faculty, complete=False)
        return SwapRequest.objects.get(pk=swap.pk)
    if swap.schedule.year.swaps_need_approval and exchange_impossible(members) is None:
        await_approval(members)
    else:
        exchange_execute(members, actor=actor)
    notices.swap_accepted(members, confirmer=faculty, complete=True)
    return SwapRequest.objects.get(pk=swap.pk)


def exchange_impossible(members: Sequence[SwapRequest]) -> str | None:
    """Why the confirmed exchange can no longer happen (the schedule was replaced, a week changed hands), or None."""
    if not Schedule.objects.filter(pk=members[0].schedule_id, status=Schedule.Status.PUBLISHED).exists():
        return "The schedule is no longer published, so the swap cannot happen."
    if any(is_stale_give(m) or is_stale_take(m) for m in members):
        return "No longer possible: one of the weeks changed hands in another swap since it was proposed."
    return None


def exchange_pairs(members: Sequence[SwapRequest]) -> list[tuple[int, int]]:
    """The exchange as consecutive pairs of assignment ids, as schedule_swaps_apply takes them."""
    if members[0].cycle is not None:
        return [(members[j].give_id, members[j + 1].give_id) for j in range(len(members) - 1)]
    return [(members[0].give_id, members[0].take_id)]


def await_approval(members: Sequence[SwapRequest]) -> None:
    """Everyone confirmed and the year's swaps need approval: the requests wait for a coordinator (the schedule
    does not change until one approves)."""
    now = timezone.now()
    for m in members:
        m.status, m.confirmed_at = Status.AWAITING_APPROVAL, now
        m.outcome = "Everyone confirmed; waiting for a coordinator to approve the swap. Nothing changes until then."
        m.save(update_fields=["status", "confirmed_at", "outcome"])


def exchange_execute(members: list[SwapRequest], *, actor) -> None:
    """Run the confirmed (and, when needed, approved) exchange as one audited ScheduleChange, or expire it saying
    why it can no longer happen."""
    if (refusal := exchange_impossible(members)) is not None:
        expire(members, refusal)
        return
    schedule = members[0].schedule
    cycle = members[0].cycle is not None
    pairs = exchange_pairs(members)
    if cycle:
        kind = ScheduleChange.Kind.TRADING_CYCLE
        reason = f"Trading cycle of {len(members)} swap requests ({', '.join(f'#{m.pk}' for m in members)})"
    else:
        only = members[0]
        kind = ScheduleChange.Kind.SWAP
        reason = f"Swap request #{only.pk}: {only.requester} {week_label(only.give_week)} ↔ {only.counterparty} {week_label(only.take_week)}"
    try:
        with transaction.atomic():
            change = schedule_swaps_apply(schedule=schedule, pairs=pairs, actor=user_or_none(actor), kind=kind, reason=reason,
                                          measure=nash_distance)
    except ValidationError as exc:
        expire(members, f"No longer possible: {' '.join(exc.messages)}")
        return
    done = "The trading cycle" if cycle else "The swap"
    close(members, Status.EXECUTED, f"{done} is now part of the published schedule.", change=change)
    close_affected(change, exclude={m.pk for m in members})
    strategy_performance_update(year=schedule.year)  # the stability report refreshes on commit (receivers)


@transaction.atomic
def swap_request_decline(*, swap: SwapRequest, actor) -> SwapRequest:
    """A party turns a proposal down. The decliner's request (or, for a pair, the proposal) closes as declined;
    the other members of a trading cycle go back to open."""
    swap, faculty, members = _proposal(swap, actor, "only proposals can be declined.")
    if swap.cycle is None:
        if faculty is None or faculty.pk not in (swap.requester_id, swap.counterparty_id):
            raise PermissionDenied("Only the two faculty members of this swap can decline it.")
        who = "You" if faculty.pk == swap.requester_id else str(faculty)
        notices.swap_declined(members, decliner=faculty)
        close([swap], Status.DECLINED, f"Declined by {faculty}." if who != "You" else "You declined the proposal.")
    else:
        own = _own_in_cycle(members, faculty, "decline")
        notices.swap_declined(members, decliner=faculty)
        close(own, Status.DECLINED, "You declined the trading cycle.")
        reopen([m for m in members if m not in own], f"{faculty} declined the trading cycle; your request is open again.")
    strategy_performance_update(year=swap.schedule.year)
    return SwapRequest.objects.get(pk=swap.pk)


@transaction.atomic
def swap_request_cancel(*, swap: SwapRequest, actor) -> SwapRequest:
    """The requester (or a coordinator) withdraws an open or matched request; a cycle's other members reopen."""
    swap = swap_request_lock(swap)
    faculty = own_faculty(actor)
    if not is_coordinator(actor) and (faculty is None or faculty.pk != swap.requester_id):
        raise PermissionDenied("Only the faculty member who posted the request can cancel it.")
    if swap.status not in SwapRequest.ACTIVE:
        raise ValidationError({"status": f"Request #{swap.pk} is already {swap.get_status_display().lower()}."})
    members = cycle_members(swap)
    close([swap], Status.CANCELLED, "Cancelled by the requester." if faculty and faculty.pk == swap.requester_id
           else f"Cancelled by coordinator {actor.get_username()}.")
    others = [m for m in members if m.pk != swap.pk]
    if others:
        reopen(others, f"{swap.requester} withdrew from the trading cycle; your request is open again.")
    strategy_performance_update(year=swap.schedule.year)
    return SwapRequest.objects.get(pk=swap.pk)
