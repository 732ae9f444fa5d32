"""CP-SAT: feasible, lexicographically optimal against brute force, equal to least regret / scipy, side constraints held.

The brute-force oracle enumerates every feasible allocation of a tiny problem that keeps the pre-assignments and
meets the side constraints, and ranks them by (unassigned demand, then the objective) — the lexicographic order
the package docstring promises. The keys and the side-constraint checks here are written independently of cpsat.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.algorithms import registry
from allocation.algorithms.cpsat import cp_sat
from allocation.algorithms.cpsat import relaxation as cpsat_relaxation
from allocation.algorithms.cpsat import solve as cpsat_solve
from allocation.algorithms.feasibility import violations
from allocation.algorithms.least_regret import least_regret, least_regret_scipy, regret_cost
from allocation.algorithms.min_cost_flow import min_cost_flow
from allocation.algorithms.types import FEASIBLE, INFEASIBLE, OPTIMAL, Allocation, Problem
from tests.allocation.algorithms.mechanism_cases import (
    contains_preassigned,
    ranked_problem,
    tiny_problem,
    varied_problem,
    with_preassignments,
)
from tests.allocation.algorithms.problems import feasible_allocations, make_problem
from tests.allocation.algorithms.wpi import wpi_problem

RNG = np.random.default_rng(0)
OBJECTIVES = [  # every reading of the objective, as cp_sat options
    {"objective": "regret", "cost": "squared"},
    {"objective": "regret", "cost": "linear"},
    {"objective": "fairness", "fairness": "greedy"},
    {"objective": "fairness", "fairness": "generous"},
]
OBJECTIVE_IDS = ["squared", "linear", "greedy", "generous"]


def solve(problem: Problem, **options) -> Allocation:
    """cp_sat with a seeded generator, one worker and a limit the tiny problems never reach.

    The CP-SAT levels themselves are under test: the relaxation shortcut is off unless a test turns it on."""
    return cp_sat(problem, rng=np.random.default_rng(0),
                  **{"time_limit_s": 30.0, "workers": 1, "relaxation": False, **options})




# --- the oracle: keys and side constraints, independent of cpsat ---------------------------------------------------

def _ranks(problem: Problem, rows) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    return problem.rank[rows[:, 0], rows[:, 1]].astype(np.int64)


def _served_weeks(problem: Problem, rows) -> np.ndarray:
    served = np.zeros((problem.n_faculty, problem.n_weeks), dtype=bool)
    for i, w, _ in rows:
        served[i, w] = True
    return served


def back_to_back(problem: Problem, rows) -> int:
    served = _served_weeks(problem, rows)
    return int((served[:, 1:] & served[:, :-1]).sum())


def objective_key(problem: Problem, *, objective="regret", cost="squared", fairness="greedy", back_to_back_mode="off",
                  penalty=10):
    """rows -> the objective after unassigned demand, smaller is better (the documented lexicographic order)."""
    def key(rows) -> tuple:
        ranks = _ranks(problem, rows)
        soft = back_to_back(problem, rows) if back_to_back_mode == "soft" else 0
        if objective == "regret":
            return (int(regret_cost(ranks, cost).sum()) + penalty * soft,)
        profile = [int((ranks == r).sum()) for r in range(1, problem.n_weeks + 1)]
        tiers = [-c for c in profile] if fairness == "greedy" else profile[::-1]
        return (*tiers, soft)
    return key


def key_of(problem: Problem, options: dict):
    return objective_key(problem, objective=options.get("objective", "regret"), cost=options.get("cost", "squared"),
                         fairness=options.get("fairness", "greedy"), back_to_back_mode=options.get("back_to_back", "off"),
                         penalty=options.get("back_to_back_penalty", 10))


def side_violations(problem: Problem, rows, *, max_holidays=None, back_to_back="off", pairs=(), rotation_quotas=(),
                    **_) -> list[str]:
    """Every side constraint the rows break, in words."""
    served = _served_weeks(problem, rows)
    found = []
    holidays = served[:, np.asarray(problem.is_holiday, dtype=bool)].sum(axis=1)
    if max_holidays is not None and (holidays > max_holidays).any():
        found.append(f"holiday weeks {holidays.tolist()} exceed {max_holidays}")
    if back_to_back == "hard" and (served[:, 1:] & served[:, :-1]).any():
        found.append("someone serves two consecutive weeks")
    for i, j in pairs:
        if not np.array_equal(served[i], served[j]):
            found.append(f"pair ({i}, {j}) serves different weeks")
    for quota in rotation_quotas:
        count = sum(1 for i, _, r in rows if i == quota["faculty"] and r == quota["rotation"])
        if count < quota.get("min", 0) or (quota.get("max") is not None and count > quota["max"]):
            found.append(f"quota {quota} broken with {count} weeks")
    return found


def brute_force(problem: Problem, key, **constraints) -> tuple | None:
    """The least (unassigned, *key) over every feasible allocation keeping the pre-assignments and the side
    constraints; None when there is none."""
    total = int(problem.demand.sum())
    best = None
    for rows in feasible_allocations(problem):
        if contains_preassigned(problem, rows) and not side_violations(problem, rows, **constraints):
            candidate = (total - len(rows), *key(rows))
            best = candidate if best is None or candidate < best else best
    return best


def result_key(problem: Problem, result: Allocation, key) -> tuple:
    rows = [tuple(r) for r in result.assignments.tolist()]
    return (int(result.unassigned.sum()), *key(rows))


def assert_valid(problem: Problem, result: Allocation, options: dict) -> None:
    """A result that is a schedule: shared hard constraints, side constraints, and self-consistent outputs."""
    assert result.status in (OPTIMAL, FEASIBLE, INFEASIBLE) and result.mechanism == "cp_sat"
    if result.status == INFEASIBLE:  # a status with a reason, never None or a partial schedule
        assert result.assignments.shape == (0, 3) and result.unassigned.tolist() == problem.demand.tolist()
        assert result.details["reason"] and result.objective is None
        return
    assert violations(problem, result) == []  # eligibility, capacity, demand, one slot a week, pre-assignments kept
    assert side_violations(problem, [tuple(r) for r in result.assignments.tolist()], **options) == []
    ranks = _ranks(problem, result.assignments)
    assert result.per_assignment["rank"].tolist() == ranks.tolist()
    assert sum(result.details["rank_profile"].values()) == len(result.assignments)
    if options.get("objective", "regret") == "regret":
        penalty = options.get("back_to_back_penalty", 10) if options.get("back_to_back") == "soft" else 0
        expected = regret_cost(ranks, options.get("cost", "squared")).sum() + penalty * back_to_back(problem, result.assignments)
        assert result.objective == expected
    else:
        assert result.objective is None


# --- small random problems -----------------------------------------------------------------------------------------

def side_problem(seed: int) -> Problem:
    """3 faculty × 5 consecutive weeks, demand 1–2, holidays common: every side constraint can bind."""
    rng = np.random.default_rng(seed)
    problem = make_problem(rng, n=3, weeks=5, demand=(1, 2), capacity=(0, 2), block_p=0.15, correlated=float(rng.random()))
    problem = dataclasses.replace(problem, is_holiday=rng.random(5) < 0.4)
    return with_preassignments(problem, rng, int(rng.integers(0, 2)))


def quota_problem(seed: int) -> Problem:
    """3 faculty × 3 weeks × 2 rotations, demand 1–2."""
    rng = np.random.default_rng(seed)
    problem = make_problem(rng, n=3, weeks=3, rotations=2, demand=(1, 2), capacity=(0, 2), block_p=0.1, qualify_p=0.8)
    return with_preassignments(problem, rng, int(rng.integers(0, 2)))


def side_constraints(kind: str, seed: int) -> dict:
    rng = np.random.default_rng(1000 + seed)
    if kind == "max_holidays":
        return {"max_holidays": int(rng.integers(0, 2))}
    if kind == "hard_back_to_back":
        return {"back_to_back": "hard"}
    if kind == "soft_back_to_back":
        return {"back_to_back": "soft", "back_to_back_penalty": int(rng.choice([0, 1, 3, 10]))}
    if kind == "pairs":
        return {"pairs": [tuple(int(i) for i in rng.choice(3, size=2, replace=False))]}
    if kind == "rotation_quotas":
        low = int(rng.integers(0, 2))
        return {"rotation_quotas": [{"faculty": int(rng.integers(0, 3)), "rotation": int(rng.integers(0, 2)), "min": low,
                                     "max": low + int(rng.integers(0, 2))}]}
    return {"max_holidays": 1, "back_to_back": "hard", "pairs": [(0, 1)]}


# --- hand-solved ---------------------------------------------------------------------------------------------------

def test_greedy_takes_the_most_first_choices_and_generous_avoids_the_worst_rank():
    # One seat a week. B and C both rank week 2 first, week 1 second, week 0 third; A ranks week 1 first, week 3 second.
    # Greedy: A → 1 and C (or B) → 2 are two first choices, pushing the other to their third choice (week 0).
    # Generous: nobody below second choice — A → 3 (2nd), B/C → 1 (2nd) and 2 (1st).
    problem = ranked_problem(rank=[[4, 1, 3, 2], [3, 2, 1, 4], [3, 2, 1, 4]], capacity=[1, 1, 1, 1])
    greedy = solve(problem, objective="fairness", fairness="greedy")
    generous = solve(problem, objective="fairness", fairness="generous")
    assert greedy.status == generous.status == OPTIMAL
    assert greedy.details["rank_profile"] == {"1": 2, "3": 1} and greedy.assignments[0].tolist() == [0, 1, 0]
    assert generous.details["rank_profile"] == {"1": 1, "2": 2} and generous.assignments[0].tolist() == [0, 3, 0]
    assert greedy.objective is None and generous.details["fairness"] == "generous"


def test_squared_and_linear_regret_choose_as_least_regret_does():
    # Weeks 0 and 1 have a seat each. A ranks them 1st and 3rd, B 3rd and 4th.
    # A→0, B→1: regrets (0, 3): linear 3, squared 9.   A→1, B→0: regrets (2, 2): linear 4, squared 8.
    problem = ranked_problem(rank=[[1, 3, 2, 4], [3, 4, 1, 2]], capacity=[1, 1, 0, 0])
    linear = solve(problem, cost="linear")
    squared = solve(problem)
    assert linear.assignments.tolist() == [[0, 0, 0], [1, 1, 0]] and linear.objective == 3
    assert squared.assignments.tolist() == [[0, 1, 0], [1, 0, 0]] and squared.objective == 8
    assert squared.details["cost"] == "squared" and squared.per_assignment["rank"].tolist() == [3, 3]


@pytest.mark.parametrize("options", OBJECTIVES, ids=OBJECTIVE_IDS)
def test_serving_more_people_comes_before_every_objective(options):
    # B cannot serve week 1; A must take their second choice so that B serves at all.
    problem = ranked_problem(rank=[[1, 2], [1, 2]], capacity=[1, 1])
    eligible = problem.eligible.copy()
    eligible[1, 1, 0] = False
    result = solve(dataclasses.replace(problem, eligible=eligible), **options)
    assert result.status == OPTIMAL
    assert result.assignments.tolist() == [[0, 1, 0], [1, 0, 0]] and result.unassigned.sum() == 0


def test_nobody_serves_more_holiday_weeks_than_max_holidays():
    # A needs two weeks and likes the two holiday weeks (0 and 1) best.
    problem = ranked_problem(rank=[[1, 2, 3, 4]], capacity=[1, 1, 1, 1], demand=[2], holidays=[0, 1])
    assert solve(problem).assignments[:, 1].tolist() == [0, 1]
    capped = solve(problem, max_holidays=1)
    assert capped.status == OPTIMAL and capped.assignments[:, 1].tolist() == [0, 2] and capped.objective == 4
    assert solve(problem, max_holidays=0).assignments[:, 1].tolist() == [2, 3]


def test_hard_back_to_back_leaves_a_week_between_services():
    problem = ranked_problem(rank=[[1, 2, 3, 4]], capacity=[1, 1, 1, 1], demand=[2])
    result = solve(problem, back_to_back="hard")
    assert result.status == OPTIMAL and result.assignments[:, 1].tolist() == [0, 2]
    assert result.details["back_to_back"] == 0
    # With three weeks to serve out of four, a gap after each week is impossible: the third week goes unassigned.
    three = solve(dataclasses.replace(problem, demand=np.array([3])), back_to_back="hard")
    assert three.status == OPTIMAL and three.assignments[:, 1].tolist() == [0, 2] and three.unassigned.tolist() == [1]


@pytest.mark.parametrize(("penalty", "weeks", "objective"), [(0, [0, 1], 1), (2, [0, 1], 3), (4, [0, 2], 4), (10, [0, 2], 4)])
def test_soft_back_to_back_pays_the_penalty_only_when_it_is_cheaper_than_the_regret(penalty, weeks, objective):
    # Weeks 0 + 1: regret 0 + 1 plus the penalty.   Weeks 0 + 2: regret 0 + 4, no penalty.
    problem = ranked_problem(rank=[[1, 2, 3, 4]], capacity=[1, 1, 1, 1], demand=[2])
    result = solve(problem, back_to_back="soft", back_to_back_penalty=penalty)
    assert result.status == OPTIMAL
    assert result.assignments[:, 1].tolist() == weeks and result.objective == objective
    assert result.details["back_to_back"] == (weeks == [0, 1])


def test_with_fairness_soft_back_to_back_breaks_ties_in_the_profile_and_nothing_more():
    # One seat a week, two weeks each. Both rank week 2 first. A: weeks 2, 0, 3, 1; B: weeks 2, 1, 3, 0.
    # Best profile: one first, two seconds, one third — either A {0, 2} + B {1, 3}, or A {0, 3} + B {1, 2}
    # (B back to back). The soft rule picks the first; it never buys a gap with a worse profile.
    problem = ranked_problem(rank=[[2, 4, 1, 3], [4, 2, 1, 3]], capacity=[1, 1, 1, 1], demand=[2, 2])
    plain = solve(problem, objective="fairness")
    soft = solve(problem, objective="fairness", back_to_back="soft")
    assert plain.details["rank_profile"] == soft.details["rank_profile"] == {"1": 1, "2": 2, "3": 1}
    assert soft.assignments.tolist() == [[0, 0, 0], [0, 2, 0], [1, 1, 0], [1, 3, 0]]
    assert soft.details["back_to_back"] == 0 and soft.details["levels"][-1]["name"] == "back_to_back"


def test_paired_faculty_serve_the_same_weeks():
    # A wants week 0, B wants week 1, two seats a week: apart they would split, paired they share a week.
    problem = ranked_problem(rank=[[1, 2], [2, 1]], capacity=[2, 2])
    assert solve(problem).assignments[:, 1].tolist() == [0, 1]
    paired = solve(problem, pairs=[(0, 1)])
    assert paired.status == OPTIMAL and paired.objective == 1
    assert paired.assignments[:, 1].tolist() in ([0, 0], [1, 1])
    # One seat a week: the two can never serve together, so the pair is left unassigned rather than split.
    apart = solve(dataclasses.replace(problem, capacity=np.array([[1], [1]])), pairs=[[1, 0]])
    assert apart.status == OPTIMAL and apart.assignments.shape == (0, 3) and apart.unassigned.tolist() == [1, 1]


def test_rotation_quotas_bound_each_faculty_members_weeks_in_a_rotation():
    # One faculty member, three weeks, two rotations; they prefer nothing between rotations, so regret alone is blind.
    problem = ranked_problem(rank=[[1, 2, 3]], capacity=[1, 1, 1], demand=[3])
    problem = dataclasses.replace(problem, eligible=np.ones((1, 3, 2), bool), capacity=np.ones((3, 2), np.int64))
    for low, high in ((2, None), (0, 0), (1, 1), (3, 3)):
        result = solve(problem, rotation_quotas=[{"faculty": 0, "rotation": 1, "min": low, "max": high}])
        in_rotation = int((result.assignments[:, 2] == 1).sum())
        assert result.status == OPTIMAL and result.unassigned.tolist() == [0]
        assert low <= in_rotation and (high is None or in_rotation <= high)


@pytest.mark.parametrize("case", ["consecutive_preassigned", "holiday_preassigned", "quota_above_demand", "quota_above_weeks",
                                  "quota_in_a_rotation_never_eligible", "pair_cannot_follow"])
def test_constraints_that_cannot_all_hold_give_status_infeasible(case):
    problem = ranked_problem(rank=[[1, 2, 3], [1, 2, 3]], capacity=[2, 2, 2], demand=[2, 2], holidays=[0, 1])
    options: dict = {}
    if case == "consecutive_preassigned":
        problem, options = dataclasses.replace(problem, preassigned=np.array([[0, 0, 0], [0, 1, 0]])), {"back_to_back": "hard"}
    elif case == "holiday_preassigned":
        problem, options = dataclasses.replace(problem, preassigned=np.array([[1, 0, 0], [1, 1, 0]])), {"max_holidays": 1}
    elif case == "quota_above_demand":
        options = {"rotation_quotas": [{"faculty": 0, "rotation": 0, "min": 3}]}  # demand is 2
    elif case == "quota_above_weeks":
        options = {"rotation_quotas": [{"faculty": 0, "rotation": 0, "min": 5}]}  # 3 weeks in all
    elif case == "quota_in_a_rotation_never_eligible":
        problem = dataclasses.replace(problem, eligible=np.concatenate([problem.eligible, np.zeros((2, 3, 1), bool)], axis=2),
                                      capacity=np.concatenate([problem.capacity, np.ones((3, 1), np.int64)], axis=1))
        options = {"rotation_quotas": [{"faculty": 1, "rotation": 1, "min": 1}]}
    else:
        eligible = problem.eligible.copy()
        eligible[1, 2, 0] = False
        problem = dataclasses.replace(problem, eligible=eligible, preassigned=np.array([[0, 2, 0]]))
        options = {"pairs": [(0, 1)]}
    for objective in OBJECTIVES:
        result = solve(problem, **objective, **options)
        assert result.status == INFEASIBLE and result.details["reason"] == "the hard constraints cannot all be met"
        assert_valid(problem, result, options)
        assert brute_force(problem, lambda rows: (), **options) is None


def test_a_restricted_round_that_uses_a_wildcard_is_widened_and_solved_again():
    # Both list only week 0 (one seat); week 1 (one seat) is unlisted. Without a hint the first model keeps week 0
    # only, plus one wildcard each standing for week 1: it cannot certify, so the wildcard user sees every week.
    problem = ranked_problem(rank=[[1, 2], [1, 2]], capacity=[1, 1])
    problem = dataclasses.replace(problem, listed=np.array([[True, False], [True, False]]))
    result = solve(problem, hint=False)
    assert result.status == OPTIMAL and result.unassigned.sum() == 0 and result.objective == 1
    rounds = result.details["rounds"]
    assert len(rounds) >= 2 and {r["model"] for r in rounds} == {"restricted"}
    assert rounds[0]["wildcards_used"] == 1 and rounds[-1]["wildcards_used"] == 0
    assert rounds[0]["num_variables"] == 2 and rounds[-1]["num_variables"] > 2
    assert result.details["hint"] is None


def test_details_record_the_solver_status_of_every_level_and_the_time_limit():
    problem = varied_problem(3)
    result = solve(problem, objective="fairness", time_limit_s=12.5, workers=2)
    details = result.details
    assert result.status == OPTIMAL and details["time_limit_s"] == 12.5 and details["workers"] == 2
    assert details["solver_status"] == [level["solver_status"] for level in details["levels"]]
    assert set(details["solver_status"]) == {"OPTIMAL"} and details["levels"][0]["name"] == "unassigned"
    assert details["levels"][0]["objective"] == result.unassigned.sum()
    assert details["tie_break"] == "OPTIMAL" and details["hint"] == "lexicographic_flow"
    assert details["eligible_triples"] == int(problem.eligible.sum()) and isinstance(details["random_seed"], int)
    assert solve(problem, hint=True).details["hint"] == "least_regret"


def test_a_time_limit_too_short_for_any_solve_still_returns_the_best_known_schedule(monkeypatch):
    # More demand than seats, short lists, no hint: the first (restricted) model cannot prove the cardinality by a
    # bound, and the deadline has passed before its first solve. Without the relaxation's bounds, the flow schedule
    # handed in as the best known one is still valid.
    rng = np.random.default_rng(7)
    problem = make_problem(rng, n=40, weeks=12, rotations=2, demand=(1, 3), capacity=(0, 2), listed=(1, 3), correlated=0.8)
    reference = least_regret(problem, rng=RNG)
    for options in OBJECTIVES:
        monkeypatch.setattr(cpsat_solve, "_Run", _without_bounds(cpsat_solve._Run))
        result = solve(problem, **options, time_limit_s=1e-9)
        assert result.status == FEASIBLE and set(result.details["solver_status"]) & {"NOT_SOLVED", "FEASIBLE"}
        assert_valid(problem, result, options)
        assert result.unassigned.sum() == reference.unassigned.sum()
        monkeypatch.undo()
        # With them, the same flow schedule attains every level's bound: proven without a solve, in no time.
        bounded = solve(problem, **options, time_limit_s=1e-9)
        assert bounded.status == OPTIMAL and all(level["solves"] == 0 for level in bounded.details["levels"])
        assert_valid(problem, bounded, options)
        assert result_key(problem, bounded, key_of(problem, options)) <= result_key(problem, result, key_of(problem, options))


def _without_bounds(run_class):
    class Unbounded(run_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **{**kwargs, "relaxed": None})
    return Unbounded


def test_when_nothing_is_known_by_the_deadline_the_reason_says_so():
    # No hint and no time for a solve: no schedule is known, and the reason tells it apart from a proof.
    problem = ranked_problem(rank=[[1, 2, 3], [1, 2, 3]], capacity=[2, 2, 2], demand=[2, 2])
    result = solve(problem, time_limit_s=1e-9, hint=False)
    assert result.status == INFEASIBLE and result.assignments.shape == (0, 3)
    assert result.details["reason"] == "no feasible allocation found within the time limit"


def test_the_registry_finds_cp_sat():
    assert registry.strategy("cp_sat") is cp_sat


@pytest.mark.parametrize(("options", "message"), [
    ({"speed": 1}, "cp_sat: unknown option 'speed'; known options: back_to_back, back_to_back_penalty, cost, fairness, "
                   "hint, max_holidays, objective, pairs, relaxation, rotation_quotas, time_limit_s, workers."),
    ({"objective": "welfare"}, "cp_sat: option 'objective' must be one of 'regret', 'fairness', got 'welfare'."),
    ({"fairness": "rawlsian"}, "cp_sat: option 'fairness' must be one of 'greedy', 'generous', got 'rawlsian'."),
    ({"cost": "cubic"}, "cp_sat: option 'cost' must be one of 'squared', 'linear', got 'cubic'."),
    ({"back_to_back": "yes"}, "cp_sat: option 'back_to_back' must be one of 'off', 'hard', 'soft', got 'yes'."),
    ({"hint": 1}, "cp_sat: option 'hint' must be one of True, False, got 1."),
    ({"max_holidays": -1}, "cp_sat: option 'max_holidays' must be an integer in 0..1000, got -1."),
    ({"max_holidays": True}, "cp_sat: option 'max_holidays' must be an integer in 0..1000, got True."),
    ({"max_holidays": 1.5}, "cp_sat: option 'max_holidays' must be an integer in 0..1000, got 1.5."),
    ({"max_holidays": 10**30},
     "cp_sat: option 'max_holidays' must be an integer in 0..1000, got 1000000000000000000000000000000."),
    ({"back_to_back_penalty": -2}, "cp_sat: option 'back_to_back_penalty' must be an integer in 0..10000, got -2."),
    ({"back_to_back_penalty": 10**30},
     "cp_sat: option 'back_to_back_penalty' must be an integer in 0..10000, got 1000000000000000000000000000000."),
    ({"workers": 0}, "cp_sat: option 'workers' must be an integer in 1..16, got 0."),
    ({"workers": 17}, "cp_sat: option 'workers' must be an integer in 1..16, got 17."),
    ({"time_limit_s": 600.5}, "cp_sat: option 'time_limit_s' must be at most 600 seconds, got 600.5."),
    ({"time_limit_s": 10**9}, "cp_sat: option 'time_limit_s' must be at most 600 seconds, got 1000000000."),
    ({"time_limit_s": 0}, "cp_sat: option 'time_limit_s' must be a positive number of seconds, got 0."),
    ({"time_limit_s": math.inf}, "cp_sat: option 'time_limit_s' must be a positive number of seconds, got inf."),
    ({"time_limit_s": "5"}, "cp_sat: option 'time_limit_s' must be a positive number of seconds, got '5'."),
    ({"pairs": [[0, 0]]}, "cp_sat: option 'pairs' must pair two different faculty, got (0, 0)."),
    ({"pairs": [[0, 10]]}, "cp_sat: option 'pairs' must be an integer in 0..9, got 10."),
    ({"pairs": [[0]]}, "cp_sat: option 'pairs' must hold (i, j) pairs of faculty indices, got [0]."),
    ({"pairs": "01"}, "cp_sat: option 'pairs' must be a list, got '01'."),
    ({"rotation_quotas": [{"faculty": 0}]},
     "cp_sat: option 'rotation_quotas' must hold {faculty, rotation, min, max} mappings (min and max optional), "
     "got {'faculty': 0}."),
    ({"rotation_quotas": [{"faculty": 0, "rotation": 7}]}, "cp_sat: option 'rotation_quotas' must be an integer in 0..2, got 7."),
    ({"rotation_quotas": [{"faculty": 0, "rotation": 0, "min": 2, "max": 1}]},
     "cp_sat: option 'rotation_quotas' must be an integer in 2..1000, got 1."),
    ({"rotation_quotas": [{"faculty": 0, "rotation": 0, "max": 1001}]},
     "cp_sat: option 'rotation_quotas' must be an integer in 0..1000, got 1001."),
    ({"rotation_quotas": [{"faculty": 0, "rotation": 0, "min": 10**20}]},
     "cp_sat: option 'rotation_quotas' must be an integer in 0..1000, got 100000000000000000000."),
    ({"rotation_quotas": {"faculty": 0, "rotation": 0}},
     "cp_sat: option 'rotation_quotas' must be a list, got {'faculty': 0, 'rotation': 0}."),
])
def test_bad_options_are_named(options, message):
    with pytest.raises(ValueError) as raised:
        cp_sat(varied_problem(0), rng=RNG, **options)
    assert str(raised.value) == message


# --- optimality against brute force -------------------------------------------------------------------------------

@pytest.mark.parametrize("options", OBJECTIVES, ids=OBJECTIVE_IDS)
@pytest.mark.parametrize("seed", range(30))
def test_every_objective_equals_the_brute_force_optimum_after_the_most_assignments(seed, options):
    problem = tiny_problem(seed)
    result = solve(problem, **options)
    assert result.status == OPTIMAL
    assert_valid(problem, result, options)
    best = brute_force(problem, key_of(problem, options))
    assert result_key(problem, result, key_of(problem, options)) == best
    assert result.unassigned.sum() == best[0]  # unassigned demand is minimised first


@pytest.mark.parametrize("options", OBJECTIVES, ids=OBJECTIVE_IDS)
@pytest.mark.parametrize("seed", range(30))
def test_the_flow_relaxation_proves_the_brute_force_optimum_without_a_solve(seed, options):
    # No side constraints: the relaxation is the problem itself, so its optimum is returned as proven.
    problem = tiny_problem(seed)
    result = solve(problem, relaxation=True, **options)
    assert result.status == OPTIMAL and result.details["rounds"] == [
        {**result.details["rounds"][0], "model": "relaxation", "num_variables": 0}]
    assert_valid(problem, result, options)
    assert result_key(problem, result, key_of(problem, options)) == brute_force(problem, key_of(problem, options))
    levels = result.details["levels"]
    assert levels[0] == {**levels[0], "name": "unassigned", "objective": int(result.unassigned.sum())}
    assert {level["solver_status"] for level in levels} == {"OPTIMAL"} and all(level["solves"] == 0 for level in levels)


@pytest.mark.parametrize("options", [OBJECTIVES[0], OBJECTIVES[2], OBJECTIVES[3]], ids=["squared", "greedy", "generous"])
@pytest.mark.parametrize("kind", ["max_holidays", "hard_back_to_back", "soft_back_to_back", "pairs", "rotation_quotas",
                                  "combined"])
@pytest.mark.parametrize("seed", range(8))
def test_with_side_constraints_the_relaxation_decides_only_when_its_optimum_meets_them(seed, kind, options):
    problem = quota_problem(seed) if kind == "rotation_quotas" else side_problem(seed)
    constraints = side_constraints(kind, seed)
    result = solve(problem, relaxation=True, **options, **constraints)
    assert_valid(problem, result, {**options, **constraints})
    key = key_of(problem, {**options, **constraints})
    best = brute_force(problem, key, **constraints)
    assert result.status == (INFEASIBLE if best is None else OPTIMAL)
    if best is not None:
        assert result_key(problem, result, key) == best
    if result.details["rounds"][0]["model"] != "relaxation":  # the relaxation broke a side constraint: CP-SAT decided
        assert result.details["relaxation"] in ("least_regret", "lexicographic_flow") and result.details["levels"]


def test_the_relaxation_shortcut_is_taken_and_declined_on_a_fair_share_of_side_constraint_problems():
    # Guard for the test above: both branches are exercised.
    models = [solve(side_problem(seed), relaxation=True, **side_constraints(kind, seed)).details["rounds"][0]["model"]
              for seed in range(8) for kind in ("max_holidays", "hard_back_to_back", "combined")]
    assert 4 <= models.count("relaxation") <= len(models) - 4


@pytest.mark.parametrize("options", OBJECTIVES, ids=OBJECTIVE_IDS)
@pytest.mark.parametrize("seed", range(25))
def test_the_restricted_relaxation_reaches_the_brute_force_optimum(seed, options, monkeypatch):
    # Short lists and no hint: the first model keeps each faculty member's listed weeks only, so the wildcards
    # and the widening rounds decide the outcome. Restricting is forced even where it would not pay.
    monkeypatch.setattr(cpsat_relaxation, "_RESTRICT_BELOW", math.inf)
    problem = tiny_problem(seed, listed=(1, 1))
    result = solve(problem, hint=False, **options)
    assert result.details["rounds"][0]["model"] == "restricted"
    assert result.status == OPTIMAL
    assert_valid(problem, result, options)
    assert result_key(problem, result, key_of(problem, options)) == brute_force(problem, key_of(problem, options))


def test_the_restriction_kicks_in_and_its_wildcards_get_used_on_short_lists():
    # Guard for the test above: without forcing, short lists do make the first model restricted, and wildcards
    # are used (so the widening rounds run) on a fair share of the instances.
    results = [solve(tiny_problem(seed, listed=(1, 1)), hint=False) for seed in range(25)]
    assert {result.status for result in results} == {OPTIMAL}
    assert sum(r.details["rounds"][0]["model"] == "restricted" for r in results) >= 15
    assert sum(r.details["rounds"][0]["wildcards_used"] > 0 for r in results) >= 5


def test_a_wildcard_standing_for_several_weeks_does_not_make_the_regret_level_infeasible():
    # Regression: faculty 0 and 3 each need two weeks and list one; only week 2 has a seat. The restricted model
    # gives each a wildcard worth two weeks, so the regret total can exceed the sum of the coefficients — a bound
    # of that sum made the regret level "infeasible".
    problem = tiny_problem(9, listed=(1, 1))
    assert problem.demand.tolist() == [2, 0, 0, 2] and problem.capacity.ravel().tolist() == [0, 0, 1]
    result = solve(problem, hint=False)
    first = result.details["rounds"][0]
    assert first["model"] == "restricted" and first["wildcards_used"] == 2  # both faculty used their wildcard
    # The one seat goes to faculty 0's first choice (faculty 3's second): 3 weeks unassigned, no regret.
    assert result.status == OPTIMAL and result.assignments.tolist() == [[0, 2, 0]] and result.objective == 0
    assert result_key(problem, result, objective_key(problem)) == brute_force(problem, objective_key(problem))


@pytest.mark.parametrize("options", OBJECTIVES, ids=OBJECTIVE_IDS)
@pytest.mark.parametrize("seed", range(8))
def test_after_the_last_restricted_round_the_full_model_gives_the_same_optimum(seed, options, monkeypatch):
    monkeypatch.setattr(cpsat_relaxation, "_RESTRICT_BELOW", math.inf)
    monkeypatch.setattr(cpsat_solve, "_ROUNDS", 1)  # one restricted round, then straight to the full model
    problem = tiny_problem(100 + seed, listed=(1, 1))
    result = solve(problem, hint=False, **options)
    assert result.status == OPTIMAL
    assert result_key(problem, result, key_of(problem, options)) == brute_force(problem, key_of(problem, options))
    if result.details["rounds"][0]["wildcards_used"]:
        assert [r["model"] for r in result.details["rounds"]] == ["restricted", "full"]


@pytest.mark.parametrize("options", [*OBJECTIVES, {"objective": "regret", "back_to_back": "soft", "back_to_back_penalty": 3},
                                     {"objective": "fairness", "fairness": "generous", "max_holidays": 1, "back_to_back": "hard"}],
                         ids=[*OBJECTIVE_IDS, "soft", "generous_holidays_hard"])
@pytest.mark.parametrize("seed", range(6))
def test_restricted_and_full_models_agree_on_larger_problems(seed, options, monkeypatch):
    problem = varied_problem(seed, n=14, weeks=9, listed=(1, 3))
    monkeypatch.setattr(cpsat_relaxation, "_RESTRICT_BELOW", math.inf)
    restricted = solve(problem, hint=False, **options)
    monkeypatch.setattr(cpsat_relaxation, "_RESTRICT_BELOW", 0.0)
    full = solve(problem, **options)
    assert restricted.details["rounds"][0]["model"] == "restricted"
    assert [r["model"] for r in full.details["rounds"]] == ["full"]
    assert restricted.status == full.status
    for result in (restricted, full):
        assert_valid(problem, result, options)
    key = key_of(problem, options)
    if full.ok:
        assert result_key(problem, restricted, key) == result_key(problem, full, key)


SIDE_KINDS = ["max_holidays", "hard_back_to_back", "soft_back_to_back", "pairs", "rotation_quotas", "combined"]


@pytest.mark.parametrize("options", [OBJECTIVES[0], OBJECTIVES[2], OBJECTIVES[3]], ids=["squared", "greedy", "generous"])
@pytest.mark.parametrize("kind", SIDE_KINDS)
@pytest.mark.parametrize("seed", range(8))
def test_side_constraints_hold_and_the_optimum_equals_brute_force_under_them(seed, kind, options):
    problem = quota_problem(seed) if kind == "rotation_quotas" else side_problem(seed)
    constraints = side_constraints(kind, seed)
    result = solve(problem, **options, **constraints)
    assert_valid(problem, result, {**options, **constraints})
    key = key_of(problem, {**options, **constraints})
    best = brute_force(problem, key, **constraints)
    if best is None:
        assert result.status == INFEASIBLE
    else:
        assert result.status == OPTIMAL
        assert result_key(problem, result, key) == best


@pytest.mark.parametrize("seed", range(10))
def test_max_holidays_caps_everyone_and_costs_what_brute_force_says(seed):
    problem = side_problem(seed)
    for k in (0, 1, 2):
        result = solve(problem, max_holidays=k)
        assert_valid(problem, result, {"max_holidays": k})  # nobody above k holiday weeks
        best = brute_force(problem, objective_key(problem), max_holidays=k)
        assert (result.status == INFEASIBLE) == (best is None)
        if best is not None:
            assert result_key(problem, result, objective_key(problem)) == best


@pytest.mark.parametrize("seed", range(10))
def test_soft_back_to_back_trades_the_penalty_against_regret_as_brute_force_does(seed):
    problem = side_problem(seed)
    for penalty in (0, 1, 2, 5, 50):
        result = solve(problem, back_to_back="soft", back_to_back_penalty=penalty)
        key = objective_key(problem, back_to_back_mode="soft", penalty=penalty)
        assert result.status == OPTIMAL and result_key(problem, result, key) == brute_force(problem, key)
        assert result.details["back_to_back"] == back_to_back(problem, result.assignments)
    # A penalty of 0 is plain least regret.
    assert solve(problem, back_to_back="soft", back_to_back_penalty=0).objective == least_regret(problem, rng=RNG).objective


# --- agreement with the flow mechanisms and scipy -----------------------------------------------------------------

@pytest.mark.parametrize("cost", ["squared", "linear"])
@pytest.mark.parametrize("seed", range(40))
def test_least_regret_via_cp_sat_equals_least_regret_via_min_cost_flow(seed, cost):
    rng = np.random.default_rng(seed)
    problem = make_problem(
        rng, n=int(rng.integers(4, 30)), weeks=int(rng.integers(3, 13)), rotations=int(rng.integers(1, 4)),
        demand=(0, 3), capacity=(0, 3), block_p=0.2, qualify_p=0.6, correlated=float(rng.random()),
        listed=None if seed % 2 else (1, 4),
    )
    problem = with_preassignments(problem, rng, int(rng.integers(0, 4)))
    ours, flow = solve(problem, cost=cost, hint=bool(seed % 3)), least_regret(problem, rng=rng, cost=cost)
    assert ours.status == OPTIMAL
    assert_valid(problem, ours, {"cost": cost})
    assert len(ours.assignments) == len(flow.assignments) and ours.objective == flow.objective


@pytest.mark.parametrize("seed", range(30))
def test_least_regret_via_scipy_equals_via_min_cost_flow_equals_via_cp_sat(seed):
    # Unit demand: scipy's linear_sum_assignment on the capacity-expanded matrix is an independent reference; with
    # every week listed, min-cost flow's cost is Σ rank = linear regret + the number served.
    rng = np.random.default_rng(500 + seed)
    problem = make_problem(rng, n=int(rng.integers(4, 25)), weeks=int(rng.integers(3, 10)), rotations=int(rng.integers(1, 3)),
                           capacity=(0, 3), block_p=0.2, qualify_p=0.7, correlated=float(rng.random()))
    problem = with_preassignments(problem, rng, int(rng.integers(0, 3)))
    for cost in ("squared", "linear"):
        ours = solve(problem, cost=cost)
        scipy_ref, flow_ref = least_regret_scipy(problem, cost=cost), least_regret(problem, rng=RNG, cost=cost)
        assert ours.status == OPTIMAL
        assert len(ours.assignments) == len(scipy_ref.assignments) == len(flow_ref.assignments)
        assert ours.objective == scipy_ref.objective == flow_ref.objective
    flow = min_cost_flow(problem, rng=RNG, fill_unlisted=True)
    linear = solve(problem, cost="linear")
    assert flow.objective == linear.objective + len(linear.assignments)


@pytest.mark.parametrize("seed", range(25))
def test_fairness_greedy_never_has_fewer_first_choices_than_least_regret(seed):
    problem = varied_problem(seed, n=12, weeks=8)
    greedy = solve(problem, objective="fairness")
    reference = least_regret(problem, rng=RNG)
    assert greedy.status == OPTIMAL and greedy.unassigned.sum() == reference.unassigned.sum()
    assert (_ranks(problem, greedy.assignments) == 1).sum() >= (_ranks(problem, reference.assignments) == 1).sum()
    generous = solve(problem, objective="fairness", fairness="generous")
    assert _ranks(problem, generous.assignments).max(initial=0) <= _ranks(problem, reference.assignments).max(initial=0)


# --- every result feasible; reproducible ------------------------------------------------------------------------------

VARIANTS = [
    {},
    {"objective": "fairness", "fairness": "generous"},
    {"cost": "linear", "max_holidays": 1},
    {"objective": "fairness", "back_to_back": "hard"},
    {"back_to_back": "soft", "back_to_back_penalty": 2},
    {"objective": "fairness", "pairs": [(0, 1)], "max_holidays": 2},
    {"rotation_quotas": [{"faculty": 2, "rotation": 0, "min": 1}, {"faculty": 3, "rotation": 0, "max": 1}]},
    {"objective": "fairness", "back_to_back": "soft", "pairs": [(4, 5)], "rotation_quotas": [{"faculty": 4, "rotation": 0, "max": 2}]},
]


@pytest.mark.parametrize("seed", range(40))
def test_every_result_is_feasible_on_varied_problems(seed):
    problem = varied_problem(seed, n=12, weeks=8, listed=None if seed % 2 else (1, 4))
    options = VARIANTS[seed % len(VARIANTS)]
    result = solve(problem, **options, workers=1 + seed % 2)
    assert result.status in (OPTIMAL, INFEASIBLE)
    assert_valid(problem, result, options)
    assert result.details["time_limit_s"] == 30.0 and result.details["solver_status"]


@pytest.mark.parametrize("options", OBJECTIVES[::2] + [{"objective": "fairness", "fairness": "generous", "back_to_back": "soft"}],
                         ids=["regret", "greedy", "generous_soft"])
def test_the_same_inputs_and_seed_give_the_same_schedule(options):
    # Many tied optima (correlated short lists) and two racing search workers: the seeded tie-break picks one.
    problem = make_problem(np.random.default_rng(5), n=30, weeks=12, rotations=2, demand=(1, 3), capacity=(1, 3),
                           correlated=0.7, listed=(2, 5))
    # Without the tie-break, greedy here returned 4 different schedules in 10 runs.
    runs = [cp_sat(problem, rng=np.random.default_rng(42), workers=2, time_limit_s=30, relaxation=False, **options)
            for _ in range(4)]
    first = runs[0]
    assert first.status == OPTIMAL and first.details["tie_break"] == "OPTIMAL"
    for again in runs[1:]:
        assert again.status == first.status and again.objective == first.objective
        assert np.array_equal(again.assignments, first.assignments)
        assert np.array_equal(again.unassigned, first.unassigned)
        assert again.details["random_seed"] == first.details["random_seed"]
    other = cp_sat(problem, rng=np.random.default_rng(43), workers=2, time_limit_s=30, relaxation=False, **options)
    key = key_of(problem, options)
    assert result_key(problem, other, key) == result_key(problem, first, key)  # another seed: an equally good optimum
    if "back_to_back" in options:
        return  # here the relaxation serves back to back: CP-SAT decides, as above
    # Proven by the relaxation, the schedule does not even depend on the seed.
    relaxed = [cp_sat(problem, rng=np.random.default_rng(seed), workers=2, **options) for seed in (42, 43)]
    assert [r.details["rounds"][0]["model"] for r in relaxed] == ["relaxation"] * 2
    assert np.array_equal(relaxed[0].assignments, relaxed[1].assignments)
    assert result_key(problem, relaxed[0], key) == result_key(problem, first, key)


# --- property-based -----------------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 10), weeks=st.integers(1, 7), rotations=st.integers(1, 3),
       cost=st.sampled_from(["squared", "linear"]), hint=st.booleans())
def test_random_problems_give_feasible_results_with_least_regrets_optimum(seed, n, weeks, rotations, cost, hint):
    rng = np.random.default_rng(seed)
    problem = make_problem(rng, n=n, weeks=weeks, rotations=rotations, demand=(0, 3), capacity=(0, 3), block_p=0.2,
                           qualify_p=0.6, listed=(1, weeks) if seed % 2 else None)
    problem = with_preassignments(problem, rng, int(rng.integers(0, 3)))
    result = solve(problem, cost=cost, hint=hint)
    reference = least_regret(problem, rng=rng, cost=cost)
    assert result.status == OPTIMAL
    assert_valid(problem, result, {"cost": cost})
    assert len(result.assignments) == len(reference.assignments) and result.objective == reference.objective


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), objective=st.sampled_from(OBJECTIVES), max_holidays=st.one_of(st.none(), st.integers(0, 2)),
       back_to_back_mode=st.sampled_from(["off", "hard", "soft"]), paired=st.booleans(), quota=st.booleans())
def test_random_side_constraints_are_always_met(seed, objective, max_holidays, back_to_back_mode, paired, quota):
    rng = np.random.default_rng(seed)
    problem = make_problem(rng, n=int(rng.integers(2, 9)), weeks=int(rng.integers(2, 8)), rotations=int(rng.integers(1, 3)),
                           demand=(0, 3), capacity=(0, 3), block_p=0.2, qualify_p=0.7, listed=(1, 4))
    problem = dataclasses.replace(with_preassignments(problem, rng, int(rng.integers(0, 2))), is_holiday=rng.random(problem.n_weeks) < 0.3)
    options = {**objective, "max_holidays": max_holidays, "back_to_back": back_to_back_mode,
               "pairs": [(0, 1)] if paired else [],
               "rotation_quotas": [{"faculty": 0, "rotation": 0, "max": 1}] if quota else []}
    result = solve(problem, **options)
    assert result.status in (OPTIMAL, INFEASIBLE)
    assert_valid(problem, result, options)


# --- real data -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("relaxation", [True, False], ids=["relaxation", "cp_sat_levels"])
def test_fairness_greedy_on_the_wpi_2017_project_centres_has_at_least_least_regrets_first_choices(relaxation):
    # 928 students, 46 centres. The CP-SAT levels alone are too slow to finish every tier in a test's time, so that
    # run is cut short inside a restricted round; the first tiers are proven, and the wildcards' students are still
    # placed (by the least-regret completion: before it, a cut-short run left ~150 students unassigned) in a valid
    # schedule. With no side constraints, the lexicographic flow relaxation proves every tier.
    problem = wpi_problem()
    reference = least_regret(problem, rng=RNG)
    result = cp_sat(problem, rng=np.random.default_rng(2017), objective="fairness", time_limit_s=8, workers=2,
                    relaxation=relaxation)
    assert result.status in ((OPTIMAL,) if relaxation else (OPTIMAL, FEASIBLE))
    assert_valid(problem, result, {"objective": "fairness"})
    assert result.unassigned.sum() == reference.unassigned.sum() == 0
    levels = {level["name"]: level["solver_status"] for level in result.details["levels"]}
    assert levels["unassigned"] == levels["rank_1"] == "OPTIMAL"
    first = int((_ranks(problem, result.assignments) == 1).sum())
    assert first >= int((_ranks(problem, reference.assignments) == 1).sum())
    assert first == result.details["levels"][1]["objective"]
