"""Fixtures only the stability tests use. The worked example (`example_year`, `people`, `critical_draft`) and the swap
market (`market`, `cycle_market`) are shared with the browser tests, so they live in tests/conftest.py."""

from __future__ import annotations

import pytest
from django.utils import timezone

from allocation.models import Schedule
from stability.algorithms.report import stability_level as stability_level_for
from stability.models import NashStabilityReport, PublicationRecord
from tests.factories import FacultyFactory, RotationFactory, ScheduleFactory, SwapRequestFactory, UserFactory, make_year


@pytest.fixture
def stable_draft(example_year, people):
    """The worked example's A W2, B W1, C W3: no blocking swap, STABLE, and the optimum."""
    rows = [(people["A"], 1, "inpatient"), (people["B"], 0, "inpatient"), (people["C"], 2, "inpatient")]
    return ScheduleFactory(year=example_year, name="Stable draft", rows=rows)


@pytest.fixture
def thresholds(settings):
    """thresholds(t0, t1, t2) re-bands the levels, so distance 2/3 can be MARGINAL or UNSTABLE."""

    def set_thresholds(*values: float) -> None:
        settings.GTSCHED_STABILITY = {**settings.GTSCHED_STABILITY, "thresholds": tuple(values)}

    return set_thresholds


@pytest.fixture
def linear_history(db):
    """Schedules of 10 assignments published at distances 0, .2, .4, .6 with 1, 2, 3, 4 swap requests:
    requests / A = 0.1 + 0.5 × distance exactly."""
    rotation = RotationFactory(name="nights")
    year = make_year(label=2040, num_weeks=10, rotations=[rotation])
    person = FacultyFactory(user=UserFactory(username="hist"), rotations=[rotation])
    weeks = list(year.weeks.order_by("index"))
    for k, (distance, requests) in enumerate([(0.0, 1), (0.2, 2), (0.4, 3), (0.6, 4)]):
        schedule = ScheduleFactory(year=year, name=f"History {k}", status=Schedule.Status.ARCHIVED,
                                   rows=[(person, w.index, rotation) for w in weeks])
        rows = list(schedule.assignments.order_by("week__index"))
        report = NashStabilityReport.objects.create(
            schedule=schedule, assignments_hash="x", is_nash_equilibrium=distance == 0, nash_distance=distance,
            stability_level=stability_level_for(distance), num_blocking_swaps=0, num_beneficial_deviations=0,
            total_assignments=10, predicted_swap_requests=0, current_welfare=0, optimal_welfare=0,
            efficiency_ratio=1, forecast="stable", compute_ms=1,
        )
        PublicationRecord.objects.create(
            schedule=schedule, report=report, nash_distance=distance, stability_level=report.stability_level,
            predicted_swap_requests=0, published_at=timezone.now(), channel="api",
        )
        for row in rows[:requests]:
            SwapRequestFactory(give=row, status="executed")
    return year
