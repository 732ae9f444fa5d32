"""VCG: the Vickrey–Clarke–Groves mechanism with Clarke pivot payments (DESIGN §5).

Vickrey (1961) "Counterspeculation, auctions, and competitive sealed tenders", J. Finance 16;
Clarke (1971) "Multipart pricing of public goods", Public Choice 11;
Groves (1973) "Incentives in teams", Econometrica 41.
For the one-solve payments in unit-demand (assignment) markets: Leonard (1983) "Elicitation of honest
preferences for the assignment of individuals to positions", J. Political Economy 91, and Demange, Gale &
Sotomayor (1986) "Multi-item auctions", J. Political Economy 94 — the minimum Walrasian prices equal the
VCG payments.

Faculty i reports v[i, w] on the 0–100 scale (``Problem.value``), the same for every rotation of week w.
The mechanism chooses a feasible assignment (eligibility, capacity, at most one slot per faculty per week,
at most d_i weeks each, pre-assignments honoured) that maximises reported welfare Σ v, and charges each
faculty member the harm they do to the others:

    p_i = max welfare of the others in the problem without i  −  welfare of the others in the chosen assignment

Pre-assignments are coordinators' decisions, not bids, so they stay in place in every counterfactual —
"without i" means i keeps only their pre-assigned weeks. Nobody pays for a week they were put in; p_i ≥ 0;
reporting truthfully is a dominant strategy and never leaves anyone with negative utility.

Integer arithmetic. Values are rounded once to integers in thousandths of a point (``SCALE``, half to
even); every welfare, comparison and payment is exact on those integers and reported back divided by
``SCALE``. The mechanism is therefore exactly VCG — optimal, strategyproof, payments ≥ 0 — for the
values rounded to 0.001, and within 0.0005 per week of the fractional reports (e.g. 100·(1 − 0.5/3)).

Ties. Among the welfare-maximising assignments the solver prefers one that fills the most weeks (so a
value-0 week is still served when it costs no one anything); any welfare-maximising choice keeps VCG
strategyproof, because the payment term does not depend on i's own report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow

from allocation.algorithms import _validate
from allocation.algorithms.types import (
    OPTIMAL,
    Allocation,
    OptionError,
    Payments,
    Problem,
    empty_assignments,
    sort_assignments,
)

SCALE = 1000  # value units per point: reports are rounded to 0.001 of a point
METHODS = ("auto", "prices", "resolve")
_NEG = np.int64(-(2**62))  # "no arc" in the max-plus price graph; far below any path weight, no overflow


def vcg(problem: Problem, *, rng: np.random.Generator | None = None, **options: Any) -> Allocation:
    """Welfare-maximising assignment with Clarke pivot payments (Vickrey 1961, Clarke 1971, Groves 1973).

    Options:
        method: ``"auto"`` (default) — ``"prices"`` when every d_i ≤ 1, else ``"resolve"``;
            ``"prices"`` — one optimal solve, then every payment as the minimum Walrasian price of the
            slot the faculty member holds (Leonard 1983; Demange–Gale–Sotomayor 1986), by longest paths in
            the residual graph of the optimal assignment; unit demand only;
            ``"resolve"`` — one more exact solve per faculty member the mechanism gives a week (n + 1 at
            most), reusing one flow network with that member's supply switched off.

    rng is accepted for the registry's common signature and unused: VCG is deterministic.

    Returns an :class:`Allocation` with ``objective`` = total reported welfare, ``payments`` (per faculty
    ``reported_value``, ``vcg_payment``, ``others_welfare_with``, ``others_welfare_without``, all on the 0–100
    scale) and, in ``details``, ``total_social_welfare``, ``method`` and ``value_scale``.
    """
    del rng
    start = time.perf_counter()
    method = _validate.options("vcg", options, {"method": METHODS}).get("method", "auto")
    problem = _validate.problem(problem)
    values = np.asarray(problem.value, dtype=float)
    if values.size and (values.min() < 0 or values.max() > 100):
        raise ValueError("value must lie on the 0–100 scale (VCG reports); rescale cardinal values to 0..100.")
    unit_demand = bool(problem.demand.size == 0 or problem.demand.max() <= 1)
    if method == "prices" and not unit_demand:
        raise OptionError("method", "vcg: method 'prices' needs unit demand (every demand ≤ 1); use 'resolve' or 'auto'.")
    method = ("prices" if unit_demand else "resolve") if method == "auto" else method

    scaled = np.rint(values * SCALE).astype(np.int64)
    market = _Market(problem, scaled)
    free_rows = market.solve()
    rows = sort_assignments(np.concatenate([market.fixed, free_rows]))
    i, w = rows[:, 0], rows[:, 1]
    n = problem.n_faculty
    own = np.zeros(n, dtype=np.int64)
    np.add.at(own, i, scaled[i, w])
    served = np.bincount(i, minlength=n)
    welfare = int(own.sum())
    payment = market.unit_demand_payments(free_rows) if method == "prices" else market.resolve_payments(free_rows)
    with_ = welfare - own
    payments = Payments(
        reported_value=own / SCALE,
        vcg_payment=payment / SCALE,
        others_welfare_with=with_ / SCALE,
        others_welfare_without=(with_ + payment) / SCALE,
    )
    return Allocation(
        status=OPTIMAL,
        mechanism="vcg",
        assignments=rows,
        unassigned=problem.demand - served,
        objective=welfare / SCALE,
        per_assignment={"reported_value": scaled[i, w] / SCALE},
        payments=payments,
        details={
            "total_social_welfare": welfare / SCALE,
            "method": method,
            "value_scale": SCALE,
        },
        wall_ms=(time.perf_counter() - start) * 1000,
    )


@dataclass
class _Arcs:
    """Where the arcs that matter sit in the flow network, so results and capacity edits are array lookups."""

    supply: np.ndarray      # source -> faculty i, arc id per faculty
    choice: np.ndarray      # arcs whose unit of flow means "faculty i serves (w, r)"
    choice_rows: np.ndarray  # (len(choice), 3) rows (i, w, r) of those arcs


class _Market:
    """The free part of the problem — pre-assignments fixed and taken out — as one min-cost-flow network.

    Nodes: source, faculty, slots (w, r), hubs (i, w), sink. Faculty → slot arcs carry cost −(K·v + 1):
    maximum welfare first and, among equal welfare, the most weeks filled (K exceeds any number of
    assignments, so the count never outweighs one value unit). A hub (capacity 1 in, one arc out per
    eligible rotation) keeps "one slot per week" for faculty who could otherwise take two rotations of
    one week; everyone else connects straight to the slots. A source → sink bypass lets demand go unmet.
    """

    def __init__(self, problem: Problem, scaled: np.ndarray) -> None:
        n, n_weeks, n_rot = problem.eligible.shape
        self.n, self.n_weeks, self.n_rot = n, n_weeks, n_rot
        self.scaled = scaled
        self.fixed = np.asarray(problem.preassigned, dtype=np.int64).reshape(-1, 3)
        fi, fw, fr = self.fixed.T
        self.fixed_count = np.bincount(fi, minlength=n)
        self.fixed_load = np.zeros((n_weeks, n_rot), dtype=np.int64)
        np.add.at(self.fixed_load, (fw, fr), 1)
        self.demand = problem.demand - self.fixed_count
        self.capacity = problem.capacity - self.fixed_load
        eligible = problem.eligible & (self.demand > 0)[:, None, None]
        eligible[fi, fw, :] = False  # a pre-assigned week is taken: no second slot in it
        self.eligible = eligible
        self.total = int(self.demand.sum())
        self.k = self.total + 1
        self.flow, self.arcs = self._build()

    def _build(self) -> tuple[min_cost_flow.SimpleMinCostFlow, _Arcs]:
        n, n_weeks, n_rot = self.n, self.n_weeks, self.n_rot
        n_slots = n_weeks * n_rot
        source, first_slot = 0, 1 + n
        per_week = self.eligible.sum(axis=2)
        hub_pair = (per_week > 1) & (self.demand > 1)[:, None]
        hi, hw = np.nonzero(hub_pair)
        first_hub = first_slot + n_slots
        sink = first_hub + len(hi)
        di, dw, dr = np.nonzero(self.eligible & ~hub_pair[:, :, None])
        hub_of = np.full((n, n_weeks), -1, dtype=np.int64)
        hub_of[hi, hw] = first_hub + np.arange(len(hi))
        oi, ow, orr = np.nonzero(self.eligible & hub_pair[:, :, None])

        def weight(i: np.ndarray, w: np.ndarray) -> np.ndarray:
            return -(self.k * self.scaled[i, w] + 1)

        tails = np.concatenate([np.full(n, source), first_slot + np.arange(n_slots), [source],
                                1 + di, 1 + hi, hub_of[oi, ow]])
        heads = np.concatenate([1 + np.arange(n), np.full(n_slots, sink), [sink],
                                first_slot + dw * n_rot + dr, hub_of[hi, hw], first_slot + ow * n_rot + orr])
        caps = np.concatenate([self.demand, self.capacity.ravel(), [self.total],
                               np.ones(len(di) + len(hi) + len(oi), dtype=np.int64)])
        costs = np.concatenate([np.zeros(n + n_slots + 1, dtype=np.int64), weight(di, dw), weight(hi, hw),
                                np.zeros(len(oi), dtype=np.int64)])
        flow = min_cost_flow.SimpleMinCostFlow()
        flow.add_arcs_with_capacity_and_unit_cost(
            tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64), costs.astype(np.int64)
        )
        supplies = np.zeros(sink + 1, dtype=np.int64)
        supplies[source], supplies[sink] = self.total, -self.total
        flow.set_nodes_supplies(np.arange(sink + 1, dtype=np.int32), supplies)
        base = n + n_slots + 1
        choice = np.concatenate([base + np.arange(len(di)), base + len(di) + len(hi) + np.arange(len(oi))])
        choice_rows = np.concatenate([np.column_stack([di, dw, dr]), np.column_stack([oi, ow, orr])])
        arcs = _Arcs(supply=np.arange(n), choice=choice,
                     choice_rows=choice_rows.astype(np.int64).reshape(-1, 3))
        return flow, arcs

    def _optimum(self) -> int:
        """Solve; the free part's best welfare in value units."""
        if self.total == 0:
            return 0
        status = self.flow.solve()
        if status != self.flow.OPTIMAL:
            raise RuntimeError(f"vcg: the min-cost-flow solver stopped with status {status!r}.")
        return (-self.flow.optimal_cost()) // self.k

    def solve(self) -> np.ndarray:
        """Rows (i, w, r) of a welfare-maximising free assignment."""
        if self.total == 0 or not len(self.arcs.choice):
            return empty_assignments()
        self._optimum()
        used = self.flow.flows(self.arcs.choice.astype(np.int32)) > 0
        return self.arcs.choice_rows[used]

    def resolve_payments(self, free_rows: np.ndarray) -> np.ndarray:
        """Clarke payments by one more exact solve per faculty member holding a week of the free part.

        The pre-assigned weeks are the same in every counterfactual, so they cancel: p_i is the free part's
        best welfare without i minus its welfare now, less i's share. Without i, i's supply arc closes; the
        rest of the network is reused. Someone the free part gives nothing pays 0 without a solve — the
        chosen assignment already gives the others their best welfare without them.
        """
        payment = np.zeros(self.n, dtype=np.int64)
        i, w = free_rows[:, 0], free_rows[:, 1]
        own = np.zeros(self.n, dtype=np.int64)
        np.add.at(own, i, self.scaled[i, w])
        free_welfare = int(own.sum())
        for k in np.unique(i):
            self.flow.set_arc_capacity(int(self.arcs.supply[k]), 0)
            payment[k] = self._optimum() - (free_welfare - int(own[k]))
            self.flow.set_arc_capacity(int(self.arcs.supply[k]), int(self.demand[k]))
        return payment

    def unit_demand_payments(self, free_rows: np.ndarray) -> np.ndarray:
        """Clarke payments from the one optimal assignment, when every d_i ≤ 1.

        Removing i frees the seat i holds in slot t (pre-assigned seats stay taken), so p_i = g[t], the most
        the free market's welfare rises when t gains one seat — the minimum Walrasian price of t. g is the
        longest path from t in
        the slot graph of the optimal assignment: an arc s → u (weight v_j(s) − v_j(u)) for a faculty
        member j moving from u into s, and an exit from s worth the best value of a still-unassigned
        member for s (or 0: leave the seat empty). Optimality means no positive cycle, so Bellman–Ford in
        max-plus form converges within (#slots) rounds, each one vectorised (#slots)² step.
        """
        n, n_rot = self.n, self.n_rot
        n_slots = self.n_weeks * n_rot
        value = np.repeat(self.scaled, n_rot, axis=1)             # (n, slots): v[i, w] for every (w, r)
        value = np.where(self.eligible.reshape(n, n_slots), value, _NEG)
        holds = np.full(n, -1, dtype=np.int64)
        holds[free_rows[:, 0]] = free_rows[:, 1] * n_rot + free_rows[:, 2]
        seeking = (self.demand > 0) & (holds < 0)
        exit_ = np.maximum(value[seeking].max(axis=0, initial=0), 0)
        arcs = np.full((n_slots, n_slots), _NEG, dtype=np.int64)
        movers = np.flatnonzero(holds >= 0)
        if len(movers):
            movers = movers[np.argsort(holds[movers], kind="stable")]
            at = holds[movers]
            gain = value[movers]
            gain = np.where(gain > _NEG, gain - value[movers, at][:, None], _NEG)
            starts = np.flatnonzero(np.r_[True, at[1:] != at[:-1]])
            arcs[:, at[starts]] = np.maximum.reduceat(gain, starts, axis=0).T
        price = exit_
        for _ in range(n_slots + 1):
            longer = np.maximum(exit_, (arcs + price[None, :]).max(axis=1, initial=0))
            if np.array_equal(longer, price):
                break
            price = longer
        else:
            raise RuntimeError("vcg: a positive cycle in the price graph — the assignment was not optimal.")
        payment = np.zeros(n, dtype=np.int64)
        payment[free_rows[:, 0]] = price[holds[free_rows[:, 0]]]
        return payment
