"""How an assigned week stood in the faculty member's own preferences, in their words.

``Assignment.rank`` is the week's position in the strict order the utility model builds over *every* week of the
year, listed or not (unlisted weeks are ordered among themselves by the seeded tie-break). A rank number is only the
person's own choice for a week they listed; any other week is "a week you did not rank" (or value, or accept, for
the other preference types). A binary list accepts weeks without ordering them, so an accepted week has no number.
"""

from __future__ import annotations

from dataclasses import dataclass

from gtsched_site.charts import ordinal
from preferences.models import AcademicYear, PreferenceSubmission

VERB = {"ordinal": "ranked", "cardinal": "valued", "binary": "accepted"}
UNLISTED = {
    "ordinal": "a week you did not rank", "cardinal": "a week you did not value", "binary": "a week you did not accept",
}


def choice_phrase(*, rank: int | None, listed: bool, preference_type: str | None) -> str:
    """'your 3rd choice' for a listed week; 'a week you did not rank' (value / accept) for any other."""
    if not rank or not listed:
        return UNLISTED.get(preference_type or "ordinal", UNLISTED["ordinal"])
    if preference_type == "binary":
        return "a week you accepted"
    return f"your {ordinal(rank)} choice"


def better_weeks_phrase(*, listed: bool, preference_type: str | None) -> str:
    """The weeks the person preferred to this one, as they would put it."""
    kind = preference_type or "ordinal"
    if listed:
        return f"weeks you {VERB[kind]} higher"
    if kind == "cardinal":
        return "weeks you valued above the neutral 50"
    return f"weeks you {VERB[kind]}"


@dataclass(frozen=True)
class ListedWeeks:
    """The weeks (by index) one faculty member listed in their counting submission, and in which terms."""

    preference_type: str | None = None
    week_indices: frozenset[int] = frozenset()

    def listed(self, week_index: int) -> bool:
        return week_index in self.week_indices

    def numbered(self, *, rank: int | None, week_index: int) -> bool:
        """Whether the rank is the person's own choice number (a listed week of a ranked or valued list)."""
        return bool(rank) and self.listed(week_index) and self.preference_type != "binary"

    def phrase(self, *, rank: int | None, week_index: int) -> str:
        return choice_phrase(rank=rank, listed=self.listed(week_index), preference_type=self.preference_type)


def listed_weeks(*, year: AcademicYear | int, faculty_id: int) -> ListedWeeks:
    """From the submission that counts (the latest collected before the window closed); empty when there is none."""
    submission = (
        PreferenceSubmission.objects.filter(year=year, faculty_id=faculty_id).counting().order_by("-version").first()
    )
    if submission is None:
        return ListedWeeks()
    # Binary rejects are entries too, but a rejected week is effectively blocked, never listed (the utility model).
    indices = {e["week"] for e in submission.entries if submission.preference_type != "binary" or e.get("accept")}
    return ListedWeeks(preference_type=submission.preference_type, week_indices=frozenset(indices))
