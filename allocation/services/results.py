"""What a finished run leaves behind: the draft schedule's rows, the run-wide details (lottery order, VCG payments,
solver data) and per-assignment mechanism data; allocation.services.infeasibility words a run that found none."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
from django.utils import timezone

from allocation.algorithms.registry import MECHANISM_LABELS
from allocation.algorithms.types import Allocation
from allocation.models import AllocationRun, Assignment, Schedule
from allocation.problem import YearProblem
from gtsched_site.serialization import jsonable
from preferences.models import Faculty, Week

MAX_DETAIL_ITEMS = 2000  # larger per-index arrays are left out of the run row


def schedule_save(*, run: AllocationRun, built: YearProblem, allocation: Allocation) -> dict[str, Any]:
    """The run's draft schedule and its assignments (bulk); returns the run-wide details to store on the run."""
    problem = built.problem
    rows = np.asarray(allocation.assignments, dtype=np.int64).reshape(-1, 3)
    people = {
        pk: (external_id, name)
        for pk, external_id, name in Faculty.objects.filter(pk__in=built.faculty_ids.tolist()).values_list(
            "pk", "external_id", "display_name"
        )
    }
    weeks = dict(Week.objects.filter(pk__in=built.week_ids.tolist()).values_list("pk", "start_date"))
    details = result_details(built=built, allocation=allocation, people=people, weeks=weeks)
    per_assignment = assignment_mechanism_data(built=built, allocation=allocation, details=details, people=people)
    schedule = Schedule.objects.create(
        year_id=run.year_id,
        name=schedule_name(run),
        status=Schedule.Status.DRAFT,
        source=Schedule.Source.RUN,
        run=run,
        created_by_id=run.created_by_id,
    )
    Assignment.objects.bulk_create(
        [
            Assignment(
                schedule=schedule,
                faculty_id=int(built.faculty_ids[i]),
                week_id=int(built.week_ids[w]),
                rotation_id=int(built.rotation_ids[r]),
                rank=int(problem.rank[i, w]),
                utility=float(problem.utility[i, w]),
                mechanism_data=per_assignment[k],
            )
            for k, (i, w, r) in enumerate(rows.tolist())
        ],
        batch_size=1000,
    )
    return details


def schedule_name(run: AllocationRun) -> str:
    """A draft's name in words: year, mechanism and the day it ran, e.g. "2026–27 · Min-cost flow · 3 Dec 2026"."""
    day = timezone.localdate(run.created_at) if run.created_at else timezone.localdate()
    return f"{run.year} · {MECHANISM_LABELS.get(run.mechanism, run.mechanism)} · {day.day} {day:%b %Y}"


def result_details(
    *, built: YearProblem, allocation: Allocation, people: Mapping[int, tuple[str, str]], weeks: Mapping[int, dt.date],
) -> dict[str, Any]:
    """The run-wide record: lottery order and payments in the programme's own ids, solver status, sizes, objective."""
    problem = built.problem
    raw = dict(allocation.details)
    details: dict[str, Any] = {
        "result_status": allocation.status,
        "objective_value": jsonable(allocation.objective),
        "problem_fingerprint": built.fingerprint,
        "faculty": problem.n_faculty,
        "weeks": problem.n_weeks,
        "rotations": problem.n_rotations,
        "preassigned": len(problem.preassigned),
    }
    if allocation.lottery_order is not None:
        details["lottery_order"] = [
            people[int(built.faculty_ids[int(i)])][0] for i in np.asarray(allocation.lottery_order).tolist()
        ]
    payments = vcg_payment_rows(built=built, allocation=allocation, people=people, weeks=weeks)
    if payments is not None:
        details["payments"] = payments
    if "time_limit_s" in raw and "time_limit" not in raw:
        raw["time_limit"] = raw["time_limit_s"]
    for key, value in raw.items():
        size = np.size(value) if isinstance(value, np.ndarray | list | tuple) else 1
        if size <= MAX_DETAIL_ITEMS and key not in details:
            details[key] = jsonable(value)
    return details


def vcg_payment_rows(
    *, built: YearProblem, allocation: Allocation, people: Mapping[int, tuple[str, str]], weeks: Mapping[int, dt.date],
) -> list[dict[str, Any]] | None:
    """DESIGN §5's per-faculty VCG report, on the 0–100 value scale, or None when the mechanism charged nothing."""
    payments = allocation.payments
    if payments is None:
        return None
    rows = np.asarray(allocation.assignments, dtype=np.int64).reshape(-1, 3)
    held: dict[int, list[str]] = {}
    for i, w, _ in rows.tolist():
        held.setdefault(i, []).append(weeks[int(built.week_ids[w])].isoformat())
    out = []
    for i in range(built.problem.n_faculty):
        pk = int(built.faculty_ids[i])
        external_id, name = people[pk]
        out.append({
            "faculty": external_id,
            "faculty_id": pk,
            "name": name,
            "allocated_weeks": held.get(i, []),
            "reported_value": round(float(payments.reported_value[i]), 6),
            "vcg_payment": round(float(payments.vcg_payment[i]), 6),
            "others_welfare_with": round(float(payments.others_welfare_with[i]), 6),
            "others_welfare_without": round(float(payments.others_welfare_without[i]), 6),
        })
    return out


def assignment_mechanism_data(
    *, built: YearProblem, allocation: Allocation, details: Mapping[str, Any], people: Mapping[int, tuple[str, str]],
) -> list[dict[str, Any]]:
    """Per-assignment mechanism data (lottery position, pick, payment…), aligned with the allocation's rows."""
    rows = np.asarray(allocation.assignments, dtype=np.int64).reshape(-1, 3)
    data: list[dict[str, Any]] = [{} for _ in range(len(rows))]
    for key, values in allocation.per_assignment.items():
        for k, v in enumerate(jsonable(np.asarray(values).reshape(-1))[: len(rows)]):
            data[k][key] = v
    if "lottery_order" in details and rows.size and "lottery_position" not in allocation.per_assignment:
        position = {ext: p for p, ext in enumerate(details["lottery_order"], start=1)}
        for k, i in enumerate(rows[:, 0].tolist()):
            data[k]["lottery_position"] = position.get(people[int(built.faculty_ids[i])][0])
    if "payments" in details and rows.size:
        by_faculty = {row["faculty_id"]: row["vcg_payment"] for row in details["payments"]}
        for k, i in enumerate(rows[:, 0].tolist()):
            data[k].setdefault("vcg_payment", by_faculty.get(int(built.faculty_ids[i])))
    pre = {tuple(x) for x in built.problem.preassigned.tolist()}
    for k, row in enumerate(rows.tolist()):
        if tuple(row) in pre:
            data[k]["preassigned"] = True
    return data


