"""The swap market's e-mails (DESIGN §14): a swap proposed to you, accepted or declined by a colleague, approved or
refused by a coordinator. Each goes through preferences' outbox (`notification_enqueue`: once per person and
event, sent after commit, never breaking the market action), keyed by the request and the proposal's time, so a
request reopened and proposed again is a new event."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse

from preferences.models import Faculty
from preferences.notifications import Kind, notification_enqueue
from stability.market.state import week_label
from stability.models import SwapRequest


def _link(members: Sequence[SwapRequest]) -> str:
    return f"{reverse('my_swap_requests')}?year={members[0].schedule.year.label}"


def _event(kind: str, members: Sequence[SwapRequest], *extra: object) -> str:
    first = members[0]
    matched = first.matched_at.isoformat() if first.matched_at else "-"
    return ":".join([kind, str(first.pk), matched, *map(str, extra)])


def parties(members: Sequence[SwapRequest]) -> list[Faculty]:
    """Everyone who gives a week in the exchange: the two of a pair, every member of a trading cycle."""
    if members[0].cycle is None:
        return [p for p in (members[0].requester, members[0].counterparty) if p is not None]
    return [m.requester for m in members]


def swap_words(members: Sequence[SwapRequest], person: Faculty) -> str:
    """The exchange from `person`'s side: what they give and what they get, from whom."""
    for m in members:
        if m.requester_id == person.pk:
            return f"you give {week_label(m.give_week)} and get {week_label(m.take_week)} from {m.counterparty}"
        if m.cycle is None and m.counterparty_id == person.pk:
            return f"you give {week_label(m.take_week)} and get {week_label(m.give_week)} from {m.requester}"
    return ""


def _send(kind: str, members: Sequence[SwapRequest], recipients: Sequence[Faculty], subject: str, event: str,
          **context: object) -> None:
    notification_enqueue(
        kind=kind, event_key=event, recipients=recipients, subject=subject, link_path=_link(members),
        context={**context, "approval": members[0].schedule.year.swaps_need_approval},
        per_recipient=lambda person: {"swap_words": swap_words(members, person),
                                      "proposal": _proposal_words(members, person)},
    )


def _proposal_words(members: Sequence[SwapRequest], person: Faculty) -> str:
    words = swap_words(members, person)
    if members[0].cycle is not None:
        return f"A trading cycle of {len(members)} colleagues is proposed: {words}. Every member has to confirm."
    return f"{members[0].requester} proposes a swap: {words}."


def swap_proposed(members: Sequence[SwapRequest]) -> None:
    """A proposal (the matcher's or a trading cycle's): to each party who still has to confirm."""
    waiting = [m.counterparty for m in members if m.cycle is None and not m.counterparty_confirmed]
    if members[0].cycle is None and not members[0].requester_confirmed:
        waiting.append(members[0].requester)
    if members[0].cycle is not None:
        waiting = [m.requester for m in members if not m.requester_confirmed]
    _send(Kind.SWAP_PROPOSED, members, [p for p in waiting if p is not None], "A swap is proposed to you",
          _event("swap_proposed", members))


def swap_accepted(members: Sequence[SwapRequest], *, confirmer: Faculty | None, complete: bool) -> None:
    """A party confirmed: the other parties hear it, with where the swap stands now."""
    if confirmer is None:
        return
    status = SwapRequest.objects.filter(pk=members[0].pk).values_list("status", flat=True).first()
    if not complete:
        state = "Confirm your side too, if you have not yet, to complete it."
    elif status == SwapRequest.Status.AWAITING_APPROVAL:
        state = "Everyone has confirmed; it now waits for a coordinator's approval. Nothing changes until then."
    elif status == SwapRequest.Status.EXECUTED:
        state = "Everyone has confirmed; the swap is now part of the published schedule."
    else:
        state = "The swap could not happen: one of the weeks changed meanwhile."
    others = [p for p in parties(members) if p.pk != confirmer.pk]
    _send(Kind.SWAP_ACCEPTED, members, others, f"{confirmer} accepted the swap",
          _event("swap_accepted", members, confirmer.pk), who=str(confirmer), state=state)


def swap_declined(members: Sequence[SwapRequest], *, decliner: Faculty) -> None:
    others = [p for p in parties(members) if p.pk != decliner.pk]
    state = ("Your request is open again." if members[0].cycle is not None
             else "Your schedule is unchanged.")
    _send(Kind.SWAP_DECLINED, members, others, f"{decliner} declined the swap",
          _event("swap_declined", members, decliner.pk), who=str(decliner), state=state)


def swap_reviewed(members: Sequence[SwapRequest], *, approved: bool, reason: str = "") -> None:
    """A coordinator's decision: to every party."""
    status = SwapRequest.objects.filter(pk=members[0].pk).values_list("status", flat=True).first()
    state = ("The swap is now part of the published schedule." if status == SwapRequest.Status.EXECUTED
             else "It could not be carried out after all: one of the weeks changed meanwhile.")
    subject = "Your swap was approved" if approved else "Your swap was refused"
    _send(Kind.SWAP_REVIEWED, members, parties(members), subject, _event("swap_reviewed", members),
          approved=approved, reason=reason, state=state)
