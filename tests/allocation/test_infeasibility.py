"""A run that finds no schedule names the option or constraint that rules every schedule out, and how to relax it."""

from __future__ import annotations

import pytest

from allocation.models import AllocationRun, Schedule
from allocation.problem import year_problem
from allocation.services import preassignment_add
from tests.allocation.helpers import run_now, submit
from tests.factories import FacultyFactory, make_year


@pytest.fixture
def holiday_year(inpatient):
    """Four weeks from 6 Jul 2032, weeks 1 and 2 holidays; Dr. H0 (two weeks) is pre-assigned both holiday weeks."""
    year = make_year(label=2032, num_weeks=4, holidays={1: "Independence Day", 2: "Summer break"}, rotations=[inpatient])
    people = [FacultyFactory(external_id=f"H{k}", display_name=f"Dr. H{k}", rotations=[inpatient], target_load=2)
              for k in range(2)]
    year.roster.set(people)
    for person in people:
        submit(person, year, [0, 1, 2, 3])
    for index in (1, 2):
        preassignment_add(year=year, faculty=people[0], week=year.weeks.get(index=index), rotation=inpatient,
                          reason="covers the holidays", actor=None)
    return year


def test_an_infeasible_max_holidays_names_the_option_the_person_and_the_weeks(holiday_year):
    run = run_now(holiday_year, "cp_sat", options={"max_holidays": 1})
    assert run.status == AllocationRun.Status.FAILED
    assert run.error.startswith("CP-SAT found no schedule that meets every hard constraint")
    assert ("With max_holidays=1 nobody may serve more than 1 holiday week, but Dr. H0 is pre-assigned 2 "
            "(the week of 12 Jul 2032, the week of 19 Jul 2032); raise max_holidays to 2") in run.error, run.error
    assert not Schedule.objects.filter(run=run).exists()


def test_hard_back_to_back_against_consecutive_pre_assignments_is_named(holiday_year):
    run = run_now(holiday_year, "cp_sat", options={"back_to_back": "hard"})
    assert run.status == AllocationRun.Status.FAILED
    assert "With back_to_back=hard nobody serves two weeks in a row, but Dr. H0 is pre-assigned" in run.error, run.error
    assert "set back_to_back to soft or off" in run.error


def _index(year, person) -> int:
    return year_problem(year=year, seed=1, non_respondents="neutral").faculty_index(person.pk)


@pytest.mark.parametrize(
    ("low", "expected"),
    [
        (2, "rotation_quotas asks Dr. T0 for at least 2 weeks on inpatient, but their target load is 1; lower that min"),
        (5, "rotation_quotas asks Dr. T0 for at least 5 weeks on inpatient, but they can serve only 4 there"),
    ],
)
def test_an_unreachable_rotation_quota_names_the_person_the_rotation_and_the_limit(tiny, low, expected):
    year, people = tiny
    quota = {"faculty": _index(year, people["T0"]), "rotation": 0, "min": low}
    run = run_now(year, "cp_sat", options={"rotation_quotas": [quota]})
    assert run.status == AllocationRun.Status.FAILED
    assert expected in run.error, run.error


def test_a_rotation_quota_counts_the_seats_others_are_pre_assigned(holiday_year, inpatient):
    second = FacultyFactory(external_id="H9", display_name="Dr. H9", rotations=[inpatient], target_load=4)
    holiday_year.roster.add(second)
    submit(second, holiday_year, [0, 3])
    quota = {"faculty": _index(holiday_year, second), "rotation": 0, "min": 3}
    run = run_now(holiday_year, "cp_sat", options={"rotation_quotas": [quota]})
    assert run.status == AllocationRun.Status.FAILED
    assert ("rotation_quotas asks Dr. H9 for at least 3 weeks on inpatient, but they can serve only 2 there "
            "(blocked weeks, qualifications and seats others are pre-assigned)") in run.error, run.error


def test_a_rotation_quota_out_of_reach_under_max_holidays_names_both_options(inpatient):
    year = make_year(label=2033, num_weeks=4, holidays={1: "Independence Day", 2: "Summer break"}, rotations=[inpatient])
    person = FacultyFactory(external_id="Q0", display_name="Dr. Q0", rotations=[inpatient], target_load=4)
    year.roster.set([person])
    submit(person, year, [0, 1, 2, 3])
    quota = {"faculty": 0, "rotation": 0, "min": 3}
    run = run_now(year, "cp_sat", options={"rotation_quotas": [quota], "max_holidays": 0})
    assert run.status == AllocationRun.Status.FAILED
    assert ("rotation_quotas asks Dr. Q0 for at least 3 weeks on inpatient, but with max_holidays=0 they can serve "
            "only 2 there; lower that min or raise max_holidays.") in run.error, run.error


def test_demand_that_cannot_be_met_without_allow_unassigned_names_the_option_and_who_is_short(tiny):
    year, people = tiny
    type(people["T0"]).objects.filter(pk__in=[p.pk for p in people.values()]).update(target_load=2)  # 6 weeks, 4 seats
    run = run_now(year, "min_cost_flow", options={"allow_unassigned": False})
    assert run.status == AllocationRun.Status.FAILED
    assert ("With allow_unassigned off every faculty member must get their full target load, and 2 week(s) of it "
            "cannot be placed in the weeks they listed:") in run.error, run.error
    assert "short)" in run.error and "turn on allow_unassigned" in run.error and "turn on fill_unlisted" in run.error
    assert "4 seats in total for 6 weeks of target load" in run.error


def test_a_pair_that_cannot_serve_together_names_the_pair_and_the_week(holiday_year, inpatient):
    other = FacultyFactory(external_id="H7", display_name="Dr. H7", rotations=[inpatient], target_load=2)
    holiday_year.roster.add(other)
    submit(other, holiday_year, [0, 3], blocked=[1])
    pair = [_index(holiday_year, holiday_year.roster.get(external_id="H0")), _index(holiday_year, other)]
    run = run_now(holiday_year, "cp_sat", options={"pairs": [pair]})
    assert run.status == AllocationRun.Status.FAILED
    assert "In pairs, the pair Dr. H0 and Dr. H7 must serve the same weeks, but Dr. H7 cannot serve the week of 12 Jul 2032" \
        in run.error, run.error
