"""Reading a year's Shapley fairness (DESIGN §7) the way the fairness pages and the API show it: the report of the
values to show (fairness.reports), whether they are current, the newest computation (to poll while it runs), the
API's answer with the seed's field names (cached by input fingerprint), and one faculty member's row. Reads only;
the computing lives in fairness.services."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from allocation.models import Assignment
from allocation.querysets import current_schedule
from fairness.inputs import ShapleyInputs, shapley_inputs
from fairness.models import ShapleyComputation
from fairness.reports import FacultyFairness, ShapleyReport, shapley_report
from fairness.services import shapley_latest
from preferences.models import AcademicYear

CACHE_PREFIX = "fairness:shapley-allocation:v1"
CACHE_TIMEOUT_S = 3600
METHOD_NOTES = {
    ShapleyComputation.Method.EXACT: "exact, averaged over every order in which the faculty could join",
    ShapleyComputation.Method.MONTE_CARLO: "estimated from random orders (antithetic pairs), with a 95 % interval",
}
# One sentence for the page, the same definition as fairness.algorithms.workload.
SCORE_DEFINITION = (
    "The fairness score is one minus the total-variation distance between how the schedule spreads its weeks over "
    "the faculty and how their fair shares spread the demand: 1 when everyone carries exactly their share of the "
    "work done, 0 when all of it sits with people whose fair share is nil."
)


@dataclass(frozen=True)
class YearFairness:
    """What a page shows for a year: the report (current values, else the newest completed ones marked stale; None
    when nothing was ever computed) and the year's newest computation in any state."""

    year: AcademicYear
    report: ShapleyReport | None
    latest: ShapleyComputation | None

    @property
    def updating(self) -> bool:
        """A computation is pending or running."""
        return self.latest is not None and self.latest.is_active

    @property
    def stale(self) -> bool:
        return self.report is not None and not self.report.fresh

    @property
    def failed(self) -> ShapleyComputation | None:
        """The newest computation when it failed (a failure older than the values shown is of no interest)."""
        latest = self.latest
        if latest is None or latest.status != ShapleyComputation.Status.FAILED:
            return None
        return latest


def fairness_read(*, year: AcademicYear, inputs: ShapleyInputs | None = None) -> YearFairness:
    inputs = inputs or shapley_inputs(year=year)
    return YearFairness(year=year, report=shapley_report(year=year, inputs=inputs), latest=shapley_latest(year=year))


def faculty_fairness(report: ShapleyReport | None, faculty_id: int) -> FacultyFairness | None:
    """One faculty member's row of the report, or None when the game did not include them."""
    if report is None:
        return None
    return next((row for row in report.faculty if row.faculty_id == faculty_id), None)


def expected_interval(report: ShapleyReport, row: FacultyFairness) -> tuple[float, float]:
    """The 95 % interval of φ in weeks, scaled as the expected workload is (φ / v(N) × total demand)."""
    if report.grand_value <= 0:
        return 0.0, 0.0
    scale = report.total_demand / report.grand_value
    return max(0.0, row.ci_low * scale), max(0.0, row.ci_high * scale)


# --- the API's answer ---------------------------------------------------------------------------------------------


def _row_body(row: FacultyFairness) -> dict[str, Any]:
    return {
        "faculty_id": row.faculty_id, "external_id": row.external_id, "faculty_name": row.faculty_name,
        "shapley_value": row.shapley_value, "ci_low": row.ci_low, "ci_high": row.ci_high,
        "expected_workload": row.expected_workload, "expected_weeks": row.expected_weeks,
        "actual_workload": row.actual_workload, "fairness_deviation": row.deviation,
        "is_overloaded": row.is_overloaded, "is_underloaded": row.is_underloaded,
        "rotation_qualifications": list(row.qualifications), "coverage_capacity": row.coverage_capacity,
        "target_load": row.target_load, "marginal_by_size": list(row.marginal_by_size),
    }


def allocation_body(report: ShapleyReport) -> dict[str, Any]:
    """The shapley-allocation answer with the seed's field names (plus how it was computed and what was compared)."""
    return {
        "academic_year": report.year_label,
        "computation_id": report.computation_id,
        "stale": not report.fresh,
        "computed_at": report.computed_at,
        "calculation_method": report.method,
        "samples": report.samples,
        "seed": report.seed,
        "grand_coalition_value": report.grand_value,
        "total_demand": report.total_demand,
        "total_workload": report.total_workload,
        "fairness_score": report.fairness_score,
        "compared_schedule": None if report.schedule_id is None else {
            "id": report.schedule_id, "name": report.schedule_name, "status": report.schedule_status},
        "shapley_values": [_row_body(row) for row in report.faculty],
        "overloaded_faculty": [row.faculty_id for row in report.overloaded],
        "underloaded_faculty": [row.faculty_id for row in report.underloaded],
        "rebalancing_recommendations": [
            {"from_faculty_id": m.from_faculty_id, "from_faculty_name": m.from_faculty_name,
             "to_faculty_id": m.to_faculty_id, "to_faculty_name": m.to_faculty_name, "amount": m.amount,
             "slots": [{"week": s.week, "rotation": s.rotation} for s in m.slots]}
            for m in report.recommendations
        ],
    }


def schedule_stamp(*, year: AcademicYear) -> str:
    """A digest of the schedule the report compares with (its id, status and assignments): actual workloads change
    with it although the game's inputs do not."""
    schedule = current_schedule(year=year, include_drafts=True)
    if schedule is None:
        return "none"
    rows = sorted(Assignment.objects.filter(schedule=schedule).values_list("faculty_id", "week_id", "rotation_id"))
    return hashlib.sha256(f"{schedule.pk}:{schedule.status}:{rows}".encode()).hexdigest()[:24]


def allocation_body_cached(
    *, year: AcademicYear, inputs: ShapleyInputs, computation: ShapleyComputation | None = None,
) -> dict[str, Any] | None:
    """allocation_body of `computation` (default: the year's current values), from the Django cache when the same
    inputs, computation and compared schedule were answered before; None when nothing was ever computed. The key
    holds the input fingerprint, so changed inputs never find an old answer."""
    stamp = schedule_stamp(year=year)
    key = None
    if computation is not None:
        key = f"{CACHE_PREFIX}:{inputs.fingerprint}:{computation.pk}:{stamp}"
        if (body := cache.get(key)) is not None:
            return body
    report = shapley_report(year=year, computation=computation, inputs=inputs)
    if report is None:
        return None
    body = allocation_body(report)
    key = key or f"{CACHE_PREFIX}:{inputs.fingerprint}:{report.computation_id}:{stamp}"
    cache.set(key, body, CACHE_TIMEOUT_S)
    return body
