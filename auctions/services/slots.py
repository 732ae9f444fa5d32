"""Who may bid for an auction's slot, and whether the slot can change hands (DESIGN §8): the rules auction creation,
bidding and settlement share."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from allocation.models import Assignment, PreAssignment, Schedule
from allocation.services.preassignments import slot_capacity
from allocation.transfers import slot_offer_check
from auctions.algorithms.vickrey import BidError
from auctions.auction_models import VickreyAuction
from preferences.models import AcademicYear, Faculty, Rotation, Week
from preferences.services import submissions_current


def when(week: Week) -> str:
    return f"week {week.index + 1} ({week.start_date:%d %b %Y})"


def field_error(exc: BidError, label: str) -> ValidationError:
    """The pure rules' BidError as the ValidationError services raise, on the same field: "<label> must …"."""
    return ValidationError({exc.field: f"{label} {exc.message}"})


def published_schedule(year: AcademicYear) -> Schedule | None:
    return Schedule.objects.filter(year=year, status=Schedule.Status.PUBLISHED).first()


def blocks(*, year: AcademicYear, faculty: Faculty, week: Week) -> bool:
    """Whether the faculty member's counting submission blocks the week (only a hard block bars them)."""
    if not year.blocked_is_hard:
        return False
    submission = submissions_current(year=year).get(faculty.pk)
    if submission is None:
        return False
    if week.index in submission.blocked_weeks:
        return True
    return any(e.get("week") == week.index and e.get("accept") is False for e in submission.entries)


def serves_week(*, year: AcademicYear, faculty: Faculty, week: Week) -> bool:
    """Whether they already serve that week: in the published schedule, or (before publication) by a
    pre-assignment."""
    schedule = published_schedule(year)
    if schedule is not None:
        return Assignment.objects.filter(schedule=schedule, faculty=faculty, week=week).exists()
    return PreAssignment.objects.filter(year=year, faculty=faculty, week=week).exists()


def bidder_refusal(*, auction: VickreyAuction, faculty: Faculty) -> str | None:
    """Why this faculty member may not bid for the auction's slot, in words; None when they may. Never mentions
    anyone else's bid."""
    year, week, rotation = auction.year, auction.week, auction.rotation
    if auction.holder_id == faculty.pk:
        return "You offer this slot yourself; you cannot bid for it."
    if not year.faculty_queryset().filter(pk=faculty.pk).exists():
        return f"{faculty} is not an active faculty member of {year}."
    if not faculty.rotations.filter(pk=rotation.pk).exists():
        return f"{faculty} is not qualified for {rotation}."
    if blocks(year=year, faculty=faculty, week=week):
        return f"{faculty} blocked {when(week)} in their preferences."
    if serves_week(year=year, faculty=faculty, week=week):
        return f"{faculty} already serves in {when(week)}; nobody serves twice in a week."
    return None


def slot_check(*, year: AcademicYear, week: Week, rotation: Rotation, holder: Faculty | None,
               exclude_auction: int | None = None) -> None:
    """The slot exists in the year and one seat of it can change hands: after publication its holder serves it or it
    has a free seat; before, its holder is pre-assigned to it or it has a seat no pre-assignment takes. A
    ValidationError naming `week`, `rotation` or `holder` otherwise."""
    if week.year_id != year.pk:
        raise ValidationError({"week": f"{week} is not a week of {year}."})
    seats = slot_capacity(year=year, week=week, rotation=rotation)
    if seats <= 0:
        raise ValidationError({"rotation": f"{rotation} needs nobody in {when(week)}; there is no seat to auction."})
    live = VickreyAuction.objects.filter(
        week=week, rotation=rotation, holder=holder, status__in=[VickreyAuction.Status.OPEN, VickreyAuction.Status.CLOSED],
    ).exclude(pk=exclude_auction)
    if live.exists():
        raise ValidationError({"week": f"Auction #{live.first().pk} already offers this seat of {rotation} in {when(week)}."})
    schedule = published_schedule(year)
    if schedule is not None:
        slot_offer_check(schedule=schedule, week=week, rotation=rotation, holder=holder)
        return
    taken = PreAssignment.objects.filter(year=year, week=week, rotation=rotation)
    if holder is not None:
        if not taken.filter(faculty=holder).exists():
            raise ValidationError({"holder": f"{holder} is not pre-assigned to {rotation} in {when(week)}; before "
                                             "publication only a pre-assigned seat can be offered by its holder."})
    elif taken.count() >= seats:
        raise ValidationError({"week": f"Every seat of {rotation} in {when(week)} is pre-assigned; its holder must "
                                       "offer theirs."})
