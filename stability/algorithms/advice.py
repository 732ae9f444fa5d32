"""A stability report's recommendations as data, and the one place they become sentences (DESIGN §9).

The core states each recommendation as an Advice row (a kind and its numbers, people by index); the service swaps
indices for names, dates and rotations; every edge (the stored payload, the API, the command) renders rows with
`advice_text`, so the same row always reads the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

STABLE = "stable"
EXECUTE_RECOMMENDED = "execute_recommended"
LARGEST_INSTABILITY = "largest_instability"
RERUN = "rerun"
REALLOCATE = "reallocate"
EXPECTED_REQUESTS = "expected_requests"
POA_ACCEPTABLE = "poa_acceptable"


def _plural(k: int, one: str, many: str | None = None) -> str:
    return f"{k} {one if k == 1 else (many or one + 's')}"


def _largest(v: Mapping[str, Any]) -> str:
    if "faculty_name" in v:  # named by the service
        return (
            f"The largest instability: {v['faculty_name']} (week {v['week_index'] + 1}, {v['week']}, {v['rotation']}) "
            f"and {v['partner_faculty_name']} (week {v['wanted_week_index'] + 1}, {v['wanted_week']}, "
            f"{v['wanted_rotation']}) would both gain by swapping: +{v['gain_self']:.3f} and +{v['gain_partner']:.3f}."
        )
    return (f"The largest instability is assignment {v['assignment']} (faculty {v['faculty']}, week {v['week']}, "
            f"rotation {v['rotation']}): swapping with assignment {v['partner']} (faculty {v['partner_faculty']}, "
            f"week {v['wanted_week']}, rotation {v['wanted_rotation']}) gains {v['gain_self']:.3f} and "
            f"{v['gain_partner']:.3f}.")


_TEXT = {
    STABLE: lambda v: "The schedule is swap-stable: no two faculty members would both gain by exchanging assignments.",
    EXECUTE_RECOMMENDED: lambda v: (
        f"Execute the {_plural(v['swaps'], 'recommended swap')} (no faculty member is in two): welfare rises by "
        f"{v['welfare_gain']:.3f} and the Nash distance falls from {v['distance']:.3f} to {v['distance_after']:.3f}."
    ),
    LARGEST_INSTABILITY: _largest,
    RERUN: lambda v: "Re-run the allocation, or run blocking-swap dynamics from this schedule, before publishing.",
    REALLOCATE: lambda v: (
        f"A welfare-maximising re-allocation could raise welfare by "
        f"{v['optimal_welfare'] - v['current_welfare']:.3f} (to {v['optimal_welfare']:.3f})."
    ),
    EXPECTED_REQUESTS: lambda v: (
        f"Expect about {_plural(v['predicted'], 'swap request')} after publication "
        f"({v['assignments']} assignments × ({v['base']:.2f} + {v['pressure']:.2f} × {v['distance']:.3f}))."
    ),
    POA_ACCEPTABLE: lambda v: (
        f"The price of anarchy is {v['price_of_anarchy']:.2f} over {v['restarts']} random starts (below "
        "1.5): free swapping stays close to the optimal welfare."
    ),
}


def advice_text(kind: str, values: Mapping[str, Any]) -> str:
    """The sentence of one recommendation row."""
    return _TEXT[kind](values)
