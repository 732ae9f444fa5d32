"""Points earned by taking unwanted weeks (DESIGN §8): when a schedule is published, every assigned holiday week and
every week its holder ranked in their worst quarter or valued ≤ 20 earns the configured award (settings
GTSCHED_POINTS). Each (faculty member, week) of a year is awarded once: publishing the same schedule again, a
repeated signal, or a later schedule of the year holding the same week awards nothing more (the entry's key is
`award:week:<week id>` on the faculty member's account for the year)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from allocation.models import Schedule
from auctions.algorithms.awards import unwanted_weeks, week_award
from auctions.ledger import EntryType, Posting, ledger_post_many, points_account_get_or_create
from gtsched_site.transactions import retried_atomic
from preferences.models import Faculty
from preferences.services import submissions_current


@dataclass(frozen=True)
class AwardsPosted:
    schedule_id: int
    entries: int  # new entries
    points: int  # points of the new entries
    already: int  # weeks awarded before


def award_key(week_id: int) -> str:
    return f"award:week:{week_id}"


@retried_atomic
def points_award_for_schedule(*, schedule_id: int) -> AwardsPosted:
    """Post the publication awards of a published schedule (nothing for a draft or archived one)."""
    schedule = Schedule.objects.select_related("year").filter(pk=schedule_id, status=Schedule.Status.PUBLISHED).first()
    if schedule is None:
        return AwardsPosted(schedule_id, 0, 0, 0)
    config = settings.GTSCHED_POINTS
    holiday_points, unwanted_points = int(config.get("holiday_week", 0)), int(config.get("unwanted_week", 0))
    current = submissions_current(year=schedule.year)
    unwanted = {fid: unwanted_weeks(sub.preference_type, sub.entries) for fid, sub in current.items()}
    rows = (schedule.assignments.order_by("faculty_id", "week__index")
            .values_list("faculty_id", "week_id", "week__index", "week__is_holiday", "week__start_date"))
    faculty = Faculty.objects.in_bulk({row[0] for row in rows})
    postings, accounts = [], {}
    for faculty_id, week_id, index, holiday, start in rows:
        points, reasons = week_award(holiday=holiday, unwanted=index in unwanted.get(faculty_id, set()),
                                     holiday_points=holiday_points, unwanted_points=unwanted_points)
        if not points:
            continue
        if faculty_id not in accounts:
            accounts[faculty_id] = points_account_get_or_create(faculty=faculty[faculty_id], year=schedule.year)
        postings.append(Posting(
            account_id=accounts[faculty_id].pk, amount=points, type=EntryType.AWARD, week_id=week_id,
            description=f"{' and '.join(reasons).capitalize()} of {start:%d %b %Y} in “{schedule.name}”"[:300],
            idempotency_key=award_key(week_id),
        ))
    if not postings:
        return AwardsPosted(schedule_id, 0, 0, 0)
    posted = ledger_post_many(postings=postings, skip_used_keys=True)
    new = [p.entry for p in posted if not p.replayed]
    return AwardsPosted(schedule_id, len(new), sum(e.amount for e in new), len(posted) - len(new))
