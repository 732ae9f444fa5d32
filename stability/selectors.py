"""Reads of the stability app: a schedule in the pure core's SwapProblem form, with index maps back to rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from allocation.models import PreAssignment, Schedule
from allocation.problem import YearProblem, array_digest, year_problem
from stability.algorithms.types import SwapProblem


@dataclass(frozen=True)
class ScheduleProblem:
    """A schedule's assignments over its year's utilities and eligibility.

    assignment_ids[a] is the Assignment behind problem.assignments[a]; faculty_ids, week_ids and rotation_ids are
    the year problem's index maps and rank its strict orders (rank[i, w], 1 = best). Assignments of faculty outside the year's problem (inactive, off the roster) are
    left out of the analysis and listed in `left_out`. `fingerprint` hashes everything the analysis reads, so a
    stored report is fresh exactly while it matches.
    """

    schedule_id: int
    problem: SwapProblem
    assignment_ids: np.ndarray
    faculty_ids: np.ndarray
    week_ids: np.ndarray
    rotation_ids: np.ndarray
    rank: np.ndarray
    fingerprint: str
    left_out: tuple[int, ...] = ()

    def assignment_index(self, assignment_id: int) -> int | None:
        hits = np.flatnonzero(self.assignment_ids == assignment_id)
        return int(hits[0]) if len(hits) else None


def schedule_seed(schedule: Schedule) -> int:
    """The tie-breaking seed of the run that made the schedule (0 for imported and hand-made ones).

    Utilities do not depend on it; only strict orders do, and the stability analysis reads utilities.
    """
    return int(schedule.run.seed) if schedule.run_id else 0


def schedule_side_constraints(schedule: Schedule) -> dict[str, object]:
    """The hard side constraints of the CP-SAT run that made the schedule, as SwapProblem fields.

    A swap must not break them either (DESIGN §9: "no other hard constraint breaks"): the holiday cap and, when
    hard, the back-to-back rule. Soft back-to-back is a cost, not a constraint; other mechanisms have neither.
    """
    if not schedule.run_id or schedule.run.mechanism != "cp_sat":
        return {}
    parameters = schedule.run.parameters or {}
    side: dict[str, object] = {}
    if isinstance(parameters.get("max_holidays"), int) and not isinstance(parameters["max_holidays"], bool):
        side["max_holidays"] = int(parameters["max_holidays"])
    if parameters.get("back_to_back") == "hard":
        side["no_back_to_back"] = True
    return side


def schedule_problem(*, schedule: Schedule, built: YearProblem | None = None) -> ScheduleProblem:
    built = built or year_problem(year=schedule.year, seed=schedule_seed(schedule))
    f_pos = {pk: i for i, pk in enumerate(built.faculty_ids.tolist())}
    w_pos = {pk: k for k, pk in enumerate(built.week_ids.tolist())}
    r_pos = {pk: k for k, pk in enumerate(built.rotation_ids.tolist())}
    preassigned = set(
        PreAssignment.objects.filter(year_id=schedule.year_id).values_list("faculty_id", "week_id", "rotation_id")
    )
    rows, ids, locked, left_out = [], [], [], []
    for pk, faculty_id, week_id, rotation_id in (
        schedule.assignments.order_by("pk").values_list("pk", "faculty_id", "week_id", "rotation_id")
    ):
        if faculty_id not in f_pos or week_id not in w_pos or rotation_id not in r_pos:
            left_out.append(pk)
            continue
        rows.append((f_pos[faculty_id], w_pos[week_id], r_pos[rotation_id]))
        ids.append(pk)
        locked.append((faculty_id, week_id, rotation_id) in preassigned)
    assignments = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    problem = SwapProblem(
        utility=np.asarray(built.problem.utility, dtype=np.float64),
        eligible=np.asarray(built.problem.eligible, dtype=bool),
        capacity=np.asarray(built.problem.capacity, dtype=np.int64),
        assignments=assignments,
        locked=np.asarray(locked, dtype=bool),
        is_holiday=np.asarray(built.problem.is_holiday, dtype=bool),
        **schedule_side_constraints(schedule),
    )
    assignment_ids = np.asarray(ids, dtype=np.int64)
    fingerprint = array_digest({
        "assignment_ids": assignment_ids, "assignments": assignments, "locked": problem.locked,
        "utility": problem.utility, "eligible": problem.eligible, "capacity": problem.capacity,
        "faculty_ids": built.faculty_ids, "week_ids": built.week_ids, "rotation_ids": built.rotation_ids,
        "is_holiday": problem.is_holiday,
        "side": np.array([-1 if problem.max_holidays is None else problem.max_holidays, int(problem.no_back_to_back)]),
    })
    return ScheduleProblem(
        schedule_id=schedule.pk,
        problem=problem,
        assignment_ids=assignment_ids,
        faculty_ids=built.faculty_ids,
        week_ids=built.week_ids,
        rotation_ids=built.rotation_ids,
        rank=np.asarray(built.problem.rank),
        fingerprint=fingerprint,
        left_out=tuple(left_out),
    )
