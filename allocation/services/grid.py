"""A schedule week by week (the coordinator's whole-schedule view): weeks as rows, rotations as columns, each cell the
faculty serving and the seats still empty against the year's coverage demand (DESIGN §5: CoverageDemand, or the even
spread of the target loads when the year gives none)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Sum

from allocation.models import Schedule
from preferences.models import CoverageDemand, Rotation, Week
from preferences.services import spread_demand


@dataclass(frozen=True)
class GridCell:
    rotation: Rotation
    faculty: tuple[str, ...]
    demand: int

    @property
    def empty(self) -> int:
        """Seats demanded and not filled; never negative (an over-full slot is shown by its names)."""
        return max(self.demand - len(self.faculty), 0)

    @property
    def over(self) -> int:
        return max(len(self.faculty) - self.demand, 0)


@dataclass(frozen=True)
class GridRow:
    week: Week
    cells: tuple[GridCell, ...]

    @property
    def empty(self) -> int:
        return sum(cell.empty for cell in self.cells)


@dataclass(frozen=True)
class ScheduleGrid:
    schedule: Schedule
    rotations: tuple[Rotation, ...]
    rows: tuple[GridRow, ...]

    @property
    def empty_seats(self) -> int:
        return sum(row.empty for row in self.rows)

    @property
    def weeks_with_empty_seats(self) -> int:
        return sum(1 for row in self.rows if row.empty)

    @property
    def assignments(self) -> int:
        return sum(len(cell.faculty) for row in self.rows for cell in row.cells)


def _demand(schedule: Schedule, weeks: list[Week], rotations: list[Rotation]) -> dict[tuple[int, int], int]:
    """Seats per (week id, rotation id), as the allocation reads them (preferences.services.year_preferences)."""
    year = schedule.year
    given = CoverageDemand.objects.filter(week__year=year).values_list("week_id", "rotation_id", "count")
    if given.exists():
        return {(week_id, rotation_id): count for week_id, rotation_id, count in given}
    if not weeks or not rotations:
        return {}
    total = year.faculty_queryset().aggregate(total=Sum("target_load"))["total"] or 0
    spread = spread_demand(int(total), len(weeks), len(rotations))
    return {(w.pk, r.pk): int(spread[k, j]) for k, w in enumerate(weeks) for j, r in enumerate(rotations)}


def schedule_week_grid(*, schedule: Schedule) -> ScheduleGrid:
    """Every week of the schedule's year with, per rotation, who serves and how many seats are empty. Rotations with
    neither demand nor assignments in the year are left out."""
    weeks = list(schedule.year.weeks.order_by("index"))
    every_rotation = list(Rotation.objects.order_by("name"))
    demand = _demand(schedule, weeks, every_rotation)
    serving: dict[tuple[int, int], list[str]] = defaultdict(list)
    for week_id, rotation_id, name in schedule.assignments.order_by("faculty__display_name").values_list(
        "week_id", "rotation_id", "faculty__display_name"
    ):
        serving[(week_id, rotation_id)].append(name)
    used = {rotation_id for (_, rotation_id), count in demand.items() if count} | {r for _, r in serving}
    rotations = tuple(r for r in every_rotation if r.pk in used)
    rows = tuple(
        GridRow(week=w, cells=tuple(
            GridCell(rotation=r, faculty=tuple(serving.get((w.pk, r.pk), ())), demand=int(demand.get((w.pk, r.pk), 0)))
            for r in rotations
        ))
        for w in weeks
    )
    return ScheduleGrid(schedule=schedule, rotations=rotations, rows=rows)
