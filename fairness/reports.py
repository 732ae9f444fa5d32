"""The fairness report of a year (DESIGN §7): the stored Shapley values against the year's schedule, ready for a
page, the API and the command to render without further queries. Reading it never recomputes φ.

Fairness score: 1 − ½ Σ_i |a_i / A − e_i / E|, one minus the total-variation distance between how the schedule
spreads its A assigned weeks (a_i each) and how the fair shares spread the demand (e_i of E): 1 when everyone
carries exactly their fair share of the work done, 0 when all of it sits with people whose fair share is nil; None
when nothing is scheduled or nothing can be covered (fairness.algorithms.workload).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import numpy as np

from allocation.models import Assignment, Schedule
from allocation.querysets import current_schedule
from fairness.algorithms.workload import recommendations, workload
from fairness.inputs import ShapleyInputs, shapley_inputs
from fairness.models import ShapleyComputation, ShapleyValue
from fairness.services import shapley_current
from preferences.models import AcademicYear, Rotation, Week


@dataclass(frozen=True)
class FacultyFairness:
    """One faculty member's fair share: φ with its 95 % interval (equal to φ when exact), expected workload
    (φ / v(N) × total demand, and in whole weeks), actual workload (their assignments in the compared schedule),
    deviation = actual − expected, over- / underloaded (> 110 % / < 90 % of expected), coverage capacity (slots with
    a seat they may serve), the target load the game capped them at, qualified rotations' names, and the average
    marginal contribution by the size of the coalition joined (None where unsampled)."""

    faculty_id: int
    external_id: str
    faculty_name: str
    shapley_value: float
    ci_low: float
    ci_high: float
    expected_workload: float
    expected_weeks: int
    actual_workload: int
    deviation: float
    is_overloaded: bool
    is_underloaded: bool
    coverage_capacity: int
    target_load: int
    qualifications: tuple[str, ...]
    marginal_by_size: tuple[float | None, ...]


@dataclass(frozen=True)
class SlotMove:
    week: dt.date
    rotation: str


@dataclass(frozen=True)
class Rebalancing:
    """Move `amount` slots (the weeks and rotations listed, now served by from_faculty) to to_faculty, who is
    qualified, free that week and not blocking it: both come closer to their fair shares."""

    from_faculty_id: int
    from_faculty_name: str
    to_faculty_id: int
    to_faculty_name: str
    amount: int
    slots: tuple[SlotMove, ...]


@dataclass(frozen=True)
class ShapleyReport:
    """A year's fairness: how the values were computed (method, samples, seed, v(N), total demand, compute time),
    whether they are current (`fresh`: computed from the year's present inputs; a stale report must never be shown as
    current), the schedule compared (published, else the newest draft; None when the year has none), per faculty
    rows in the game's order, the fairness score and rebalancing moves (only for current values)."""

    year_label: int
    computation_id: int
    fresh: bool
    method: str
    samples: int
    seed: int
    grand_value: int
    total_demand: int
    computed_at: dt.datetime | None
    compute_ms: float | None
    schedule_id: int | None
    schedule_name: str | None
    schedule_status: str | None
    fairness_score: float | None
    faculty: tuple[FacultyFairness, ...]
    recommendations: tuple[Rebalancing, ...]

    @property
    def total_workload(self) -> int:
        """Weeks assigned in the compared schedule to the faculty in the game."""
        return sum(row.actual_workload for row in self.faculty)

    @property
    def every_load_fits(self) -> bool:
        """Whether everyone's whole load can be served whatever the others do (v(N) = Σ loads): then v(S) = Σ of
        S's loads for every coalition S (a part of a flow that serves everyone is a flow), so φ_i is exactly i's
        load. Shapley values differ from the loads only when more load is offered than the year can use."""
        return self.grand_value == sum(row.target_load for row in self.faculty)

    @property
    def overloaded(self) -> tuple[FacultyFairness, ...]:
        return tuple(row for row in self.faculty if row.is_overloaded)

    @property
    def underloaded(self) -> tuple[FacultyFairness, ...]:
        return tuple(row for row in self.faculty if row.is_underloaded)


def shapley_report(
    *, year: AcademicYear, computation: ShapleyComputation | None = None, inputs: ShapleyInputs | None = None,
) -> ShapleyReport | None:
    """The report of `computation` (default: the year's current values, else its newest completed ones, marked
    stale) against the year's schedule as it is now; None when nothing was ever computed."""
    inputs = inputs or shapley_inputs(year=year)
    if computation is None:
        computation, fresh = shapley_current(year=year, inputs=inputs)
        if computation is None:
            return None
    else:
        fresh = computation.status == ShapleyComputation.Status.COMPLETED and (
            computation.fingerprint == inputs.fingerprint)
    rows = list(ShapleyValue.objects.filter(computation=computation).select_related("faculty").order_by("position"))
    schedule = current_schedule(year=year, include_drafts=True)
    held = _assignments(schedule)
    faculty_ids = [row.faculty_id for row in rows]
    counts = Counter(f for f, _, _ in held)
    actual = np.array([counts[pk] for pk in faculty_ids], dtype=np.int64)
    phi = np.array([row.shapley_value for row in rows], dtype=np.float64)
    load = workload(phi, grand_value=computation.grand_value or 0, total_demand=computation.total_demand or 0,
                    actual=actual)
    faculty = tuple(
        FacultyFairness(
            faculty_id=row.faculty_id, external_id=row.faculty.external_id, faculty_name=row.faculty.display_name,
            shapley_value=row.shapley_value, ci_low=row.ci_low, ci_high=row.ci_high,
            expected_workload=float(load.expected[i]), expected_weeks=row.expected_weeks,
            actual_workload=int(actual[i]), deviation=float(load.deviation[i]), is_overloaded=bool(load.over[i]),
            is_underloaded=bool(load.under[i]), coverage_capacity=row.coverage_capacity,
            target_load=row.target_load, qualifications=tuple(row.qualifications),
            marginal_by_size=tuple(row.marginal_by_size),
        )
        for i, row in enumerate(rows)
    )
    moves: tuple[Rebalancing, ...] = ()
    if fresh and rows:
        moves = _rebalancing(inputs=inputs, held=held, expected=load.expected, actual=actual, faculty=faculty)
    return ShapleyReport(
        year_label=year.label, computation_id=computation.pk, fresh=fresh, method=computation.method,
        samples=computation.samples, seed=computation.seed, grand_value=computation.grand_value or 0,
        total_demand=computation.total_demand or 0, computed_at=computation.finished_at,
        compute_ms=computation.compute_ms,
        schedule_id=schedule.pk if schedule else None, schedule_name=schedule.name if schedule else None,
        schedule_status=schedule.status if schedule else None, fairness_score=load.fairness_score,
        faculty=faculty, recommendations=moves,
    )


def _assignments(schedule: Schedule | None) -> list[tuple[int, int, int]]:
    if schedule is None:
        return []
    return list(Assignment.objects.filter(schedule=schedule).values_list("faculty_id", "week_id", "rotation_id"))


def _rebalancing(*, inputs: ShapleyInputs, held, expected, actual, faculty) -> tuple[Rebalancing, ...]:
    f_pos = {int(pk): i for i, pk in enumerate(inputs.faculty_ids.tolist())}
    w_pos = {int(pk): k for k, pk in enumerate(inputs.week_ids.tolist())}
    r_pos = {int(pk): k for k, pk in enumerate(inputs.rotation_ids.tolist())}
    rows = [(f_pos[f], w_pos[w], r_pos[r]) for f, w, r in held if f in f_pos and w in w_pos and r in r_pos]
    moves = recommendations(eligible=inputs.game.eligible, assignments=np.asarray(rows, dtype=np.int64).reshape(-1, 3),
                            expected=expected, actual=actual)
    if not moves:
        return ()
    starts = dict(Week.objects.filter(pk__in=inputs.week_ids.tolist()).values_list("pk", "start_date"))
    names = dict(Rotation.objects.filter(pk__in=inputs.rotation_ids.tolist()).values_list("pk", "name"))
    return tuple(
        Rebalancing(
            from_faculty_id=faculty[m.from_faculty].faculty_id, from_faculty_name=faculty[m.from_faculty].faculty_name,
            to_faculty_id=faculty[m.to_faculty].faculty_id, to_faculty_name=faculty[m.to_faculty].faculty_name,
            amount=m.amount,
            slots=tuple(SlotMove(week=starts[int(inputs.week_ids[w])], rotation=names[int(inputs.rotation_ids[r])])
                        for w, r in m.slots),
        )
        for m in moves
    )
