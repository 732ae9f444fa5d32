"""Explanations: "why did I get this?" for one assignment (DESIGN §5)."""

from __future__ import annotations

from typing import Any

from allocation.explain import explain_assignment
from allocation.models import Assignment
from allocation.utility_words import utility_breakdown


def assignment_explain(*, assignment: Assignment) -> dict[str, Any]:
    """ "Why did I get this?" in plain words: {"summary": str, "points": [str, ...], "utility": what the holder's
    utility for the week is made of, or None} (access control is the caller's)."""
    return {**explain_assignment(assignment=assignment), "utility": utility_breakdown(assignment=assignment)}
