"""Fixtures shared by the stability tests (the DESIGN §9 worked example lives in gate_fixtures.py)."""

from tests.stability.gate_fixtures import (  # noqa: F401 — re-exported as fixtures
    carol,
    critical_draft,
    example_year,
    few_restarts,
    people,
    stable_draft,
    thresholds,
)
