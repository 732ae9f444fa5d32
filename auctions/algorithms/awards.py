"""Which assigned weeks earn priority points when a schedule is published (DESIGN §8): pure rules, no database.

A week is *unwanted* by a faculty member when they ranked it in the worst quarter of their ranked weeks (rank r of
M with r > M − ⌊M/4⌋: of 8 ranked weeks the 7th and 8th; fewer than 4 ranked weeks have no worst quarter) or valued
it at most 20 (of 0–100). Binary submissions and unlisted weeks are never unwanted by this rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

UNWANTED_VALUE_MAX = 20


def unwanted_weeks(preference_type: str, entries: Iterable[Mapping]) -> set[int]:
    """The week indices a submission marks as unwanted (see the module docstring)."""
    entries = list(entries)
    if preference_type == "ordinal":
        ranked = len(entries)
        worst = ranked - ranked // 4
        return {int(e["week"]) for e in entries if int(e["rank"]) > worst}
    if preference_type == "cardinal":
        return {int(e["week"]) for e in entries if float(e["value"]) <= UNWANTED_VALUE_MAX}
    return set()


def week_award(*, holiday: bool, unwanted: bool, holiday_points: int, unwanted_points: int) -> tuple[int, list[str]]:
    """(points, reasons) for one assigned week: the holiday award and the unwanted-week award add up."""
    points, reasons = 0, []
    if holiday and holiday_points:
        points, reasons = points + holiday_points, [*reasons, "holiday week"]
    if unwanted and unwanted_points:
        points, reasons = points + unwanted_points, [*reasons, "unwanted week"]
    return points, reasons
