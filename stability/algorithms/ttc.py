"""Gale's Top Trading Cycles for the swap market (DESIGN §9): multi-way trades among open swap requests.

Shapley & Scarf (1974) "On cores and indivisibility", J. Math. Econ. 1 — the housing market and Gale's
algorithm; Roth & Postlewaite (1977) "Weak versus strong domination in a market with indivisible goods",
J. Math. Econ. 4 — with strict preferences its outcome is the unique core allocation; Roth (1982) "Incentive
compatibility in a market with indivisible goods", Econ. Letters 9 — it is strategy-proof.

Agent k owns item k (an assignment it offers) and ranks items strictly, best first; its own item is the stop:
items it did not list, or listed after its own, are unacceptable. Every round each remaining agent points at the
owner of its most-preferred remaining item (its own when nothing better is left); every cycle of the pointing
graph trades along its arrows and leaves the market.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stability.algorithms import _state, _validate
from stability.algorithms.types import CLEARED, EPSILON, SwapProblem, TTCResult


def top_trading_cycles(owners: Sequence, preferences: Sequence[Sequence]) -> TTCResult:
    """TTC outcome of the market: agent k owns owners[k] and ranks items by preferences[k] (best first)."""
    items, lists = _validate.ttc_market(owners, preferences)
    k = len(items)
    unacceptable = k + 1
    rank = np.full((k, k), unacceptable, dtype=np.int64)
    for agent, ranked in enumerate(lists):
        rank[agent, ranked] = np.arange(len(ranked))
        rank[agent, agent] = len(ranked)
    remaining = np.ones(k, dtype=bool)
    receives = np.arange(k)
    cycles: list[tuple[int, ...]] = []
    rounds: list[int] = []
    doublings = max(1, int(k).bit_length())
    round_ = 0
    while remaining.any():
        points = np.where(remaining[None, :], rank, unacceptable + 1).argmin(axis=1)
        # f^(2^L) with 2^L ≥ k lands every agent on a cycle of the pointing graph.
        landed = points.copy()
        for _ in range(doublings):
            landed = landed[landed]
        on_cycle = np.zeros(k, dtype=bool)
        on_cycle[landed[remaining]] = True
        for start in np.flatnonzero(on_cycle):
            if not remaining[start]:
                continue
            cycle = [int(start)]
            while (nxt := int(points[cycle[-1]])) != start:
                cycle.append(nxt)
            receives[cycle] = points[cycle]
            remaining[cycle] = False
            cycles.append(tuple(cycle))
            rounds.append(round_)
        round_ += 1
    allocation = np.array([items[x] for x in receives]) if k else np.zeros(0, dtype=np.int64)
    return TTCResult(
        status=CLEARED, allocation=allocation, receives_from=receives.astype(np.int64), cycles=tuple(cycles),
        rounds=np.array(rounds, dtype=np.int64),
    )


def market_preferences(
    problem: SwapProblem, offered: Sequence[int], *, wanted_weeks: Sequence | None = None, epsilon: float = EPSILON,
) -> list[list[int]]:
    """TTC preference lists for the open swap requests offering assignments `offered` (one per faculty member).

    Agent k (the holder i of offered[k]) accepts another offered assignment b when i could take b's slot (eligible,
    not already holding that week, neither row locked) and gains more than ε; acceptable items are ranked by gain,
    best first (ties: lower assignment index). wanted_weeks[k], when given and not None, keeps only items in
    those weeks. One request per faculty member keeps every move of a cycle independent, so each stays feasible.
    """
    p = _validate.swap_problem(problem)
    eps = _validate.epsilon(epsilon)
    m = len(p.assignments)
    offered = [_validate.assignment_index(f"offered[{k}]", a, m) for k, a in enumerate(offered)]
    faculty = p.assignments[offered, 0] if offered else np.zeros(0, dtype=np.int64)
    if len(set(faculty.tolist())) != len(offered):
        raise ValueError("offered assignments must belong to distinct faculty members (one open request each).")
    if wanted_weeks is not None and len(wanted_weeks) != len(offered):
        raise ValueError(f"wanted_weeks must have one entry per offered assignment ({len(offered)}).")
    state = _state.SwapState(p, eps)
    rows = np.array(offered, dtype=np.int64)
    gm = state.masked(rows[:, None], state.slot[rows][None, :])   # (K, K): gain of k's holder taking item l
    out = []
    for k in range(len(rows)):
        ok = gm[k] > 0
        if wanted_weeks is not None and wanted_weeks[k] is not None:
            weeks = _validate.weeks(wanted_weeks[k], p.eligible.shape[1])
            ok &= np.isin(p.assignments[rows, 1], weeks)
        items = np.flatnonzero(ok)
        items = items[np.lexsort((rows[items], -gm[k, items]))]
        out.append([int(rows[x]) for x in items])
    return out
