"""Fair targets: a preview, an audited apply in one transaction that refuses stale values or a missing reason, and
every mechanism's run option loads=shapley (allocation reads it through its registry, never importing fairness)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from allocation.loads import load_source_names
from allocation.models import AllocationRun
from allocation.problem import year_problem
from allocation.services import allocation_run_start
from fairness.models import FairTargetChange
from fairness.targets import shapley_targets_apply, shapley_targets_preview
from preferences.models import Faculty
from tests.allocation.helpers import run_now
from tests.fairness.conftest import compute


def _loads(people) -> dict[str, int]:
    return {ext: Faculty.objects.get(pk=p.pk).target_load for ext, p in people.items()}


def test_the_preview_shows_current_and_proposed_loads(ward):
    year, people, _ = ward
    computation = compute(year)
    expected = list(computation.values.order_by("position").values_list("expected_weeks", flat=True))
    preview = shapley_targets_preview(year=year)
    assert [p.external_id for p in preview] == list("ABCD")
    assert [p.current for p in preview] == [3, 2, 2, 1]
    assert [p.proposed for p in preview] == expected and sum(expected) == 8


def test_apply_writes_the_fair_targets_with_an_audit_row(ward, coordinator):
    year, people, _ = ward
    compute(year)
    proposed = {p.external_id: p.proposed for p in shapley_targets_preview(year=year)}
    change = shapley_targets_apply(year=year, actor=coordinator, reason="  Balance the year by Shapley shares ")
    assert _loads(people) == proposed
    assert change.actor == coordinator and change.reason == "Balance the year by Shapley shares"
    assert [(c["external_id"], c["before"], c["after"]) for c in change.changes] == [
        (ext, before, proposed[ext]) for ext, before in zip("ABCD", (3, 2, 2, 1), strict=True)]
    with pytest.raises(ValueError):
        change.save()


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 301])
def test_apply_needs_a_reason_and_changes_nothing_without_one(ward, coordinator, reason):
    year, people, _ = ward
    compute(year)
    with pytest.raises(ValidationError) as refused:
        shapley_targets_apply(year=year, actor=coordinator, reason=reason)
    assert "reason" in refused.value.message_dict
    assert _loads(people) == {"A": 3, "B": 2, "C": 2, "D": 1} and not FairTargetChange.objects.exists()


def test_apply_and_preview_refuse_stale_or_missing_values(ward, coordinator):
    year, people, _ = ward
    with pytest.raises(ValidationError, match="no Shapley values"):
        shapley_targets_preview(year=year)
    compute(year)
    people["D"].target_load = 2
    people["D"].save()
    for attempt in (lambda: shapley_targets_preview(year=year),
                    lambda: shapley_targets_apply(year=year, actor=coordinator, reason="Fair shares")):
        with pytest.raises(ValidationError) as refused:
            attempt()
        assert "stale" in refused.value.message_dict["targets"][0]
    assert _loads(people) == {"A": 3, "B": 2, "C": 2, "D": 2} and not FairTargetChange.objects.exists()


# --- loads=shapley ---------------------------------------------------------------------------------------------


def _schedule(run: AllocationRun) -> list[tuple[int, int, int]]:
    return sorted(run.schedule.assignments.values_list("faculty_id", "week_id", "rotation_id"))


def test_fairness_registers_the_shapley_load_source():
    assert load_source_names() == ("targets", "shapley")


@pytest.mark.parametrize("mechanism", ["rsd", "least_regret", "min_cost_flow"])
def test_loads_targets_gives_todays_schedule(ward, mechanism):
    year, _, _ = ward
    today = run_now(year, mechanism, seed=5)
    explicit = run_now(year, mechanism, seed=5, options={"loads": "targets"})
    assert today.status == explicit.status == "completed"
    assert _schedule(today) == _schedule(explicit)
    assert explicit.parameters["loads"] == "targets"


def test_loads_shapley_allocates_the_expected_weeks_without_changing_targets(ward):
    year, people, _ = ward
    Faculty.objects.filter(pk__in=[people["A"].pk, people["B"].pk]).update(target_load=4)  # 10 weeks for 8 seats
    computation = compute(year)
    expected = list(computation.values.order_by("position").values_list("expected_weeks", flat=True))
    assert expected != [4, 4, 2, 1] and sum(expected) == 8
    built = year_problem(year=year, seed=5, loads="shapley")
    assert built.problem.demand.tolist() == expected
    run = run_now(year, "min_cost_flow", seed=5,
                  options={"loads": "shapley", "fill_unlisted": True, "allow_unassigned": True})
    assert run.status == "completed" and run.parameters["loads"] == "shapley"
    held = {ext: run.schedule.assignments.filter(faculty=p).count() for ext, p in people.items()}
    assert list(held.values()) == expected
    assert _loads(people) == {"A": 4, "B": 4, "C": 2, "D": 1}


def test_an_unknown_loads_value_is_refused_naming_loads(ward):
    year, _, _ = ward
    with pytest.raises(ValidationError) as refused:
        allocation_run_start(year=year, mechanism="rsd", options={"loads": "equal"}, seed=1, actor=None, enqueue=False)
    assert "loads" in refused.value.message_dict["options.loads"][0]
    assert "'targets' or 'shapley'" in refused.value.message_dict["options.loads"][0]
    assert not AllocationRun.objects.exists()


def test_loads_shapley_without_current_values_is_refused_naming_loads(ward):
    year, people, _ = ward
    for prepare in (lambda: None, lambda: (compute(year), people["A"].rotations.clear())):
        prepare()
        with pytest.raises(ValidationError) as refused:
            allocation_run_start(year=year, mechanism="rsd", options={"loads": "shapley"}, seed=1, actor=None,
                                 enqueue=False)
        assert list(refused.value.message_dict) == ["loads"]
    assert not AllocationRun.objects.exists()
