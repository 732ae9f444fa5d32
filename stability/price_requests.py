"""Price of anarchy on request (the API's price-of-anarchy endpoint): inline for a small schedule or a known
feasible set, else one background job per schedule state and K."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction

from allocation.algorithms.exchange import EPSILON
from allocation.models import Schedule
from allocation.problem import schedule_problem
from gtsched_site.permissions import user_or_none
from stability.algorithms.welfare import problem_key
from stability.estimates import poa_job_key, price_estimate_find
from stability.models import NashStabilityReport
from stability.parameters import poa_inline_limit, restarts_clean
from stability.reports import stability_report_create, stability_report_fresh
from stability.tasks import POA_TIME_LIMIT_S, stability_report_task


def price_of_anarchy_request(*, schedule: Schedule, actor, restarts: int) -> NashStabilityReport | None:
    """A report with price of anarchy / stability at K = restarts: a fresh stored one; computed here for schedules
    up to the inline limit or with a stored estimate for their feasible set; else one Celery job per schedule
    state and K (a repeated request while it runs enqueues nothing). None means the job is running: ask again
    later."""
    restarts = restarts_clean(restarts)
    built = schedule_problem(schedule=schedule)
    fresh = stability_report_fresh(schedule=schedule, built=built, restarts=restarts)
    if fresh is not None:
        return fresh
    # With a stored estimate for this feasible set the report is quick at any size.
    if (len(built.problem.assignments) <= poa_inline_limit()
            or price_estimate_find(key=problem_key(built.problem, epsilon=EPSILON), restarts=restarts) is not None):
        return stability_report_create(schedule=schedule, actor=actor, restarts=restarts, built=built)
    key = poa_job_key(schedule_id=schedule.pk, fingerprint=built.fingerprint, restarts=restarts)
    if cache.add(key, "pending", timeout=POA_TIME_LIMIT_S):
        actor_id = getattr(user_or_none(actor), "pk", None)
        transaction.on_commit(lambda: stability_report_task.delay(schedule.pk, restarts, actor_id))
    # With eager tasks outside a transaction the job has already run.
    return stability_report_fresh(schedule=schedule, restarts=restarts)
