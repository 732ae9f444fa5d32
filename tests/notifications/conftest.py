"""Fixtures of the notification tests; the worked example and the swap market come from tests/conftest.py."""

from __future__ import annotations

import pytest

from tests.factories import ScheduleFactory


@pytest.fixture
def stable_draft(example_year, people):
    """The worked example's stable schedule as a draft: A week 2, B week 1, C week 3."""
    rows = [(people["A"], 1, "inpatient"), (people["B"], 0, "inpatient"), (people["C"], 2, "inpatient")]
    return ScheduleFactory(year=example_year, name="Stable draft", rows=rows)
