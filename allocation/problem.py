"""A year's inputs as the pure core's Problem (DESIGN §5), with the index maps back to primary keys and the digests
that identify a run's inputs; and a schedule over them in the SwapProblem form, which the audited change
(`allocation.changes`) checks exchanges on and the stability analysis reads."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError

from allocation.algorithms.exchange import SwapProblem
from allocation.algorithms.types import Problem
from allocation.history import with_swap_history, with_workload
from allocation.loads import TARGETS, source_loads
from allocation.models import PreAssignment, Schedule
from preferences.algorithms.utility import UtilityModel
from preferences.models import AcademicYear
from preferences.services import year_preferences

NON_RESPONDENT_POLICIES = ("neutral", "exclude")
COMMON_OPTIONS = ("non_respondents", "loads")  # run options the problem builder takes; the strategy gets the rest


@dataclass(frozen=True)
class YearProblem:
    """A year's inputs in the core's Problem form, with the index maps back to primary keys.

    faculty_ids[i], week_ids[w], rotation_ids[r] are the PKs behind index i, w, r; preassignment_ids[k] is the
    PreAssignment behind problem.preassigned[k]. fingerprint covers every array (so it depends on the seed through
    the tie-breaking order); inputs_digest covers everything except that order, so it does not.
    """

    problem: Problem
    faculty_ids: np.ndarray
    week_ids: np.ndarray
    rotation_ids: np.ndarray
    fingerprint: str
    inputs_digest: str = ""
    preassignment_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    model: UtilityModel | None = None  # the utility model behind problem.utility, with its factors and weights

    def faculty_index(self, faculty_id: int) -> int | None:
        hits = np.flatnonzero(self.faculty_ids == faculty_id)
        return int(hits[0]) if len(hits) else None

    def week_index(self, week_id: int) -> int | None:
        hits = np.flatnonzero(self.week_ids == week_id)
        return int(hits[0]) if len(hits) else None

    def rotation_index(self, rotation_id: int) -> int | None:
        hits = np.flatnonzero(self.rotation_ids == rotation_id)
        return int(hits[0]) if len(hits) else None


def year_problem(
    *, year: AcademicYear, seed: int, non_respondents: str = "neutral", loads: str = TARGETS,
) -> YearProblem:
    """Build the problem every mechanism solves from the year's counting submissions, demand and pre-assignments.

    `loads` names where the faculty loads come from (allocation.loads): the stored targets, or a registered source
    such as "shapley"; the slots' capacity stays the year's demand either way.
    """
    if non_respondents not in NON_RESPONDENT_POLICIES:
        raise ValidationError(
            {"non_respondents": f"{non_respondents!r} is not a policy; use 'neutral' (include them) or 'exclude'."}
        )
    prefs = year_preferences(
        year=year, rng=np.random.default_rng(seed), include_non_respondents=non_respondents == "neutral"
    )
    # The swap history lives with the schedules: fed into the model here (preferences cannot see it).
    model = with_swap_history(year=year, model=prefs.model, faculty_ids=prefs.faculty_ids, week_starts=prefs.week_starts)
    f_pos = {pk: i for i, pk in enumerate(prefs.faculty_ids.tolist())}
    w_pos = {pk: k for k, pk in enumerate(prefs.week_ids.tolist())}
    r_pos = {pk: k for k, pk in enumerate(prefs.rotation_ids.tolist())}
    pre_rows, pre_ids = [], []
    for pk, faculty_id, week_id, rotation_id in (
        PreAssignment.objects.filter(year=year).order_by("pk").values_list("pk", "faculty_id", "week_id", "rotation_id")
    ):
        # A pre-assigned faculty member left out of the problem (inactive, or an excluded non-respondent) drops out.
        if faculty_id in f_pos and week_id in w_pos and rotation_id in r_pos:
            pre_rows.append((f_pos[faculty_id], w_pos[week_id], r_pos[rotation_id]))
            pre_ids.append(pk)
    demand = source_loads(name=loads, year=year, faculty_ids=prefs.faculty_ids)
    problem = Problem(
        utility=np.asarray(model.utility, dtype=np.float64),
        rank=np.asarray(model.rank, dtype=np.int64),
        listed=np.asarray(model.listed, dtype=bool),
        value=100.0 * np.asarray(model.score, dtype=np.float64),
        eligible=np.asarray(model.eligible, dtype=bool),
        demand=np.asarray(prefs.target_load if demand is None else demand, dtype=np.int64),
        capacity=np.asarray(prefs.capacity, dtype=np.int64),
        is_holiday=np.asarray(prefs.is_holiday, dtype=bool),
        preassigned=np.asarray(pre_rows, dtype=np.int64).reshape(-1, 3),
    )
    for array in (problem.value, problem.demand, problem.capacity, problem.preassigned):
        array.setflags(write=False)
    ids = {"faculty_ids": prefs.faculty_ids, "week_ids": prefs.week_ids, "rotation_ids": prefs.rotation_ids}
    seedless = {
        **ids,
        "utility": problem.utility, "listed": problem.listed, "value": problem.value, "eligible": problem.eligible,
        "demand": problem.demand, "capacity": problem.capacity, "is_holiday": problem.is_holiday,
        "preassigned": problem.preassigned,
    }
    return YearProblem(
        problem=problem,
        faculty_ids=prefs.faculty_ids,
        week_ids=prefs.week_ids,
        rotation_ids=prefs.rotation_ids,
        fingerprint=array_digest({**seedless, "rank": problem.rank}),
        inputs_digest=array_digest(seedless),
        preassignment_ids=np.asarray(pre_ids, dtype=np.int64),
        model=model,
    )


_CANONICAL_DTYPES = {"b": np.bool_, "i": np.int64, "u": np.int64, "f": np.float64}


def array_digest(arrays: Mapping[str, np.ndarray]) -> str:
    """sha256 over named arrays in a canonical dtype and layout, so equal inputs hash equally on every machine."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.asarray(arrays[name])
        array = np.ascontiguousarray(array, dtype=_CANONICAL_DTYPES.get(array.dtype.kind, array.dtype))
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def run_fingerprint(*, problem_fingerprint: str, mechanism: str, options: Mapping[str, Any], seed: int) -> str:
    """The run's input fingerprint: the problem arrays, the mechanism, its canonical options and the seed."""
    canonical = json.dumps(
        {"problem": problem_fingerprint, "mechanism": mechanism, "options": options, "seed": int(seed)},
        sort_keys=True, separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def mechanism_options(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A run's parameters without the service-level ones (non_respondents, loads): what the strategy receives."""
    return {k: v for k, v in parameters.items() if k not in COMMON_OPTIONS}


def run_year_problem(*, year: AcademicYear, seed: int, parameters: Mapping[str, Any]) -> YearProblem:
    """The problem a run with these parameters solves (its non_respondents policy and its loads)."""
    return year_problem(
        year=year, seed=seed, non_respondents=parameters.get("non_respondents", "neutral"),
        loads=parameters.get("loads", TARGETS),
    )


# --- a schedule over its year's problem -------------------------------------------------------------------------


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
    base_utility: np.ndarray | None = None  # allocation's u[i,w] (workload balance 0.5), what assignments store
    model: UtilityModel | None = None  # the analysed model: workload balance of this schedule's loads

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
    # A schedule being analysed knows its loads: the workload balance factor scores them (DESIGN §4).
    model = with_workload(model=built.model, assignments=assignments) if built.model is not None else None
    problem = SwapProblem(
        utility=np.asarray(built.problem.utility if model is None else model.utility, dtype=np.float64),
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
        base_utility=np.asarray(built.problem.utility),
        model=model,
    )
