"""Top Trading Cycles (DESIGN §9 swap market): literature examples and the properties that make it the clearing
rule — individually rational, Pareto efficient, in the core, strategy-proof — checked exhaustively on small markets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from stability.algorithms.swaps import swap_gains
from stability.algorithms.ttc import market_preferences, top_trading_cycles
from stability.algorithms.types import CLEARED
from tests.stability.algorithms.cases import literal, random_problem


def test_ttc_clears_the_wikipedia_housing_market_example_in_three_rounds():
    # "Top trading cycle", Wikipedia (housing market section): agents 1..6 own houses 1..6; listed are the top
    # choices, the rest is unacceptable. Round 1: {3}; round 2: 1 → 2 → 5 → 1; round 3: 4 ↔ 6.
    preferences = [[3, 2, 4, 1], [3, 5, 6], [3, 1], [2, 5, 6, 4], [1, 3, 2], [2, 4, 5, 6]]
    result = top_trading_cycles([1, 2, 3, 4, 5, 6], preferences)
    assert result.status == CLEARED
    assert result.allocation.tolist() == [2, 5, 3, 6, 1, 4]
    assert result.cycles == ((2,), (0, 1, 4), (3, 5))
    assert result.rounds.tolist() == [0, 1, 2]
    assert result.trades == ((0, 1, 4), (3, 5))
    assert result.receives_from.tolist() == [1, 4, 2, 5, 0, 3]


def test_ttc_reproduces_the_matchingmarkets_documentation_example():
    # R package matchingMarkets, ttc() help page (after Abdulkadiroğlu & Sönmez 1999): full preference lists.
    preferences = [[2, 5, 1, 4, 3], [1, 5, 4, 3, 2], [2, 1, 4, 3, 5], [2, 4, 3, 1, 5], [4, 3, 1, 2, 5]]
    result = top_trading_cycles([1, 2, 3, 4, 5], preferences)
    assert result.allocation.tolist() == [2, 1, 3, 4, 5]
    assert result.trades == ((0, 1),)


def test_shapley_scarf_three_traders_trade_in_one_cycle():
    # Each trader likes the next trader's house best: the core is the single three-way trade.
    result = top_trading_cycles(["a", "b", "c"], [["b", "a"], ["c", "b"], ["a", "c"]])
    assert result.allocation.tolist() == ["b", "c", "a"]
    assert result.cycles == ((0, 1, 2),)


def test_an_agent_who_lists_nothing_keeps_its_own_item():
    result = top_trading_cycles([10, 20], [[], [10]])
    assert result.allocation.tolist() == [10, 20] and result.trades == ()


def test_items_after_the_own_item_are_unacceptable():
    # Agent 0 ranks its own item above agent 1's: no trade even though agent 1 wants agent 0's item.
    result = top_trading_cycles([0, 1], [[0, 1], [0, 1]])
    assert result.allocation.tolist() == [0, 1]


def test_bad_markets_are_refused_with_the_field_named():
    with pytest.raises(ValueError, match=r"^owners must be distinct items"):
        top_trading_cycles([1, 1], [[], []])
    with pytest.raises(ValueError, match=r"^preferences\[0\] lists item 9, which no agent owns."):
        top_trading_cycles([1, 2], [[9], []])
    with pytest.raises(ValueError, match=r"^preferences\[1\] lists item 1 twice"):
        top_trading_cycles([1, 2], [[], [1, 1]])
    with pytest.raises(ValueError, match=r"^preferences must be one list per agent \(2\), got 1."):
        top_trading_cycles([1, 2], [[]])


# --- properties, brute force on small markets ---------------------------------------------------------------------


def rank_of(preferences: list[list[int]], k: int, item: int) -> int:
    """Position of item in agent k's list with its own item as the stop; unacceptable items rank last."""
    listed = preferences[k]
    own = listed.index(k) if k in listed else len(listed)
    if item == k:
        return own
    return listed.index(item) if item in listed[:own] else 10**6


def random_market(rng: np.random.Generator, k: int) -> list[list[int]]:
    lists = []
    for agent in range(k):
        others = [x for x in rng.permutation(k).tolist() if x != agent]
        lists.append(others[: int(rng.integers(0, k))])
    return lists


def permutations_within(agents: list[int]):
    for image in itertools.permutations(agents):
        yield dict(zip(agents, image, strict=True))


@pytest.mark.parametrize("seed", range(30))
def test_ttc_is_individually_rational_pareto_efficient_and_in_the_core(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 6))
    prefs = random_market(rng, k)
    result = top_trading_cycles(list(range(k)), prefs)
    got = result.allocation.tolist()
    assert sorted(got) == list(range(k))
    ranks = [rank_of(prefs, a, got[a]) for a in range(k)]
    assert all(ranks[a] <= rank_of(prefs, a, a) for a in range(k))  # individually rational
    for size in range(1, k + 1):
        for coalition in itertools.combinations(range(k), size):
            for trade in permutations_within(list(coalition)):
                new = [rank_of(prefs, a, trade[a]) for a in coalition]
                old = [ranks[a] for a in coalition]
                weakly = all(x <= y for x, y in zip(new, old, strict=True))
                assert not (weakly and new != old), (prefs, coalition, trade)  # nobody can block (core; N: Pareto)


@pytest.mark.parametrize("seed", range(12))
def test_no_agent_gains_by_misreporting(seed):
    rng = np.random.default_rng(1000 + seed)
    k = int(rng.integers(2, 5))
    prefs = random_market(rng, k)
    truthful = top_trading_cycles(list(range(k)), prefs).allocation.tolist()
    for agent in range(k):
        honest = rank_of(prefs, agent, truthful[agent])
        others = [x for x in range(k) if x != agent]
        for size in range(len(others) + 1):
            for lie in itertools.permutations(others, size):
                report = [list(p) for p in prefs]
                report[agent] = list(lie)
                got = top_trading_cycles(list(range(k)), report).allocation.tolist()[agent]
                assert rank_of(prefs, agent, got) >= honest


# --- the swap market -----------------------------------------------------------------------------------------------


def test_market_preferences_rank_the_feasible_gaining_offers_by_gain():
    # Three faculty, one week each; u favours the next week round the cycle: a three-way trade.
    u = [[0.0, 1.0, 0.5], [0.5, 0.0, 1.0], [1.0, 0.5, 0.0]]
    problem = literal(u, [[0, 0, 0], [1, 1, 0], [2, 2, 0]])
    prefs = market_preferences(problem, [0, 1, 2])
    assert prefs == [[1, 2], [2, 0], [0, 1]]
    result = top_trading_cycles([0, 1, 2], prefs)
    assert result.cycles == ((0, 1, 2),) and result.allocation.tolist() == [1, 2, 0]


def test_market_preferences_respect_wanted_weeks_and_distinct_faculty():
    u = [[0.0, 1.0, 0.5], [0.5, 0.0, 1.0], [1.0, 0.5, 0.0]]
    problem = literal(u, [[0, 0, 0], [1, 1, 0], [2, 2, 0]])
    assert market_preferences(problem, [0, 1, 2], wanted_weeks=[[2], None, []]) == [[2], [2, 0], []]
    problem = literal(u, [[0, 0, 0], [0, 1, 0], [2, 2, 0]])
    with pytest.raises(ValueError, match="^offered assignments must belong to distinct faculty members"):
        market_preferences(problem, [0, 1])


@pytest.mark.parametrize("seed", range(10))
def test_every_move_of_a_cleared_cycle_is_feasible_and_gains(seed):
    problem = random_problem(np.random.default_rng(1100 + seed), n=10, weeks=8, rotations=2, per_faculty=(1, 3))
    rows = problem.assignments
    first = [int(np.flatnonzero(rows[:, 0] == i)[0]) for i in np.unique(rows[:, 0])]
    result = top_trading_cycles(first, market_preferences(problem, first))
    for cycle in result.trades:
        for k, agent in enumerate(cycle):
            a, b = first[agent], first[cycle[(k + 1) % len(cycle)]]
            _, gain, _ = swap_gains(problem, a, b)  # a's holder takes b's slot
            assert gain > 1e-9 and problem.eligible[rows[a, 0], rows[b, 1], rows[b, 2]]
            assert not ((rows[:, 0] == rows[a, 0]) & (rows[:, 1] == rows[b, 1])).any()
