"""Input checks of the stability core (_validate): exact messages that name the field and the fix."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from stability.algorithms import _validate
from stability.algorithms.swaps import swap_analysis, swap_candidates
from stability.algorithms.welfare import blocking_swap_dynamics, random_feasible_schedule
from tests.stability.algorithms.cases import worked_example


def broken(**changes):
    return dataclasses.replace(worked_example(), **changes)


def test_a_consistent_problem_passes_with_typed_arrays():
    p = _validate.swap_problem(broken(capacity=np.ones((3, 1), np.int32), assignments=np.array([[0, 0, 0]], np.int32)))
    assert p.capacity.dtype == np.int64 and p.assignments.dtype == np.int64
    assert p.locked.dtype == bool and p.locked.tolist() == [False]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"eligible": np.ones((3, 3), bool)}, "eligible must be a boolean (faculty, week, rotation) array"),
        ({"eligible": np.ones((3, 3, 1), int)}, "eligible must be a boolean (faculty, week, rotation) array, got dtype int64"),
        ({"utility": np.zeros((3, 2))}, "utility has shape (3, 2), expected (3, 3) (faculty, week)."),
        ({"utility": np.full((3, 3), np.nan)}, "utility must be finite numbers (no NaN or infinity)."),
        ({"utility": np.ones((3, 3), bool)}, "utility must be finite numbers"),
        ({"capacity": np.ones((3, 2), int)}, "capacity has shape (3, 2), expected (3, 1) (week, rotation)."),
        ({"capacity": np.ones((3, 1))}, "capacity must be whole numbers (an integer array), got dtype float64."),
        ({"capacity": -np.ones((3, 1), int)}, "capacity must be non-negative."),
        ({"assignments": np.array([[0, 0]])}, "assignments must be integer rows (faculty, week, rotation)"),
        ({"assignments": np.array([[0.0, 0, 0]])}, "assignments must be integer rows (faculty, week, rotation), got dtype float64"),
        ({"assignments": np.array([[0, 0, 0], [3, 0, 0]])}, "assignment 1 (3, 0, 0) indexes outside the problem: faculty must be 0..2, weeks 0..2, rotations 0..0."),
        ({"assignments": np.array([[0, 1, 0], [0, 1, 0]])}, "assignments put faculty 0 twice in week 1; a faculty member holds at most one slot per week."),
        ({"locked": np.array([True, False])}, "locked must be a boolean array with one entry per assignment, shape (3,), got dtype bool and shape (2,)."),
        ({"locked": np.array([1, 0, 0])}, "locked must be a boolean array with one entry per assignment"),
    ],
)
def test_inconsistent_fields_are_named(changes, message):
    with pytest.raises(ValueError) as raised:
        _validate.swap_problem(broken(**changes))
    assert str(raised.value).startswith(message)


def test_options_are_checked():
    with pytest.raises(ValueError, match="^epsilon must be a finite number ≥ 0, got -1.0."):
        swap_analysis(worked_example(), epsilon=-1.0)
    with pytest.raises(ValueError, match=r"^wanted_weeks must lie in 0..2, got \[5\]."):
        swap_candidates(worked_example(), 0, wanted_weeks=[5])
    with pytest.raises(ValueError, match="^limit must be a whole number ≥ 0, got -1."):
        swap_candidates(worked_example(), 0, limit=-1)
    with pytest.raises(ValueError, match="^max_steps must be a whole number ≥ 0, got 1.5."):
        blocking_swap_dynamics(worked_example(), max_steps=1.5)
    with pytest.raises(ValueError, match="^rng must be a numpy.random.Generator"):
        random_feasible_schedule(worked_example(), 42)
