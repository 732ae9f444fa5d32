"""Chances before the draw (DESIGN §6): compute a year's assignment probabilities under the lottery mechanisms,
store them with what they were computed from, and recompute them — debounced — after submissions change.

Debounce: a change asks for a recomputation (:func:`chances_request`). At most one is pending per year; each new
request pushes its start later (``GTSCHED_CHANCES["debounce_s"]``, default 60 s). The pending task wakes at the
first due time, finds it moved and waits again; it claims the year's recomputation row under a row lock, so two never
run at once; a request that arrives while one runs marks it to go again when it finishes.

Where it runs: a Celery task (countdown) with a broker; on a timer thread of the web process in the embedded
default (eager tasks, ``GTSCHED_RUNS_IN_BACKGROUND``); otherwise (the test settings) when something asks for it,
e.g. the chances page polling a recomputation that is due.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from celery import chord, current_app
from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from allocation.algorithms import chance_stats, decomposition
from allocation.algorithms.chances import DEFAULT_DRAWS, TOP, ChanceCounts, draw_ranges, rsd_chances
from allocation.algorithms.lotteries import rsd_trading_matrix
from allocation.algorithms.registry import CHANCE_MECHANISMS
from allocation.algorithms.serial import probabilistic_serial_matrix
from allocation.algorithms.types import RandomAssignment
from allocation.models import ChanceMatrix, ChanceRecomputation
from allocation.problem import YearProblem, year_problem
from gtsched_site.serialization import jsonable
from preferences.models import AcademicYear, Faculty, Week

logger = logging.getLogger(__name__)

RECOMPUTE_TASK = "allocation.tasks.chances_recompute_task"
CHUNK_TASK = "allocation.tasks.chances_rsd_chunk_task"
MERGE_TASK = "allocation.tasks.chances_rsd_merge_task"
# running_stale_s: a recomputation running this long is taken as lost (its worker, thread or chord died); the
# three mechanisms on a 300-faculty year take seconds.
DEFAULTS = {"debounce_s": 60, "draws": DEFAULT_DRAWS, "seed": 20_260_706, "chunks": 4, "running_stale_s": 600}


def chances_settings() -> dict[str, Any]:
    return {**DEFAULTS, **getattr(settings, "GTSCHED_CHANCES", {})}


@dataclass
class Chances:
    """One mechanism's chances for a year, ready to store or print."""

    mechanism: str
    draws: int
    seed: int
    built: YearProblem
    probabilities: np.ndarray  # (n, W)
    stderr: np.ndarray  # (n, W), zeros for an exact mechanism
    top: np.ndarray  # (n, len(TOP)) chance of at least one top-k week
    details: dict[str, Any] = field(default_factory=dict)


def chances_compute(
    *, year: AcademicYear, mechanism: str = "rsd", draws: int | None = None, seed: int | None = None,
    built: YearProblem | None = None, chunks: int = 1,
) -> Chances:
    """The year's chances under `mechanism` (rsd by Monte Carlo; probabilistic_serial exact; rsd_trading from
    `draws` RSD lotteries, traded). Ties in strict orders are broken by `seed`, as in a run with that seed."""
    if mechanism not in CHANCE_MECHANISMS:
        raise ValueError(f"{mechanism!r} has no chances; choose one of {', '.join(CHANCE_MECHANISMS)}.")
    config = chances_settings()
    draws = int(config["draws"] if draws is None else draws)
    seed = int(config["seed"] if seed is None else seed)
    built = built or year_problem(year=year, seed=seed)
    problem = built.problem
    started = time.perf_counter()
    if mechanism == "rsd":
        counts = sum(
            (rsd_chances(problem, seed=seed, start=a, stop=b, hits=True) for a, b in draw_ranges(draws, chunks)),
            ChanceCounts(np.zeros((problem.n_faculty, problem.n_weeks), np.int64), 0,
                         np.zeros((problem.n_faculty, len(TOP)), np.int64)),
        )
        return rsd_from_counts(built=built, counts=counts, seed=seed, compute_ms=_ms(started))
    if mechanism == "probabilistic_serial":
        matrix, details, draws = probabilistic_serial_matrix(problem), {}, 0
    else:
        matrix, traded = rsd_trading_matrix(problem, seed=seed, draws=draws)
        details = {"trades": int(len(traded.trades)), "happiness_before": traded.happiness_before,
                   "happiness_after": traded.happiness_after}
    return _exact(built=built, mechanism=mechanism, matrix=matrix, draws=draws, seed=seed, details=details,
                  started=started)


def rsd_from_counts(*, built: YearProblem, counts: ChanceCounts, seed: int, compute_ms: float) -> Chances:
    draws = max(counts.draws, 1)
    return Chances(
        mechanism="rsd", draws=counts.draws, seed=seed, built=built, probabilities=counts.probabilities(),
        stderr=counts.stderr(), top=counts.hits / draws, details={"compute_ms": compute_ms},
    )


def _exact(*, built, mechanism, matrix: RandomAssignment, draws, seed, details, started) -> Chances:
    problem = built.problem
    lottery = decomposition.decompose(matrix, demand=problem.demand, capacity=problem.capacity,
                                      eligible=problem.eligible)
    top = chance_stats.lottery_top_chances(problem, lottery.weights, lottery.schedules, lottery.total)
    probabilities = matrix.week_probabilities()
    return Chances(
        mechanism=mechanism, draws=draws, seed=seed, built=built, probabilities=probabilities,
        # RSD + trading starts from `draws` lotteries: its chances carry their binomial error (trading moves
        # probability exactly and adds none); probabilistic serial is exact.
        stderr=np.sqrt(probabilities * (1 - probabilities) / draws) if draws else np.zeros_like(probabilities),
        top=top,
        details={**details, "decomposition_size": lottery.size, "compute_ms": _ms(started)},
    )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def chances_store(*, year: AcademicYear, chances: Chances, computed_at: dt.datetime | None = None) -> ChanceMatrix:
    """Replace the year's stored matrix for the mechanism; stale when the inputs changed while it was computed."""
    built, problem = chances.built, chances.built.problem
    ranks = chance_stats.expected_rank(chances.probabilities, problem.rank)
    summary = []
    for i in range(problem.n_faculty):
        listed = np.flatnonzero(problem.listed[i])
        summary.append({
            "demand": int(problem.demand[i]),
            "top1": round(float(chances.top[i, TOP.index(1)]), 6),
            "top3": round(float(chances.top[i, TOP.index(3)]), 6),
            "expected_rank": None if not np.isfinite(ranks[i]) else round(float(ranks[i]), 3),
            "listed": listed[np.argsort(problem.rank[i, listed], kind="stable")].tolist(),
        })
    chances.details["comparison"] = chance_stats.comparison_row(problem, chances.probabilities, chances.top)
    chances.details["seats"] = np.asarray(problem.capacity).sum(axis=1).tolist()
    current = year_problem(year=year, seed=chances.seed).inputs_digest
    matrix, _ = ChanceMatrix.objects.update_or_create(
        year=year, mechanism=chances.mechanism,
        defaults={
            "computed_at": computed_at or timezone.now(),
            "fingerprint": built.inputs_digest,
            "draws": chances.draws,
            "seed": chances.seed,
            "faculty_ids": built.faculty_ids.tolist(),
            "week_ids": built.week_ids.tolist(),
            "probabilities": np.round(chances.probabilities, 6).tolist(),
            "stderr": np.round(chances.stderr, 6).tolist(),
            "summary": summary,
            "details": jsonable(chances.details),
            "stale": current != built.inputs_digest,
        },
    )
    return matrix


def chances_current(*, year: AcademicYear, mechanism: str = "rsd") -> tuple[ChanceMatrix | None, bool]:
    """(the stored matrix or None, whether it is current: computed from the year's present inputs)."""
    matrix = ChanceMatrix.objects.filter(year=year, mechanism=mechanism).first()
    if matrix is None:
        return None, False
    if not _still_names_its_rows(matrix):
        # A week or faculty member it was computed for was deleted: its columns and rows no longer line up with
        # anything a page could show. It waits for the recomputation the deletion's edit asks for.
        return None, False
    if matrix.stale:
        return matrix, False
    fresh = year_problem(year=year, seed=matrix.seed).inputs_digest == matrix.fingerprint
    if not fresh:
        ChanceMatrix.objects.filter(pk=matrix.pk).update(stale=True)
        matrix.stale = True
    return matrix, fresh


def _still_names_its_rows(matrix: ChanceMatrix) -> bool:
    weeks, faculty = set(matrix.week_ids), set(matrix.faculty_ids)
    return (Week.objects.filter(pk__in=weeks).count() == len(weeks)
            and Faculty.objects.filter(pk__in=faculty).count() == len(faculty))


# --- the debounced recomputation ---------------------------------------------------------------------------------


def chances_request(
    *, year_id: int, now: dt.datetime | None = None, delay_s: float | None = None,
) -> ChanceRecomputation:
    """A change to the year's inputs: mark its chances stale and make sure one recomputation is due `debounce_s`
    from now (a pending one moves later; a running one goes again when it finishes). `delay_s` overrides the
    debounce: a coordinator's "Recompute now" asks with 0, and a pending recomputation is then scheduled at once."""
    now = now or timezone.now()
    delay = float(chances_settings()["debounce_s"] if delay_s is None else delay_s)
    with transaction.atomic():
        record = _locked_record(year_id)
        record.requests += 1
        record.requested_at = now
        record.due_at = now + dt.timedelta(seconds=delay)
        first = record.state == ChanceRecomputation.State.IDLE or _lost(record, now)
        sooner = delay_s is not None and record.state == ChanceRecomputation.State.PENDING
        if first:
            record.state = ChanceRecomputation.State.PENDING
            record.again = False
        elif record.state == ChanceRecomputation.State.RUNNING:
            record.again = True
        record.save()
        ChanceMatrix.objects.filter(year_id=year_id).update(stale=True)
        if first or sooner:  # the task already queued wakes later; the row lock keeps the two from both running
            transaction.on_commit(lambda: _schedule(year_id, delay))
    return record


def _lost(record: ChanceRecomputation, now: dt.datetime) -> bool:
    """A recomputation RUNNING for longer than any can take: its worker, thread or chord died with it."""
    return (
        record.state == ChanceRecomputation.State.RUNNING and record.started_at is not None
        and record.started_at < now - dt.timedelta(seconds=float(chances_settings()["running_stale_s"]))
    )


def _locked_record(year_id: int) -> ChanceRecomputation:
    try:
        with transaction.atomic():
            ChanceRecomputation.objects.get_or_create(year_id=year_id)
    except IntegrityError:
        pass  # created by a concurrent request
    return ChanceRecomputation.objects.select_for_update().get(year_id=year_id)


def chances_run_due(
    *, year_id: int, now: dt.datetime | None = None, compute: Callable[..., Any] | None = None,
) -> str:
    """Run the year's pending recomputation if it is due. Returns what happened: "idle" (nothing pending),
    "running" (another one runs), "waiting" (not due yet: rescheduled), "done" or "failed"."""
    now = now or timezone.now()
    with transaction.atomic():
        record = _locked_record(year_id)
        state = record.state
        lost = _lost(record, now)
        if state == ChanceRecomputation.State.RUNNING and not lost:
            return "running"
        if state == ChanceRecomputation.State.IDLE:
            return "idle"
        if record.due_at and now < record.due_at and not lost:
            wait = (record.due_at - now).total_seconds()
            transaction.on_commit(lambda: _schedule(year_id, wait))
            return "waiting"
        record.state = ChanceRecomputation.State.RUNNING
        record.started_at = now
        record.again = False
        record.error = ""
        record.save()
    token = now.isoformat()  # names this run: only it may finish the row (a late or stray finish does nothing)
    outcome, error = "done", ""
    try:
        outcome = (compute or chances_recompute)(year=AcademicYear.objects.get(pk=year_id), token=token) or "done"
    except Exception as exc:  # recorded on the row and logged; the next change tries again
        logger.exception("Recomputing the chances of year %s failed", year_id)
        outcome, error = "failed", f"{type(exc).__name__}: {exc}"
    if outcome != "dispatched":  # else the chord's callback finishes it
        chances_finish(year_id=year_id, token=token, error=error)
    return outcome


def chances_refresh(*, year: AcademicYear, force: bool = False) -> str:
    """Recompute the year's chances now, in this process (or on the workers), when they are missing or stale or a
    recomputation is pending — e.g. one left pending by a command whose timer thread ended with it. `force`
    recomputes current chances too. Returns "current" (nothing to do), "running", or chances_run_due's outcome."""
    with transaction.atomic():
        record = _locked_record(year.pk)
        if record.state == ChanceRecomputation.State.RUNNING and not _lost(record, timezone.now()):
            return "running"
        current = all(chances_current(year=year, mechanism=m)[1] for m in CHANCE_MECHANISMS)
        if current and record.state == ChanceRecomputation.State.IDLE and not force:
            return "current"
        record.state = ChanceRecomputation.State.PENDING
        record.due_at = timezone.now()
        record.again = False
        record.save()
    return chances_run_due(year_id=year.pk)


def chances_finish(*, year_id: int, token: str, error: str = "") -> bool:
    """End the running recomputation `token` names: idle, or pending again when a change arrived while it ran.
    False (and nothing changed) when that run is no longer the running one: it finished already, or was taken
    over as lost."""
    with transaction.atomic():
        record = _locked_record(year_id)
        if record.state != ChanceRecomputation.State.RUNNING or record.started_at is None or (
            record.started_at.isoformat() != token
        ):
            return False
        record.finished_at = timezone.now()
        record.error = error
        if record.again:
            record.again = False
            record.state = ChanceRecomputation.State.PENDING
            wait = max(0.0, (record.due_at - timezone.now()).total_seconds()) if record.due_at else 0.0
            transaction.on_commit(lambda: _schedule(year_id, wait))
        else:
            record.state = ChanceRecomputation.State.IDLE
        record.save()
    return True


def chances_recompute(*, year: AcademicYear, token: str = "") -> str:
    """Compute and store every lottery mechanism's chances for the year, on the same inputs and seed.

    The exact mechanisms are computed here; RSD's Monte Carlo draws go out as a Celery chord of block-aligned
    chunks (``chunks`` in GTSCHED_CHANCES), whose callback adds the counts, stores the matrix and finishes the
    recomputation ("dispatched"). With eager tasks the chord runs in this process, in order.
    """
    config = chances_settings()
    seed, draws, chunks = int(config["seed"]), int(config["draws"]), int(config["chunks"])
    built = year_problem(year=year, seed=seed)
    for mechanism in ("probabilistic_serial", "rsd_trading"):
        chances_store(year=year, chances=chances_compute(year=year, mechanism=mechanism, built=built, seed=seed,
                                                         draws=draws))
    header = [current_app.tasks[CHUNK_TASK].s(year.pk, seed, a, b, built.inputs_digest)
              for a, b in draw_ranges(draws, chunks)]
    chord(header)(current_app.tasks[MERGE_TASK].s(year.pk, seed, built.inputs_digest, token))
    return "dispatched"


def chances_rsd_chunk(*, year_id: int, seed: int, start: int, stop: int, fingerprint: str) -> dict[str, Any] | None:
    """One chunk of RSD draws as plain counts (JSON for the result backend); None when the inputs changed."""
    built = year_problem(year=AcademicYear.objects.get(pk=year_id), seed=seed)
    if built.inputs_digest != fingerprint:
        return None
    started = time.perf_counter()
    counts = rsd_chances(built.problem, seed=seed, start=start, stop=stop, hits=True)
    return {"draws": counts.draws, "counts": counts.counts.tolist(), "hits": counts.hits.tolist(),
            "compute_ms": _ms(started)}


def chances_rsd_merge(
    *, year_id: int, seed: int, fingerprint: str, chunks: list[dict[str, Any] | None], token: str = "",
) -> str:
    """Add the chunks' exact counts, store RSD's matrix and finish the recomputation `token` names.

    Counts drawn on inputs that changed meanwhile (a chunk saw it, or the inputs differ now) are not stored: the
    recomputation finishes and asks for another one. A failure is recorded on the row before it is raised.
    """
    try:
        year = AcademicYear.objects.get(pk=year_id)
        built = year_problem(year=year, seed=seed)
        if any(chunk is None for chunk in chunks) or built.inputs_digest != fingerprint:
            chances_finish(year_id=year_id, token=token)
            chances_request(year_id=year_id)
            return "stale"
        n, n_weeks = built.problem.n_faculty, built.problem.n_weeks
        total = ChanceCounts(
            sum((np.asarray(c["counts"], dtype=np.int64).reshape(n, n_weeks) for c in chunks),
                np.zeros((n, n_weeks), dtype=np.int64)),
            sum(c["draws"] for c in chunks),
            sum((np.asarray(c["hits"], dtype=np.int64).reshape(n, len(TOP)) for c in chunks),
                np.zeros((n, len(TOP)), dtype=np.int64)),
        )
        chances = rsd_from_counts(built=built, counts=total, seed=seed,
                                  compute_ms=round(sum(c["compute_ms"] for c in chunks), 1))
        chances.details["chunks"] = len(chunks)
        chances_store(year=year, chances=chances)
    except Exception as exc:
        chances_finish(year_id=year_id, token=token, error=f"{type(exc).__name__}: {exc}")
        raise
    chances_finish(year_id=year_id, token=token)
    return "done"


def _schedule(year_id: int, delay: float) -> None:
    """Make the recomputation task run in `delay` seconds wherever tasks run (see the module docstring)."""
    try:
        if not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            current_app.tasks[RECOMPUTE_TASK].apply_async(args=[year_id], countdown=max(0.0, delay))
        elif getattr(settings, "GTSCHED_RUNS_IN_BACKGROUND", False):
            timer = threading.Timer(max(0.0, delay) + 0.05, _run_on_thread, args=[year_id])
            timer.daemon = True
            timer.start()
    except Exception:
        logger.exception("Could not schedule the chances of year %s; the chances page will run it when due", year_id)


def _run_on_thread(year_id: int) -> None:
    try:
        chances_run_due(year_id=year_id)
    finally:
        connections.close_all()


OVERDUE_S = 30  # a pending recomputation this long past due lost its timer (the process that set it ended)
OVERDUE_BROKER_S = 600  # … or, with a broker, its task


def chances_catch_up(*, year: AcademicYear) -> str:
    """With no worker and no timer (eager tasks run in the request), run a due recomputation now; else report.
    In the embedded product, a pending recomputation long overdue lost its timer thread (`manage.py demo_year`
    ended, or the server restarted): it gets a new one."""
    if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False) and not getattr(settings, "GTSCHED_RUNS_IN_BACKGROUND", False):
        return chances_run_due(year_id=year.pk)
    eager = getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False)
    # With a broker, a task lost with its worker or broker is queued again after a longer wait; running it twice
    # is harmless (the row lock lets one claim it).
    overdue = timezone.now() - dt.timedelta(seconds=OVERDUE_S if eager else OVERDUE_BROKER_S)
    record = ChanceRecomputation.objects.filter(year=year).first()
    lost = record is not None and (
        (record.state == ChanceRecomputation.State.PENDING and record.due_at is not None and record.due_at < overdue)
        or _lost(record, timezone.now())
    )
    if lost:
        _schedule(year.pk, 0.0)  # chances_run_due takes a lost running one over
    return "scheduled"
