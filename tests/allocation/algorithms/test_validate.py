"""Input checks every mechanism runs first (_validate): exact messages that name the field."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from allocation.algorithms import _validate
from tests.allocation.algorithms.problems import make_problem


@pytest.fixture
def problem():
    return make_problem(np.random.default_rng(0), n=4, weeks=3, rotations=2, demand=(1, 2), capacity=(1, 2), block_p=0.0)


def broken(problem, **changes):
    return dataclasses.replace(problem, **changes)


def test_a_consistent_problem_passes_with_int64_counts(problem):
    checked = _validate.problem(broken(problem, demand=problem.demand.astype(np.int32)))
    assert checked.demand.dtype == np.int64 and checked.capacity.dtype == np.int64
    assert checked.preassigned.shape == (0, 3)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"eligible": np.ones((4, 3), bool)}, "eligible must be a boolean (faculty, week, rotation) array"),
        ({"eligible": np.ones((4, 3, 2), int)}, "eligible must be a boolean (faculty, week, rotation) array, got dtype int64"),
        ({"utility": np.zeros((4, 2))}, "utility has shape (4, 2), expected (4, 3) (faculty, week)."),
        ({"rank": np.ones((3, 3), int)}, "rank has shape (3, 3), expected (4, 3) (faculty, week)."),
        ({"listed": np.zeros((4, 3))}, "listed must be a boolean array."),
        ({"demand": np.ones(5, int)}, "demand has shape (5,), expected (4,)."),
        ({"capacity": np.ones((3, 1), int)}, "capacity has shape (3, 1), expected (3, 2)."),
        ({"is_holiday": np.zeros(2, bool)}, "is_holiday has shape (2,), expected (3,)."),
        ({"demand": np.array([1.0, 1, 1, 1])}, "demand must be whole numbers (an integer array), got dtype float64."),
        ({"demand": np.array([1, -1, 1, 1])}, "demand must be non-negative."),
        ({"capacity": np.array([[1, 1], [1, -2], [0, 0]])}, "capacity must be non-negative."),
        ({"capacity": np.ones((3, 2), bool)}, "capacity must be whole numbers (an integer array), got dtype bool."),
        ({"rank": np.full((4, 3), 1.0)}, "rank must be an integer array, got dtype float64."),
        ({"rank": np.full((4, 3), 4)}, "rank must lie in 1..3 (1 = best week)."),
    ],
)
def test_inconsistent_fields_are_named(problem, changes, message):
    with pytest.raises(ValueError) as raised:
        _validate.problem(broken(problem, **changes))
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize("field", ["utility", "value"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_utility_and_value_must_be_finite(problem, field, bad):
    array = np.array(getattr(problem, field), dtype=float)
    array[1, 2] = bad
    with pytest.raises(ValueError, match=f"^{field} must be finite numbers"):
        _validate.problem(broken(problem, **{field: array}))


def eligible_everywhere(problem, demand=2, capacity=1):
    return broken(
        problem, eligible=np.ones(problem.eligible.shape, bool), demand=np.full(problem.n_faculty, demand),
        capacity=np.full(problem.capacity.shape, capacity),
    )


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[0, 0]], "preassigned must be integer rows (faculty, week, rotation), got dtype int64 and shape (1, 2)."),
        ([[0.0, 0, 0]], "preassigned must be integer rows (faculty, week, rotation), got dtype float64 and shape (1, 3)."),
        ([[0, 0, 0], [4, 0, 0]], "preassigned row 1 (4, 0, 0) indexes outside the problem."),
        ([[0, -1, 0]], "preassigned row 0 (0, -1, 0) indexes outside the problem."),
        ([[0, 0, 2]], "preassigned row 0 (0, 0, 2) indexes outside the problem."),
        ([[1, 0, 0], [1, 0, 1]], "preassigned rows put faculty 1 twice in week 0."),
        ([[2, 0, 0], [2, 1, 0], [2, 2, 1]], "preassigned rows give faculty 2 3 weeks, more than their demand of 2."),
        ([[0, 1, 1], [3, 1, 1]], "preassigned rows put 2 faculty in week 1, rotation 1, more than its capacity of 1."),
    ],
)
def test_bad_pre_assignments_are_refused_with_the_row(problem, rows, message):
    with pytest.raises(ValueError) as raised:
        _validate.problem(broken(eligible_everywhere(problem), preassigned=np.array(rows)))
    assert str(raised.value) == message


def test_a_pre_assignment_must_be_eligible(problem):
    eligible = np.ones(problem.eligible.shape, bool)
    eligible[3, 2, 1] = False
    with pytest.raises(ValueError) as raised:
        _validate.problem(broken(eligible_everywhere(problem), eligible=eligible, preassigned=np.array([[3, 2, 1]])))
    assert str(raised.value) == "preassigned row 0: faculty 3 is not eligible for week 2, rotation 1."


def test_valid_pre_assignments_come_back_sorted(problem):
    checked = _validate.problem(broken(eligible_everywhere(problem), preassigned=np.array([[2, 1, 0], [0, 2, 1], [0, 0, 0]])))
    assert checked.preassigned.tolist() == [[0, 0, 0], [0, 2, 1], [2, 1, 0]]


# --- options ----------------------------------------------------------------------------------------------

def test_unknown_options_are_named():
    with pytest.raises(ValueError) as raised:
        _validate.options("least_regret", {"cost": "linear", "speed": 3}, {"cost": ("squared", "linear")})
    assert str(raised.value) == "least_regret: unknown option 'speed'; known options: cost."


def test_a_mechanism_without_options_says_so():
    with pytest.raises(ValueError) as raised:
        _validate.options("rsd", {"seed": 1}, {})
    assert str(raised.value) == "rsd: unknown option 'seed'; known options: none."


def test_a_value_outside_the_choices_is_named_with_the_choices():
    with pytest.raises(ValueError) as raised:
        _validate.options("least_regret", {"cost": "cubic"}, {"cost": ("squared", "linear")})
    assert str(raised.value) == "least_regret: option 'cost' must be one of 'squared', 'linear', got 'cubic'."


def test_choices_match_by_type_so_one_is_not_true():
    with pytest.raises(ValueError, match="option 'fill_unlisted' must be one of True, False, got 1"):
        _validate.options("min_cost_flow", {"fill_unlisted": 1}, {"fill_unlisted": (True, False)})


@pytest.mark.parametrize(
    ("spec", "value", "ok"),
    [(int, 3, True), (int, True, False), (int, 2.5, False), (float, 2, True), (float, 2.5, True),
     (float, False, False), (bool, True, True), (object, True, True), (object, None, True), (str, 3, False)],
)
def test_an_option_is_accepted_only_with_its_specified_type(spec, value, ok):
    if ok:
        assert _validate.options("m", {"x": value}, {"x": spec}) == {"x": value}
    else:
        with pytest.raises(ValueError, match=f"^m: option 'x' must be a {spec.__name__}, got"):
            _validate.options("m", {"x": value}, {"x": spec})
