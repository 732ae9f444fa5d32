"""Explanations: "why did I get this?" for one assignment (DESIGN §5)."""

from __future__ import annotations

from typing import Any

from allocation.explain import explain_assignment
from allocation.models import Assignment


def assignment_explain(*, assignment: Assignment) -> dict[str, Any]:
    """ "Why did I get this?" in plain words: {"summary": str, "points": [str, ...]} (access control is the caller's)."""
    return explain_assignment(assignment=assignment)
