"""What a faculty member may expect from their preferences, told by the apps above (DESIGN §2, §10).

`expected_allocation_probability` in the answer of POST …/preferences/strategyproof is the chance of a top-choice
week under RSD from the stored chances. Those live in allocation, which preferences must not import: allocation
registers the provider in its AppConfig.ready(), as it registers load sources.
"""

from __future__ import annotations

from collections.abc import Callable

from preferences.models import AcademicYear, Faculty

# fn(*, year, faculty) -> (probability or None, the reason when None)
TopChoiceProvider = Callable[..., tuple[float | None, str]]
_PROVIDERS: list[TopChoiceProvider] = []


def register_top_choice_probability(fn: TopChoiceProvider) -> None:
    """Install the provider (registering again replaces it)."""
    _PROVIDERS[:] = [fn]


def top_choice_probability(*, year: AcademicYear, faculty: Faculty) -> tuple[float | None, str]:
    if not _PROVIDERS:
        return None, "Chances are not available: no allocation is configured."
    return _PROVIDERS[0](year=year, faculty=faculty)
