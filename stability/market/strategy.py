"""Strategy performance of swap requests: success rates per strategy and one replicator step (DESIGN §9)."""

from __future__ import annotations

import numpy as np
from django.db import transaction
from django.db.models import Count, Q

from preferences.models import AcademicYear
from stability.algorithms.replicator import fitness as replicator_fitness
from stability.algorithms.replicator import replicator_step
from stability.models import StrategyPerformance, SwapRequest

Status = SwapRequest.Status
Strategy = SwapRequest.Strategy
CLOSED = (Status.EXECUTED, Status.CANCELLED, Status.DECLINED, Status.EXPIRED, Status.REFUSED)


@transaction.atomic
def strategy_performance_update(*, year: AcademicYear) -> list[StrategyPerformance]:
    """Attempts and successes per strategy from the year's closed requests, then one replicator step.

    success rate f_s = successes / attempts; shares x_s = the strategy's part of all the year's requests;
    fitness_s = f_s − f̄ with f̄ = Σ x_s f_s; growth_s = x_s × fitness_s; the stored frequency is x_s + growth_s.
    """
    strategies = list(Strategy.values)
    requests = SwapRequest.objects.filter(schedule__year=year)
    counts = {
        row["strategy"]: row
        for row in requests.values("strategy").annotate(
            total=Count("pk"),
            closed=Count("pk", filter=Q(status__in=CLOSED)),
            executed=Count("pk", filter=Q(status=Status.EXECUTED)),
        )
    }
    attempts = np.array([counts.get(s, {}).get("closed", 0) for s in strategies], dtype=np.int64)
    successes = np.array([counts.get(s, {}).get("executed", 0) for s in strategies], dtype=np.int64)
    totals = np.array([counts.get(s, {}).get("total", 0) for s in strategies], dtype=float)
    rate = np.divide(successes, attempts, out=np.zeros(len(strategies)), where=attempts > 0)
    if totals.sum() > 0:
        share = totals / totals.sum()
        fitness, growth = replicator_fitness(share, rate)
        frequency = replicator_step(share, rate, dt=1.0)
    else:  # no request yet: nothing to evolve
        share = fitness = growth = frequency = np.zeros(len(strategies))
    rows = {p.strategy: p for p in StrategyPerformance.objects.select_for_update().filter(year=year)}
    out = []
    for k, strategy in enumerate(strategies):
        row = rows.get(strategy) or StrategyPerformance(year=year, strategy=strategy)
        row.attempts, row.successes = int(attempts[k]), int(successes[k])
        row.share = float(share[k])
        row.frequency = float(frequency[k])
        row.fitness = float(fitness[k])
        row.growth = float(growth[k])
        row.save()
        out.append(row)
    return out
