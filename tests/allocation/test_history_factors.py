"""The factors allocation feeds into the utility model (DESIGN §4): the swap-out rate from executed swaps of earlier
years, per faculty and ISO week number, and the workload balance of a schedule being analysed."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from allocation.changes import schedule_swaps_apply
from allocation.history import swap_history
from allocation.problem import schedule_problem, year_problem
from tests.factories import FacultyFactory, RotationFactory, ScheduleFactory, make_year
from tests.stability.helpers import slot

pytestmark = pytest.mark.django_db

# Three Mondays from ISO week 51 in each year: 2023-12-18 (51), 12-25 (52), 2024-01-01 (1); and so on.
PAST = {2023: dt.date(2023, 12, 18), 2024: dt.date(2024, 12, 16), 2025: dt.date(2025, 12, 15)}


@pytest.fixture
def ward(db):
    return RotationFactory(name="ward")


@pytest.fixture
def trio(ward):
    return [FacultyFactory(external_id=f"H{k}", display_name=f"Dr. H{k}", rotations=[ward]) for k in range(3)]


@pytest.fixture
def swapped_out_of_week_52_three_years_running(ward, trio):
    """H0 held ISO week 52 in 2023, 2024 and 2025 and each time swapped it for H1's week 51."""
    h0, h1, _ = trio
    for label, monday in PAST.items():
        year = make_year(label=label, num_weeks=3, first_monday=monday, rotations=[ward])
        schedule = ScheduleFactory(year=year, rows=[(h0, 1, "ward"), (h1, 0, "ward")], status="published")
        schedule_swaps_apply(schedule=schedule, pairs=[(slot(schedule, h0, 1).pk, slot(schedule, h1, 0).pk)],
                             actor=None, reason="family Christmas")
    current = make_year(label=2026, num_weeks=3, first_monday=dt.date(2026, 12, 14), rotations=[ward])
    current.roster.set(trio)
    return current


def test_the_swap_out_rate_of_iso_week_52_after_three_swaps_out_is_one_quarter(swapped_out_of_week_52_three_years_running, trio):
    year = swapped_out_of_week_52_three_years_running
    model = year_problem(year=year, seed=0).model
    rate = dict(zip([f.external_id for f in sorted(trio, key=lambda f: f.external_id)],
                    model.factors["swap_out_rate"].tolist(), strict=True))
    # Weeks of 2026: ISO 51, 52, 53. H0: held 52 three times, swapped out three times → 1 − 3/4; held 51 (after each
    # swap) and kept it → 1 − 0/4. H1 the other way round. H2 never held anything; ISO 53 never held: 0.5.
    assert rate["H0"] == [1.0, 0.25, 0.5]
    assert rate["H1"] == [0.25, 1.0, 0.5]
    assert rate["H2"] == [0.5, 0.5, 0.5]


def test_the_history_counts_holdings_and_swaps_by_iso_week(swapped_out_of_week_52_three_years_running, trio):
    history = swap_history(year=swapped_out_of_week_52_three_years_running, faculty_ids=np.array([f.pk for f in trio]))
    h0 = trio[0].pk
    assert (history.held[h0, 52], history.swapped_out[h0, 52], history.held[h0, 51], history.swapped_out[h0, 51]) == (3, 3, 3, 0)


def test_only_earlier_years_and_published_schedules_count(ward, trio):
    h0, h1, _ = trio
    year = make_year(label=2026, num_weeks=3, first_monday=dt.date(2026, 12, 14), rotations=[ward])
    later = make_year(label=2027, num_weeks=3, first_monday=dt.date(2027, 12, 13), rotations=[ward])
    ScheduleFactory(year=later, rows=[(h0, 1, "ward")], status="published")
    earlier = make_year(label=2025, num_weeks=3, first_monday=PAST[2025], rotations=[ward])
    ScheduleFactory(year=earlier, rows=[(h0, 1, "ward")])  # a draft
    assert not swap_history(year=year, faculty_ids=np.array([h0.pk, h1.pk])).held


def test_without_any_history_the_utilities_are_those_of_no_data(ward, trio):
    year = make_year(label=2026, num_weeks=3, first_monday=dt.date(2026, 12, 14), rotations=[ward])
    year.roster.set(trio)
    model = year_problem(year=year, seed=0).model
    assert (model.factors["swap_out_rate"] == 0.5).all()


def test_a_schedules_workload_balance_scores_loads_above_and_below_the_mean(ward, trio):
    h0, h1, h2 = trio
    year = make_year(label=2026, num_weeks=4, rotations=[ward], demand=1)
    year.roster.set(trio)
    schedule = ScheduleFactory(year=year, rows=[(h0, 0, "ward"), (h0, 1, "ward"), (h0, 2, "ward"), (h1, 3, "ward")])
    built = schedule_problem(schedule=schedule)
    # Loads 3, 1, 0: mean 4/3. |3 − 4/3| = 5/3 → 1 − 1/6; |1 − 4/3| = 1/3 → 1 − 1/30; |0 − 4/3| → 1 − 2/15.
    order = {pk: i for i, pk in enumerate(built.faculty_ids.tolist())}
    balance = built.model.factors["workload_balance"][:, 0]
    assert balance[order[h0.pk]] == pytest.approx(5 / 6)
    assert balance[order[h1.pk]] == pytest.approx(29 / 30)
    assert balance[order[h2.pk]] == pytest.approx(13 / 15)
    # Allocation's own utility keeps 0.5; the analysed one moves by 0.2 × (balance − 0.5).
    delta = built.problem.utility - built.base_utility
    assert delta[order[h0.pk]] == pytest.approx(np.full(4, 0.2 * (5 / 6 - 0.5)))
    assert (year_problem(year=year, seed=0).model.factors["workload_balance"] == 0.5).all()
