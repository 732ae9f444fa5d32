"""Year files for the exchange tests (DESIGN §13): a small valid file, its spoiled variants, and what an import
may touch, shared by the preference half (tests/preferences) and the whole file (tests/allocation)."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from collections.abc import Callable
from pathlib import Path

from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from preferences.models import AcademicYear, Faculty, PreferenceSubmission, Week
from tests.factories import make_year

MONDAY = dt.date(2026, 7, 6)


def week(k: int) -> str:
    return (MONDAY + dt.timedelta(weeks=k)).isoformat()


def open_window() -> dict[str, str]:
    now = timezone.now()
    return {"opens": (now - dt.timedelta(days=7)).isoformat(), "closes": (now + dt.timedelta(days=7)).isoformat()}


def year_file_data() -> dict:
    """Academic year 2026: 8 weeks, a holiday, 2 rotations, 3 faculty with one preference set of each type."""
    return {
        "academic_year": 2026,
        "preference_window": open_window(),
        "weeks": [{"start": week(k), "holiday": "Independence Day" if k == 3 else None} for k in range(8)],
        "rotations": ["inpatient", "clinic"],
        "demand": [{"week": week(k), "rotation": r, "count": 1} for k in range(8) for r in ("inpatient", "clinic")],
        "faculty": [
            {"id": "F001", "name": "Dr. Ada", "email": "ada@example.org", "rotations": ["inpatient", "clinic"], "target_load": 2},
            {"id": "F002", "name": "Dr. Ben", "email": "ben@example.org", "rotations": ["inpatient"], "target_load": 2},
            {"id": "F003", "name": "Dr. Cy", "email": "cy@example.org", "rotations": ["clinic"], "target_load": 1, "active": True},
        ],
        "preferences": [
            {"faculty": "F001", "preference_type": "ordinal",
             "ordinal_rankings": [{"week": week(0), "rank": 1}, {"week": week(5), "rank": 2}],
             "cardinal_valuations": None, "binary_accepts": None, "blocked_weeks": [week(3)]},
            {"faculty": "F002", "preference_type": "cardinal", "ordinal_rankings": None,
             "cardinal_valuations": [{"week": week(1), "value": 90}, {"week": week(2), "value": 10}],
             "binary_accepts": None, "blocked_weeks": []},
            {"faculty": "F003", "preference_type": "binary", "ordinal_rankings": None, "cardinal_valuations": None,
             "binary_accepts": [{"week": week(4), "accept": True}, {"week": week(6), "accept": False}],
             "blocked_weeks": [week(7)]},
        ],
    }


def with_schedule(data: dict) -> dict:
    data = copy.deepcopy(data)
    data["schedule"] = [
        {"faculty": "F001", "week": week(0), "rotation": "inpatient"},
        {"faculty": "F002", "week": week(1), "rotation": "inpatient"},
        {"faculty": "F003", "week": week(4), "rotation": "clinic"},
        {"faculty": "F001", "week": week(5), "rotation": "clinic"},
    ]
    return data


def row_counts() -> dict[str, int]:
    """Rows in every table, many-to-many tables included."""
    return {m._meta.db_table: m.objects.count() for m in apps.get_models(include_auto_created=True)}


def snapshot() -> dict:
    """Everything an import may touch: table sizes, submission versions, and the fields updated in place."""
    return {
        "counts": row_counts(),
        "submissions": list(
            PreferenceSubmission.objects.order_by("faculty__external_id", "version")
            .values_list("faculty__external_id", "version", "content_hash")
        ),
        "years": list(AcademicYear.objects.values_list("label", "preference_opens", "preference_closes", "num_weeks")),
        "faculty": list(Faculty.objects.order_by("external_id").values_list("external_id", "display_name", "target_load", "active")),
        "holidays": list(Week.objects.order_by("year", "index").values_list("holiday_name", flat=True)),
    }


def write(tmp_path: Path, data: dict, name: str = "year.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, indent=2))
    return path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def spoiled(data: dict, spoil: Callable[[dict], None]) -> dict:
    """The file with valid changes written before the refusal is found, so the rollback is what keeps them out."""
    bad = copy.deepcopy(data)
    bad["faculty"][0]["name"] = "Dr. Ada Renamed"
    bad["faculty"].append({"id": "F004", "name": "Dr. Dee", "email": "", "rotations": ["clinic"], "target_load": 1})
    bad["preferences"].append({"faculty": "F004", "preference_type": "ordinal", "ordinal_rankings": [{"week": week(2), "rank": 1}],
                               "cardinal_valuations": None, "binary_accepts": None, "blocked_weeks": []})
    bad["weeks"][6]["holiday"] = "Labor Day"
    spoil(bad)
    return bad


# --- spoiled preference-half sections -------------------------------------------------------------------------


def _prefs(data: dict, i: int) -> dict:
    return data["preferences"][i]


def duplicate_ranks(data):
    _prefs(data, 0)["ordinal_rankings"][1]["rank"] = 1


def gapped_ranks(data):
    _prefs(data, 0)["ordinal_rankings"][1]["rank"] = 3


def value_above_100(data):
    _prefs(data, 1)["cardinal_valuations"][0]["value"] = 150


def unknown_week_date(data):
    _prefs(data, 1)["cardinal_valuations"][0]["week"] = "2031-01-06"


def week_of_another_year(data):
    make_year(label=2025, num_weeks=4, first_monday=dt.date(2025, 7, 7))
    _prefs(data, 1)["cardinal_valuations"][0]["week"] = "2025-07-07"


def window_closed(data):
    now = timezone.now()
    data["preference_window"] = {"opens": (now - dt.timedelta(days=30)).isoformat(), "closes": (now - dt.timedelta(days=1)).isoformat()}
    _prefs(data, 1)["cardinal_valuations"][0]["value"] = 55


def unknown_faculty(data):
    _prefs(data, 2)["faculty"] = "F099"


def non_monday_week(data):
    data["weeks"][3]["start"] = "2026-07-28"


def negative_demand(data):
    data["demand"][0]["count"] = -1


def unknown_qualification(data):
    data["faculty"][2]["rotations"] = ["nights"]


def other_weeks_for_an_existing_year(data):
    data["weeks"].append({"start": week(8), "holiday": None})


REFUSALS = [
    (duplicate_ranks, "preferences[0].ordinal_rankings", "Rank 1 is used more than once"),
    (gapped_ranks, "preferences[0].ordinal_rankings", "without gaps; missing 2"),
    (value_above_100, "preferences[1].cardinal_valuations[0].value", "outside 0–100"),
    (unknown_week_date, "preferences[1].cardinal_valuations[0].week", "Unknown week 2031-01-06"),
    (week_of_another_year, "preferences[1].cardinal_valuations[0].week", "belongs to academic year 2025"),
    (window_closed, "preferences", "closed"),
    (unknown_faculty, "preferences[2].faculty", 'unknown faculty id "F099"'),
    (non_monday_week, "weeks[3].start", '"2026-07-28" is not a Monday'),
    (negative_demand, "demand[0].count", "must be a whole number ≥ 0"),
    (unknown_qualification, "faculty[2].rotations", 'unknown rotation "nights" (the file lists inpatient, clinic)'),
    (other_weeks_for_an_existing_year, "weeks", "cannot change"),
]
