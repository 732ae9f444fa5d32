"""Real data as a year file: the WPI project-centre allocation data set (DESIGN §13)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any


def wpi_year_file(folder: Path, *, label: int) -> dict[str, Any]:
    """A year file from a WPI project-centre folder (students × centres ratings and centre capacities).

    Students become faculty with target load 1, centres become consecutive weeks of one rotation "project"
    whose demand is the centre's capacity, ratings 1 / 0.5 / 0 become cardinal values 100 / 50 / 0. Weeks start
    on the first Monday of July of `label`. Data: Wiratchotisatian, Atef Yekta, Trapp, INFORMS J. Computing 2022,
    doi 10.1287/ijoc.2022.1237 (MIT licence).
    """
    folder = Path(folder)
    with open(folder / "project_capacity.csv", newline="") as fh:
        capacity = {int(float(r["ProjectID"])): int(float(r["Capacity"])) for r in csv.DictReader(fh)}
    with open(folder / "student_preference.csv", newline="") as fh:
        reader = csv.reader(fh)
        projects = [int(float(p)) for p in next(reader)[1:]]
        ratings = [(int(float(r[0])), [float(x) for x in r[1:]]) for r in reader if r]
    if set(projects) != set(capacity):
        raise ValueError(f"{folder}: the rating columns and the capacity file list different centres")
    order = sorted(projects)
    july = dt.date(label, 7, 1)
    first_monday = july + dt.timedelta(days=-july.weekday() % 7)
    start = {p: (first_monday + dt.timedelta(weeks=k)).isoformat() for k, p in enumerate(order)}
    column = {p: k for k, p in enumerate(projects)}
    values = {1.0: 100, 0.5: 50, 0.0: 0}

    faculty, preferences = [], []
    for student, row in ratings:
        ident = f"S{student:04d}"
        if any(r not in values for r in row):
            raise ValueError(f"{folder}: student {student} has a rating other than 1, 0.5 or 0")
        faculty.append({
            "id": ident, "name": f"Student {student}", "email": f"{ident.lower()}@example.org",
            "rotations": ["project"], "target_load": 1, "active": True,
        })
        preferences.append({
            "faculty": ident, "preference_type": "cardinal",
            "ordinal_rankings": None, "binary_accepts": None, "blocked_weeks": [],
            "cardinal_valuations": [{"week": start[p], "value": values[row[column[p]]]} for p in order],
        })
    return {
        "academic_year": label,
        "weeks": [{"start": start[p], "holiday": None} for p in order],
        "rotations": ["project"],
        "demand": [{"week": start[p], "rotation": "project", "count": capacity[p]} for p in order],
        "faculty": faculty,
        "preferences": preferences,
    }
