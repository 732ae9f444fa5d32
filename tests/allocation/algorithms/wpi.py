"""The WPI project-centre data as an allocation Problem, for mechanism tests and the benchmark.

Students become faculty with demand 1, centres become weeks of one rotation with the centre's capacity
(as in ``preferences.exchange.wpi_year_file``). Ratings 1 / 0.5 / 0 go through the shared utility model as
cardinal values 100 / 50 / 0, so the strict order runs very interested → interested → not interested, ties
broken by the seeded generator. A 0 ("not interested") is still ranked — it must come after the 0.5s, and an
unlisted cardinal week would score a neutral 0.5 and mix with them — but it is not *listed*: min-cost flow
without ``fill_unlisted`` never assigns a centre the student did not want.
Data: Wiratchotisatian, Atef Yekta & Trapp, INFORMS J. Computing 2022, doi 10.1287/ijoc.2022.1237 (MIT).
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

import numpy as np

from allocation.algorithms.types import Problem
from preferences.algorithms.utility import CARDINAL, build_utility_model

DATA = Path("/work/shared/data/wpi-project-centres")
IQP_2017 = DATA / "IQP2017-2018"
IQP_2018 = DATA / "IQP2018-2019"


def read_wpi(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(ratings (students, centres) in {0, 0.5, 1}, capacity (centres,)), centres in ProjectID order."""
    folder = Path(folder)
    with open(folder / "project_capacity.csv", newline="") as fh:
        capacity = {int(float(r["ProjectID"])): int(float(r["Capacity"])) for r in csv.DictReader(fh)}
    with open(folder / "student_preference.csv", newline="") as fh:
        reader = csv.reader(fh)
        projects = [int(float(p)) for p in next(reader)[1:]]
        ratings = np.array([[float(x) for x in row[1:]] for row in reader if row])
    order = np.argsort(projects)
    if sorted(projects) != sorted(capacity):
        raise ValueError(f"{folder}: the rating columns and the capacity file list different centres")
    return ratings[:, order], np.array([capacity[p] for p in sorted(projects)], dtype=np.int64)


@lru_cache(maxsize=4)
def wpi_problem(folder: Path = IQP_2017, *, seed: int = 2017) -> Problem:
    """The folder's students × centres as a Problem (read-only arrays; cached per folder and seed)."""
    ratings, capacity = read_wpi(folder)
    n, centres = ratings.shape
    model = build_utility_model(
        preference_type=np.full(n, CARDINAL, dtype=np.int8), reported=100 * ratings,
        blocked=np.zeros((n, centres), dtype=bool), qualified=np.ones((n, 1), dtype=bool),
        rng=np.random.default_rng(seed),
    )
    listed = model.listed & (ratings > 0)
    listed.setflags(write=False)
    return Problem(
        utility=model.utility, rank=model.rank, listed=listed, value=100 * model.score, eligible=model.eligible,
        demand=np.ones(n, dtype=np.int64), capacity=capacity[:, None], is_holiday=np.zeros(centres, dtype=bool),
    )


def rating_tiers(problem: Problem, rows: np.ndarray) -> dict[str, int]:
    """How many assignments went to a centre rated 100 / 50 / 0 (the WPI tiers)."""
    values = problem.value[rows[:, 0], rows[:, 1]]
    return {tier: int((values == v).sum()) for tier, v in (("very_interested", 100), ("interested", 50), ("not_interested", 0))}
