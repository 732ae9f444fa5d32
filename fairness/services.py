"""Shapley values of a year's coverage game (DESIGN §7): request a computation, run it (exact, or Monte Carlo in
Celery chunks merged exactly), store a row per faculty member, and tell whether stored values are current.

A computation is current exactly while the year's inputs still hash to its fingerprint (fairness.inputs): any change
to qualifications, target loads, blocked weeks or demand makes it stale, and a stale one is never shown as current.

Where it runs: `shapley_request` stores a pending computation and queues `shapley_execute` after commit. An exact
computation (n ≤ 15 unless Monte Carlo is asked for) runs in that task; a Monte Carlo one sends its antithetic pairs
out as a Celery chord of block-aligned chunks (``chunks`` in ``GTSCHED_SHAPLEY``) whose callback adds their integer
sums and stores the values. With eager tasks (the embedded default and the tests) the chord runs in this process, in
order; ``inline=True`` (the command) skips Celery altogether. The same seed gives the same values however the pairs
are split.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
import operator
import time
import uuid
from functools import partial
from typing import Any

import numpy as np
from celery import chord, current_app
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from allocation.models import Assignment
from allocation.querysets import current_schedule
from fairness.algorithms.shapley import (
    DEFAULT_SAMPLES,
    EXACT,
    EXACT_MAX,
    MAX_SAMPLES,
    MIN_SAMPLES,
    MONTE_CARLO,
    PermutationSums,
    ShapleyResult,
    check_samples,
    exact_shapley,
    pair_ranges,
    sample_sums,
)
from fairness.algorithms.workload import workload
from fairness.inputs import ShapleyInputs, shapley_inputs
from fairness.models import ShapleyComputation, ShapleyValue
from gtsched_site.background import run_in_background, runs_in_background
from gtsched_site.limits import seed_clean
from gtsched_site.permissions import user_or_none
from preferences.models import AcademicYear, Faculty, Rotation

logger = logging.getLogger(__name__)

EXECUTE_TASK = "fairness.tasks.shapley_execute_task"
CHUNK_TASK = "fairness.tasks.shapley_chunk_task"
MERGE_TASK = "fairness.tasks.shapley_merge_task"
METHODS = ("auto", EXACT, MONTE_CARLO)
# running_stale_s: a computation running this long is taken as lost (its worker or chord died) and may be retried.
DEFAULTS = {"samples": DEFAULT_SAMPLES, "seed": 20_260_706, "chunks": 4, "running_stale_s": 1800}
PROGRESS_LOADING, PROGRESS_COMPUTING, PROGRESS_SAVING, PROGRESS_DONE = 5, 10, 90, 100


def shapley_settings() -> dict[str, Any]:
    """GTSCHED_SHAPLEY over DEFAULTS: default samples and seed, Celery chunks, when a running computation is lost."""
    return {**DEFAULTS, **getattr(settings, "GTSCHED_SHAPLEY", {})}


def shapley_parameters_clean(
    *, n_faculty: int, method: Any = "auto", samples: Any = None, seed: Any = None,
) -> tuple[str, int, int]:
    """(method, samples, seed) to compute with, or a ValidationError naming each bad field.

    method "auto" is exact for at most EXACT_MAX faculty, else Monte Carlo; "exact" beyond EXACT_MAX is refused.
    samples (permutations, MIN_SAMPLES–MAX_SAMPLES) and seed default from GTSCHED_SHAPLEY; an exact computation
    stores samples 0 and seed 0.
    """
    config = shapley_settings()
    errors: dict[str, str] = {}
    method = "auto" if method is None else method
    if method not in METHODS:
        errors["method"] = f"{method!r} is not a method; use 'auto', 'exact' or 'monte_carlo'."
    elif method == EXACT and n_faculty > EXACT_MAX:
        errors["method"] = (f"The exact method is for at most {EXACT_MAX} faculty; this year has {n_faculty}. "
                            "Use Monte Carlo sampling.")
    try:
        samples = check_samples(int(config["samples"]) if samples is None else samples)
    except ValueError:
        errors["samples"] = (f"Samples must be a whole number of permutations from {MIN_SAMPLES:,} to "
                             f"{MAX_SAMPLES:,}, got {samples!r}.")
    try:
        seed = seed_clean(seed)
    except ValidationError as exc:
        errors["seed"] = exc.message_dict["seed"][0]
    if errors:
        raise ValidationError(errors)
    if method == EXACT or (method == "auto" and n_faculty <= EXACT_MAX):
        return EXACT, 0, 0
    return MONTE_CARLO, samples, int(config["seed"]) if seed is None else seed


# --- requesting and running a computation ----------------------------------------------------------------------


def shapley_request(
    *, year: AcademicYear, method: str = "auto", samples: int | None = None, seed: int | None = None, actor=None,
    enqueue: bool = True,
) -> tuple[ShapleyComputation, bool]:
    """Store a pending computation of the year's Shapley values and queue it after commit; (computation, created).

    A pending or running computation on the same inputs and parameters is returned instead (a repeated click never
    starts a second one). Bad parameters raise ValidationError naming the field, and nothing is stored. With
    enqueue=False nothing is queued: the caller runs shapley_execute itself (as the command does).
    """
    inputs = shapley_inputs(year=year)
    method, samples, seed = shapley_parameters_clean(n_faculty=inputs.game.n_faculty, method=method,
                                                     samples=samples, seed=seed)
    chunks = 1 if method == EXACT else len(pair_ranges(samples // 2, max(1, int(shapley_settings()["chunks"]))))
    with transaction.atomic():
        AcademicYear.objects.select_for_update().filter(pk=year.pk).first()  # serialise requests per year
        _reap_lost(year=year)
        existing = ShapleyComputation.objects.filter(
            year=year, status__in=ShapleyComputation.ACTIVE_STATUSES, fingerprint=inputs.fingerprint,
            method=method, samples=samples, seed=seed,
        ).first()
        if existing is not None:
            return existing, False
        task_id = str(uuid.uuid4()) if enqueue else ""
        computation = ShapleyComputation.objects.create(
            year=year, fingerprint=inputs.fingerprint, method=method, samples=samples, seed=seed, chunks=chunks,
            n_faculty=inputs.game.n_faculty, total_demand=inputs.game.total_demand,
            progress_message="Waiting for a worker" if enqueue else "Starting", requested_by=user_or_none(actor),
            celery_task_id=task_id,
        )
        if enqueue:
            transaction.on_commit(partial(_enqueue, computation.pk, task_id))
    return computation, True


def _enqueue(computation_id: int, task_id: str) -> None:
    if runs_in_background():
        # No worker (the embedded default): a thread of this process, so the page that asked answers at once and
        # polls the progress.
        run_in_background(_send, computation_id, task_id)
    else:
        _send(computation_id, task_id)


def _send(computation_id: int, task_id: str) -> None:
    try:
        current_app.tasks[EXECUTE_TASK].apply_async(args=[computation_id], task_id=task_id)
    except Exception as exc:  # the row is committed: say why it will not run rather than leave it pending
        logger.exception("Shapley computation %s could not be queued or run", computation_id)
        shapley_fail(computation_id=computation_id, error=f"The computation could not run: {_text(exc)}")


def _reap_lost(*, year: AcademicYear) -> None:
    """Fail computations whose worker died, so they stop blocking a new request on the same inputs."""
    cutoff = timezone.now() - dt.timedelta(seconds=float(shapley_settings()["running_stale_s"]))
    ShapleyComputation.objects.filter(year=year, status__in=ShapleyComputation.ACTIVE_STATUSES).filter(
        created_at__lt=cutoff,
    ).update(status=ShapleyComputation.Status.FAILED, finished_at=timezone.now(), progress_message="Failed",
             error="The computation stopped without finishing (its worker was lost). Compute again.")


def shapley_fail(*, computation_id: int, error: str) -> bool:
    """Mark a pending or running computation FAILED with a message for people; False when it had finished."""
    return bool(ShapleyComputation.objects.filter(
        pk=computation_id, status__in=ShapleyComputation.ACTIVE_STATUSES,
    ).update(status=ShapleyComputation.Status.FAILED, error=error, finished_at=timezone.now(),
             progress_message="Failed"))


def shapley_execute(*, computation_id: int, inline: bool = False) -> ShapleyComputation:
    """Run a pending computation: exact here, or Monte Carlo as a chord of chunks (in this process when inline).

    Idempotent by id: anything but a PENDING computation is returned unchanged. Failures are recorded on the row.
    """
    claimed = ShapleyComputation.objects.filter(pk=computation_id, status=ShapleyComputation.Status.PENDING).update(
        status=ShapleyComputation.Status.RUNNING, started_at=timezone.now(), progress=PROGRESS_LOADING,
        progress_message="Building the coverage game", error="",
    )
    computation = ShapleyComputation.objects.select_related("year").get(pk=computation_id)
    if not claimed:
        return computation
    try:
        inputs = shapley_inputs(year=computation.year)
        if inputs.fingerprint != computation.fingerprint:
            return _failed(computation, "The year's inputs changed after this computation was requested; "
                                        "compute again.")
        _progress(computation_id, PROGRESS_COMPUTING, _computing_message(computation))
        started = time.perf_counter()
        if computation.method == EXACT:
            result = exact_shapley(inputs.game)
            return shapley_store(computation=computation, inputs=inputs, result=result, compute_ms=_ms(started))
        ranges = pair_ranges(computation.samples // 2, computation.chunks)
        if inline:
            parts = [sample_sums(inputs.game, seed=computation.seed, start=a, stop=b) for a, b in ranges]
            result = functools.reduce(operator.add, parts).result()
            return shapley_store(computation=computation, inputs=inputs, result=result, compute_ms=_ms(started))
        header = [current_app.tasks[CHUNK_TASK].s(computation_id, a, b, computation.fingerprint) for a, b in ranges]
        chord(header)(current_app.tasks[MERGE_TASK].s(computation_id))
    except Exception as exc:
        logger.exception("Shapley computation %s failed", computation_id)
        shapley_fail(computation_id=computation_id, error=f"The computation stopped with an error: {_text(exc)}")
    computation.refresh_from_db()
    return computation


def _computing_message(computation: ShapleyComputation) -> str:
    if computation.method == EXACT:
        return f"Computing exactly over all {2 ** computation.n_faculty:,} coalitions"
    return f"Sampling {computation.samples:,} permutations in {computation.chunks} chunk(s)"


def shapley_chunk(*, computation_id: int, start: int, stop: int, fingerprint: str) -> dict[str, Any] | None:
    """Antithetic pairs [start, stop) of the computation's seeded sequence as plain integer sums (JSON for the
    result backend); None when the computation is gone or no longer running, or the inputs changed."""
    computation = ShapleyComputation.objects.select_related("year").filter(
        pk=computation_id, status=ShapleyComputation.Status.RUNNING,
    ).first()
    if computation is None:
        return None
    inputs = shapley_inputs(year=computation.year)
    if inputs.fingerprint != fingerprint:
        return None
    started = time.perf_counter()
    sums = sample_sums(inputs.game, seed=computation.seed, start=start, stop=stop)
    ShapleyComputation.objects.filter(pk=computation_id, status=ShapleyComputation.Status.RUNNING).update(
        chunks_done=F("chunks_done") + 1,
    )
    done = ShapleyComputation.objects.filter(pk=computation_id).values_list("chunks_done", "chunks").first()
    if done:
        share = min(1.0, done[0] / max(done[1], 1))
        _progress(computation_id, PROGRESS_COMPUTING + int((PROGRESS_SAVING - PROGRESS_COMPUTING) * share),
                  f"Sampled {done[0]} of {done[1]} chunks")
    return {**sums_to_json(sums), "compute_ms": _ms(started)}


def shapley_merge(*, computation_id: int, chunks: list[dict[str, Any] | None]) -> str:
    """The chord's callback: add the chunks' integer sums and store the values; "done", "failed" or "gone"."""
    computation = ShapleyComputation.objects.select_related("year").filter(pk=computation_id).first()
    if computation is None or computation.status != ShapleyComputation.Status.RUNNING:
        return "gone"
    try:
        inputs = shapley_inputs(year=computation.year)
        if any(chunk is None for chunk in chunks) or inputs.fingerprint != computation.fingerprint:
            _failed(computation, "The year's inputs changed while the values were computed; compute again.")
            return "failed"
        total = functools.reduce(operator.add, (sums_from_json(chunk) for chunk in chunks))
        shapley_store(computation=computation, inputs=inputs, result=total.result(),
                      compute_ms=round(sum(chunk["compute_ms"] for chunk in chunks), 1))
    except Exception as exc:
        logger.exception("Merging Shapley computation %s failed", computation_id)
        shapley_fail(computation_id=computation_id, error=f"Merging the chunks failed: {_text(exc)}")
        return "failed"
    return "done"


def sums_to_json(sums: PermutationSums) -> dict[str, Any]:
    return {"pairs": sums.pairs, "total": sums.total.tolist(), "squares": sums.squares.tolist(),
            "size_total": sums.size_total.tolist(), "size_count": sums.size_count.tolist(),
            "grand_value": sums.grand_value}


def sums_from_json(data: dict[str, Any]) -> PermutationSums:
    def ints(key: str) -> np.ndarray:
        return np.asarray(data[key], dtype=np.int64)

    n = len(data["total"])
    return PermutationSums(int(data["pairs"]), ints("total"), ints("squares"), ints("size_total").reshape(n, n),
                           ints("size_count").reshape(n, n), int(data["grand_value"]))


# --- storing ---------------------------------------------------------------------------------------------------


@transaction.atomic
def shapley_store(
    *, computation: ShapleyComputation, inputs: ShapleyInputs, result: ShapleyResult, compute_ms: float,
) -> ShapleyComputation:
    """Write a row per faculty member and complete the computation, comparing the fair shares with the year's
    published schedule (else its newest draft); nothing is written when the computation is no longer running."""
    locked = ShapleyComputation.objects.select_for_update().get(pk=computation.pk)
    if locked.status != ShapleyComputation.Status.RUNNING:
        return locked
    game = inputs.game
    schedule = current_schedule(year=computation.year, include_drafts=True)
    actual = actual_loads(schedule=schedule, faculty_ids=inputs.faculty_ids)
    load = workload(result.phi, grand_value=result.grand_value, total_demand=game.total_demand, actual=actual)
    names = qualification_names(faculty_ids=inputs.faculty_ids)
    capacity = game.coverage_capacity()
    ShapleyValue.objects.bulk_create(
        ShapleyValue(
            computation=locked, year_id=locked.year_id, faculty_id=int(pk), position=i,
            shapley_value=float(result.phi[i]), ci_low=float(result.ci_low[i]), ci_high=float(result.ci_high[i]),
            expected_workload=float(load.expected[i]), expected_weeks=int(load.expected_weeks[i]),
            actual_workload=int(actual[i]), deviation=float(load.deviation[i]),
            is_overloaded=bool(load.over[i]), is_underloaded=bool(load.under[i]),
            coverage_capacity=int(capacity[i]), target_load=int(game.load[i]), qualifications=names[int(pk)],
            marginal_by_size=[None if math.isnan(x) else float(x) for x in result.by_size[i]],
        )
        for i, pk in enumerate(inputs.faculty_ids.tolist())
    )
    locked.status = ShapleyComputation.Status.COMPLETED
    locked.progress, locked.progress_message = PROGRESS_DONE, "Done"
    locked.grand_value, locked.total_demand = int(result.grand_value), game.total_demand
    locked.samples = int(result.samples)
    locked.fairness_score = load.fairness_score
    locked.schedule = schedule
    locked.compute_ms = compute_ms
    locked.finished_at = timezone.now()
    locked.save()
    return locked


def actual_loads(*, schedule, faculty_ids: np.ndarray) -> np.ndarray:
    """(n,) each faculty member's assignments in `schedule` (zeros without one)."""
    out = np.zeros(len(faculty_ids), dtype=np.int64)
    if schedule is None:
        return out
    position = {int(pk): i for i, pk in enumerate(np.asarray(faculty_ids).tolist())}
    for faculty_id, in Assignment.objects.filter(schedule=schedule).values_list("faculty_id"):
        if faculty_id in position:
            out[position[faculty_id]] += 1
    return out


def qualification_names(*, faculty_ids) -> dict[int, list[str]]:
    """{faculty pk: names of the rotations they are qualified for, by name}."""
    names: dict[int, list[str]] = {int(pk): [] for pk in np.asarray(faculty_ids).tolist()}
    through = Faculty.rotations.through.objects.filter(faculty_id__in=list(names))
    rotation_names = dict(Rotation.objects.values_list("pk", "name"))
    for faculty_id, rotation_id in through.values_list("faculty_id", "rotation_id"):
        names[faculty_id].append(rotation_names[rotation_id])
    return {pk: sorted(v) for pk, v in names.items()}


# --- reading -------------------------------------------------------------------------------------------------


def shapley_current(
    *, year: AcademicYear, inputs: ShapleyInputs | None = None,
) -> tuple[ShapleyComputation | None, bool]:
    """(the values to show, whether they are current). The newest completed computation whose fingerprint equals
    the year's present inputs' is current; without one, the newest completed computation is returned as stale
    (never to be shown as current); (None, False) when nothing was ever completed."""
    inputs = inputs or shapley_inputs(year=year)
    completed = ShapleyComputation.objects.filter(year=year, status=ShapleyComputation.Status.COMPLETED)
    fresh = completed.filter(fingerprint=inputs.fingerprint).order_by("-finished_at", "-pk").first()
    if fresh is not None:
        return fresh, True
    return completed.order_by("-finished_at", "-pk").first(), False


def shapley_latest(*, year: AcademicYear) -> ShapleyComputation | None:
    """The year's newest computation in any state, for a page polling a running one."""
    return ShapleyComputation.objects.filter(year=year).order_by("-created_at", "-pk").first()


def _progress(computation_id: int, progress: int, message: str) -> None:
    ShapleyComputation.objects.filter(pk=computation_id, status=ShapleyComputation.Status.RUNNING).update(
        progress=progress, progress_message=message)


def _failed(computation: ShapleyComputation, error: str) -> ShapleyComputation:
    shapley_fail(computation_id=computation.pk, error=error)
    computation.refresh_from_db()
    return computation


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
