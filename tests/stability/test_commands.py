"""manage.py stability and calibrate_stability: DESIGN §13's field names, --year choosing the published schedule
else the newest draft, readable text, field-named refusals with a non-zero exit and no traceback, and calibration."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from stability.gate import schedule_publish
from stability.models import NashStabilityReport, PredictionCalibration

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("few_restarts")]

DESIGN_KEYS = {"nash_distance", "is_nash_equilibrium", "stability_level", "blocking_swaps", "beneficial_deviations",
               "total_assignments", "predicted_swap_requests", "current_welfare", "optimal_welfare", "efficiency_ratio",
               "top_instabilities", "recommended_swaps"}
ROOT = Path(__file__).resolve().parents[2]


def run(*args: str) -> dict:
    out = io.StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_stability_prints_the_design_fields(critical_draft):
    result = run("stability", "--schedule", str(critical_draft.pk))
    assert result.keys() >= DESIGN_KEYS
    assert result["schedule"] == critical_draft.pk and result["academic_year"] == 2031
    assert result["stability_level"] == "CRITICAL" and result["nash_distance"] == pytest.approx(2 / 3)
    assert (result["blocking_swaps"], result["beneficial_deviations"], result["total_assignments"]) == (1, 3, 3)
    assert result["optimal_welfare"] == pytest.approx(3.0) and result["efficiency_ratio"] == pytest.approx(0.5)
    assert result["is_nash_equilibrium"] is False and len(result["recommended_swaps"]) == 1
    assert {row["faculty"] for row in result["top_instabilities"]} == {"F001", "F002"}
    assert result["restarts"] == 5


def test_year_takes_the_published_schedule_else_the_newest_draft(critical_draft, stable_draft, coordinator):
    assert run("stability", "--year", "2031")["schedule"] == stable_draft.pk
    schedule_publish(schedule=critical_draft, actor=coordinator, force=True, reason="ok", channel="api")
    assert run("stability", "--year", "2031")["schedule"] == critical_draft.pk


def test_a_fresh_report_is_reused_unless_refresh_or_a_seed_is_given(critical_draft):
    first = run("stability", "--schedule", str(critical_draft.pk))["report"]
    assert run("stability", "--schedule", str(critical_draft.pk))["report"] == first
    refreshed = run("stability", "--schedule", str(critical_draft.pk), "--refresh")["report"]
    seeded = run("stability", "--schedule", str(critical_draft.pk), "--seed", "7")["report"]
    assert len({first, refreshed, seeded}) == 3
    assert NashStabilityReport.objects.get(pk=seeded).parameters["seed"] == 7


def test_restarts_sets_k(critical_draft):
    assert run("stability", "--schedule", str(critical_draft.pk), "--restarts", "3")["restarts"] == 3


def test_stability_text_is_readable(critical_draft):
    out = io.StringIO()
    call_command("stability", "--schedule", str(critical_draft.pk), stdout=out)
    text = out.getvalue()
    assert "CRITICAL, nash distance 0.667" in text and "Blocking swaps:     1" in text
    assert "Recommended swaps:" in text and "F001" in text and "efficiency 50.0%" in text


@pytest.mark.parametrize(("args", "field"), [
    (["--schedule", "abc"], "schedule"), (["--schedule", "999999"], "schedule"), (["--year", "1999"], "year"),
    (["--year", "next"], "year"), (["--schedule", "{pk}", "--restarts", "0"], "restarts"),
    (["--schedule", "{pk}", "--restarts", "many"], "restarts"), (["--schedule", "{pk}", "--seed", "-3"], "seed"),
])
def test_bad_input_exits_with_a_message_naming_the_field(critical_draft, args, field):
    args = [a.replace("{pk}", str(critical_draft.pk)) for a in args]
    with pytest.raises(CommandError) as exc:
        call_command("stability", *args, stdout=io.StringIO())
    assert f"{field}:" in str(exc.value)
    assert not NashStabilityReport.objects.exists()


def test_bad_input_with_json_prints_the_errors_too(critical_draft):
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("stability", "--schedule", "abc", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"ok": False, "errors": {"schedule": [
        "'abc' is not a schedule id; give it as a number, e.g. --schedule 3."]}}


def test_a_year_without_schedules_is_refused(example_year):
    with pytest.raises(CommandError) as exc:
        call_command("stability", "--year", "2031", stdout=io.StringIO())
    assert "no published or draft schedule" in str(exc.value)


@pytest.mark.parametrize("args", [[], ["--schedule", "1", "--year", "2031"]])
def test_exactly_one_of_schedule_and_year_is_required(args):
    with pytest.raises(CommandError):
        call_command("stability", *args, stdout=io.StringIO())


def test_the_command_line_exits_non_zero_without_a_traceback():
    done = subprocess.run([sys.executable, "manage.py", "stability", "--schedule", "nope"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "schedule:" in done.stderr and "Traceback" not in done.stderr


def test_calibrate_stability_fits_and_stores_the_coefficients(linear_history):
    result = run("calibrate_stability")
    assert result["base"] == pytest.approx(0.1) and result["pressure"] == pytest.approx(0.5)
    assert result["r_squared"] == pytest.approx(1.0) and result["samples"] == 4
    assert PredictionCalibration.objects.get().pk == result["calibration"]
    out = io.StringIO()
    call_command("calibrate_stability", stdout=out)
    assert "base 0.1000, pressure 0.5000, R² 1.0000" in out.getvalue()


def test_calibrate_stability_without_history_fails_clearly(db):
    with pytest.raises(CommandError) as exc:
        call_command("calibrate_stability", stdout=io.StringIO())
    assert "history:" in str(exc.value) and not PredictionCalibration.objects.exists()
