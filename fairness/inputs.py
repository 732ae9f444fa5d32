"""A year's coverage game (DESIGN §7) from the ORM, and the fingerprint that keys its stored Shapley values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocation.problem import YearProblem, array_digest, year_problem
from fairness.algorithms.game import CoverageGame, coverage_game
from preferences.models import AcademicYear

# Eligibility, loads and demand do not depend on the tie-breaking seed (only strict orders do).
INPUT_SEED = 0


@dataclass(frozen=True)
class ShapleyInputs:
    """The game with its index maps: faculty_ids[i], week_ids[w], rotation_ids[r] are the primary keys behind
    index i, w, r (the year's active faculty by external id, weeks in calendar order, rotations by name).
    fingerprint hashes exactly the game's arrays and those identities. built is the allocation problem the game was
    read from (its eligibility is the game's)."""

    game: CoverageGame
    faculty_ids: np.ndarray
    week_ids: np.ndarray
    rotation_ids: np.ndarray
    fingerprint: str
    built: YearProblem

    def faculty_index(self, faculty_id: int) -> int | None:
        return self.built.faculty_index(faculty_id)


def shapley_inputs(*, year: AcademicYear) -> ShapleyInputs:
    """The coverage game of the year's active faculty (non-respondents included, as every mechanism's default):
    eligible[i, w, r] = qualified for r and w not blocked by their counting submission, load = target loads, capacity
    = the coverage demand (the total load spread over the slots when the year gives none), as allocation reads them."""
    built = year_problem(year=year, seed=INPUT_SEED)
    problem = built.problem
    game = coverage_game(np.asarray(problem.eligible, dtype=bool), problem.demand, problem.capacity)
    fingerprint = shapley_fingerprint(game=game, faculty_ids=built.faculty_ids, week_ids=built.week_ids,
                                      rotation_ids=built.rotation_ids)
    return ShapleyInputs(game=game, faculty_ids=built.faculty_ids, week_ids=built.week_ids,
                         rotation_ids=built.rotation_ids, fingerprint=fingerprint, built=built)


def shapley_fingerprint(*, game: CoverageGame, faculty_ids, week_ids, rotation_ids) -> str:
    """sha256 over the game's arrays (qualifications and availability as eligibility, loads, demand) and the
    faculty, week and rotation identities behind their indices."""
    return array_digest({
        "eligible": game.eligible, "load": game.load, "capacity": game.capacity,
        "faculty_ids": np.asarray(faculty_ids), "week_ids": np.asarray(week_ids),
        "rotation_ids": np.asarray(rotation_ids),
    })
