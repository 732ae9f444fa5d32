"""Stability use cases (DESIGN §9): reports, the publish gate, recommended swaps, calibration and analytics.

The only module of the app that knows both worlds besides changes.py: it loads a schedule into the pure core's
SwapProblem (allocation.schedule_problem), runs stability.algorithms.report, translates indices back to faculty, weeks,
rotations and assignment ids, and stores the result. The publish gate `schedule_publish` is the one way a draft
becomes the year's published schedule; the admin action, the coordinator page and the API all call it.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from allocation.changes import schedule_draft_swap_apply, schedule_swaps_apply
from allocation.models import Schedule, ScheduleChange
from allocation.problem import ScheduleProblem, schedule_problem
from gtsched_site.permissions import user_or_none
from gtsched_site.serialization import jsonable
from preferences.models import AcademicYear, Faculty, Rotation, Week
from stability.algorithms.calibration import calibrate_prediction
from stability.algorithms.report import stability_report
from stability.algorithms.swaps import nash_distance, swap_analysis
from stability.algorithms.types import FITTED
from stability.algorithms.welfare import price_of_anarchy, problem_key
from stability.models import (
    NashStabilityReport,
    PredictionCalibration,
    PriceOfAnarchyEstimate,
    PublicationRecord,
    StabilityLevel,
    SwapRequest,
)

EPSILON = 1e-9
SEED_LIMIT = 2**31
MAX_RESTARTS = 1000
ACCEPTABLE_POA = 1.5  # DESIGN §9: a price of anarchy below this is acceptable
CHANNELS = ("admin", "page", "api")
LEVEL_ORDER = (StabilityLevel.STABLE, StabilityLevel.MARGINAL, StabilityLevel.UNSTABLE, StabilityLevel.CRITICAL)


class PublishRefused(ValidationError):
    """The gate refused to publish. `conflict` is true when the schedule's state is the obstacle (a CRITICAL report
    without an override, a schedule that is not a draft), false when the request itself is incomplete."""

    def __init__(self, message: Mapping[str, Any], *, conflict: bool) -> None:
        super().__init__(dict(message))
        self.conflict = conflict


@dataclass(frozen=True)
class PublicationResult:
    schedule: Schedule
    record: PublicationRecord
    report: NashStabilityReport
    archived: list[Schedule] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def forced(self) -> bool:
        return self.record.forced


# --- parameters ----------------------------------------------------------------------------------------------


DEFAULTS: dict[str, Any] = {
    "thresholds": (0.05, 0.15, 0.30), "prediction_base": 0.10, "prediction_pressure": 0.50, "restarts": 20,
    "top": 10, "report_max_age_s": 3600,
}


def stability_settings() -> dict[str, Any]:
    return {**DEFAULTS, **getattr(settings, "GTSCHED_STABILITY", {})}


def report_parameters(*, restarts: int | None = None) -> dict[str, Any]:
    """Thresholds and K from settings; the prediction coefficients of the newest calibration, else the defaults."""
    conf = stability_settings()
    calibration = PredictionCalibration.objects.order_by("-created_at", "-pk").first()
    return {
        "thresholds": [float(t) for t in conf["thresholds"]],
        "base": float(calibration.base if calibration else conf["prediction_base"]),
        "pressure": float(calibration.pressure if calibration else conf["prediction_pressure"]),
        "calibration": calibration.pk if calibration else None,
        "restarts": restarts_clean(conf["restarts"] if restarts is None else restarts),
        "top": int(conf["top"]),
    }


def restarts_clean(restarts: Any) -> int:
    if isinstance(restarts, bool) or not isinstance(restarts, int | np.integer) or not 1 <= int(restarts) <= MAX_RESTARTS:
        raise ValidationError(
            {"restarts": f"K random restarts must be a whole number from 1 to {MAX_RESTARTS}, got {restarts!r}."}
        )
    return int(restarts)


def _seed_clean(seed: Any) -> int:
    if seed is None:
        return secrets.randbelow(SEED_LIMIT)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= int(seed) < 2**63:
        raise ValidationError({"seed": f"The seed must be a whole number from 0 to {2**63 - 1}, got {seed!r}."})
    return int(seed)


def stability_level_for(distance: float, thresholds: Sequence[float] | None = None) -> str:
    """STABLE < t0 ≤ MARGINAL < t1 ≤ UNSTABLE < t2 ≤ CRITICAL (DESIGN §9)."""
    t = thresholds or stability_settings()["thresholds"]
    return str(LEVEL_ORDER[int(np.searchsorted(np.asarray(t, dtype=float), distance, side="right"))])


# --- reports -------------------------------------------------------------------------------------------------


class _Names:
    """Index → display value translations for one ScheduleProblem."""

    def __init__(self, built: ScheduleProblem) -> None:
        self.built = built
        faculty = Faculty.objects.in_bulk([int(pk) for pk in built.faculty_ids])
        weeks = Week.objects.in_bulk([int(pk) for pk in built.week_ids])
        rotations = Rotation.objects.in_bulk([int(pk) for pk in built.rotation_ids])
        self.faculty = [faculty[int(pk)] for pk in built.faculty_ids]
        self.weeks = [weeks[int(pk)] for pk in built.week_ids]
        self.rotations = [rotations[int(pk)] for pk in built.rotation_ids]

    def person(self, i: int, prefix: str) -> dict[str, Any]:
        f = self.faculty[int(i)]
        return {f"{prefix}faculty_id": f.pk, f"{prefix}faculty": f.external_id, f"{prefix}faculty_name": f.display_name}

    def week(self, w: int, prefix: str) -> dict[str, Any]:
        week = self.weeks[int(w)]
        return {f"{prefix}week": week.start_date.isoformat(), f"{prefix}week_index": week.index, f"{prefix}week_id": week.pk}

    def rotation(self, r: int, prefix: str) -> dict[str, Any]:
        return {f"{prefix}rotation": self.rotations[int(r)].name}

    def assignment(self, a: int) -> int:
        return int(self.built.assignment_ids[int(a)])


def _instability_row(*, a: int, b: int, gain_self: float, gain_partner: float, names: _Names,
                     rows: np.ndarray) -> dict[str, Any]:
    """Assignment a's holder wants b's slot: both sides by id, name, week date and rotation, and both gains."""
    i, w, r = (int(x) for x in rows[a])
    j, w2, r2 = (int(x) for x in rows[b])
    return {
        "assignment": names.assignment(a),
        **names.person(i, ""), **names.week(w, ""), **names.rotation(r, ""),
        **names.week(w2, "wanted_"), **names.rotation(r2, "wanted_"),
        "partner_assignment": names.assignment(b),
        **names.person(j, "partner_"),
        "gain_self": round(float(gain_self), 6),
        "gain_partner": round(float(gain_partner), 6),
        "is_blocking": bool(gain_self > EPSILON and gain_partner > EPSILON),
    }


def _recommended_row(record: Any, names: _Names, rows: np.ndarray) -> dict[str, Any]:
    a, b = int(record.a), int(record.b)
    i, w, r = (int(x) for x in rows[a])
    j, w2, r2 = (int(x) for x in rows[b])
    return {
        "assignment_a": names.assignment(a), **names.person(i, "a_"), **names.week(w, "a_"), **names.rotation(r, "a_"),
        "assignment_b": names.assignment(b), **names.person(j, "b_"), **names.week(w2, "b_"), **names.rotation(r2, "b_"),
        "gain_a": round(float(record.gain_a), 6), "gain_b": round(float(record.gain_b), 6),
        "total_gain": round(float(record.total_gain), 6),
    }


def _deviation_rows(built: ScheduleProblem, analysis: Any, names: _Names) -> list[dict[str, Any]]:
    """Every assignment in a blocking swap with its best partner and both gains, best first.

    The report keeps only the top few; this lets a faculty member see their own instabilities wherever they rank.
    """
    partner = np.asarray(analysis.best_partner, dtype=np.int64)
    gain_self = np.asarray(analysis.best_gain_self, dtype=float)
    gain_partner = np.asarray(analysis.best_gain_partner, dtype=float)
    rows = built.problem.assignments
    out = [
        _instability_row(a=a, b=int(partner[a]), gain_self=gain_self[a], gain_partner=gain_partner[a], names=names,
                         rows=rows)
        for a in np.flatnonzero(partner >= 0).tolist()
    ]
    out.sort(key=lambda row: (-(row["gain_self"] + row["gain_partner"]), row["assignment"]))
    return out




_INDEXED = re.compile(r"\bassignment \d+ \(faculty \d+")


def _named_recommendations(recommendations: Sequence[str], top: Sequence[Mapping[str, Any]]) -> list[str]:
    """The core's advice in people's words: the sentence naming the largest instability by indices is rewritten
    with names, dates and rotations (the core knows only indices)."""
    out = []
    for text in map(str, recommendations):
        if _INDEXED.search(text):
            if not top:
                continue
            x = top[0]
            text = (
                f"The largest instability: {x['faculty_name']} (week {x['week_index'] + 1}, {x['week']}, {x['rotation']}) "
                f"and {x['partner_faculty_name']} (week {x['wanted_week_index'] + 1}, {x['wanted_week']}, "
                f"{x['wanted_rotation']}) would both gain by swapping: +{x['gain_self']:.3f} and +{x['gain_partner']:.3f}."
            )
        out.append(text)
    return out


def _poa_detail(detail: Any, estimate: PriceOfAnarchyEstimate | None) -> dict[str, Any] | None:
    if detail is None:
        return None
    return {
        "status": str(detail.status), "restarts": int(detail.restarts), "converged": int(detail.converged),
        "worst_stable_welfare": _finite(detail.worst_stable_welfare),
        "best_stable_welfare": _finite(detail.best_stable_welfare),
        "estimate": estimate.pk if estimate else None,
        "estimated_at": estimate.created_at.isoformat() if estimate else None,
        "estimate_ms": estimate.compute_ms if estimate else None,
    }


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if np.isfinite(v) else None



def price_estimate_find(*, key: str, restarts: int) -> PriceOfAnarchyEstimate | None:
    """The stored price of anarchy at K = restarts for the feasible set with this problem key, else None."""
    return PriceOfAnarchyEstimate.objects.filter(problem_key=key, restarts=restarts).first()


def _price_estimate_create(*, schedule: Schedule, built: ScheduleProblem, key: str, restarts: int,
                           seed: int) -> PriceOfAnarchyEstimate:
    clock = time.perf_counter()
    result = price_of_anarchy(built.problem, rng=np.random.default_rng(seed), restarts=restarts, epsilon=EPSILON)
    elapsed = (time.perf_counter() - clock) * 1000.0
    estimate, _ = PriceOfAnarchyEstimate.objects.update_or_create(
        problem_key=key, restarts=restarts,
        defaults={
            "year_id": schedule.year_id, "seed": seed, "status": str(result.status),
            "converged": int(result.converged), "optimal_welfare": float(result.optimal_welfare),
            "worst_stable_welfare": _finite(result.worst_stable_welfare),
            "best_stable_welfare": _finite(result.best_stable_welfare),
            "price_of_anarchy": _finite(result.price_of_anarchy),
            "price_of_stability": _finite(result.price_of_stability),
            "stable_welfare": [_finite(x) for x in result.stable_welfare.tolist()],
            "steps": [int(x) for x in result.steps.tolist()], "compute_ms": round(elapsed, 3),
        },
    )
    return estimate


def price_estimate_ensure(*, schedule: Schedule, restarts: int | None = None) -> PriceOfAnarchyEstimate | None:
    """The stored estimate for the schedule's feasible set at K (default from settings), computed and stored when
    there is none; None for a schedule without assignments. What a new draft's background job runs, so its
    reports (the publish gate's among them) carry price of anarchy / stability without waiting for it."""
    restarts = report_parameters(restarts=restarts)["restarts"]
    built = schedule_problem(schedule=schedule)
    if not len(built.problem.assignments):
        return None
    key = problem_key(built.problem, epsilon=EPSILON)
    return price_estimate_find(key=key, restarts=restarts) or _price_estimate_create(
        schedule=schedule, built=built, key=key, restarts=restarts, seed=_seed_clean(None))


def price_estimate_precompute_enabled() -> bool:
    return bool(stability_settings().get("precompute_price_of_anarchy", True))


def poa_inline_limit() -> int:
    return int(getattr(settings, "GTSCHED_STABILITY", {}).get("poa_inline_max_assignments", 3000))


def _poa_job_key(*, schedule_id: int, fingerprint: str, restarts: int) -> str:
    return f"gtsched:stability:poa:{schedule_id}:{fingerprint}:{restarts}"


def price_of_anarchy_request(*, schedule: Schedule, actor, restarts: int) -> NashStabilityReport | None:
    """A report with price of anarchy / stability at K = restarts: a fresh stored one; computed here for schedules
    up to the inline limit or with a stored estimate for their feasible set; else one Celery job per schedule
    state and K (a repeated request while it runs enqueues nothing). None means the job is running: ask again
    later."""
    from django.core.cache import cache

    from stability.tasks import POA_TIME_LIMIT_S, stability_report_task

    restarts = restarts_clean(restarts)
    built = schedule_problem(schedule=schedule)
    fresh = stability_report_fresh(schedule=schedule, built=built, restarts=restarts)
    if fresh is not None:
        return fresh
    # With a stored estimate for this feasible set the report is quick at any size.
    if (len(built.problem.assignments) <= poa_inline_limit()
            or price_estimate_find(key=problem_key(built.problem, epsilon=EPSILON), restarts=restarts) is not None):
        return stability_report_create(schedule=schedule, actor=actor, restarts=restarts, built=built)
    key = _poa_job_key(schedule_id=schedule.pk, fingerprint=built.fingerprint, restarts=restarts)
    if cache.add(key, "pending", timeout=POA_TIME_LIMIT_S):
        actor_id = getattr(user_or_none(actor), "pk", None)
        transaction.on_commit(lambda: stability_report_task.delay(schedule.pk, restarts, actor_id))
    # With eager tasks outside a transaction the job has already run.
    return stability_report_fresh(schedule=schedule, restarts=restarts)


def stability_report_background(*, schedule_id: int, restarts: int, actor_id: int | None) -> int | None:
    """The task's body: compute the report, then let the next request for this state and K start a job again."""
    from django.contrib.auth import get_user_model
    from django.core.cache import cache

    schedule = Schedule.objects.filter(pk=schedule_id).select_related("year", "run").first()
    if schedule is None:
        return None
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    built = schedule_problem(schedule=schedule)
    try:
        return stability_report_create(schedule=schedule, actor=actor, restarts=restarts, built=built).pk
    finally:
        cache.delete(_poa_job_key(schedule_id=schedule_id, fingerprint=built.fingerprint, restarts=restarts))


@transaction.atomic
def stability_report_create(
    *, schedule: Schedule, actor=None, restarts: int | None = None, seed: int | None = None,
    built: ScheduleProblem | None = None,
) -> NashStabilityReport:
    """Analyse the schedule as it stands and store the report (DESIGN §9).

    Price of anarchy comes from the stored estimate for the schedule's feasible set when there is one; else it is
    computed (and stored) for schedules up to the inline limit or when K is given. There, a seed given drives new
    restarts, which replace the stored estimate."""
    explicit_restarts = restarts is not None
    explicit_seed = seed is not None
    parameters = report_parameters(restarts=restarts)
    seed = _seed_clean(seed)
    clock = time.perf_counter()
    built = built or schedule_problem(schedule=schedule)
    # Price of anarchy runs blocking-swap dynamics from K random schedules: about 0.5 s per restart at 10,400
    # assignments. One stored estimate serves every state with the same feasible set (swaps keep it), so a report
    # reuses it; without one, large schedules get it only when asked for (the price-of-anarchy endpoint, --restarts).
    inline_limit = poa_inline_limit()
    key = problem_key(built.problem, epsilon=EPSILON)
    computes = explicit_restarts or len(built.problem.assignments) <= inline_limit
    # A seed given asks for the dynamics from that seed where they run: again, replacing the stored estimate.
    rerun = explicit_seed and computes
    estimate = None if rerun else price_estimate_find(key=key, restarts=parameters["restarts"])
    reused = estimate is not None
    if estimate is None and computes:
        estimate = _price_estimate_create(schedule=schedule, built=built, key=key, restarts=parameters["restarts"],
                                          seed=seed)
    with_poa = estimate is not None
    result = stability_report(
        built.problem, rng=None, thresholds=tuple(parameters["thresholds"]), base=parameters["base"],
        pressure=parameters["pressure"], top=parameters["top"], epsilon=EPSILON, with_price_of_anarchy=False,
        price=estimate.as_result() if estimate is not None else None,
    )
    analysis = swap_analysis(built.problem, epsilon=EPSILON)
    names = _Names(built)
    rows = built.problem.assignments
    top = [
        _instability_row(a=rec.assignment, b=rec.partner, gain_self=rec.gain_self, gain_partner=rec.gain_partner,
                         names=names, rows=rows)
        for rec in result.top_instabilities
    ]
    recommended = [_recommended_row(rec, names, rows) for rec in result.recommended_swaps]
    compute_ms = (time.perf_counter() - clock) * 1000.0
    payload = {
        "top_instabilities": top,
        "recommended_swaps": recommended,
        "deviations": _deviation_rows(built, analysis, names),
        "warnings": [str(w) for w in result.warnings],
        "recommendations": _named_recommendations(result.recommendations, top),
        "max_gain": _finite(result.max_gain) or 0.0,
        "avg_gain": _finite(result.avg_gain) or 0.0,
        "left_out": list(built.left_out),
        "algorithm_ms": _finite(result.compute_ms),
        "distance_after_recommended": _finite(result.distance_after_recommended),
        "welfare_after_recommended": _finite(result.welfare_after_recommended),
        "price_of_anarchy_detail": _poa_detail(result.price_of_anarchy_detail, estimate),
        "price_of_anarchy_status": (
            f"reused: estimated {estimate.created_at:%Y-%m-%d %H:%M} for the same preferences, eligibility, "
            "capacities and demands" if reused else "computed"
        ) if with_poa else (
            f"not computed inline for {len(built.problem.assignments):,} assignments (more than {inline_limit:,}); "
            "ask for it with GET /api/v1/game-theory/price-of-anarchy/{year} or manage.py stability --restarts K"
        ),
    }
    if built.left_out:
        payload["warnings"].append(
            f"{len(built.left_out)} assignment(s) of faculty outside this year's roster were left out of the analysis."
        )
    return NashStabilityReport.objects.create(
        schedule=schedule,
        assignments_hash=built.fingerprint,
        is_nash_equilibrium=bool(result.is_nash_equilibrium),
        nash_distance=float(result.nash_distance),
        stability_level=str(result.stability_level),
        num_blocking_swaps=int(result.num_blocking_swaps),
        num_beneficial_deviations=int(result.num_beneficial_deviations),
        total_assignments=int(result.total_assignments),
        predicted_swap_requests=int(result.predicted_swap_requests),
        current_welfare=float(result.current_welfare),
        optimal_welfare=float(result.optimal_welfare),
        efficiency_ratio=float(_finite(result.efficiency_ratio) or 0.0),
        price_of_anarchy=_finite(result.price_of_anarchy),
        price_of_stability=_finite(result.price_of_stability),
        restarts=(int(result.restarts) if result.restarts is not None else parameters["restarts"]) if with_poa else None,
        forecast=str(result.forecast),
        parameters={**parameters, "seed": estimate.seed if reused else seed, "epsilon": EPSILON, "problem_key": key,
                    "price_of_anarchy_estimate": estimate.pk if with_poa else None},
        payload=jsonable(payload),
        compute_ms=round(compute_ms, 3),
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def report_is_fresh(report: NashStabilityReport, *, fingerprint: str, parameters: Mapping[str, Any] | None = None,
                    restarts: int | None = None, now: dt.datetime | None = None) -> bool:
    """A report answers for the schedule while it hashes to the same state, is young enough and used today's
    thresholds and coefficients (and the K asked for, when one is)."""
    parameters = parameters or report_parameters()
    max_age = dt.timedelta(seconds=float(stability_settings()["report_max_age_s"]))
    used = report.parameters or {}
    return (
        report.assignments_hash == fingerprint
        and (now or timezone.now()) - report.created_at <= max_age
        and all(used.get(key) == parameters[key] for key in ("thresholds", "base", "pressure"))
        and (restarts is None or report.restarts == restarts)
    )


def stability_report_fresh(*, schedule: Schedule, built: ScheduleProblem | None = None,
                           restarts: int | None = None) -> NashStabilityReport | None:
    """The newest stored report still valid for the schedule as it stands, else None. Computes nothing."""
    built = built or schedule_problem(schedule=schedule)
    parameters = report_parameters()
    newest = (NashStabilityReport.objects.filter(schedule=schedule, assignments_hash=built.fingerprint)
              .order_by("-created_at", "-pk").first())
    if newest is not None and report_is_fresh(newest, fingerprint=built.fingerprint, parameters=parameters,
                                              restarts=restarts):
        return newest
    return None


def stability_report_for(
    *, schedule: Schedule, actor=None, refresh: bool = False, restarts: int | None = None,
    built: ScheduleProblem | None = None,
) -> NashStabilityReport:
    """The newest fresh report of the schedule, computing one when there is none (or when refresh is asked)."""
    if restarts is not None:
        restarts = restarts_clean(restarts)
    built = built or schedule_problem(schedule=schedule)
    if not refresh:
        report = stability_report_fresh(schedule=schedule, built=built, restarts=restarts)
        if report is not None:
            return report
    return stability_report_create(schedule=schedule, actor=actor, restarts=restarts, built=built)


def schedule_for_year(*, year: AcademicYear) -> Schedule | None:
    """The year's published schedule, else its newest draft (DESIGN §13 `--year`)."""
    return (
        Schedule.objects.filter(year=year, status=Schedule.Status.PUBLISHED).first()
        or Schedule.objects.filter(year=year, status=Schedule.Status.DRAFT).order_by("-created_at", "-pk").first()
    )


# --- the publish gate ----------------------------------------------------------------------------------------


def _percent(x: float) -> str:
    return f"{100 * x:.1f}%".replace(".0%", "%")


def _gate_warning(report: NashStabilityReport) -> str:
    return (
        f"Published with a {report.stability_level} stability report: {_percent(report.nash_distance)} of assignments "
        f"are in at least one blocking swap ({report.num_blocking_swaps} blocking swap"
        f"{'s' if report.num_blocking_swaps != 1 else ''}); expect about {report.predicted_swap_requests} swap requests."
    )


def critical_refusal(report: NashStabilityReport) -> str:
    return (
        f"The stability report is CRITICAL: {_percent(report.nash_distance)} of assignments are in at least one "
        f"blocking swap (threshold {_percent(report.parameters.get('thresholds', [0, 0, 0.30])[-1])}), and about "
        f"{report.predicted_swap_requests} swap requests are expected. Apply recommended swaps and recompute, or "
        "tick force and write the reason for publishing anyway."
    )


@transaction.atomic
def schedule_publish(
    *, schedule: Schedule, actor, force: bool = False, reason: str = "", channel: str,
) -> PublicationResult:
    """Publish a draft through the stability gate (DESIGN §9).

    Runs (or reuses a fresh) report. CRITICAL is refused unless force is set and a reason is written; UNSTABLE and
    MARGINAL publish with a warning. The year's previously published schedule is archived. A refusal raises
    PublishRefused with field-named messages and changes nothing.
    """
    if channel not in CHANNELS:
        raise ValidationError({"channel": f"Unknown channel {channel!r}; use one of {', '.join(CHANNELS)}."})
    reason = (reason or "").strip()
    AcademicYear.objects.select_for_update().filter(pk=schedule.year_id).first()  # one publication per year at a time
    locked = Schedule.objects.select_for_update(of=("self",)).select_related("year").filter(pk=schedule.pk).first()
    if locked is None:
        raise ValidationError({"schedule": "This schedule no longer exists."})
    if locked.status != Schedule.Status.DRAFT:
        when = f" on {locked.published_at:%d %b %Y}" if locked.published_at else ""
        raise PublishRefused(
            {"status": [f"“{locked.name}” is {locked.get_status_display().lower()}{when}; only a draft can be published."]},
            conflict=True,
        )
    if not locked.assignments.exists():
        raise PublishRefused({"schedule": [f"“{locked.name}” has no assignments; there is nothing to publish."]},
                             conflict=True)
    report = stability_report_for(schedule=locked, actor=actor)
    critical = report.stability_level == StabilityLevel.CRITICAL
    if critical and not force:
        raise PublishRefused({"force": [critical_refusal(report)]}, conflict=True)
    if critical and not reason:
        raise PublishRefused(
            {"reason": ["Publishing over a CRITICAL report needs a written reason; it is kept with the schedule."]},
            conflict=False,
        )
    if len(reason) > 2000:
        raise PublishRefused({"reason": ["Keep the reason under 2000 characters."]}, conflict=False)

    warnings: list[str] = []
    if critical:
        warnings.append(
            f"Published over a CRITICAL stability report ({_percent(report.nash_distance)} of assignments in a "
            f"blocking swap); override reason recorded: {reason}"
        )
    elif report.stability_level in (StabilityLevel.MARGINAL, StabilityLevel.UNSTABLE):
        warnings.append(_gate_warning(report))

    now = timezone.now()
    actor = user_or_none(actor)
    archived = list(
        Schedule.objects.select_for_update().filter(year_id=locked.year_id, status=Schedule.Status.PUBLISHED)
    )
    if archived:
        from stability.market import swap_requests_close_for_archived

        Schedule.objects.filter(pk__in=[s.pk for s in archived]).update(status=Schedule.Status.ARCHIVED)
        for old in archived:
            old.status = Schedule.Status.ARCHIVED
        warnings.append("Archived the previously published " + ", ".join(f"“{s.name}”" for s in archived) + ".")
        if closed := swap_requests_close_for_archived(schedules=archived):
            warnings.append(f"Closed {closed} open swap request{'s' if closed != 1 else ''} on the archived schedule.")
    locked.status = Schedule.Status.PUBLISHED
    locked.published_at = now
    locked.published_by = actor
    locked.save(update_fields=["status", "published_at", "published_by"])
    record = PublicationRecord.objects.create(
        schedule=locked,
        report=report,
        nash_distance=report.nash_distance,
        stability_level=report.stability_level,
        predicted_swap_requests=report.predicted_swap_requests,
        forced=critical,
        override_reason=reason,
        warnings=warnings,
        published_by=actor,
        published_at=now,
        channel=channel,
    )
    AcademicYear.objects.filter(pk=locked.year_id).update(status=AcademicYear.Status.PUBLISHED)
    schedule.refresh_from_db()
    return PublicationResult(schedule=locked, record=record, report=report, archived=archived, warnings=warnings)


# --- recommended swaps -----------------------------------------------------------------------------------------


def _assignment_id(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise ValidationError({name: "Give the assignment's id as a whole number."})
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError({name: f"{value!r} is not an assignment id; give it as a whole number."}) from None


@transaction.atomic
def schedule_recommended_swap_apply(*, schedule: Schedule, assignment_a: Any, assignment_b: Any, actor) -> ScheduleChange:
    """Apply one recommended (blocking) swap: audited on a published schedule, a plain edit of a draft — both leave
    a ScheduleChange. Refused, changing nothing, when the swap is no longer feasible or no longer helps both."""
    a_id, b_id = _assignment_id(assignment_a, "assignment_a"), _assignment_id(assignment_b, "assignment_b")
    locked = Schedule.objects.select_for_update().get(pk=schedule.pk)
    if locked.status == Schedule.Status.PUBLISHED:
        from stability.market import swap_requests_after_change

        change = schedule_swaps_apply(
            schedule=locked, pairs=[(a_id, b_id)], actor=actor, kind=ScheduleChange.Kind.RECOMMENDED,
            reason="Recommended swap from the stability report", require_gain=True, measure=nash_distance,
        )
        swap_requests_after_change(change=change)
        return change
    if locked.status != Schedule.Status.DRAFT:
        raise ValidationError({"schedule": f"“{locked.name}” is archived; archived schedules do not change."})
    return schedule_draft_swap_apply(
        schedule=locked, assignment_a=a_id, assignment_b=b_id, actor=actor, kind=ScheduleChange.Kind.RECOMMENDED,
        reason="Recommended swap from the stability report (draft edited before publication)", measure=nash_distance,
    )


# --- calibration -----------------------------------------------------------------------------------------------


@transaction.atomic
def prediction_calibrate(*, actor=None) -> PredictionCalibration:
    """Fit predicted_swap_requests = A × (base + pressure × distance) to the swap history of published schedules.

    One sample per schedule that went through the gate: its published nash_distance, its assignment count and the
    swap requests posted against it. Needs samples at two or more distinct distances.
    """
    records = list(
        PublicationRecord.objects.select_related("schedule")
        .annotate(_assignments=Count("schedule__assignments", distinct=True))
        .order_by("published_at", "pk")
    )
    requests = dict(
        SwapRequest.objects.filter(schedule_id__in=[r.schedule_id for r in records])
        .values_list("schedule_id").annotate(n=Count("pk")).values_list("schedule_id", "n")
    )
    distance = np.array([r.nash_distance for r in records], dtype=float)
    assignments = np.array([r._assignments for r in records], dtype=float)
    observed = np.array([requests.get(r.schedule_id, 0) for r in records], dtype=float)
    distinct = len(np.unique(np.round(distance, 12)))
    if distinct < 2:
        raise ValidationError({
            "history": (
                f"Calibration needs published schedules at two or more different nash distances; there "
                f"{'is' if len(records) == 1 else 'are'} {len(records)} published schedule(s) at {distinct} distance(s)."
            )
        })
    calibration = calibrate_prediction(distance, assignments, observed)
    if calibration.status != FITTED:
        raise ValidationError({"history": f"The swap history could not be fitted ({calibration.status})."})
    return PredictionCalibration.objects.create(
        base=float(calibration.base), pressure=float(calibration.pressure),
        r_squared=_finite(calibration.r_squared), samples=int(calibration.samples), created_by=user_or_none(actor),
    )


# --- analytics -------------------------------------------------------------------------------------------------


def regret_summary(*, schedule: Schedule) -> dict[str, Any]:
    """Total/average/max regret (rank − 1) and how many assignments got each choice, from the stored ranks."""
    ranks = list(schedule.assignments.values_list("rank", flat=True))
    known = [int(r) for r in ranks if r is not None]
    regrets = [r - 1 for r in known]
    distribution = Counter(known)
    welfare = sum(u for u in schedule.assignments.values_list("utility", flat=True) if u is not None)
    return {
        "assignments": len(ranks),
        "ranked": len(known),
        "total_regret": sum(regrets),
        "average_regret": round(sum(regrets) / len(regrets), 6) if regrets else 0.0,
        "max_regret": max(regrets, default=0),
        "rank_distribution": {str(r): distribution[r] for r in sorted(distribution)},
        "welfare": round(float(welfare), 6),
    }


def stability_summary(report: NashStabilityReport) -> dict[str, Any]:
    return {
        "report": report.pk,
        "created_at": report.created_at.isoformat(),
        "is_nash_equilibrium": report.is_nash_equilibrium,
        "nash_distance": report.nash_distance,
        "stability_level": report.stability_level,
        "num_blocking_swaps": report.num_blocking_swaps,
        "num_beneficial_deviations": report.num_beneficial_deviations,
        "predicted_swap_requests": report.predicted_swap_requests,
        "current_welfare": report.current_welfare,
        "optimal_welfare": report.optimal_welfare,
        "efficiency_ratio": report.efficiency_ratio,
        "price_of_anarchy": report.price_of_anarchy,
        "price_of_stability": report.price_of_stability,
        "restarts": report.restarts,
        "forecast": report.forecast,
    }


FAIRNESS_PENDING = (
    "Not yet computed: Shapley workload fairness (DESIGN §7) arrives with the fairness app; until then this "
    "field is null."
)


def schedule_analytics(*, schedule: Schedule, actor=None) -> dict[str, Any]:
    """Stability, regret and (placeholder) fairness of one schedule, for the API and the comparison pages."""
    report = stability_report_for(schedule=schedule, actor=actor)
    publication = PublicationRecord.objects.filter(schedule=schedule).first()
    return {
        "schedule": schedule.pk,
        "academic_year": schedule.year.label,
        "status": schedule.status,
        "stability": stability_summary(report),
        "regret": regret_summary(schedule=schedule),
        "fairness": None,
        "fairness_status": FAIRNESS_PENDING,
        "publication": publication_summary(publication) if publication else None,
    }


def publication_summary(record: PublicationRecord) -> dict[str, Any]:
    return {
        "published_at": record.published_at.isoformat(),
        "published_by": record.published_by.get_username() if record.published_by else None,
        "channel": record.channel,
        "nash_distance": record.nash_distance,
        "stability_level": record.stability_level,
        "predicted_swap_requests": record.predicted_swap_requests,
        "forced": record.forced,
        "override_reason": record.override_reason,
        "warnings": list(record.warnings or []),
        "report": record.report_id,
    }
