"""The stability report (DESIGN §9): levels, prediction, forecast, recommended swaps, plain-word advice, as_dict."""

from __future__ import annotations

import dataclasses
import itertools
import json

import numpy as np
import pytest

from stability.algorithms.report import (
    forecast,
    predicted_swap_requests,
    recommended_swaps,
    stability_level,
    stability_report,
)
from stability.algorithms.swaps import apply_swap, swap_analysis, swap_gains
from stability.algorithms.welfare import optimal_welfare
from tests.stability.algorithms.cases import brute_force, gains, literal, random_problem, worked_example


def report(problem, **options):
    options.setdefault("rng", np.random.default_rng(0))
    options.setdefault("restarts", 4)
    return stability_report(problem, **options)


# --- levels, prediction, forecast -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("distance", "level"),
    [(0.0, "STABLE"), (0.0499, "STABLE"), (0.05, "MARGINAL"), (0.1499, "MARGINAL"), (0.15, "UNSTABLE"),
     (0.2999, "UNSTABLE"), (0.30, "CRITICAL"), (1.0, "CRITICAL")],
)
def test_levels_change_exactly_at_the_thresholds(distance, level):
    assert stability_level(distance) == level


def test_thresholds_are_configurable():
    assert stability_level(0.05, (0.1, 0.2, 0.4)) == "STABLE"
    assert stability_level(0.3, (0.1, 0.2, 0.4)) == "UNSTABLE"
    with pytest.raises(ValueError, match=r"^thresholds must be three increasing numbers in \[0, 1\]"):
        stability_level(0.1, (0.3, 0.2, 0.4))


@pytest.mark.parametrize(
    ("total", "distance", "base", "pressure", "expected"),
    [(150, 0.08, 0.10, 0.50, 21), (3, 2 / 3, 0.10, 0.50, 1), (100, 0.0, 0.10, 0.50, 10), (0, 0.5, 0.1, 0.5, 0),
     (25, 0.0, 0.10, 0.50, 3), (1000, 0.3, 0.05, 1.0, 350)],
)
def test_predicted_swap_requests_is_round_of_a_times_base_plus_pressure_times_distance(
    total, distance, base, pressure, expected
):
    assert predicted_swap_requests(total, distance, base, pressure) == expected


def test_forecast_bands_predicted_requests_into_stable_minor_or_major():
    assert forecast(0) == "stable"
    assert forecast(1) == forecast(9) == "minor_adjustments"
    assert forecast(10) == "major_revision"


# --- the report -------------------------------------------------------------------------------------------------


def test_the_worked_example_report_is_critical_with_one_blocking_swap():
    r = report(worked_example())
    assert not r.is_nash_equilibrium and r.stability_level == "CRITICAL"
    assert r.nash_distance == pytest.approx(2 / 3)
    assert r.num_blocking_swaps == 1 and r.num_beneficial_deviations == 3 and r.total_assignments == 3
    assert r.predicted_swap_requests == predicted_swap_requests(3, 2 / 3)
    assert r.current_welfare == 1.5 and r.optimal_welfare == pytest.approx(3.0)
    assert r.efficiency_ratio == pytest.approx(0.5)
    assert r.forecast == "minor_adjustments"
    assert r.max_gain == r.avg_gain == 1.5
    [top_a, top_b] = r.top_instabilities
    assert (top_a.assignment, top_a.faculty, top_a.week, top_a.wanted_week, top_a.partner) == (0, 0, 0, 1, 1)
    assert (top_a.gain_self, top_a.gain_partner, top_a.total_gain) == (1.0, 0.5, 1.5)
    assert top_b.assignment == 1
    [swap] = r.recommended_swaps
    assert (swap.a, swap.b, swap.faculty_a, swap.faculty_b, swap.week_a, swap.week_b) == (0, 1, 0, 1, 0, 1)
    assert swap.total_gain == 1.5
    assert r.distance_after_recommended == 0.0 and r.welfare_after_recommended == 3.0
    assert r.restarts == 4 and r.price_of_anarchy >= r.price_of_stability >= 1.0
    assert r.compute_ms > 0
    assert "2 of 3 assignments (66.7%) are in at least one blocking swap." in r.warnings
    assert any(w.startswith("The Nash distance 0.667 is at or above the critical threshold 0.30") for w in r.warnings)
    assert any(s.startswith("Execute the 1 recommended swap (no faculty member is in two)") for s in r.recommendations)


def test_a_welfare_maximising_schedule_reports_stable_with_efficiency_one():
    problem = random_problem(np.random.default_rng(1), n=10, weeks=8, rotations=2, per_faculty=(2, 5))
    best = dataclasses.replace(problem, assignments=optimal_welfare(problem).assignments)
    r = report(best)
    assert r.is_nash_equilibrium and r.stability_level == "STABLE" and r.forecast == "stable"
    assert r.efficiency_ratio == 1.0 and r.nash_distance == 0.0
    assert r.recommended_swaps == () and r.top_instabilities == ()
    assert r.recommendations[0].startswith("The schedule is swap-stable")


def test_without_price_of_anarchy_the_fields_are_none_and_rng_is_not_needed():
    r = stability_report(worked_example(), rng=None, with_price_of_anarchy=False)
    assert r.price_of_anarchy is None and r.price_of_stability is None and r.restarts is None
    assert r.price_of_anarchy_detail is None


def test_top_keeps_the_largest_instabilities_first():
    problem = random_problem(np.random.default_rng(4), n=10, weeks=8, rotations=1, per_faculty=(2, 5), block_p=0.0)
    full = report(problem, top=1000, with_price_of_anarchy=False)
    totals = [x.total_gain for x in full.top_instabilities]
    assert totals == sorted(totals, reverse=True)
    assert len(full.top_instabilities) == round(full.nash_distance * full.total_assignments)
    assert report(problem, top=3, with_price_of_anarchy=False).top_instabilities == full.top_instabilities[:3]
    for x in full.top_instabilities:
        ok, gain_self, gain_partner = swap_gains(problem, x.assignment, x.partner)
        assert ok and (gain_self, gain_partner) == (x.gain_self, x.gain_partner)


def brute_greedy(problem):
    """Greedy on the enumerated blocking swaps: largest total first, skipping any that reuses a faculty member."""
    brute = brute_force(problem)
    ranked = sorted(brute.blocking, key=lambda pair: -sum(gains(problem, *pair)))
    used, chosen = set(), []
    for a, b in ranked:
        i, j = int(problem.assignments[a, 0]), int(problem.assignments[b, 0])
        if i not in used and j not in used:
            chosen.append({a, b})
            used |= {i, j}
    return chosen


@pytest.mark.parametrize("seed", range(25))
def test_recommended_swaps_are_the_greedy_conflict_free_set_and_each_still_blocks_in_order(seed):
    problem = random_problem(np.random.default_rng(800 + seed), n=10, weeks=8, rotations=2, per_faculty=(2, 5),
                             lock_p=0.1 if seed % 2 else 0.0)
    chosen = recommended_swaps(problem)
    faculty = [f for s in chosen for f in (s.faculty_a, s.faculty_b)]
    assert len(faculty) == len(set(faculty))
    totals = [s.total_gain for s in chosen]
    assert totals == sorted(totals, reverse=True)
    assert [{s.a, s.b} for s in chosen] == brute_greedy(problem)  # continuous utilities: no ties
    rows = problem.assignments.copy()
    for s in chosen:
        now = dataclasses.replace(problem, assignments=rows)
        ok, gain_a, gain_b = swap_gains(now, s.a, s.b)
        assert ok and gain_a > 1e-9 and gain_b > 1e-9 and (gain_a, gain_b) == (s.gain_a, s.gain_b)
        rows = apply_swap(rows, s.a, s.b)
    # Greedy is maximal: after the set, every blocking swap left involves a faculty member already used.
    used = set(faculty)
    after = dataclasses.replace(problem, assignments=rows)
    for a, b in brute_force(after).blocking:
        assert {int(rows[a, 0]), int(rows[b, 0])} & used


@pytest.mark.parametrize("seed", range(8))
def test_recommended_swaps_with_ties_are_still_conflict_free_and_blocking(seed):
    problem = random_problem(np.random.default_rng(900 + seed), n=12, weeks=8, rotations=2, per_faculty=(2, 5),
                             discrete=True)
    r = report(problem, with_price_of_anarchy=False)
    rows = problem.assignments.copy()
    for s in r.recommended_swaps:
        assert swap_gains(dataclasses.replace(problem, assignments=rows), s.a, s.b)[0]
        rows = apply_swap(rows, s.a, s.b)
    after = swap_analysis(dataclasses.replace(problem, assignments=rows))
    assert r.distance_after_recommended == pytest.approx(after.nash_distance)
    assert r.welfare_after_recommended == pytest.approx(r.current_welfare + sum(s.total_gain for s in r.recommended_swaps))


def test_the_report_agrees_with_the_analysis():
    problem = random_problem(np.random.default_rng(12), n=12, weeks=10, rotations=3, per_faculty=(2, 6))
    r = report(problem)
    a = swap_analysis(problem)
    assert (r.num_blocking_swaps, r.num_beneficial_deviations, r.nash_distance, r.max_gain, r.avg_gain) == (
        a.num_blocking_swaps, a.num_beneficial_deviations, a.nash_distance, a.max_gain, a.avg_gain)
    assert r.forecast == forecast(a.num_blocking_swaps)
    assert r.stability_level == stability_level(a.nash_distance)


def test_as_dict_is_plain_json():
    r = report(worked_example())
    data = r.as_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text)["stability_level"] == "CRITICAL"
    assert data["top_instabilities"][0]["wanted_week"] == 1
    assert data["recommended_swaps"][0]["total_gain"] == 1.5
    assert data["price_of_anarchy_detail"]["restarts"] == 4
    assert isinstance(data["warnings"], list) and isinstance(data["thresholds"], list)


def test_warnings_name_ineligible_and_over_full_slots_by_count():
    eligible = np.ones((2, 2, 1), bool)
    eligible[0, 0, 0] = False
    problem = literal([[0.0, 1.0], [1.0, 0.0]], [[0, 0, 0], [1, 0, 0]], eligible=eligible)
    r = report(problem, with_price_of_anarchy=False)
    assert "1 assignment is in a slot the faculty member is not eligible for (a blocked week or an unqualified rotation)." in r.warnings
    assert "1 slot holds more faculty than its capacity." in r.warnings


def test_warnings_and_recommendations_use_indices_only():
    problem = random_problem(np.random.default_rng(6), n=10, weeks=8, rotations=2, per_faculty=(2, 5))
    r = report(problem)
    for sentence in itertools.chain(r.warnings, r.recommendations):
        assert sentence.endswith(".") and "Dr." not in sentence


def test_bad_report_options_are_refused():
    with pytest.raises(ValueError, match=r"^rng must be a numpy.random.Generator"):
        stability_report(worked_example(), rng=None)
    with pytest.raises(ValueError, match=r"^restarts must be a whole number ≥ 1, got 0."):
        stability_report(worked_example(), rng=np.random.default_rng(0), restarts=0)
    with pytest.raises(ValueError, match=r"^top must be a whole number ≥ 0"):
        stability_report(worked_example(), rng=None, with_price_of_anarchy=False, top=-1)


def test_an_empty_schedule_gets_a_stable_report():
    r = report(literal([[0.5, 0.5]], np.zeros((0, 3), int)))
    assert r.is_nash_equilibrium and r.stability_level == "STABLE" and r.total_assignments == 0
    assert r.predicted_swap_requests == 0 and r.efficiency_ratio == 1.0 and r.price_of_anarchy == 1.0
    json.dumps(r.as_dict(), allow_nan=False)


# --- reusing a price of anarchy computed for the same feasible set ------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_a_reused_price_of_anarchy_gives_the_report_it_would_have_computed(seed):
    from stability.algorithms.welfare import price_of_anarchy

    problem = random_problem(np.random.default_rng(300 + seed), n=7, weeks=7, rotations=2, per_faculty=(2, 3))
    eligible = problem.eligible.copy()
    eligible[tuple(problem.assignments.T)] = True      # no ineligible hold, so a swap keeps the key
    problem = dataclasses.replace(problem, eligible=eligible)
    fresh = report(problem, rng=np.random.default_rng(seed), restarts=5)
    price = price_of_anarchy(problem, rng=np.random.default_rng(seed), restarts=5)
    reused = stability_report(problem, rng=None, price=price)
    ignore = {"compute_ms"}
    assert {k: v for k, v in reused.as_dict().items() if k not in ignore} == \
        {k: v for k, v in fresh.as_dict().items() if k not in ignore}
    # After a swap the key holds, so the same estimate serves the new state.
    analysis = swap_analysis(problem)
    assert analysis.num_blocking_swaps
    a = int(np.flatnonzero(analysis.best_partner >= 0)[0])
    swapped = dataclasses.replace(problem, assignments=apply_swap(problem.assignments, a,
                                                                  int(analysis.best_partner[a])))
    after = stability_report(swapped, rng=None, price=price)
    assert after.price_of_anarchy == fresh.price_of_anarchy
    assert after.optimal_welfare == pytest.approx(optimal_welfare(swapped).welfare)


def test_a_price_of_anarchy_of_another_problem_is_refused():
    from stability.algorithms.welfare import price_of_anarchy

    problem = random_problem(np.random.default_rng(8), n=6, weeks=6, rotations=2, per_faculty=(2, 3))
    price = price_of_anarchy(problem, rng=np.random.default_rng(0), restarts=2)
    other = dataclasses.replace(problem, utility=problem.utility + 0.01)
    with pytest.raises(ValueError, match="^price: this price of anarchy was computed for another problem"):
        stability_report(other, rng=None, price=price)
    with pytest.raises(ValueError, match="^price:"):
        stability_report(problem, rng=None, price=price, max_steps=10)
