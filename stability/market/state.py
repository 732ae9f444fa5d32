"""The schedule as the swap market sees it: its problem with row → index lookups and its nash_distance now."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from allocation.models import Schedule
from allocation.problem import ScheduleProblem, schedule_problem
from preferences.models import AcademicYear, Faculty, Week
from preferences.services import submissions_current
from stability.algorithms.swaps import apply_swap, swap_analysis
from stability.models import SwapRequest

SUGGESTION_LIMIT = 20  # candidates per given week
Status = SwapRequest.Status
Strategy = SwapRequest.Strategy


def week_label(week: Week) -> str:
    return f"week {week.index + 1} ({week.start_date:%d %b %Y})"



@dataclass(frozen=True)
class Market:
    """A schedule's problem with lookups from rows to indices, and its nash_distance now."""

    built: ScheduleProblem
    distance: float
    week_pos: dict[int, int]
    faculty_pos: dict[int, int]

    @classmethod
    def of(cls, schedule: Schedule) -> Market:
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
    return Market.of(schedule).distance


def faculty_fit(*, faculty: Faculty, schedule: Schedule) -> dict[int, float]:
    """Week id -> the faculty member's own utility u[i, w] in the schedule's year (empty when off the roster)."""
    market = Market.of(schedule)
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


def reserved_assignment_ids(schedule: Schedule, *, exclude: int | None = None) -> set[int]:
    """Assignments already promised in a matched proposal (or one awaiting approval): the matcher does not offer them
    twice."""
    matched = SwapRequest.objects.filter(
        schedule=schedule, status__in=[Status.MATCHED, Status.AWAITING_APPROVAL],
    ).exclude(pk=exclude)
    return {pk for pair in matched.values_list("give_id", "take_id") for pk in pair if pk is not None}
