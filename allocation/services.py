"""Allocation use cases (DESIGN §5): a year's problem, runs from start to schedule, comparisons, explanations, pre-assignments.

The only module that knows both worlds: it loads the ORM into the pure core's Problem, calls a strategy from the
registry, and writes the result back in one transaction. Views, the API, admin, tasks and commands call these.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import json
import logging
import re
import secrets
import time
import types as pytypes
import typing
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from allocation.algorithms import feasibility, registry
from allocation.algorithms import stats as run_stats
from allocation.algorithms.types import Allocation, Problem
from allocation.models import MECHANISM_LABELS, AllocationRun, Assignment, Comparison, PreAssignment, Schedule
from preferences.models import AcademicYear, CoverageDemand, Faculty, Rotation, Week
from preferences.services import spread_demand, submissions_current, year_preferences

logger = logging.getLogger(__name__)

NON_RESPONDENT_POLICIES = ("neutral", "exclude")
COMMON_OPTIONS = ("non_respondents",)
RESERVED_OPTIONS = ("problem", "rng", "seed")
SEED_LIMIT = 2**63  # seeds are stored in a BigIntegerField
DRAWN_SEED_LIMIT = 2**31

# The Celery task's limits live here so the service can tell a dead worker's run from a slow one.
RUN_SOFT_TIME_LIMIT_S = 840
RUN_TIME_LIMIT_S = 900
STALE_AFTER = dt.timedelta(seconds=RUN_TIME_LIMIT_S + 60)
PENDING_STALE_AFTER = dt.timedelta(hours=1)  # queued but never picked up: no worker, or the broker lost it

PROGRESS_LOADING, PROGRESS_SOLVING, PROGRESS_SAVING, PROGRESS_DONE = 10, 30, 80, 100


# --- the year as a problem ------------------------------------------------------------------------------------


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

    def faculty_index(self, faculty_id: int) -> int | None:
        hits = np.flatnonzero(self.faculty_ids == faculty_id)
        return int(hits[0]) if len(hits) else None

    def week_index(self, week_id: int) -> int | None:
        hits = np.flatnonzero(self.week_ids == week_id)
        return int(hits[0]) if len(hits) else None

    def rotation_index(self, rotation_id: int) -> int | None:
        hits = np.flatnonzero(self.rotation_ids == rotation_id)
        return int(hits[0]) if len(hits) else None


def year_problem(*, year: AcademicYear, seed: int, non_respondents: str = "neutral") -> YearProblem:
    """Build the problem every mechanism solves from the year's counting submissions, demand and pre-assignments."""
    if non_respondents not in NON_RESPONDENT_POLICIES:
        raise ValidationError(
            {"non_respondents": f"{non_respondents!r} is not a policy; use 'neutral' (include them) or 'exclude'."}
        )
    prefs = year_preferences(
        year=year, rng=np.random.default_rng(seed), include_non_respondents=non_respondents == "neutral"
    )
    model = prefs.model
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
    problem = Problem(
        utility=np.asarray(model.utility, dtype=np.float64),
        rank=np.asarray(model.rank, dtype=np.int64),
        listed=np.asarray(model.listed, dtype=bool),
        value=100.0 * np.asarray(model.score, dtype=np.float64),
        eligible=np.asarray(model.eligible, dtype=bool),
        demand=np.asarray(prefs.target_load, dtype=np.int64),
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
        fingerprint=_array_digest({**seedless, "rank": problem.rank}),
        inputs_digest=_array_digest(seedless),
        preassignment_ids=np.asarray(pre_ids, dtype=np.int64),
    )


_CANONICAL_DTYPES = {"b": np.bool_, "i": np.int64, "u": np.int64, "f": np.float64}


def _array_digest(arrays: Mapping[str, np.ndarray]) -> str:
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


# --- options ------------------------------------------------------------------------------------------------


def mechanism_clean(mechanism: Any) -> str:
    if not isinstance(mechanism, str) or mechanism not in registry.MECHANISMS:
        raise ValidationError(
            {"mechanism": f"Unknown mechanism {mechanism!r}; choose one of {', '.join(registry.MECHANISMS)}."}
        )
    try:
        registry.strategy(mechanism)
    except (ImportError, AttributeError):
        raise ValidationError(
            {"mechanism": f"The {MECHANISM_LABELS.get(mechanism, mechanism)} mechanism is not available in this installation."}
        ) from None
    return mechanism


def options_clean(*, mechanism: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check options against the mechanism's own keyword parameters; errors name `options.<name>`.

    Names must be parameters of the strategy function (or `non_respondents`); values must match the parameter's
    annotation (Literal choices, bool, int, float, str) or, unannotated, its default's type. Ranges and
    cross-option rules are the mechanism's to check when it runs (its ValueError fails the run with its words).
    """
    mechanism = mechanism_clean(mechanism)
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ValidationError({"options": "Options must be an object of option names and values."})
    parameters, hints, open_ended = strategy_parameters(registry.strategy(mechanism))
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for name, value in options.items():
        key = f"options.{name}"
        if not isinstance(name, str) or not name.isidentifier():
            errors.setdefault("options", []).append(f"{name!r} is not an option name.")
            continue
        if name == "non_respondents":
            if value not in NON_RESPONDENT_POLICIES:
                errors.setdefault(key, []).append(
                    f"{value!r} is not a policy; use 'neutral' (include them as neutral) or 'exclude' (leave them out)."
                )
                continue
        elif name in RESERVED_OPTIONS:
            hint = "give the seed as the run's seed, not as an option" if name == "seed" else "it is set by the service"
            errors.setdefault(key, []).append(f"{name} cannot be an option: {hint}.")
            continue
        elif name not in parameters and not open_ended:
            known = ", ".join(sorted([*parameters, *COMMON_OPTIONS])) or "non_respondents"
            errors.setdefault(key, []).append(
                f"{MECHANISM_LABELS.get(mechanism, mechanism)} has no option {name!r}; its options are {known}."
            )
            continue
        elif name in parameters:
            problem = _option_value_problem(value, hints.get(name, inspect.Parameter.empty), parameters[name])
            if problem:
                errors.setdefault(key, []).append(problem)
                continue
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            errors.setdefault(key, []).append("The value must be plain JSON: a number, text, true/false or a list.")
            continue
        clean[name] = value
    if errors:
        raise ValidationError(errors)
    return dict(sorted(clean.items()))


def strategy_parameters(fn: Callable[..., Any]) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(keyword parameters -> default, resolved annotations, accepts **kwargs) of a strategy function."""
    signature = inspect.signature(fn)
    parameters: dict[str, Any] = {}
    open_ended = False
    for position, (name, parameter) in enumerate(signature.parameters.items()):
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            open_ended = True
        elif parameter.kind is inspect.Parameter.VAR_POSITIONAL or position == 0 or name in RESERVED_OPTIONS:
            continue
        else:
            parameters[name] = parameter.default
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # annotations naming types that are not importable at run time
        hints = {}
    return parameters, hints, open_ended


def _option_value_problem(value: Any, hint: Any, default: Any) -> str | None:
    """A plain-words complaint when value does not fit the parameter, else None."""
    if hint is inspect.Parameter.empty or hint is Any:
        if default is inspect.Parameter.empty or default is None or value is None:
            return None
        hint = type(default)
    return None if _fits(value, hint) else _describe_expected(hint, value)


def _fits(value: Any, hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if hint is Any or hint is object:
        return True
    if hint is None or hint is type(None):
        return value is None
    if origin is typing.Literal:
        return any(value == choice and type(value) is type(choice) for choice in typing.get_args(hint))
    if origin is typing.Union or isinstance(hint, pytypes.UnionType):
        return any(_fits(value, arm) for arm in typing.get_args(hint))
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    container = origin or hint
    if container in (list, tuple, Sequence, np.ndarray) or (isinstance(container, type) and issubclass(container, Sequence)
                                                             and container is not str):
        return isinstance(value, list | tuple)
    if container in (dict, Mapping):
        return isinstance(value, dict)
    return True  # a type we cannot check here: the mechanism validates it


def _describe_expected(hint: Any, value: Any) -> str:
    origin = typing.get_origin(hint)
    if origin is typing.Literal:
        choices = ", ".join(repr(c) if not isinstance(c, str) else c for c in typing.get_args(hint))
        return f"{value!r} is not allowed; choose one of {choices}."
    if origin is typing.Union or isinstance(hint, pytypes.UnionType):
        arms = [a for a in typing.get_args(hint) if a is not type(None)]
        allows_none = len(arms) < len(typing.get_args(hint))
        text = _describe_expected(arms[0], value) if len(arms) == 1 else f"{value!r} has the wrong type."
        return text[:-1] + " (or null for the default)." if allows_none else text
    words = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
    return f"Must be {words.get(hint, 'a list' if origin in (list, tuple) else 'a valid value')}, got {value!r}."


def mechanism_options(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A run's parameters without the service-level ones (non_respondents): what the strategy receives."""
    return {k: v for k, v in parameters.items() if k not in COMMON_OPTIONS}


def _seed_clean(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= int(seed) < SEED_LIMIT:
        raise ValidationError({"seed": f"The seed must be a whole number from 0 to {SEED_LIMIT - 1}, got {seed!r}."})
    return int(seed)


_OPTION_NAME = re.compile(r"option '([A-Za-z_][A-Za-z0-9_]*)'")


def options_probe(*, mechanism: str, problem: Problem, options: Mapping[str, Any]) -> None:
    """Let the mechanism itself check its options, on a problem of the same size with nothing to assign.

    Every strategy validates its options first, naming them (`unknown option 'x'`, `option 'cost' must be…`);
    the probe has no eligible slot and no demand, so it costs next to nothing. Only errors about options count
    here: anything about the real inputs is the run's to report.
    """
    n, n_weeks, n_rot = problem.eligible.shape
    probe = Problem(
        utility=np.broadcast_to(np.zeros(1), (n, n_weeks)),
        rank=np.broadcast_to(np.arange(1, n_weeks + 1, dtype=np.int64), (n, n_weeks)),
        listed=np.broadcast_to(np.zeros(1, dtype=bool), (n, n_weeks)),
        value=np.broadcast_to(np.zeros(1), (n, n_weeks)),
        eligible=np.broadcast_to(np.zeros(1, dtype=bool), (n, n_weeks, n_rot)),
        demand=np.zeros(n, dtype=np.int64),
        capacity=np.zeros((n_weeks, n_rot), dtype=np.int64),
        is_holiday=problem.is_holiday,
    )
    try:
        registry.strategy(mechanism)(probe, rng=np.random.default_rng(0), **options)
    except ValueError as exc:
        text = str(exc)
        if "option" not in text:
            return
        named = [m for m in _OPTION_NAME.findall(text) if m in options] or [m for m in options if f"'{m}'" in text]
        text = text.split(": ", 1)[1] if text.startswith(f"{mechanism}: ") else text
        raise ValidationError({f"options.{named[0]}" if named else "options": text[:1].upper() + text[1:]}) from None
    except Exception:  # a mechanism that cannot take an empty problem: the run itself will check the options
        logger.debug("Option probe of %s skipped", mechanism, exc_info=True)


# --- runs -----------------------------------------------------------------------------------------------------


def allocation_run_start(
    *,
    year: AcademicYear,
    mechanism: str,
    options: Mapping[str, Any] | None,
    seed: int | None,
    actor,
    comparison: Comparison | None = None,
    enqueue: bool = True,
) -> tuple[AllocationRun, bool]:
    """Create a pending run and queue it, unless one on the same inputs is pending or running: then return that one.

    Returns (run, created). A missing seed is drawn and stored. With enqueue=False nothing is queued (the caller runs
    allocation_run_execute itself, as the allocate command does).
    """
    clean = options_clean(mechanism=mechanism, options=options)
    seed = _seed_clean(seed)
    policy = clean.get("non_respondents", "neutral")
    with transaction.atomic():
        AcademicYear.objects.select_for_update().filter(pk=year.pk).first()  # serialise starts per year
        _reap_stale_runs(year=year)
        drawn = seed is None
        if drawn:
            seed = secrets.randbelow(DRAWN_SEED_LIMIT)
        built = year_problem(year=year, seed=seed, non_respondents=policy)
        options_probe(mechanism=mechanism, problem=built.problem, options=mechanism_options(clean))
        fingerprint = run_fingerprint(
            problem_fingerprint=built.fingerprint, mechanism=mechanism, options=clean, seed=seed
        )
        existing = _active_run_on_same_inputs(
            year=year, mechanism=mechanism, fingerprint=fingerprint, drawn=drawn, inputs_digest=built.inputs_digest,
            parameters=clean,
        )
        if existing is not None:
            if comparison is not None and existing.comparison_id is None:
                existing.comparison = comparison
                existing.save(update_fields=["comparison"])
            return existing, False
        task_id = str(uuid.uuid4()) if enqueue else ""
        try:
            with transaction.atomic():
                run = AllocationRun.objects.create(
                    year=year,
                    mechanism=mechanism,
                    parameters=clean,
                    seed=seed,
                    seed_drawn=drawn,
                    input_fingerprint=fingerprint,
                    inputs_digest=built.inputs_digest,
                    status=AllocationRun.Status.PENDING,
                    progress=0,
                    progress_message="Waiting for a worker" if enqueue else "Starting",
                    created_by=_user_or_none(actor),
                    celery_task_id=task_id,
                    comparison=comparison,
                )
        except IntegrityError:
            # Another request inserted the same run between our check and our insert (no row lock on SQLite).
            existing = AllocationRun.objects.filter(
                year=year, mechanism=mechanism, input_fingerprint=fingerprint,
                status__in=AllocationRun.ACTIVE_STATUSES,
            ).first()
            if existing is None:
                raise
            return existing, False
        if enqueue:
            transaction.on_commit(partial(_enqueue, run.pk, task_id))
    return run, True


def _active_run_on_same_inputs(
    *, year: AcademicYear, mechanism: str, fingerprint: str, drawn: bool, inputs_digest: str, parameters: dict,
) -> AllocationRun | None:
    active = AllocationRun.objects.filter(year=year, mechanism=mechanism, status__in=AllocationRun.ACTIVE_STATUSES)
    same = active.filter(input_fingerprint=fingerprint).first()
    if same is not None or not drawn:
        return same
    # No seed given: a repeated click draws a new seed, but it is still the same request on the same inputs.
    for run in active.filter(seed_drawn=True, inputs_digest=inputs_digest).order_by("pk"):
        if run.parameters == parameters:
            return run
    return None


def _enqueue(run_id: int, task_id: str) -> None:
    from allocation.tasks import allocation_run_execute_task

    try:
        allocation_run_execute_task.apply_async(args=[run_id], task_id=task_id)
    except Exception as exc:
        # The run row is committed: record why it will not run rather than leave it pending for ever.
        logger.exception("Allocation run %s could not be queued or run", run_id)
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            error = f"The run stopped with an unexpected error: {_exception_text(exc)}"
        else:
            error = "The run could not be queued: the task broker is unreachable. Try again in a moment."
        allocation_run_fail(run_id=run_id, error=error)


def _user_or_none(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _reap_stale_runs(*, year: AcademicYear) -> None:
    """Fail runs that can no longer finish, so they stop blocking a new start on the same inputs.

    RUNNING past the task's hard time limit: the worker was killed or lost. PENDING for an hour: no worker took it.
    """
    now = timezone.now()
    runs = AllocationRun.objects.filter(year=year)
    runs.filter(status=AllocationRun.Status.RUNNING, started_at__lt=now - STALE_AFTER).update(
        status=AllocationRun.Status.FAILED,
        finished_at=now,
        error="The worker running this allocation stopped without finishing (time limit or crash). Start it again.",
        progress_message="Failed",
    )
    runs.filter(status=AllocationRun.Status.PENDING, created_at__lt=now - PENDING_STALE_AFTER).update(
        status=AllocationRun.Status.FAILED,
        finished_at=now,
        error="No worker picked this run up within an hour; check that a Celery worker is running, then start it again.",
        progress_message="Failed",
    )


def allocation_run_fail(*, run_id: int, error: str) -> bool:
    """Mark a pending or running run FAILED with a message for people; False when it had already finished."""
    return bool(
        AllocationRun.objects.filter(pk=run_id, status__in=AllocationRun.ACTIVE_STATUSES).update(
            status=AllocationRun.Status.FAILED, error=error, finished_at=timezone.now(), progress_message="Failed"
        )
    )


def _progress(run_id: int, progress: int, message: str, *, started_at: dt.datetime) -> bool:
    """Write progress on the run row; False when the run is no longer ours to run (cancelled, reclaimed)."""
    return bool(
        AllocationRun.objects.filter(pk=run_id, status=AllocationRun.Status.RUNNING, started_at=started_at).update(
            progress=progress, progress_message=message
        )
    )


def allocation_run_execute(*, run_id: int, reclaim: bool = False) -> AllocationRun:
    """Run a pending run to the end: build the problem, solve, check, save a draft schedule — or record why not.

    Idempotent by run id: anything but a PENDING run is returned unchanged (reclaim=True also restarts a RUNNING run
    whose worker was lost, for a redelivered task). Same seed and inputs give the same schedule.
    """
    run = AllocationRun.objects.select_related("year").get(pk=run_id)
    started_at = timezone.now()
    claimable = [AllocationRun.Status.PENDING] + ([AllocationRun.Status.RUNNING] if reclaim else [])
    claimed = AllocationRun.objects.filter(pk=run_id, status__in=claimable).update(
        status=AllocationRun.Status.RUNNING, started_at=started_at, progress=PROGRESS_LOADING,
        progress_message="Loading preferences and demand", error="",
    )
    if not claimed:
        run.refresh_from_db()
        return run
    label = MECHANISM_LABELS.get(run.mechanism, run.mechanism)
    timings: dict[str, float] = {}
    try:
        clock = time.perf_counter()
        built = year_problem(year=run.year, seed=run.seed, non_respondents=run.parameters.get("non_respondents", "neutral"))
        timings["load_ms"] = _ms_since(clock)
        if not _progress(run_id, PROGRESS_SOLVING, f"Solving with {label}", started_at=started_at):
            return _refreshed(run)
        strategy = registry.strategy(run.mechanism)
        clock = time.perf_counter()
        try:
            allocation = strategy(built.problem, rng=np.random.default_rng(run.seed), **mechanism_options(run.parameters))
        except ValueError as exc:
            return _fail(run, f"{label} refused the inputs: {exc}", timings)
        timings["solve_ms"] = _ms_since(clock)
        if not allocation.ok:
            return _fail(run, infeasible_message(label=label, built=built, allocation=allocation), timings)
        broken = feasibility.violations(built.problem, allocation)
        if broken:
            return _fail(
                run,
                f"{label} returned a schedule that breaks a hard constraint ({'; '.join(broken)}), so it was not saved. "
                "This is a bug in the mechanism; please report it with the run id.",
                timings,
            )
        if not _progress(run_id, PROGRESS_SAVING, "Saving the schedule", started_at=started_at):
            return _refreshed(run)
        return _save(run_id=run_id, started_at=started_at, built=built, allocation=allocation, timings=timings)
    except SoftTimeLimitExceeded:
        raise  # the task records the time limit in its own words
    except Exception as exc:
        logger.exception("Allocation run %s failed", run_id)
        return _fail(run, f"The run stopped with an unexpected error: {_exception_text(exc)}", timings)


def _ms_since(clock: float) -> float:
    return round((time.perf_counter() - clock) * 1000, 3)


def _exception_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _refreshed(run: AllocationRun) -> AllocationRun:
    run.refresh_from_db()
    return run


def _fail(run: AllocationRun, error: str, timings: Mapping[str, float]) -> AllocationRun:
    AllocationRun.objects.filter(pk=run.pk, status=AllocationRun.Status.RUNNING).update(
        status=AllocationRun.Status.FAILED, error=error, finished_at=timezone.now(), timings=dict(timings),
        progress_message="Failed",
    )
    return _refreshed(run)


def infeasible_message(*, label: str, built: YearProblem, allocation: Allocation) -> str:
    """Why no schedule exists, in words a coordinator can act on."""
    reason = next((str(allocation.details[k]) for k in ("reason", "message") if allocation.details.get(k)), "")
    hints = infeasibility_hints(built)
    text = f"{label} found no schedule that meets every hard constraint"
    text += f": {reason}" if reason else "."
    if hints:
        text += (" " if text.endswith(".") else ". ") + " ".join(hints)
    return text


def infeasibility_hints(built: YearProblem) -> list[str]:
    """Plain-words reasons a year may have no feasible schedule: too little cover, people with too few weeks, stale pre-assignments."""
    p = built.problem
    hints: list[str] = []
    seats = p.eligible & (p.capacity[None, :, :] > 0)
    open_weeks = seats.any(axis=2).sum(axis=1)
    short = np.flatnonzero(open_weeks < p.demand)
    names = _faculty_names(built.faculty_ids[short].tolist()) if len(short) else {}
    for i in short[:5].tolist():
        pk = int(built.faculty_ids[i])
        hints.append(
            f"{names.get(pk, pk)} needs {int(p.demand[i])} weeks but can serve only {int(open_weeks[i])} "
            "(blocked weeks, qualifications and demand)."
        )
    if len(short) > 5:
        hints.append(f"{len(short) - 5} more faculty members have fewer available weeks than their target load.")
    if int(p.capacity.sum()) < int(p.demand.sum()):
        hints.append(f"The year has {int(p.capacity.sum())} seats in total for {int(p.demand.sum())} weeks of target load.")
    if len(p.preassigned):
        i, w, r = p.preassigned.T
        stale = np.flatnonzero(~p.eligible[i, w, r])
        if len(stale):
            hints.append(f"{len(stale)} pre-assignment(s) are no longer possible (the week was blocked or a qualification removed).")
        load = np.zeros_like(p.capacity)
        np.add.at(load, (w, r), 1)
        if (load > p.capacity).any():
            hints.append("Pre-assignments fill more seats than a slot has.")
    return hints


def _faculty_names(pks: Sequence[int]) -> dict[int, str]:
    return dict(Faculty.objects.filter(pk__in=list(pks)).values_list("pk", "display_name"))


@transaction.atomic
def _save(*, run_id: int, started_at: dt.datetime, built: YearProblem, allocation: Allocation, timings: dict) -> AllocationRun:
    clock = time.perf_counter()
    run = AllocationRun.objects.select_for_update().get(pk=run_id)
    if run.status != AllocationRun.Status.RUNNING or run.started_at != started_at:
        return run  # cancelled (or reclaimed by a redelivered task) while we solved: write nothing
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
        name=f"{run.mechanism} run #{run.pk}",
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
    stats = run_stats.allocation_stats(problem, allocation)
    stats["compute_ms"] = timings.get("solve_ms", 0.0)
    timings["save_ms"] = _ms_since(clock)
    run.status = AllocationRun.Status.COMPLETED
    run.progress = PROGRESS_DONE
    run.progress_message = f"Done: {len(rows)} assignments"
    run.finished_at = timezone.now()
    run.stats = _jsonable(stats)
    run.details = details
    run.timings = timings
    run.save(update_fields=["status", "progress", "progress_message", "finished_at", "stats", "details", "timings"])
    return run


def _jsonable(value: Any) -> Any:
    """numpy scalars and arrays as plain JSON values."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return number if np.isfinite(number) else None
    if isinstance(value, int | str | bool) or value is None:
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


MAX_DETAIL_ITEMS = 2000  # larger per-index arrays are left out of the run row


def result_details(
    *, built: YearProblem, allocation: Allocation, people: Mapping[int, tuple[str, str]], weeks: Mapping[int, dt.date],
) -> dict[str, Any]:
    """The run-wide record: lottery order and payments in the programme's own ids, solver status, sizes, objective."""
    problem = built.problem
    raw = dict(allocation.details)
    details: dict[str, Any] = {
        "result_status": allocation.status,
        "objective_value": _jsonable(allocation.objective),
        "problem_fingerprint": built.fingerprint,
        "faculty": problem.n_faculty,
        "weeks": problem.n_weeks,
        "rotations": problem.n_rotations,
        "preassigned": len(problem.preassigned),
    }
    order = raw.pop("lottery_order", None)
    if order is not None:
        details["lottery_order"] = [people[int(built.faculty_ids[int(i)])][0] for i in np.asarray(order).tolist()]
    payments = vcg_payment_rows(built=built, allocation=allocation, people=people, weeks=weeks)
    if payments is not None:
        details["payments"] = payments
    for key in ("payments", "others_welfare_with", "others_welfare_without", "vcg_payment"):
        raw.pop(key, None)
    if "time_limit_s" in raw and "time_limit" not in raw:
        raw["time_limit"] = raw["time_limit_s"]
    for key, value in raw.items():
        size = np.size(value) if isinstance(value, np.ndarray | list | tuple) else 1
        if size <= MAX_DETAIL_ITEMS and key not in details:
            details[key] = _jsonable(value)
    return details


def _per_faculty(value: Any, n: int, built: YearProblem) -> np.ndarray | None:
    """A per-faculty quantity as an (n,) float array, from an array, a {index: v} mapping or rows with a faculty index."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        out = np.zeros(n)
        for key, v in value.items():
            out[int(key)] = float(v)
        return out
    array = np.asarray(value, dtype=float)
    return array if array.shape == (n,) else None


def vcg_payment_rows(
    *, built: YearProblem, allocation: Allocation, people: Mapping[int, tuple[str, str]], weeks: Mapping[int, dt.date],
) -> list[dict[str, Any]] | None:
    """DESIGN §5's per-faculty VCG report, on the 0–100 value scale, or None when the mechanism charged nothing.

    Accepts the mechanism's payments as an (n,) array, a {faculty index: payment} mapping, a list of rows carrying a
    faculty index, or per-assignment payments; reported value and others' welfare are derived from the problem when
    the mechanism does not give them (others without = others with + payment, the Clarke identity).
    """
    problem = built.problem
    n = problem.n_faculty
    raw = allocation.details.get("payments")
    given_with = given_without = given_value = None
    payment = None
    if isinstance(raw, Mapping) and ("vcg_payment" in raw or "payment" in raw):
        # Columns aligned with raw["faculty"] (faculty indices), as vcg.py reports them.
        index = np.asarray(raw.get("faculty", np.arange(n)), dtype=np.int64)
        payment, given_with, given_without = np.zeros(n), np.full(n, np.nan), np.full(n, np.nan)
        payment[index] = np.asarray(raw.get("vcg_payment", raw.get("payment")), dtype=float)
        for column, target in (("others_welfare_with", given_with), ("others_welfare_without", given_without)):
            if column in raw:
                target[index] = np.asarray(raw[column], dtype=float)
        if "reported_value" in raw:
            given_value = np.full(n, np.nan)
            given_value[index] = np.asarray(raw["reported_value"], dtype=float)
    elif isinstance(raw, list | tuple) and raw and isinstance(raw[0], Mapping):
        payment, given_with, given_without = np.zeros(n), np.full(n, np.nan), np.full(n, np.nan)
        for row in raw:
            i = int(row.get("faculty", row.get("i")))
            payment[i] = float(row.get("vcg_payment", row.get("payment", 0.0)))
            given_with[i] = float(row.get("others_welfare_with", np.nan))
            given_without[i] = float(row.get("others_welfare_without", np.nan))
    elif raw is not None:
        payment = _per_faculty(raw, n, built)
    if payment is None and "payment" in allocation.per_assignment:
        rows = np.asarray(allocation.assignments, dtype=np.int64).reshape(-1, 3)
        payment = np.bincount(rows[:, 0], weights=np.asarray(allocation.per_assignment["payment"], float), minlength=n)
    if payment is None:
        payment = _per_faculty(allocation.details.get("vcg_payment"), n, built)
    if payment is None:
        return None
    if given_with is None:
        given_with = _per_faculty(allocation.details.get("others_welfare_with"), n, built)
        given_without = _per_faculty(allocation.details.get("others_welfare_without"), n, built)
    rows = np.asarray(allocation.assignments, dtype=np.int64).reshape(-1, 3)
    own = np.bincount(rows[:, 0], weights=problem.value[rows[:, 0], rows[:, 1]], minlength=n)
    others_with = own.sum() - own
    if given_value is not None:
        own = np.where(np.isnan(given_value), own, given_value)
    if given_with is not None:
        others_with = np.where(np.isnan(given_with), others_with, given_with)
    others_without = others_with + payment
    if given_without is not None:
        others_without = np.where(np.isnan(given_without), others_without, given_without)
    held: dict[int, list[str]] = {}
    for i, w, _ in rows.tolist():
        held.setdefault(i, []).append(weeks[int(built.week_ids[w])].isoformat())
    out = []
    for i in range(n):
        pk = int(built.faculty_ids[i])
        external_id, name = people[pk]
        out.append({
            "faculty": external_id,
            "faculty_id": pk,
            "name": name,
            "allocated_weeks": held.get(i, []),
            "reported_value": round(float(own[i]), 6),
            "vcg_payment": round(float(payment[i]), 6),
            "others_welfare_with": round(float(others_with[i]), 6),
            "others_welfare_without": round(float(others_without[i]), 6),
        })
    return out


def assignment_mechanism_data(
    *, built: YearProblem, allocation: Allocation, details: Mapping[str, Any], people: Mapping[int, tuple[str, str]],
) -> list[dict[str, Any]]:
    """Per-assignment mechanism data (lottery position, pick, payment…), aligned with the allocation's rows."""
    rows = np.asarray(allocation.assignments, dtype=np.int64).reshape(-1, 3)
    data: list[dict[str, Any]] = [{} for _ in range(len(rows))]
    for key, values in allocation.per_assignment.items():
        for k, v in enumerate(_jsonable(np.asarray(values).reshape(-1))[: len(rows)]):
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


@transaction.atomic
def allocation_run_cancel(*, run: AllocationRun, actor) -> AllocationRun:
    """Cancel a pending or running run (its worker stops before saving); a finished run cannot be cancelled."""
    locked = AllocationRun.objects.select_for_update().get(pk=run.pk)
    if not locked.is_active:
        raise ValidationError(
            {"status": f"Run #{locked.pk} is already {locked.get_status_display().lower()}; only pending or running runs can be cancelled."}
        )
    who = getattr(_user_or_none(actor), "username", None)
    locked.status = AllocationRun.Status.CANCELLED
    locked.finished_at = timezone.now()
    locked.progress_message = f"Cancelled by {who}" if who else "Cancelled"
    locked.save(update_fields=["status", "finished_at", "progress_message"])
    if locked.celery_task_id:
        transaction.on_commit(partial(_revoke, locked.celery_task_id))
    run.refresh_from_db()
    return locked


def _revoke(task_id: str) -> None:
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        return  # nothing is queued; the run already stopped or will see the cancellation
    try:
        from gtsched_site.celery import app

        app.control.revoke(task_id, terminate=False)
    except Exception:  # the run row already says cancelled; the worker checks it before solving and saving
        logger.warning("Could not revoke task %s", task_id, exc_info=True)


# --- comparisons --------------------------------------------------------------------------------------------


def comparison_start(
    *,
    year: AcademicYear,
    mechanisms: Sequence[str],
    seed: int | None,
    options_by_mechanism: Mapping[str, Mapping[str, Any]] | None,
    actor,
) -> Comparison:
    """Run several mechanisms on the same inputs with the same seed; returns the Comparison grouping the runs.

    A repeated request while all its runs are still pending/running returns the earlier comparison.
    """
    if isinstance(mechanisms, str) or not isinstance(mechanisms, Sequence) or not mechanisms:
        raise ValidationError({"mechanisms": "Choose at least one mechanism to run."})
    errors: dict[str, list[str]] = {}
    names = list(dict.fromkeys(mechanisms))
    if len(names) != len(mechanisms):
        errors.setdefault("mechanisms", []).append("Each mechanism can appear only once.")
    unknown = [m for m in names if m not in registry.MECHANISMS]
    if unknown:
        errors.setdefault("mechanisms", []).append(
            f"Unknown mechanism(s) {', '.join(map(repr, unknown))}; choose from {', '.join(registry.MECHANISMS)}."
        )
    options_by_mechanism = dict(options_by_mechanism or {})
    for name in options_by_mechanism:
        if name not in names:
            errors.setdefault(f"options_by_mechanism.{name}", []).append(f"{name!r} is not one of the mechanisms compared.")
    try:
        seed = _seed_clean(seed)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    cleaned: dict[str, dict[str, Any]] = {}
    if not errors:
        for name in names:
            try:
                cleaned[name] = options_clean(mechanism=name, options=options_by_mechanism.get(name))
            except ValidationError as exc:
                _rekey(errors, exc, name)
    if errors:
        raise ValidationError(errors)
    seed = secrets.randbelow(DRAWN_SEED_LIMIT) if seed is None else seed
    with transaction.atomic():
        results = []
        for name in names:
            try:
                results.append(allocation_run_start(year=year, mechanism=name, options=cleaned[name], seed=seed, actor=actor))
            except ValidationError as exc:
                _rekey(errors, exc, name)
        if errors:
            raise ValidationError(errors)
        earlier = {run.comparison_id for run, _ in results}
        if not any(created for _, created in results) and len(earlier) == 1 and None not in earlier:
            return Comparison.objects.get(pk=earlier.pop())
        comparison = Comparison.objects.create(
            year=year, seed=seed, mechanisms=names, options_by_mechanism=cleaned, created_by=_user_or_none(actor),
        )
        AllocationRun.objects.filter(pk__in=[run.pk for run, _ in results if run.comparison_id is None]).update(
            comparison=comparison
        )
    return comparison


def _rekey(errors: dict[str, list[str]], exc: ValidationError, mechanism: str) -> None:
    """A run's `options.<name>` errors as `options_by_mechanism.<mechanism>.<name>`."""
    for key, messages in exc.message_dict.items():
        if key.startswith("options."):
            key = f"options_by_mechanism.{mechanism}.{key.removeprefix('options.')}"
        elif key == "options":
            key = f"options_by_mechanism.{mechanism}"
        elif key == "mechanism":
            key = "mechanisms"
        errors.setdefault(key, []).extend(messages)


# --- explanations --------------------------------------------------------------------------------------------


def assignment_explain(*, assignment: Assignment) -> dict[str, Any]:
    """ "Why did I get this?" in plain words: {"summary": str, "points": [str, ...]} (access control is the caller's)."""
    from allocation.explain import explain_assignment

    return explain_assignment(assignment=assignment)


# --- pre-assignments ------------------------------------------------------------------------------------------


def preassignment_validate(
    *, year: AcademicYear, faculty: Faculty, week: Week, rotation: Rotation, reason: str, exclude_pk: int | None = None,
) -> str:
    """Every check preassignment_add makes, without writing; returns the cleaned reason."""
    errors: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if not reason:
        errors.setdefault("reason", []).append("Give the reason for this pre-assignment; it is kept for the record.")
    elif len(reason) > PreAssignment._meta.get_field("reason").max_length:
        errors.setdefault("reason", []).append("Keep the reason under 300 characters.")
    if week.year_id != year.pk:
        errors.setdefault("week", []).append(f"Week {week.start_date} belongs to academic year {week.year}, not {year}.")
    if not year.faculty_queryset().filter(pk=faculty.pk).exists():
        errors.setdefault("faculty", []).append(f"{faculty} is not an active faculty member of academic year {year}.")
    if not faculty.rotations.filter(pk=rotation.pk).exists():
        errors.setdefault("rotation", []).append(f"{faculty} is not qualified for {rotation}; choose a rotation they serve.")
    if errors:
        raise ValidationError(errors)
    others = PreAssignment.objects.filter(year=year).exclude(pk=exclude_pk)
    if year.blocked_is_hard and _blocks(year=year, faculty=faculty, week=week):
        errors.setdefault("week", []).append(
            f"{faculty} blocked the week of {week.start_date:%d %b %Y} in their preferences; choose another week."
        )
    if others.filter(faculty=faculty, week=week).exists():
        errors.setdefault("week", []).append(
            f"{faculty} is already pre-assigned in the week of {week.start_date:%d %b %Y}; nobody serves two slots in one week."
        )
    seats = slot_capacity(year=year, week=week, rotation=rotation)
    taken = others.filter(week=week, rotation=rotation).count()
    if taken >= seats:
        errors.setdefault("rotation", []).append(
            f"The {rotation} slot in the week of {week.start_date:%d %b %Y} holds {seats} and "
            f"{'is already full of pre-assignments' if seats else 'needs nobody that week'}."
        )
    if others.filter(faculty=faculty).count() >= faculty.target_load:
        errors.setdefault("faculty", []).append(
            f"{faculty} already has {faculty.target_load} pre-assigned weeks, their whole target load."
        )
    if errors:
        raise ValidationError(errors)
    return reason


def _blocks(*, year: AcademicYear, faculty: Faculty, week: Week) -> bool:
    submission = submissions_current(year=year).get(faculty.pk)
    if submission is None:
        return False
    if week.index in submission.blocked_weeks:
        return True
    return any(e.get("week") == week.index and e.get("accept") is False for e in submission.entries)


def slot_capacity(*, year: AcademicYear, week: Week, rotation: Rotation) -> int:
    """Seats of a (week, rotation) slot: its coverage demand, or the even spread when the year gives none (DESIGN §5)."""
    demands = CoverageDemand.objects.filter(week__year=year)
    if demands.exists():
        return int(demands.filter(week=week, rotation=rotation).values_list("count", flat=True).first() or 0)
    weeks = list(year.weeks.order_by("index").values_list("pk", flat=True))
    rotations = list(Rotation.objects.order_by("name").values_list("pk", flat=True))
    total = year.faculty_queryset().aggregate(total=Sum("target_load"))["total"] or 0
    spread = spread_demand(int(total), len(weeks), len(rotations))
    return int(spread[weeks.index(week.pk), rotations.index(rotation.pk)])


@transaction.atomic
def preassignment_add(
    *, year: AcademicYear, faculty: Faculty, week: Week, rotation: Rotation, reason: str, actor,
) -> PreAssignment:
    """Fix (faculty, week, rotation) before runs, with a recorded reason; refused with field-named errors."""
    AcademicYear.objects.select_for_update().filter(pk=year.pk).first()  # serialise capacity checks per year
    reason = preassignment_validate(year=year, faculty=faculty, week=week, rotation=rotation, reason=reason)
    return PreAssignment.objects.create(
        year=year, faculty=faculty, week=week, rotation=rotation, reason=reason, created_by=_user_or_none(actor),
    )


@transaction.atomic
def preassignment_remove(*, preassignment: PreAssignment, actor) -> None:
    """Drop a pre-assignment; runs started afterwards no longer honour it."""
    logger.info("Pre-assignment %s removed by %s", preassignment.pk, getattr(actor, "username", actor))
    preassignment.delete()
