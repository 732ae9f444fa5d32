"""Celery tasks for fairness: ids in, one service call; progress lives on the computation row."""

from __future__ import annotations

from celery import Task, shared_task

from fairness.models import ShapleyComputation
from fairness.services import shapley_chunk, shapley_execute, shapley_fail, shapley_merge

TIME_LIMIT_S = 1800


class ShapleyTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        # Whatever escaped the service (a database outage, the time limit), the computation must not stay RUNNING.
        ids = [kwargs.get("computation_id"), *(a for a in args if isinstance(a, int) and not isinstance(a, bool))]
        computation_id = next((i for i in ids if i is not None), None)
        if computation_id is not None:
            shapley_fail(computation_id=computation_id,
                         error=f"The computation stopped with an unexpected error: {type(exc).__name__}: {exc}")


@shared_task(base=ShapleyTask, acks_late=True, reject_on_worker_lost=True, time_limit=TIME_LIMIT_S)
def shapley_execute_task(computation_id: int) -> str | None:
    """Run a pending Shapley computation (exact here, or Monte Carlo as a chord of chunk tasks)."""
    if not ShapleyComputation.objects.filter(pk=computation_id).exists():
        return None
    return shapley_execute(computation_id=computation_id).status


@shared_task(acks_late=True, reject_on_worker_lost=True, time_limit=TIME_LIMIT_S)
def shapley_chunk_task(computation_id: int, start: int, stop: int, fingerprint: str) -> dict | None:
    """Sum antithetic pairs [start, stop) of the computation's seeded permutations."""
    return shapley_chunk(computation_id=computation_id, start=start, stop=stop, fingerprint=fingerprint)


@shared_task(base=ShapleyTask, acks_late=True)
def shapley_merge_task(chunks: list, computation_id: int) -> str:
    """The chord's callback: add the chunks' sums exactly and store the values."""
    return shapley_merge(computation_id=computation_id, chunks=chunks)
