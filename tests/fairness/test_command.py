"""manage.py shapley: DESIGN §13's JSON, a readable table, and refusals that name the field and store nothing; the
Shapley admin pages are read-only records."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from fairness.algorithms.shapley import exact_shapley, sample_sums
from fairness.inputs import shapley_inputs
from fairness.models import FairTargetChange, ShapleyComputation, ShapleyValue
from fairness.targets import shapley_targets_apply
from tests.factories import FacultyFactory, ScheduleFactory, make_year

KEYS = ["faculty", "shapley_value", "ci_low", "ci_high", "expected_workload", "actual_workload", "is_overloaded",
        "is_underloaded"]


def _run(*args) -> str:
    out = io.StringIO()
    call_command("shapley", *args, stdout=out)
    return out.getvalue()


def test_json_output_is_design_13s_exact_shape(ward):
    year, people, _ = ward
    ScheduleFactory(year=year, rows=[(people["A"], 0, "inpatient"), (people["A"], 1, "clinic")])
    output = json.loads(_run("2050", "--json"))
    assert list(output) == ["method", "samples", "grand_coalition_value", "faculty"]
    assert (output["method"], output["samples"]) == ("exact", 0)
    core = exact_shapley(shapley_inputs(year=year).game)
    assert output["grand_coalition_value"] == core.grand_value
    assert [row["faculty"] for row in output["faculty"]] == list("ABCD")
    assert all(list(row) == KEYS for row in output["faculty"])
    assert [row["shapley_value"] for row in output["faculty"]] == [round(x, 6) for x in core.phi]
    assert [row["actual_workload"] for row in output["faculty"]] == [2, 0, 0, 0]
    assert ShapleyComputation.objects.get().status == "completed"


def test_monte_carlo_on_request_with_samples_and_seed(db, rotations):
    year = make_year(label=2054, num_weeks=4, rotations=rotations, demand=2)
    year.roster.set([FacultyFactory(rotations=rotations[:1 + k % 2], target_load=1 + k % 3) for k in range(16)])
    output = json.loads(_run("2054", "--samples", "1,000", "--seed", "9", "--json"))
    core = sample_sums(shapley_inputs(year=year).game, seed=9, start=0, stop=500).result()
    assert (output["method"], output["samples"]) == ("monte_carlo", 1000)
    assert [row["ci_low"] for row in output["faculty"]] == [round(x, 6) for x in core.ci_low]
    assert all(row["ci_low"] <= row["shapley_value"] <= row["ci_high"] for row in output["faculty"])


def test_the_table_names_each_faculty_member(ward):
    text = _run("2050")
    assert "Shapley values of 2050" in text and "exact" in text
    assert all(f"\n  {ext} " in text for ext in "ABCD")


@pytest.mark.parametrize(("args", "field"), [
    (["1999"], "year"), (["20x0"], "year"), (["2050", "--samples", "999"], "samples"),
    (["2050", "--samples", "100001"], "samples"), (["2050", "--seed", "-3"], "seed"),
])
def test_bad_input_is_refused_by_field_and_stores_nothing(ward, args, field):
    out = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command("shapley", *args, "--json", stdout=out)
    assert f"{field}:" in str(refused.value)
    assert field in json.loads(out.getvalue())["errors"]
    assert not ShapleyComputation.objects.exists()


def test_exact_with_more_than_fifteen_faculty_is_refused(db, rotations):
    year = make_year(label=2055, num_weeks=2, rotations=rotations, demand=1)
    year.roster.set([FacultyFactory(rotations=rotations, target_load=1) for _ in range(16)])
    with pytest.raises(CommandError, match="method: The exact method is for at most 15"):
        _run("2055", "--exact")
    assert not ShapleyComputation.objects.exists()


# --- admin ---------------------------------------------------------------------------------------------------------


def test_the_admin_lists_shapley_records_read_only(ward, client, superuser, coordinator):
    year, _, _ = ward
    _run("2050")
    shapley_targets_apply(year=year, actor=coordinator, reason="Fair shares")
    client.force_login(superuser)
    for model, obj in (("shapleycomputation", ShapleyComputation.objects.get()),
                       ("shapleyvalue", ShapleyValue.objects.first()),
                       ("fairtargetchange", FairTargetChange.objects.get())):
        assert client.get(f"/admin/fairness/{model}/").status_code == 200
        assert client.get(f"/admin/fairness/{model}/{obj.pk}/change/").status_code == 200
        assert client.get(f"/admin/fairness/{model}/add/").status_code == 403
        assert client.post(f"/admin/fairness/{model}/{obj.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ShapleyValue.objects.count() == 4
