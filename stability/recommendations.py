"""A report's recommendations: structured rows in people's words, and the sentences every edge shows.

The core states recommendations by index (stability.algorithms.advice); here the row naming the largest instability
gets names, dates and rotations from the report's top row. `recommendation_sentences` is what the stored payload,
the API and the command show; `advice_text` is the only place a row becomes a sentence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stability.algorithms.advice import LARGEST_INSTABILITY, advice_text
from stability.algorithms.types import Advice

NAMED_FIELDS = ("faculty_name", "week_index", "week", "rotation", "partner_faculty_name", "wanted_week_index",
                "wanted_week", "wanted_rotation", "gain_self", "gain_partner")


def recommendation_rows(advice: Sequence[Advice], top: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """{"kind": …, numbers…} per recommendation; the largest instability named by the top row (dropped without one)."""
    rows = []
    for item in advice:
        if item.kind == LARGEST_INSTABILITY:
            if not top:
                continue
            rows.append({"kind": item.kind, **{key: top[0][key] for key in NAMED_FIELDS}})
        else:
            rows.append({"kind": item.kind, **item.values})
    return rows


def recommendation_sentences(payload: Mapping[str, Any]) -> list[str]:
    """The recommendations of a stored report payload as sentences (reports stored before the rows: as stored)."""
    rows = payload.get("recommendation_rows")
    if rows is None:
        return [str(s) for s in payload.get("recommendations", [])]
    return [advice_text(row["kind"], row) for row in rows]
