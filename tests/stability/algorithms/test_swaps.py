"""Swap stability (DESIGN §9): every definition on hand-solved schedules, and the vectorised counts against a
literal pair-by-pair brute force on many random schedules."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stability.algorithms import _state, _validate
from stability.algorithms.report import stability_level
from stability.algorithms.swaps import DistanceProbe, apply_swap, swap_analysis, swap_candidates, swap_gains
from stability.algorithms.types import EQUILIBRIUM, UNSTABLE
from tests.stability.algorithms.cases import brute_force, feasible, gains, literal, random_problem, worked_example

# --- hand-solved ----------------------------------------------------------------------------------------------------


def test_a_schedule_where_everyone_has_their_favourite_week_is_a_nash_equilibrium():
    problem = literal([[1.0, 0.2, 0.1], [0.3, 0.9, 0.2], [0.1, 0.2, 0.8]], [[0, 0, 0], [1, 1, 0], [2, 2, 0]])
    result = swap_analysis(problem)
    assert result.status == EQUILIBRIUM and result.is_nash_equilibrium
    assert result.num_blocking_swaps == 0 and result.num_beneficial_deviations == 0
    assert result.nash_distance == 0.0 and result.max_gain == 0.0 and result.avg_gain == 0.0
    assert result.best_partner.tolist() == [-1, -1, -1]


def test_the_design_worked_example_has_exactly_one_blocking_swap_a_with_b():
    result = swap_analysis(worked_example())
    assert result.status == UNSTABLE and not result.is_nash_equilibrium
    assert result.num_blocking_swaps == 1
    assert result.in_blocking.tolist() == [True, True, False]
    assert result.nash_distance == pytest.approx(2 / 3)
    assert stability_level(result.nash_distance) == "CRITICAL"
    # A takes W2 (+1.0), B takes W1 (+0.5): one swap, total gain 1.5.
    assert result.best_partner.tolist() == [1, 0, -1]
    assert result.best_gain_self.tolist() == [1.0, 0.5, 0.0]
    assert result.best_gain_partner.tolist() == [0.5, 1.0, 0.0]
    assert result.max_gain == 1.5 and result.avg_gain == 1.5


def test_the_worked_example_counts_three_beneficial_deviations():
    # A wants W2 (+1) and W3 (+.5); B wants W1 (+.5); C wants nothing (W3 is already C's best).
    assert swap_analysis(worked_example()).num_beneficial_deviations == 3


def test_a_one_sided_wish_is_a_beneficial_deviation_but_not_a_blocking_swap():
    problem = literal([[0.0, 1.0], [0.0, 1.0]], [[0, 0, 0], [1, 1, 0]])
    result = swap_analysis(problem)
    assert result.num_beneficial_deviations == 1 and result.num_blocking_swaps == 0 and result.is_nash_equilibrium


def test_a_gain_of_at_most_epsilon_does_not_count():
    problem = literal([[0.0, 1e-10], [1e-10, 0.0]], [[0, 0, 0], [1, 1, 0]])
    assert swap_analysis(problem).num_beneficial_deviations == 0
    assert swap_analysis(problem, epsilon=0.0).num_blocking_swaps == 1


def test_holding_the_wanted_week_already_forbids_the_swap():
    # Faculty 0 holds weeks 0 and 1 and wants week 2; faculty 1 holds week 2 and would take week 0 or week 1.
    u = [[0.0, 0.1, 1.0], [0.9, 0.8, 0.0]]
    rows = [[0, 0, 0], [0, 1, 0], [1, 2, 0]]
    result = swap_analysis(literal(u, rows, capacity=np.full((3, 1), 2)))
    assert result.num_blocking_swaps == 2
    # Now faculty 1 also holds week 0: taking week 0 from faculty 0 would hold it twice, so only w1 <-> w2 blocks.
    rows = [[0, 0, 0], [0, 1, 0], [1, 2, 0], [1, 0, 0]]
    result = swap_analysis(literal(u, rows, capacity=np.full((3, 1), 2)))
    assert result.num_blocking_swaps == 1
    assert result.best_partner.tolist() == [-1, 2, 1, -1]
    assert feasible(literal(u, rows, capacity=np.full((3, 1), 2)), 0, 2) is False


def test_two_assignments_of_one_faculty_member_never_swap_with_each_other():
    problem = literal([[0.0, 1.0]], [[0, 0, 0], [0, 1, 0]])
    result = swap_analysis(problem)
    assert result.num_beneficial_deviations == 0 and result.num_blocking_swaps == 0


def test_a_partner_must_be_qualified_for_the_other_rotation():
    # Two rotations; faculty 1 is qualified for rotation 1 only, so it cannot take faculty 0's rotation-0 slot.
    u = [[0.0, 1.0], [1.0, 0.0]]
    eligible = np.ones((2, 2, 2), bool)
    eligible[1, :, 0] = False
    problem = literal(u, [[0, 0, 0], [1, 1, 1]], eligible=eligible, rotations=2)
    assert swap_analysis(problem).num_blocking_swaps == 0
    assert swap_gains(problem, 0, 1) == (False, 1.0, 1.0)
    eligible[1, :, 0] = True
    assert swap_analysis(dataclasses.replace(problem, eligible=eligible)).num_blocking_swaps == 1


def test_same_rotation_swaps_need_no_extra_qualification():
    u = [[0.0, 1.0], [1.0, 0.0]]
    eligible = np.zeros((2, 2, 2), bool)
    eligible[:, :, 1] = True  # both qualified for rotation 1 only
    problem = literal(u, [[0, 0, 1], [1, 1, 1]], eligible=eligible, rotations=2)
    assert swap_analysis(problem).num_blocking_swaps == 1


def test_a_blocked_week_cannot_be_taken():
    u = [[0.0, 1.0], [1.0, 0.0]]
    eligible = np.ones((2, 2, 1), bool)
    eligible[0, 1, 0] = False  # faculty 0 blocked week 1
    problem = literal(u, [[0, 0, 0], [1, 1, 0]], eligible=eligible)
    result = swap_analysis(problem)
    assert result.num_blocking_swaps == 0 and result.num_beneficial_deviations == 0


def test_locked_assignments_are_never_swapped():
    problem = dataclasses.replace(worked_example(), locked=np.array([False, True, False]))
    result = swap_analysis(problem)
    assert result.num_blocking_swaps == 0 and result.is_nash_equilibrium
    # A still wants C's week 3 (+.5), but C would lose; B is locked, so A's and B's deviations towards it vanish.
    assert result.num_beneficial_deviations == 1
    assert swap_gains(problem, 0, 1)[0] is False


def test_an_empty_schedule_is_trivially_stable():
    problem = literal([[0.5, 0.5]], np.zeros((0, 3), int))
    result = swap_analysis(problem)
    assert result.total_assignments == 0 and result.nash_distance == 0.0 and result.is_nash_equilibrium


def test_ties_in_the_best_partner_go_to_the_earliest_slot_then_the_lowest_index():
    # Faculty 0 (week 0) gains 1.0 from week 1 or week 2; both holders gain 1.0 back: the earliest week wins.
    u = [[0.0, 1.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    problem = literal(u, [[0, 0, 0], [1, 2, 0], [2, 1, 0]])
    result = swap_analysis(problem)
    assert result.best_partner[0] == 2  # assignment 2 holds week 1, before week 2


# --- swap_gains, apply_swap -----------------------------------------------------------------------------------------


def test_swap_gains_reports_feasibility_and_both_gains():
    problem = worked_example()
    assert swap_gains(problem, 0, 1) == (True, 1.0, 0.5)
    assert swap_gains(problem, 0, 2) == (True, 0.5, -0.5)
    assert swap_gains(problem, 1, 1)[0] is False


def test_apply_swap_exchanges_week_and_rotation_and_keeps_the_faculty():
    rows = np.array([[0, 0, 1], [1, 3, 0], [2, 2, 0]])
    swapped = apply_swap(rows, 0, 1)
    assert swapped.tolist() == [[0, 3, 0], [1, 0, 1], [2, 2, 0]]
    assert rows.tolist() == [[0, 0, 1], [1, 3, 0], [2, 2, 0]]  # the input is not changed


def test_applying_the_blocking_swap_of_the_worked_example_makes_it_stable():
    problem = worked_example()
    after = dataclasses.replace(problem, assignments=apply_swap(problem.assignments, 0, 1))
    assert swap_analysis(after).is_nash_equilibrium


def test_bad_assignment_indices_are_refused():
    with pytest.raises(ValueError, match=r"^b = 3 is not an assignment index; the schedule has 3 assignments"):
        swap_gains(worked_example(), 0, 3)
    with pytest.raises(ValueError, match=r"^a must be an assignment index \(an integer\)"):
        apply_swap(worked_example().assignments, 0.5, 1)


# --- swap candidates ------------------------------------------------------------------------------------------------


def test_swap_candidates_list_the_blocking_partners_with_the_distance_after():
    [candidate] = swap_candidates(worked_example(), 0)
    assert candidate.partner == 1 and candidate.partner_faculty == 1
    assert (candidate.week, candidate.rotation) == (1, 0)
    assert (candidate.gain_self, candidate.gain_partner, candidate.mutual_gain) == (1.0, 0.5, 1.5)
    assert candidate.distance_after == 0.0 and candidate.distance_reduction == pytest.approx(2 / 3)
    assert swap_candidates(worked_example(), 2) == []


def test_swap_candidates_filter_by_wanted_weeks_and_limit():
    rng = np.random.default_rng(5)
    problem = random_problem(rng, n=8, weeks=8, rotations=1, per_faculty=(2, 3), block_p=0.0, qualify_p=1.0)
    brute = brute_force(problem)
    a = max(range(len(problem.assignments)), key=lambda k: sum(k in pair for pair in brute.blocking))
    partners = sorted({b for pair in brute.blocking if a in pair for b in pair if b != a})
    assert len(partners) >= 2
    found = swap_candidates(problem, a, limit=None)
    assert sorted(c.partner for c in found) == partners
    assert [c.mutual_gain for c in found] == sorted((c.mutual_gain for c in found), reverse=True)
    assert len(swap_candidates(problem, a, limit=1)) == 1
    assert swap_candidates(problem, a, limit=1)[0] == found[0]
    week = int(problem.assignments[partners[0], 1])
    only = swap_candidates(problem, a, wanted_weeks=[week], limit=None)
    assert {int(problem.assignments[c.partner, 1]) for c in only} == {week}


def test_distance_after_is_the_nash_distance_of_the_schedule_with_the_swap_executed():
    rng = np.random.default_rng(11)
    problem = random_problem(rng, n=8, weeks=6, rotations=2, per_faculty=(2, 4), block_p=0.0, qualify_p=1.0)
    before = swap_analysis(problem).nash_distance
    checked = 0
    for a in range(len(problem.assignments)):
        for c in swap_candidates(problem, a, limit=None):
            after = swap_analysis(dataclasses.replace(problem, assignments=apply_swap(problem.assignments, a, c.partner)))
            assert c.distance_after == pytest.approx(after.nash_distance)
            assert c.distance_reduction == pytest.approx(before - after.nash_distance)
            checked += 1
    assert checked > 0


def test_candidates_with_equal_mutual_gain_rank_by_distance_reduction():
    for seed in range(40):
        problem = random_problem(np.random.default_rng(seed), n=7, weeks=6, discrete=True)
        for a in range(len(problem.assignments)):
            found = swap_candidates(problem, a, limit=None)
            keys = [(-c.mutual_gain, -c.distance_reduction, c.partner) for c in found]
            assert keys == sorted(keys)


# --- vectorised == brute force --------------------------------------------------------------------------------------


def assert_matches_brute_force(problem, eps=1e-9):
    result = swap_analysis(problem, epsilon=eps)
    brute = brute_force(problem, eps)
    assert result.num_blocking_swaps == len(brute.blocking)
    assert result.num_beneficial_deviations == brute.deviations
    assert result.in_blocking.tolist() == brute.in_blocking.tolist()
    assert result.nash_distance == pytest.approx(brute.distance)
    assert result.max_gain == brute.max_gain
    assert result.avg_gain == pytest.approx(brute.avg_gain)
    assert result.best_partner.tolist() == brute.best_partner.tolist()
    assert result.best_gain_self.tolist() == brute.best_gain_self.tolist()
    assert result.best_gain_partner.tolist() == brute.best_gain_partner.tolist()
    for a, b in brute.blocking:
        assert swap_gains(problem, a, b) == (True, *gains(problem, a, b))


@pytest.mark.parametrize("seed", range(60))
def test_the_vectorised_analysis_equals_the_brute_force_on_random_schedules(seed):
    rng = np.random.default_rng(seed)
    problem = random_problem(
        rng, n=int(rng.integers(2, 9)), weeks=int(rng.integers(2, 8)), rotations=int(rng.integers(1, 4)),
        per_faculty=(1, 4), discrete=seed % 2 == 0, lock_p=0.15 if seed % 3 == 0 else 0.0,
        correlated=float(rng.random()),
    )
    assert_matches_brute_force(problem)


@pytest.mark.parametrize("seed", range(60))
def test_with_a_holiday_cap_and_no_back_to_back_the_analysis_still_equals_the_brute_force(seed):
    rng = np.random.default_rng(500 + seed)
    problem = random_problem(
        rng, n=int(rng.integers(2, 8)), weeks=int(rng.integers(3, 9)), rotations=int(rng.integers(1, 3)),
        per_faculty=(1, 4), discrete=seed % 2 == 0, lock_p=0.1 if seed % 3 == 0 else 0.0,
    )
    problem = dataclasses.replace(
        problem, is_holiday=rng.random(problem.n_weeks) < 0.4,
        max_holidays=None if seed % 4 == 3 else int(rng.integers(0, 2)), no_back_to_back=seed % 4 != 2,
    )
    assert_matches_brute_force(problem)
    m = len(problem.assignments)
    assert all(swap_gains(problem, a, b)[0] == feasible(problem, a, b) for a in range(m) for b in range(m) if a != b)


def test_the_side_constraints_remove_swaps_as_hand_solved():
    # A holds week 0, B holds week 2; each prefers the other's. Week 2 is a holiday.
    base = literal([[0.0, 0.5, 1.0], [1.0, 0.5, 0.0]], [[0, 0, 0], [1, 2, 0]])
    assert swap_analysis(base).num_blocking_swaps == 1
    holiday = np.array([False, False, True])
    # A holds no holiday week; a cap of 0 forbids A the move into week 2, a cap of 1 allows it.
    assert swap_analysis(dataclasses.replace(base, is_holiday=holiday, max_holidays=0)).num_blocking_swaps == 0
    assert swap_analysis(dataclasses.replace(base, is_holiday=holiday, max_holidays=1)).num_blocking_swaps == 1
    # A swap needs both moves: B leaving the holiday is fine, but without A's move there is no swap at all.
    assert swap_analysis(base).num_beneficial_deviations == 2
    assert swap_analysis(dataclasses.replace(base, is_holiday=holiday, max_holidays=0)).num_beneficial_deviations == 0
    # No back-to-back: A also holds week 3, next to B's week 2 … so A may not take week 2.
    four = literal([[0.0, 0.5, 1.0, 0.2], [1.0, 0.5, 0.0, 0.0]], [[0, 0, 0], [0, 3, 0], [1, 2, 0]])
    assert swap_analysis(four).num_blocking_swaps == 1
    assert swap_analysis(dataclasses.replace(four, no_back_to_back=True)).num_blocking_swaps == 0
    # The week a holder leaves does not count: A gives up week 0 for week 1, next to it, and B the reverse.
    near = literal([[0.0, 1.0], [1.0, 0.0]], [[0, 0, 0], [1, 1, 0]])
    assert swap_analysis(dataclasses.replace(near, no_back_to_back=True)).num_blocking_swaps == 1


@pytest.mark.parametrize("field, value, message", [
    ("is_holiday", np.ones(2, dtype=bool), "is_holiday must be a boolean array with one entry per week"),
    ("max_holidays", -1, "max_holidays must be a whole number ≥ 0"),
    ("no_back_to_back", "yes", "no_back_to_back must be True or False"),
])
def test_bad_side_constraints_are_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        swap_analysis(dataclasses.replace(worked_example(), **{field: value}))


@pytest.mark.parametrize("seed", range(6))
def test_the_chunked_scan_equals_the_one_block_scan(monkeypatch, seed):
    problem = random_problem(np.random.default_rng(100 + seed), n=10, weeks=8, rotations=3, per_faculty=(2, 5),
                             discrete=True, lock_p=0.1)
    whole = swap_analysis(problem)
    monkeypatch.setattr(_state, "CHUNK_BYTES", 1)  # one slot per block
    monkeypatch.setattr(_state, "KEEP_BYTES", 0)   # pass 2 recomputes every block
    state = _state.SwapState(_validate.swap_problem(problem), 1e-9)
    assert len(_state._blocks(state)) == np.count_nonzero(state.occupancy)
    chunked = swap_analysis(problem)
    for field in dataclasses.fields(whole):
        a, b = getattr(whole, field.name), getattr(chunked, field.name)
        assert np.array_equal(a, b) if isinstance(a, np.ndarray) else a == pytest.approx(b), field.name
    assert_matches_brute_force(problem)


@st.composite
def swap_problems(draw):
    n = draw(st.integers(1, 6))
    weeks = draw(st.integers(1, 5))
    rotations = draw(st.integers(1, 3))
    grid = draw(st.sampled_from([2, 4, 10, 1000]))  # coarse grids make many ties
    u = np.array(draw(st.lists(st.integers(0, grid), min_size=n * weeks, max_size=n * weeks))).reshape(n, weeks) / grid
    eligible = np.array(draw(st.lists(st.booleans(), min_size=n * weeks * rotations,
                                      max_size=n * weeks * rotations))).reshape(n, weeks, rotations)
    rows = []
    for i in range(n):
        held = draw(st.lists(st.integers(0, weeks - 1), unique=True, max_size=weeks))
        rows += [(i, w, draw(st.integers(0, rotations - 1))) for w in held]
    locked = draw(st.lists(st.booleans(), min_size=len(rows), max_size=len(rows)))
    return literal(u, np.array(rows, dtype=np.int64).reshape(-1, 3), eligible=eligible,
                   capacity=np.ones((weeks, rotations), int), locked=locked, rotations=rotations)


@settings(max_examples=150, deadline=None)
@given(swap_problems())
def test_hypothesis_the_vectorised_analysis_equals_the_brute_force(problem):
    assert_matches_brute_force(problem)


def test_the_distance_probe_and_the_full_recount_agree(monkeypatch):
    problem = random_problem(np.random.default_rng(21), n=10, weeks=8, rotations=2, per_faculty=(2, 5), discrete=True)
    fast = [swap_candidates(problem, a, limit=None) for a in range(len(problem.assignments))]
    monkeypatch.setattr(DistanceProbe, "PROBE_BYTES", 0)
    slow = [swap_candidates(problem, a, limit=None) for a in range(len(problem.assignments))]
    assert fast == slow and any(fast)
