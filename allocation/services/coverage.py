"""The coverage check of a schedule (DESIGN §9): its empty seats, assignments in a blocked week or an unqualified
rotation, and faculty above their target load, in plain words. The run page, the stability report and the publish
gate all read this one result."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from allocation.algorithms.coverage import coverage
from allocation.models import Schedule
from preferences.models import Faculty, Rotation, Week
from preferences.services import year_preferences

COVERAGE_KEYS = ("uncovered_seats", "blocked_assignments", "ineligible_assignments", "over_target")


def week_words(start: dt.date) -> str:
    return f"the week of {start.day} {start:%b %Y}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Seat:
    week_id: int
    week_index: int
    week_start: dt.date
    rotation: str
    demand: int
    filled: int

    @property
    def missing(self) -> int:
        return self.demand - self.filled

    @property
    def text(self) -> str:
        return (f"{week_words(self.week_start).capitalize()}, {self.rotation}: {self.missing} of "
                f"{_plural(self.demand, 'seat')} empty.")


@dataclass(frozen=True)
class Misplaced:
    """An assignment in a week its holder blocked (`kind` "blocked") or in a rotation they are not qualified for."""

    assignment_id: int
    faculty: str
    week_start: dt.date
    rotation: str
    kind: str

    @property
    def text(self) -> str:
        where = f"{self.faculty} is assigned {self.rotation} in {week_words(self.week_start)}"
        if self.kind == "blocked":
            return f"{where}, a week they blocked."
        return f"{where} but is not qualified for {self.rotation}."


@dataclass(frozen=True)
class Overload:
    faculty: str
    load: int
    target: int

    @property
    def text(self) -> str:
        return (f"{self.faculty} serves {_plural(self.load, 'week')}, {self.load - self.target} above their "
                f"target of {self.target}.")


@dataclass(frozen=True)
class ScheduleCoverage:
    """The findings, each list in calendar order. `blocked_refused` is false when the year relaxes blocked weeks
    (they are utility 0, not forbidden), and then blocked assignments are warnings like over-target load."""

    uncovered: tuple[Seat, ...]
    blocked: tuple[Misplaced, ...]
    ineligible: tuple[Misplaced, ...]
    over_target: tuple[Overload, ...]
    blocked_refused: bool = True
    unchecked: int = 0  # assignments of faculty no longer on the year's roster

    @property
    def missing_seats(self) -> int:
        return sum(seat.missing for seat in self.uncovered)

    @property
    def uncovered_weeks(self) -> list[dt.date]:
        return sorted({seat.week_start for seat in self.uncovered})

    @property
    def refused(self) -> bool:
        """The gate refuses unless forced with a written reason."""
        return bool(self.uncovered or self.ineligible or (self.blocked and self.blocked_refused))

    @property
    def any(self) -> bool:
        return bool(self.uncovered or self.blocked or self.ineligible or self.over_target or self.unchecked)

    def summary(self) -> str:
        """What the gate refuses, in a phrase ("2 empty seats in 1 week; …"); empty when nothing is refused."""
        parts = []
        if self.uncovered:
            parts.append(f"{_plural(self.missing_seats, 'empty seat')} in {_plural(len(self.uncovered_weeks), 'week')}")
        if self.blocked and self.blocked_refused:
            parts.append(f"{_plural(len(self.blocked), 'assignment')} in a week the faculty member blocked")
        if self.ineligible:
            parts.append(f"{_plural(len(self.ineligible), 'assignment')} in a rotation the faculty member is not "
                         "qualified for")
        return "; ".join(parts)

    def refusal(self) -> str:
        """One sentence: what the gate refuses and how to get past it; empty when nothing is refused."""
        if not self.refused:
            return ""
        return (f"The coverage check refuses this schedule: {self.summary()}. Fill the seats and move those "
                "assignments, or tick force and write the reason for publishing anyway.")

    def warnings(self) -> list[str]:
        out = []
        if self.blocked and not self.blocked_refused:
            out.append(f"{_plural(len(self.blocked), 'assignment')} {'is' if len(self.blocked) == 1 else 'are'} in "
                       "a week the faculty member blocked; this year allows it, at utility 0.")
        if self.over_target:
            out.append(f"{_plural(len(self.over_target), 'faculty member')} "
                       f"{'serves' if len(self.over_target) == 1 else 'serve'} above their target load.")
        if self.unchecked:
            out.append(f"{_plural(self.unchecked, 'assignment')} of faculty no longer on the year's roster "
                       f"{'was' if self.unchecked == 1 else 'were'} not checked.")
        return out

    def messages(self) -> dict[str, list[str]]:
        """Every finding in words, under the keys the API's refusal and the publication record use."""
        found = {
            "uncovered_seats": [s.text for s in self.uncovered],
            "blocked_assignments": [m.text for m in self.blocked],
            "ineligible_assignments": [m.text for m in self.ineligible],
            "over_target": [o.text for o in self.over_target],
        }
        return {key: texts for key, texts in found.items() if texts}

    def as_dict(self) -> dict[str, Any]:
        return {
            "refused": self.refused,
            "missing_seats": self.missing_seats,
            "uncovered_seats": [
                {"week": s.week_start.isoformat(), "week_index": s.week_index, "rotation": s.rotation,
                 "demand": s.demand, "filled": s.filled, "text": s.text} for s in self.uncovered
            ],
            **{key: [{"assignment": m.assignment_id, "faculty": m.faculty, "week": m.week_start.isoformat(),
                      "rotation": m.rotation, "text": m.text} for m in rows]
               for key, rows in (("blocked_assignments", self.blocked), ("ineligible_assignments", self.ineligible))},
            "over_target": [{"faculty": o.faculty, "load": o.load, "target": o.target, "text": o.text}
                            for o in self.over_target],
            "warnings": self.warnings(),
        }


def schedule_coverage(*, schedule: Schedule) -> ScheduleCoverage:
    """Check a schedule against its year's demand, blocked weeks, qualifications and target loads."""
    year = schedule.year
    prefs = year_preferences(year=year, rng=np.random.default_rng(0))  # the order is not read: any seed will do
    f_pos = {pk: i for i, pk in enumerate(prefs.faculty_ids.tolist())}
    w_pos = {pk: k for k, pk in enumerate(prefs.week_ids.tolist())}
    r_pos = {pk: k for k, pk in enumerate(prefs.rotation_ids.tolist())}
    qualified = np.zeros((len(f_pos), len(r_pos)), dtype=bool)
    for faculty_id, rotation_id in Faculty.rotations.through.objects.filter(
        faculty_id__in=f_pos, rotation_id__in=r_pos
    ).values_list("faculty_id", "rotation_id"):
        qualified[f_pos[faculty_id], r_pos[rotation_id]] = True
    rows, ids, unchecked = [], [], 0
    for pk, faculty_id, week_id, rotation_id in schedule.assignments.order_by("pk").values_list(
        "pk", "faculty_id", "week_id", "rotation_id"
    ):
        if faculty_id in f_pos and week_id in w_pos and rotation_id in r_pos:
            rows.append((f_pos[faculty_id], w_pos[week_id], r_pos[rotation_id]))
            ids.append(pk)
        else:
            unchecked += 1
    found = coverage(np.asarray(rows, dtype=np.int64).reshape(-1, 3), capacity=prefs.capacity, qualified=qualified,
                     blocked=prefs.model.blocked, target=prefs.target_load)

    starts = dict(Week.objects.filter(pk__in=prefs.week_ids.tolist()).values_list("pk", "start_date"))
    rotation_names = dict(Rotation.objects.filter(pk__in=prefs.rotation_ids.tolist()).values_list("pk", "name"))
    names = dict(Faculty.objects.filter(pk__in=prefs.faculty_ids.tolist()).values_list("pk", "display_name"))
    week_of = [starts[pk] for pk in prefs.week_ids.tolist()]
    rotation_of = [rotation_names[pk] for pk in prefs.rotation_ids.tolist()]
    name_of = [names[pk] for pk in prefs.faculty_ids.tolist()]

    def misplaced(indices: np.ndarray, kind: str) -> tuple[Misplaced, ...]:
        out = [Misplaced(ids[a], name_of[rows[a][0]], week_of[rows[a][1]], rotation_of[rows[a][2]], kind)
               for a in indices.tolist()]
        return tuple(sorted(out, key=lambda m: (m.week_start, m.rotation, m.faculty)))

    return ScheduleCoverage(
        uncovered=tuple(
            Seat(int(prefs.week_ids[w]), w, week_of[w], rotation_of[r], int(prefs.capacity[w, r]),
                 int(found.filled[w, r]))
            for w, r, _ in found.uncovered.tolist()
        ),
        blocked=misplaced(found.blocked, "blocked"),
        ineligible=misplaced(found.ineligible, "ineligible"),
        over_target=tuple(Overload(name_of[i], load, int(prefs.target_load[i])) for i, load in found.over_target.tolist()),
        blocked_refused=bool(year.blocked_is_hard),
        unchecked=unchecked,
    )
