"""Fairness tasks are thin: ids in, one service call; a chunk computed on changed inputs is not merged."""

from __future__ import annotations

from fairness.models import ShapleyComputation
from fairness.services import shapley_request
from fairness.tasks import shapley_chunk_task, shapley_execute_task, shapley_merge_task


def test_a_missing_computation_is_left_alone(db):
    assert shapley_execute_task.apply(args=[987654]).get() is None


def test_the_execute_task_runs_the_pending_computation(ward):
    year, _, _ = ward
    computation, _ = shapley_request(year=year, enqueue=False)
    assert shapley_execute_task.apply(args=[computation.pk]).get() == "completed"


def test_chunks_on_changed_inputs_fail_the_merge(ward):
    year, people, _ = ward
    computation, _ = shapley_request(year=year, method="monte_carlo", samples=1000, seed=2, enqueue=False)
    ShapleyComputation.objects.filter(pk=computation.pk).update(status="running")
    assert shapley_chunk_task.apply(args=[computation.pk, 0, 64, "0" * 64]).get() is None
    good = shapley_chunk_task.apply(args=[computation.pk, 0, 500, computation.fingerprint]).get()
    assert good["pairs"] == 500
    people["A"].target_load = 1
    people["A"].save()
    assert shapley_merge_task.apply(args=[[good], computation.pk]).get() == "failed"
    computation.refresh_from_db()
    assert computation.status == "failed" and "changed" in computation.error and not computation.values.exists()
