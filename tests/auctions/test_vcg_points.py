"""Settling a VCG run's Clarke payments in priority points: scaled and rounded, all or nothing, exactly once."""

from __future__ import annotations

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from allocation.models import AllocationRun
from auctions.models import PriorityPointTransaction
from auctions.vcg_points import vcg_points_settle
from tests.auctions.auction_helpers import figures, grant
from tests.auctions.conftest import assert_reconciles


def vcg_run(year, payments, *, mechanism="vcg", status="completed"):
    rows = [{"faculty": person.external_id, "faculty_id": person.pk, "name": person.display_name,
             "allocated_weeks": [], "reported_value": 80.0, "vcg_payment": amount,
             "others_welfare_with": 0.0, "others_welfare_without": 0.0} for person, amount in payments]
    return AllocationRun.objects.create(year=year, mechanism=mechanism, seed=1, status=status,
                                        details={"payments": rows})


def test_payments_are_debited_scaled_and_rounded_exactly_once(year, faculty, other_faculty, coordinator):
    grant(faculty, year, 20)
    grant(other_faculty, year, 5)
    run = vcg_run(year, [(faculty, 12.4), (other_faculty, 0.0)])
    first = vcg_points_settle(run=run, points_per_unit=1.0, actor=coordinator)
    assert first.total == 12 and not first.replayed
    (entry,) = PriorityPointTransaction.objects.filter(type="vcg_payment")
    assert (entry.amount, entry.account.faculty_id) == (-12, faculty.pk)
    assert figures(faculty, year) == (8, 0, 8) and figures(other_faculty, year) == (5, 0, 5)  # nothing for 0
    again = vcg_points_settle(run=run, points_per_unit=1.0, actor=coordinator)
    assert again.replayed and again.total == 12
    assert PriorityPointTransaction.objects.filter(type="vcg_payment").count() == 1
    assert_reconciles()


def test_half_points_round_up_and_the_scale_multiplies(year, faculty):
    grant(faculty, year, 50)
    settled = vcg_points_settle(run=vcg_run(year, [(faculty, 2.25)]), points_per_unit=2.0)
    assert settled.total == 5  # 4.5 → 5


def test_all_or_nothing_naming_everyone_who_cannot_pay(year, faculty, other_faculty):
    grant(faculty, year, 20)
    grant(other_faculty, year, 3)
    run = vcg_run(year, [(faculty, 10.0), (other_faculty, 7.0)])
    with pytest.raises(ValidationError) as refused:
        vcg_points_settle(run=run)
    assert set(refused.value.message_dict) == {"payments.F002"}
    assert not PriorityPointTransaction.objects.filter(type="vcg_payment").exists()
    assert figures(faculty, year) == (20, 0, 20)


@pytest.mark.parametrize("scale", [0, -1, float("nan"), True, 1e6, "2"])
def test_bad_scales_and_runs_are_refused(year, faculty, scale):
    grant(faculty, year, 20)
    with pytest.raises(ValidationError) as refused:
        vcg_points_settle(run=vcg_run(year, [(faculty, 1.0)]), points_per_unit=scale)
    assert "points_per_unit" in refused.value.message_dict
    for kwargs in ({"mechanism": "rsd"}, {"status": "failed"}):
        with pytest.raises(ValidationError) as refused:
            vcg_points_settle(run=vcg_run(year, [(faculty, 1.0)], **kwargs))
        assert "run" in refused.value.message_dict
    assert not PriorityPointTransaction.objects.filter(type="vcg_payment").exists()


def test_the_command_settles_and_refuses_naming_the_field(year, faculty):
    grant(faculty, year, 20)
    run = vcg_run(year, [(faculty, 3.0)])
    out = io.StringIO()
    call_command("settle_vcg_points", str(run.pk), "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert body == {"run": run.pk, "points_per_unit": 1.0, "replayed": False, "total": 3,
                    "entries": [{"faculty": "F001", "amount": -3, "balance_after": 17}]}
    with pytest.raises(CommandError, match="points_per_unit"):
        call_command("settle_vcg_points", str(run.pk), "--points-per-unit", "0", stdout=io.StringIO())
    with pytest.raises(CommandError, match="run"):
        call_command("settle_vcg_points", "999999", stdout=io.StringIO())
