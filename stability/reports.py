"""Stability reports (DESIGN §9): a schedule analysed as it stands, stored, reused while fresh.

Loads a schedule into the pure core's SwapProblem (allocation.schedule_problem), runs stability.algorithms.report and
translates indices back to faculty, weeks, rotations and assignment ids. Price of anarchy comes from the stored
estimate of the schedule's feasible set (stability.estimates).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from allocation.algorithms.exchange import EPSILON
from allocation.models import Schedule
from allocation.problem import ScheduleProblem, schedule_problem
from gtsched_site.serialization import jsonable
from preferences.models import Faculty, Rotation, Week
from stability.algorithms.report import stability_report
from stability.algorithms.swaps import swap_analysis
from stability.algorithms.welfare import problem_key
from stability.estimates import finite, poa_job_key, price_estimate_create, price_estimate_find
from stability.models import NashStabilityReport, PriceOfAnarchyEstimate
from stability.parameters import poa_inline_limit, report_parameters, restarts_clean, seed_draw, stability_settings
from stability.recommendations import recommendation_rows, recommendation_sentences


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


def _poa_detail(detail: Any, estimate: PriceOfAnarchyEstimate | None) -> dict[str, Any] | None:
    if detail is None:
        return None
    return {
        "status": str(detail.status), "restarts": int(detail.restarts), "converged": int(detail.converged),
        "worst_stable_welfare": finite(detail.worst_stable_welfare),
        "best_stable_welfare": finite(detail.best_stable_welfare),
        "estimate": estimate.pk if estimate else None,
        "estimated_at": estimate.created_at.isoformat() if estimate else None,
        "estimate_ms": estimate.compute_ms if estimate else None,
    }


def stability_report_background(*, schedule_id: int, restarts: int, actor_id: int | None) -> int | None:
    """The task's body: compute the report, then let the next request for this state and K start a job again."""
    schedule = Schedule.objects.filter(pk=schedule_id).select_related("year", "run").first()
    if schedule is None:
        return None
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    built = schedule_problem(schedule=schedule)
    try:
        return stability_report_create(schedule=schedule, actor=actor, restarts=restarts, built=built).pk
    finally:
        cache.delete(poa_job_key(schedule_id=schedule_id, fingerprint=built.fingerprint, restarts=restarts))


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
    seed = seed_draw(seed)
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
        estimate = price_estimate_create(schedule=schedule, built=built, key=key, restarts=parameters["restarts"],
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
    rows_named = recommendation_rows(result.advice, top)
    compute_ms = (time.perf_counter() - clock) * 1000.0
    payload = {
        "top_instabilities": top,
        "recommended_swaps": recommended,
        "deviations": _deviation_rows(built, analysis, names),
        "warnings": [str(w) for w in result.warnings],
        "recommendations": recommendation_sentences({"recommendation_rows": rows_named}),
        "recommendation_rows": rows_named,
        "max_gain": finite(result.max_gain) or 0.0,
        "avg_gain": finite(result.avg_gain) or 0.0,
        "left_out": list(built.left_out),
        "algorithm_ms": finite(result.compute_ms),
        "distance_after_recommended": finite(result.distance_after_recommended),
        "welfare_after_recommended": finite(result.welfare_after_recommended),
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
        efficiency_ratio=float(finite(result.efficiency_ratio) or 0.0),
        price_of_anarchy=finite(result.price_of_anarchy),
        price_of_stability=finite(result.price_of_stability),
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
