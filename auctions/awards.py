"""Points earned by taking unwanted weeks (DESIGN §8): the awards of a year follow its published schedule. When a
schedule is published, and whenever an audited change (a swap, a trading cycle, an auction's transfer) rewrites the
published one, every faculty member holding an assigned holiday week, or a week they ranked in their worst quarter or
valued ≤ 20, holds the configured award for it (settings GTSCHED_POINTS), once:
- a week they hold without a standing award earns it — the first time under the key `award:week:<week id>`, a
  later time (the week came back to them) under `award:week:<week id>:<n>`;
- a week whose award stands but that they no longer hold (a later publication gave it to someone else, or they
  swapped it away) has that award reversed (a `reversal` entry pointing at it; each entry is reversed at most once).
  A reversal that would take the balance below the points held by open bids is not posted: it is counted as
  `unreversed`, logged, and tried again at the next publication or change.
Publishing the same schedule again, or a repeated signal, changes nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings

from allocation.models import Schedule
from auctions.algorithms.awards import unwanted_weeks, week_award
from auctions.ledger import (
    EntryType,
    InsufficientPoints,
    Posting,
    ledger_entry_reverse,
    ledger_post_many,
    points_account_get_or_create,
)
from auctions.models import PriorityPointTransaction as Entry
from gtsched_site.transactions import retried_atomic
from preferences.models import Faculty
from preferences.services import submissions_current

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AwardsPosted:
    schedule_id: int
    entries: int  # new award entries
    points: int  # points of the new award entries
    already: int  # weeks held whose award already stood
    reversed: int = 0  # awards reversed because their week is no longer held
    unreversed: int = 0  # awards that should be reversed but would take the balance below the held points


def award_key(week_id: int, earlier: int = 0) -> str:
    """The key of an award for a week on one account: the first is `award:week:<id>`, the (n+1)th `…:<n+1>`."""
    return f"award:week:{week_id}" if earlier == 0 else f"award:week:{week_id}:{earlier + 1}"


def _due(schedule: Schedule) -> dict[tuple[int, int], tuple[int, str]]:
    """(faculty id, week id) → (points, description) of every award the schedule's assignments earn."""
    config = settings.GTSCHED_POINTS
    holiday_points, unwanted_points = int(config.get("holiday_week", 0)), int(config.get("unwanted_week", 0))
    current = submissions_current(year=schedule.year)
    unwanted = {fid: unwanted_weeks(sub.preference_type, sub.entries) for fid, sub in current.items()}
    rows = (schedule.assignments.order_by("faculty_id", "week__index")
            .values_list("faculty_id", "week_id", "week__index", "week__is_holiday", "week__start_date"))
    due = {}
    for faculty_id, week_id, index, holiday, start in rows:
        points, reasons = week_award(holiday=holiday, unwanted=index in unwanted.get(faculty_id, set()),
                                     holiday_points=holiday_points, unwanted_points=unwanted_points)
        if points and (faculty_id, week_id) not in due:
            due[faculty_id, week_id] = (points, f"{' and '.join(reasons).capitalize()} of {start:%d %b %Y} in "
                                                f"“{schedule.name}”"[:300])
    return due


@retried_atomic
def points_award_for_schedule(*, schedule_id: int) -> AwardsPosted:
    """Bring the year's awards in line with its published schedule `schedule_id` (nothing for a draft or archived
    one): post the awards its weeks earn that do not stand yet, reverse those whose week its holder no longer has."""
    schedule = Schedule.objects.select_related("year").filter(pk=schedule_id, status=Schedule.Status.PUBLISHED).first()
    if schedule is None:
        return AwardsPosted(schedule_id, 0, 0, 0)
    due = _due(schedule)
    awards = list(Entry.objects.filter(account__year=schedule.year, type=EntryType.AWARD, week__isnull=False)
                  .select_related("account", "week").order_by("pk"))
    reversed_ids = set(Entry.objects.filter(reverses__in=awards).values_list("reverses_id", flat=True))
    given: dict[tuple[int, int], int] = {}  # (faculty, week) → how many awards were ever posted
    standing: dict[tuple[int, int], Entry] = {}
    for entry in awards:
        pair = (entry.account.faculty_id, entry.week_id)
        given[pair] = given.get(pair, 0) + 1
        if entry.pk not in reversed_ids:
            standing[pair] = entry
    faculty = Faculty.objects.in_bulk({fid for fid, _ in due})
    postings, accounts = [], {}
    for (faculty_id, week_id), (points, description) in sorted(due.items()):
        if (faculty_id, week_id) in standing:
            continue
        if faculty_id not in accounts:
            accounts[faculty_id] = points_account_get_or_create(faculty=faculty[faculty_id], year=schedule.year)
        postings.append(Posting(account_id=accounts[faculty_id].pk, amount=points, type=EntryType.AWARD,
                                week_id=week_id, description=description,
                                idempotency_key=award_key(week_id, given.get((faculty_id, week_id), 0))))
    new = [p.entry for p in ledger_post_many(postings=postings, skip_used_keys=True) if not p.replayed] \
        if postings else []
    undone, kept = 0, 0
    for pair, entry in sorted(standing.items()):
        if pair in due:
            continue
        try:
            ledger_entry_reverse(entry=entry, reason=f"the week of {entry.week.start_date:%d %b %Y} is no longer "
                                                     f"yours in “{schedule.name}”")
            undone += 1
        except InsufficientPoints:
            kept += 1
            logger.warning("Award #%s for week %s stays: reversing it would take account #%s below its held points",
                           entry.pk, entry.week_id, entry.account_id)
    already = sum(1 for pair in due if pair in standing)
    return AwardsPosted(schedule_id, len(new), sum(e.amount for e in new), already, undone, kept)
