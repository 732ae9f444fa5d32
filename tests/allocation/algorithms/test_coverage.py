"""The coverage check on hand-made arrays: empty seats, blocked weeks, unqualified rotations, over-target load."""

from __future__ import annotations

import numpy as np
import pytest

from allocation.algorithms.coverage import COVERED, GAPS, coverage

# Three faculty, three weeks, two rotations (0 inpatient, 1 clinic). Demand: week 0 needs 2 inpatient, week 1 one
# inpatient and one clinic, week 2 one clinic. Faculty 2 is qualified for clinic only; faculty 1 blocked week 2.
CAPACITY = np.array([[2, 0], [1, 1], [0, 1]])
QUALIFIED = np.array([[True, True], [True, True], [False, True]])
BLOCKED = np.array([[False, False, False], [False, False, True], [False, False, False]])
TARGET = np.array([2, 2, 1])


def check(rows):
    return coverage(np.array(rows).reshape(-1, 3), capacity=CAPACITY, qualified=QUALIFIED, blocked=BLOCKED, target=TARGET)


def test_a_fully_covered_schedule_has_no_findings():
    found = check([(0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 1), (2, 2, 1)])
    assert found.status == COVERED
    assert found.uncovered.shape == (0, 3) and len(found.blocked) == 0 and len(found.ineligible) == 0
    assert found.over_target.shape == (0, 2) and found.load.tolist() == [2, 2, 1]


def test_every_empty_seat_is_listed_with_how_many_are_missing_in_calendar_order():
    found = check([(0, 1, 1)])  # one clinic seat filled in week 1
    assert found.status == GAPS
    assert found.uncovered.tolist() == [[0, 0, 2], [1, 0, 1], [2, 1, 1]]
    assert found.missing_seats == 4
    assert found.filled[1, 1] == 1


def test_an_assignment_in_a_blocked_week_is_found():
    found = check([(0, 0, 0), (2, 1, 1), (0, 1, 0), (1, 0, 0), (1, 2, 1)])
    assert found.blocked.tolist() == [4]  # faculty 1 in week 2, which they blocked
    assert len(found.ineligible) == 0 and found.uncovered.shape == (0, 3)
    assert found.status == GAPS


def test_an_assignment_in_a_rotation_the_faculty_member_is_not_qualified_for_is_found():
    found = check([(0, 0, 0), (2, 0, 0), (0, 1, 0), (1, 1, 1), (0, 2, 1)])
    assert found.ineligible.tolist() == [1]  # faculty 2 on inpatient, qualified for clinic only
    assert len(found.blocked) == 0 and found.uncovered.shape == (0, 3)
    assert found.status == GAPS


def test_over_target_load_is_listed_but_alone_leaves_the_schedule_covered():
    # Every seat filled, nobody misplaced, but faculty 0 serves 3 weeks against a target of 2.
    found = check([(0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 1), (0, 2, 1)])
    assert found.over_target.tolist() == [[0, 3]]
    assert found.status == COVERED


def test_an_empty_schedule_leaves_every_seat_uncovered():
    found = check([])
    assert found.missing_seats == int(CAPACITY.sum()) and found.load.tolist() == [0, 0, 0]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"blocked": np.zeros((3, 2), bool)}, "blocked has shape (3, 2), expected (3, 3)."),
    ({"qualified": np.ones((2, 2), bool)}, "qualified has shape (2, 2), expected (3, 2)."),
    ({"capacity": np.zeros(3, int)}, "capacity must be a (week, rotation) array, got shape (3,)."),
])
def test_inputs_of_the_wrong_shape_are_refused_with_the_field_named(kwargs, message):
    args = {"capacity": CAPACITY, "qualified": QUALIFIED, "blocked": BLOCKED, "target": TARGET, **kwargs}
    with pytest.raises(ValueError) as raised:
        coverage(np.zeros((0, 3), int), **args)
    assert str(raised.value) == message


def test_a_row_outside_the_problem_is_refused():
    with pytest.raises(ValueError, match="outside the problem"):
        check([(3, 0, 0)])


def test_the_result_is_read_only():
    found = check([(0, 0, 0)])
    with pytest.raises(ValueError):
        found.uncovered[0, 0] = 9
