"""Price-of-anarchy estimates (DESIGN §9): one stored estimate per feasible set and K, found, computed or ensured.

Blocking-swap dynamics from K random schedules cost about 0.5 s per restart at 10,400 assignments; swaps keep the
feasible set, so every state of a schedule (and every schedule with the same preferences, eligibility, capacities
and demands) reuses one estimate.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from allocation.algorithms.exchange import EPSILON
from allocation.models import Schedule
from allocation.problem import ScheduleProblem, schedule_problem
from stability.algorithms.welfare import price_of_anarchy, problem_key
from stability.models import PriceOfAnarchyEstimate
from stability.parameters import report_parameters, seed_draw


def finite(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if np.isfinite(v) else None


def poa_job_key(*, schedule_id: int, fingerprint: str, restarts: int) -> str:
    """The cache key that lets one background job run per schedule state and K."""
    return f"gtsched:stability:poa:{schedule_id}:{fingerprint}:{restarts}"


def price_estimate_find(*, key: str, restarts: int) -> PriceOfAnarchyEstimate | None:
    """The stored price of anarchy at K = restarts for the feasible set with this problem key, else None."""
    return PriceOfAnarchyEstimate.objects.filter(problem_key=key, restarts=restarts).first()


def price_estimate_create(*, schedule: Schedule, built: ScheduleProblem, key: str, restarts: int,
                           seed: int) -> PriceOfAnarchyEstimate:
    clock = time.perf_counter()
    result = price_of_anarchy(built.problem, rng=np.random.default_rng(seed), restarts=restarts, epsilon=EPSILON)
    elapsed = (time.perf_counter() - clock) * 1000.0
    estimate, _ = PriceOfAnarchyEstimate.objects.update_or_create(
        problem_key=key, restarts=restarts,
        defaults={
            "year_id": schedule.year_id, "seed": seed, "status": str(result.status),
            "converged": int(result.converged), "optimal_welfare": float(result.optimal_welfare),
            "worst_stable_welfare": finite(result.worst_stable_welfare),
            "best_stable_welfare": finite(result.best_stable_welfare),
            "price_of_anarchy": finite(result.price_of_anarchy),
            "price_of_stability": finite(result.price_of_stability),
            "stable_welfare": [finite(x) for x in result.stable_welfare.tolist()],
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
    return price_estimate_find(key=key, restarts=restarts) or price_estimate_create(
        schedule=schedule, built=built, key=key, restarts=restarts, seed=seed_draw(None))
