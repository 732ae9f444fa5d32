"""Swap stability of a schedule: blocking swaps, beneficial deviations, nash_distance (DESIGN §9).

A swap exchanges assignment a = (i, w, r) with b = (j, w', r'), i ≠ j: i takes (w', r'), j takes (w, r). It is
feasible iff eligible[i, w', r'] and eligible[j, w, r] (qualified for the other's rotation, week not blocked),
i does not already hold week w', j does not already hold week w, and neither row is locked. With
gain_i = u[i, w'] − u[i, w] and gain_j = u[j, w] − u[j, w'], (a, b) is a beneficial deviation of a when
gain_i > ε (directed) and a blocking swap when gain_i > ε and gain_j > ε (unordered). The schedule is a Nash
(swap-stable) equilibrium iff no swap blocks it; nash_distance is the share of assignments in at least one.
This is pairwise stability of the exchange (Gale & Shapley 1962; for exchange of assigned objects,
Alcalde 1995 "Exchange-proofness or divorce-proofness?", Economic Design 1), counted in O(m·S) by
:mod:`stability.algorithms._state` rather than over all O(m²) pairs.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from allocation.algorithms.exchange import apply_swap as apply_swap
from allocation.algorithms.exchange import swap_gains as swap_gains
from stability.algorithms import _state, _validate
from stability.algorithms.types import EPSILON, EQUILIBRIUM, UNSTABLE, SwapAnalysis, SwapCandidate, SwapProblem


def swap_analysis(problem: SwapProblem, *, epsilon: float = EPSILON) -> SwapAnalysis:
    """Count blocking swaps and beneficial deviations, and find every assignment's best blocking partner."""
    p = _validate.swap_problem(problem)
    return analyse(_state.SwapState(p, _validate.epsilon(epsilon)))


def nash_distance(problem: SwapProblem, *, epsilon: float = EPSILON) -> float:
    """The share of assignments in at least one blocking swap (DESIGN §9): the measure audited changes record."""
    return swap_analysis(problem, epsilon=epsilon).nash_distance


def analyse(state: _state.SwapState, scan: _state.Scan | None = None) -> SwapAnalysis:
    """swap_analysis on a prepared state (no validation), optionally from its scan."""
    m = state.m
    if m == 0:
        empty_f, empty_i = np.zeros(0), np.zeros(0, dtype=np.int64)
        return SwapAnalysis(
            status=EQUILIBRIUM, total_assignments=0, num_blocking_swaps=0, num_beneficial_deviations=0,
            in_blocking=np.zeros(0, dtype=bool), nash_distance=0.0, is_nash_equilibrium=True, max_gain=0.0,
            avg_gain=0.0, best_partner=empty_i, best_gain_self=empty_f, best_gain_partner=empty_f, epsilon=state.eps,
        )
    scan = _state.scan(state) if scan is None else scan
    tabs = scan.tables
    ordered = int((tabs.count * tabs.count.T).sum())
    blocking = ordered // 2
    deviations = int((tabs.count * tabs.feasible.T).sum())
    # Σ over ordered blocking pairs (a, b) of gain_a = Σ over unordered pairs of gain_a + gain_b.
    total_gain = float((tabs.gain_sum * tabs.count.T).sum())
    partner = scan.best_partner
    has = partner >= 0
    self_gain = np.zeros(m)
    partner_gain = np.zeros(m)
    a = np.flatnonzero(has)
    b = partner[a]
    self_gain[a] = state.u_slot[state.fac[a], state.slot[b]] - state.base[a]
    partner_gain[a] = state.u_slot[state.fac[b], state.slot[a]] - state.base[b]
    in_blocking = scan.in_blocking
    return SwapAnalysis(
        status=EQUILIBRIUM if blocking == 0 else UNSTABLE,
        total_assignments=m,
        num_blocking_swaps=blocking,
        num_beneficial_deviations=deviations,
        in_blocking=_frozen(in_blocking),
        nash_distance=float(in_blocking.mean()),
        is_nash_equilibrium=blocking == 0,
        max_gain=float(scan.best_total[has].max()) if blocking else 0.0,
        avg_gain=total_gain / blocking if blocking else 0.0,
        best_partner=_frozen(partner),
        best_gain_self=_frozen(self_gain),
        best_gain_partner=_frozen(partner_gain),
        epsilon=state.eps,
    )


def swap_candidates(
    problem: SwapProblem, a: int, *, wanted_weeks: Iterable[int] | None = None, limit: int | None = 20,
    epsilon: float = EPSILON,
) -> list[SwapCandidate]:
    """The blocking swaps of assignment a (optionally only with partners holding one of wanted_weeks).

    Ranked by mutual gain (gain_self + gain_partner) descending, then by distance_reduction (how much executing
    the swap lowers nash_distance) descending, then partner index. distance_after is computed exactly for
    every candidate that can reach the first `limit` (all candidates when limit is None).
    """
    p = _validate.swap_problem(problem)
    eps = _validate.epsilon(epsilon)
    m = len(p.assignments)
    a = _validate.assignment_index("a", a, m)
    weeks = _validate.weeks(wanted_weeks, p.eligible.shape[1])
    if limit is not None:
        limit = _validate.whole("limit", limit, minimum=0)
    state = _state.SwapState(p, eps)
    sa = state.slot[a]
    everyone = np.arange(m)
    wants_back = state.masked(everyone, np.full(m, sa))               # M[b, slot a]
    wants = state.masked(np.full(m, a), state.slot[:m])               # M[a, slot b]
    ok = (wants_back > 0) & (wants > 0)
    if weeks is not None:
        ok &= np.isin(state.slot[:m] // state.n_rot, weeks)
    partners = np.flatnonzero(ok)
    if len(partners) == 0 or limit == 0:
        return []
    gain_self, gain_partner = wants[partners], wants_back[partners]
    mutual = gain_self + gain_partner
    order = np.lexsort((partners, -mutual))
    if limit is not None and len(order) > limit:
        cut = mutual[order[limit - 1]]
        order = order[mutual[order] >= cut]   # everything that ties with the last place can still reach it
    probe = DistanceProbe(state)
    before = probe.before
    after = np.array([probe.after(a, int(partners[k])) for k in order])
    reduction = before - after
    ranked = np.lexsort((partners[order], -reduction, -mutual[order]))
    if limit is not None:
        ranked = ranked[:limit]
    out = []
    for k in ranked:
        q = order[k]
        b = int(partners[q])
        out.append(SwapCandidate(
            partner=b, partner_faculty=int(state.fac[b]), week=int(state.slot[b] // state.n_rot),
            rotation=int(state.slot[b] % state.n_rot), gain_self=float(gain_self[q]),
            gain_partner=float(gain_partner[q]), mutual_gain=float(mutual[q]),
            distance_after=float(after[k]), distance_reduction=float(reduction[k]),
        ))
    return out


def distance_with(state: _state.SwapState, swap: tuple[int, int] | None) -> float:
    """nash_distance of the state, or of the state with one swap executed (the state is left as it was)."""
    if state.m == 0:
        return 0.0
    if swap is None:
        return float(_state.in_blocking(state).mean())
    a, b = swap
    state.swap(a, b)
    try:
        return float(_state.in_blocking(state).mean())
    finally:
        state.swap(a, b)  # the same swap again restores every array exactly


class DistanceProbe:
    """nash_distance after one swap, for many candidate swaps of the same schedule.

    M (as boolean blocks) and the count table C are computed once. A swap of a and b changes the M rows of their
    two holders only, so C' = C − their old rows + their new rows, and in_blocking' needs one boolean pass over
    the kept M blocks against C' (rows of the two holders recomputed): no float work per candidate.
    Falls back to a full recount when the blocks would not fit in ``PROBE_BYTES``.
    """

    PROBE_BYTES = 64 * 2**20

    def __init__(self, state: _state.SwapState) -> None:
        self.state = state
        blocks = _state._blocks(state) if state.m else []
        cells = sum(len(sl) * width for sl, width in blocks) * state.n_slots
        self.kept = None
        self.count = np.zeros((state.n_slots, state.n_slots), dtype=np.int64)
        if cells <= self.PROBE_BYTES:
            self.kept = []
            for sl, width in blocks:
                rows, _, _, wants = state.masked_block(sl, width)
                self.count[sl] = _state._counts(wants)
                self.kept.append((sl, rows, wants))
            self.before = self._distance(self.count, None, None, None)
        else:
            self.before = distance_with(state, None)

    def after(self, a: int, b: int) -> float:
        st = self.state
        if self.kept is None:
            return distance_with(st, (a, b))
        changed = np.concatenate([st.rows_of[st.fac[a]], st.rows_of[st.fac[b]]])
        every = np.arange(st.n_slots)[None, :]
        old_slots, old = st.slot[changed], st.masked(changed[:, None], every) > 0
        st.swap(a, b)
        try:
            new_slots, new = st.slot[changed], st.masked(changed[:, None], every) > 0
            count = self.count.copy()
            np.add.at(count, old_slots, -old.astype(np.int64))
            np.add.at(count, new_slots, new.astype(np.int64))
            return self._distance(count, changed, new_slots, new)
        finally:
            st.swap(a, b)

    def _distance(self, count: np.ndarray, changed, new_slots, new) -> float:
        m = self.state.m
        if m == 0:
            return 0.0
        wanted_back = count.T > 0
        out = np.zeros(m + 1, dtype=bool)
        for sl, rows, wants in self.kept:
            out[rows] = (wants & wanted_back[sl][:, None, :]).any(axis=2)
        if changed is not None:
            out[changed] = (new & wanted_back[new_slots]).any(axis=1)
        return float(out[:m].mean())


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.setflags(write=False)
    return array
