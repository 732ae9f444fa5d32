"""Probabilistic serial: hand-solved eating, Bogomolnaia–Moulin's example against exact RSD, a plain Fraction
re-run of the eating, feasibility, non-wastefulness, ordinal efficiency and envy-freeness."""

from __future__ import annotations

import dataclasses
import itertools
from fractions import Fraction as F

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from allocation.algorithms.serial import probabilistic_serial_matrix
from allocation.algorithms.types import Problem, RandomAssignment
from bench.allocation import synthetic_problem
from tests.allocation.algorithms.mechanism_cases import with_preassignments
from tests.allocation.algorithms.problems import make_problem


def literal(rank, *, capacity, demand=None, eligible=None, preassigned=()) -> Problem:
    """rank (n, W) best = 1; capacity (W,) for one rotation or (W, R); eligible (n, W, R), default everywhere."""
    rank = np.array(rank)
    n, n_weeks = rank.shape
    capacity = np.array(capacity, dtype=np.int64).reshape(n_weeks, -1)
    eligible = np.ones((n, n_weeks, capacity.shape[1]), bool) if eligible is None else np.array(eligible, bool)
    return Problem(
        utility=(n_weeks + 1 - rank) / n_weeks, rank=rank, listed=np.ones((n, n_weeks), bool),
        value=np.zeros((n, n_weeks)), eligible=eligible,
        demand=np.ones(n, dtype=np.int64) if demand is None else np.array(demand, dtype=np.int64),
        capacity=capacity, is_holiday=np.zeros(n_weeks, bool),
        preassigned=np.array(preassigned, dtype=np.int64).reshape(-1, 3),
    )


def fractions(result: RandomAssignment) -> np.ndarray:
    """(n, W, R) object array of exact Fractions counts / total."""
    return np.vectorize(lambda c: F(int(c), result.total), otypes=[object])(np.asarray(result.counts))


def week_fractions(result: RandomAssignment) -> list[list[F]]:
    return fractions(result).sum(axis=2).tolist()


def reference_eating(problem: Problem) -> np.ndarray:
    """The eating algorithm re-run plainly: at each step every hungry faculty member scans its whole order for
    the best slot with supply left in a week it has eaten less than 1 of, and time advances to the next event."""
    n, n_weeks, n_rot = problem.eligible.shape
    P = np.full((n, n_weeks, n_rot), F(0), dtype=object)
    supply = {(w, r): F(int(problem.capacity[w, r])) for w in range(n_weeks) for r in range(n_rot)}
    left = [F(int(d)) for d in problem.demand]
    held = [set() for _ in range(n)]
    for i, w, r in problem.preassigned.tolist():
        P[i, w, r] = F(1)
        supply[w, r] -= 1
        left[i] -= 1
        held[i].add(w)
    order = [
        sorted((int(problem.rank[i, w]), w, r) for w in range(n_weeks) for r in range(n_rot)
               if problem.eligible[i, w, r] and w not in held[i])
        for i in range(n)
    ]
    week = np.full((n, n_weeks), F(0), dtype=object)
    while True:
        eating = {}
        for i in range(n):
            if left[i] > 0:
                for _, w, r in order[i]:
                    if supply[w, r] > 0 and week[i, w] < 1:
                        eating[i] = (w, r)
                        break
        if not eating:
            return P
        eaters = {}
        for slot in eating.values():
            eaters[slot] = eaters.get(slot, 0) + 1
        dt = min(
            [supply[s] / k for s, k in eaters.items()]
            + [1 - week[i, w] for i, (w, _) in eating.items()] + [left[i] for i in eating]
        )
        for i, (w, r) in eating.items():
            P[i, w, r] += dt
            week[i, w] += dt
            left[i] -= dt
            supply[w, r] -= dt


def feasibility_errors(problem: Problem, result: RandomAssignment) -> list[str]:
    """RandomAssignment's feasibility, checked on Python integers."""
    c = np.asarray(result.counts).astype(object)
    t = int(result.total)
    n, n_weeks, n_rot = problem.eligible.shape
    errors = []
    if c.shape != (n, n_weeks, n_rot) or t <= 0:
        return [f"shape {c.shape}, total {t}"]
    if (c < 0).any():
        errors.append("negative counts")
    if (c[~problem.eligible] != 0).any():
        errors.append("counts where not eligible")
    if (c.sum(axis=2) > t).any():
        errors.append("more than one slot a week")
    if (c.sum(axis=(1, 2)) > problem.demand.astype(object) * t).any():
        errors.append("more than demand")
    if (c.sum(axis=0) > problem.capacity.astype(object) * t).any():
        errors.append("more than capacity")
    for i, w, r in problem.preassigned.tolist():
        if c[i, w, r] != t:
            errors.append(f"pre-assignment {(i, w, r)} not certain")
    return errors


def dominates(mine: list[F], theirs: list[F], rank_row) -> tuple[bool, bool]:
    """(mine first-order stochastically dominates theirs under rank_row, and strictly)."""
    best_first = np.argsort(rank_row, kind="stable").tolist()
    cum_mine = list(itertools.accumulate(mine[w] for w in best_first))
    cum_theirs = list(itertools.accumulate(theirs[w] for w in best_first))
    weak = all(a >= b for a, b in zip(cum_mine, cum_theirs, strict=True))
    return weak, weak and any(a > b for a, b in zip(cum_mine, cum_theirs, strict=True))


def domination_cycle(problem: Problem, P: list[list[F]]) -> list[int] | None:
    """A cycle in Bogomolnaia–Moulin's relation a → b (some faculty member not pre-assigned holds b with positive
    probability, may take a, and prefers a), or None when the relation is acyclic (ordinal efficiency)."""
    n, n_weeks = problem.rank.shape
    fixed = set(problem.preassigned[:, 0].tolist())
    edges = {a: set() for a in range(n_weeks)}
    for i in range(n):
        if i in fixed:
            continue
        for a, b in itertools.permutations(range(n_weeks), 2):
            if P[i][b] > 0 and problem.eligible[i, a].any() and problem.rank[i, a] < problem.rank[i, b]:
                edges[a].add(b)
    state = dict.fromkeys(range(n_weeks), 0)  # 0 new, 1 on the path, 2 finished

    def visit(a: int, path: list[int]) -> list[int] | None:
        state[a] = 1
        for b in edges[a]:
            if state[b] == 1:
                return path[path.index(b):] + [a] if b in path else [b, a]
            if state[b] == 0 and (cycle := visit(b, [*path, a])):
                return cycle
        state[a] = 2
        return None

    for a in range(n_weeks):
        if state[a] == 0 and (cycle := visit(a, [])):
            return cycle
    return None


def exact_rsd(rank) -> list[list[F]]:
    """Unit demand, unit capacity: every order equally likely, each agent in turn takes its best week left."""
    n, n_weeks = np.shape(rank)
    orders = list(itertools.permutations(range(n)))
    P = [[F(0)] * n_weeks for _ in range(n)]
    for order in orders:
        free = set(range(n_weeks))
        for i in order:
            w = min(free, key=lambda w: rank[i][w])
            free.remove(w)
            P[i][w] += F(1, len(orders))
    return P


# --- Bogomolnaia & Moulin's example -------------------------------------------------------------------------

BM_RANK = [[1, 2, 3, 4], [1, 2, 3, 4], [2, 1, 4, 3], [2, 1, 4, 3]]  # agents 1, 2: a>b>c>d; 3, 4: b>a>d>c


def test_bogomolnaia_moulins_four_agents_get_half_a_and_half_c_or_half_b_and_half_d():
    result = probabilistic_serial_matrix(literal(BM_RANK, capacity=[1, 1, 1, 1]))
    half, zero = F(1, 2), F(0)
    assert week_fractions(result) == [[half, zero, half, zero]] * 2 + [[zero, half, zero, half]] * 2
    assert result.total == 2 and result.counts.dtype == np.int64


def test_ps_dominates_exact_rsd_on_bogomolnaia_moulins_example_where_rsd_is_not_ordinally_efficient():
    problem = literal(BM_RANK, capacity=[1, 1, 1, 1])
    rsd = exact_rsd(BM_RANK)
    assert rsd[0] == rsd[1] == [F(5, 12), F(1, 12), F(5, 12), F(1, 12)]
    assert rsd[2] == rsd[3] == [F(1, 12), F(5, 12), F(1, 12), F(5, 12)]
    ps = week_fractions(probabilistic_serial_matrix(problem))
    verdicts = [dominates(ps[i], rsd[i], problem.rank[i]) for i in range(4)]
    assert all(weak for weak, _ in verdicts) and any(strict for _, strict in verdicts)
    assert domination_cycle(problem, rsd) is not None  # agents 1, 2 would trade b for a; agents 3, 4 a for b
    assert domination_cycle(problem, ps) is None


# --- hand-solved cases --------------------------------------------------------------------------------------

def test_blocked_weeks_are_never_eaten_and_push_their_faculty_to_the_next_week():
    # All prefer 0 > 1 > 2, one place each; faculty 0 may not serve week 0. t = 1/2: week 0 runs out (1 and 2
    # ate half each); week 1 has 1/2 left for three: gone at 2/3; week 2 feeds everyone the last third.
    eligible = np.ones((3, 3, 1), bool)
    eligible[0, 0] = False
    result = probabilistic_serial_matrix(literal([[1, 2, 3]] * 3, capacity=[1, 1, 1], eligible=eligible))
    assert week_fractions(result) == [
        [F(0), F(2, 3), F(1, 3)], [F(1, 2), F(1, 6), F(1, 3)], [F(1, 2), F(1, 6), F(1, 3)],
    ]


def test_a_faculty_member_whose_only_week_runs_out_stops_short_of_demand():
    eligible = np.array([[[True], [False]], [[True], [True]]])
    result = probabilistic_serial_matrix(literal([[1, 2], [1, 2]], capacity=[1, 1], eligible=eligible))
    assert week_fractions(result) == [[F(1, 2), F(0)], [F(1, 2), F(1, 2)]]


def test_three_share_a_week_of_capacity_two_then_the_week_of_one():
    result = probabilistic_serial_matrix(literal([[1, 2]] * 3, capacity=[2, 1]))
    assert week_fractions(result) == [[F(2, 3), F(1, 3)]] * 3


def test_multi_unit_demand_moves_on_when_a_week_is_held_whole():
    # Weeks A, B, C hold 3, 1, 2; everyone serves 2 weeks. Faculty 0: A > B > C; 1 and 2: B > A > C.
    # t = 1/2: B runs out; 1 and 2 join 0 on A. t = 1: 0 holds A whole, B is gone, so 0 eats C.
    # t = 3/2: A runs out just as 1 and 2 hold it whole; they share C's last 3/2 with 0 until t = 2.
    problem = literal([[1, 2, 3], [2, 1, 3], [2, 1, 3]], capacity=[3, 1, 2], demand=[2, 2, 2])
    result = probabilistic_serial_matrix(problem)
    assert week_fractions(result) == [[F(1), F(0), F(1)], [F(1), F(1, 2), F(1, 2)], [F(1), F(1, 2), F(1, 2)]]


def test_a_pre_assigned_slot_is_certain_and_its_holder_eats_only_other_weeks():
    # Faculty 0 (demand 2) is pre-assigned week 0, which holds 2: one place is left for 1 and 2, while 0 eats
    # week 1 from the start — the blocked-week case again, with week 0 certain for faculty 0.
    problem = literal([[1, 2, 3]] * 3, capacity=[2, 1, 1], demand=[2, 1, 1], preassigned=[(0, 0, 0)])
    result = probabilistic_serial_matrix(problem)
    assert result.counts[0, 0, 0] == result.total
    assert week_fractions(result) == [
        [F(1), F(2, 3), F(1, 3)], [F(1, 2), F(1, 6), F(1, 3)], [F(1, 2), F(1, 6), F(1, 3)],
    ]


def test_rotations_are_eaten_in_index_order_within_a_week():
    # Two weeks × two rotations, one place each; all prefer week 0; faculty 0 serves only rotation 1.
    # 1 and 2 eat (0, 0) until t = 1/2, then join 0 on (0, 1) until t = 2/3; then week 1 for the last third.
    eligible = np.ones((3, 2, 2), bool)
    eligible[0, :, 0] = False
    result = probabilistic_serial_matrix(literal([[1, 2]] * 3, capacity=[[1, 1], [1, 1]], eligible=eligible))
    P = fractions(result).tolist()
    assert P[0] == [[F(0), F(2, 3)], [F(0), F(1, 3)]]
    assert P[1] == P[2] == [[F(1, 2), F(1, 6)], [F(1, 3), F(0)]]


def test_a_week_held_whole_in_one_rotation_is_not_eaten_again_in_another():
    # Alone, demand 2: (0, 0) holds 2, so only the week limit stops faculty 0 at t = 1; (0, 1) is skipped.
    result = probabilistic_serial_matrix(literal([[1, 2]], capacity=[[2, 1], [1, 1]], demand=[2]))
    assert fractions(result).tolist() == [[[F(1), F(0)], [F(1), F(0)]]]


# --- against a plain re-run, and properties -----------------------------------------------------------------

problems = st.builds(
    lambda seed, n, weeks, rotations, demand_hi, capacity_hi, block_p, qualify_p, k: with_preassignments(
        make_problem(
            np.random.default_rng(seed), n=n, weeks=weeks, rotations=rotations, demand=(0, demand_hi),
            capacity=(0, capacity_hi), block_p=block_p, qualify_p=qualify_p, correlated=0.6,
        ),
        np.random.default_rng(seed + 1), k,
    ),
    seed=st.integers(0, 2**31), n=st.integers(1, 7), weeks=st.integers(1, 6), rotations=st.integers(1, 3),
    demand_hi=st.integers(1, 3), capacity_hi=st.integers(1, 3), block_p=st.sampled_from([0.0, 0.2, 0.4]),
    qualify_p=st.sampled_from([0.5, 1.0]), k=st.integers(0, 3),
)


@settings(max_examples=150, deadline=None)
@given(problem=problems)
def test_the_matrix_is_the_plain_eating_exactly_and_feasible(problem):
    result = probabilistic_serial_matrix(problem)
    assert feasibility_errors(problem, result) == []
    assert fractions(result).tolist() == reference_eating(problem).tolist()


@settings(max_examples=150, deadline=None)
@given(problem=problems)
def test_a_faculty_member_short_of_demand_could_eat_nothing_more(problem):
    result = probabilistic_serial_matrix(problem)
    c, t = np.asarray(result.counts).astype(object), result.total
    slot_full = c.sum(axis=0) == problem.capacity.astype(object) * t
    week_whole = c.sum(axis=2) == t
    pre_weeks = {(i, w) for i, w, _ in problem.preassigned.tolist()}
    for i in np.flatnonzero(c.sum(axis=(1, 2)) < problem.demand.astype(object) * t).tolist():
        for w, r in zip(*np.nonzero(problem.eligible[i]), strict=True):
            assert slot_full[w, r] or week_whole[i, w] or (i, int(w)) in pre_weeks


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 8), weeks=st.integers(1, 6), rotations=st.integers(1, 3))
def test_everyone_gets_their_whole_unit_demand_when_places_suffice(seed, n, weeks, rotations):
    problem = make_problem(
        np.random.default_rng(seed), n=n, weeks=weeks, rotations=rotations, capacity=(0, 3), block_p=0.0,
    )
    problem = dataclasses.replace(problem, eligible=np.ones_like(problem.eligible))
    if problem.capacity.sum() < n:
        problem = dataclasses.replace(problem, capacity=problem.capacity + 1 + n // problem.capacity.size)
    result = probabilistic_serial_matrix(problem)
    assert (np.asarray(result.counts).sum(axis=(1, 2)) == result.total).all()


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 8), weeks=st.integers(1, 6), rotations=st.integers(1, 3))
def test_everyone_gets_their_whole_multi_unit_demand_when_every_week_seats_everyone(seed, n, weeks, rotations):
    problem = make_problem(
        np.random.default_rng(seed), n=n, weeks=weeks, rotations=rotations, demand=(0, min(weeks, 4)), block_p=0.0,
    )
    per_rotation = -(-n // rotations)
    problem = dataclasses.replace(
        problem, eligible=np.ones_like(problem.eligible), capacity=np.full((weeks, rotations), per_rotation),
    )
    result = probabilistic_serial_matrix(problem)
    rows = np.asarray(result.counts).astype(object).sum(axis=(1, 2))
    assert rows.tolist() == (problem.demand.astype(object) * result.total).tolist()


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(2, 8), weeks=st.integers(2, 6), k=st.integers(0, 2),
       block_p=st.sampled_from([0.0, 0.3]))
def test_unit_demand_is_ordinally_efficient_no_cycle_of_profitable_trades(seed, n, weeks, k, block_p):
    rng = np.random.default_rng(seed)
    problem = make_problem(rng, n=n, weeks=weeks, capacity=(0, 2), block_p=block_p, correlated=0.7)
    problem = with_preassignments(problem, rng, k)
    result = probabilistic_serial_matrix(problem)
    assert domination_cycle(problem, week_fractions(result)) is None


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(2, 8), weeks=st.integers(1, 6))
def test_unit_demand_is_envy_free_each_row_dominates_every_other_under_its_own_order(seed, n, weeks):
    problem = make_problem(np.random.default_rng(seed), n=n, weeks=weeks, capacity=(0, 2), block_p=0.0, correlated=0.7)
    P = week_fractions(probabilistic_serial_matrix(problem))
    for i, j in itertools.permutations(range(n), 2):
        assert dominates(P[i], P[j], problem.rank[i])[0]


def test_the_cycle_check_finds_a_profitable_trade():
    # Faculty 0 prefers week 0 and holds week 1, faculty 1 the reverse: 0 → 1 → 0.
    problem = literal([[1, 2], [2, 1]], capacity=[1, 1])
    assert domination_cycle(problem, [[F(0), F(1)], [F(1), F(0)]]) is not None
    assert domination_cycle(problem, [[F(1), F(0)], [F(0), F(1)]]) is None


# --- determinism and size -----------------------------------------------------------------------------------

def test_the_same_input_gives_identical_counts():
    rng = np.random.default_rng(11)
    problem = with_preassignments(
        make_problem(rng, n=12, weeks=8, rotations=2, demand=(1, 3), capacity=(1, 3), correlated=0.5), rng, 3,
    )
    first = probabilistic_serial_matrix(problem)
    again = probabilistic_serial_matrix(dataclasses.replace(problem, rank=problem.rank.copy()))
    assert first.total == again.total and first.counts.dtype == again.counts.dtype
    assert np.array_equal(first.counts, again.counts)


def test_the_benchmark_problem_keeps_exact_python_integers_and_is_the_plain_eating():
    problem = synthetic_problem(1, n=300, weeks=30, capacity=10, listed=None, correlated=0.7)
    result = probabilistic_serial_matrix(problem)
    assert result.total > 2**64 and result.counts.dtype == object
    assert feasibility_errors(problem, result) == []
    assert (result.counts.sum(axis=(1, 2)) == result.total).all()  # 300 places for 300 faculty, all eligible
    assert fractions(result).tolist() == reference_eating(problem).tolist()


def test_a_year_with_rotations_demand_four_and_pre_assignments_is_the_plain_eating():
    rng = np.random.default_rng(3)
    problem = make_problem(
        rng, n=60, weeks=52, rotations=3, demand=(4, 4), capacity=(1, 2), block_p=0.1, qualify_p=0.7, correlated=0.5,
    )
    problem = with_preassignments(problem, rng, 10)
    result = probabilistic_serial_matrix(problem)
    assert feasibility_errors(problem, result) == []
    assert fractions(result).tolist() == reference_eating(problem).tolist()
