"""The problem form and the result forms of the swap-stability analysis (DESIGN §9).

Indices only, never names: faculty i = 0..n-1, weeks w = 0..W-1, rotations r = 0..R-1, assignments a = 0..m-1
(rows of ``SwapProblem.assignments``, defined with the schedule in `allocation.algorithms.exchange`). The
service keeps the id <-> index maps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

import numpy as np

from allocation.algorithms.exchange import EPSILON as EPSILON  # a gain counts only above ε (DESIGN §9)
from allocation.algorithms.exchange import SwapProblem as SwapProblem  # the schedule's form, shared with allocation

# Statuses. Infeasible is a status, never None.
EQUILIBRIUM = "equilibrium"    # swap analysis: no blocking swap
UNSTABLE = "unstable"          # swap analysis: at least one blocking swap
OPTIMAL = "optimal"            # optimal welfare: proven optimal (exact min-cost flow)
CONVERGED = "converged"        # dynamics: no blocking swap left
STEP_LIMIT = "step_limit"      # dynamics: stopped at max_steps with blocking swaps left
PARTIAL = "partial"            # price of anarchy: some restarts hit the step limit; ratios use the converged ones
CLEARED = "cleared"            # top trading cycles: every agent placed
FITTED = "fitted"              # calibration: least-squares fit done
INSUFFICIENT_DATA = "insufficient_data"  # calibration: fewer than two distinct distances

LEVELS = ("STABLE", "MARGINAL", "UNSTABLE", "CRITICAL")
ACCEPTABLE_POA = 1.5  # a price of anarchy below this is acceptable (DESIGN §9)
THRESHOLDS = (0.05, 0.15, 0.30)
FORECASTS = ("stable", "minor_adjustments", "major_revision")


def poa_acceptable(price_of_anarchy: float | None) -> bool | None:
    """A price of anarchy below ACCEPTABLE_POA is acceptable; None when there is none (no stable run)."""
    return None if price_of_anarchy is None else price_of_anarchy < ACCEPTABLE_POA


@dataclass(frozen=True)
class SwapAnalysis:
    """Blocking swaps and beneficial deviations of one schedule (DESIGN §9 definitions, exactly).

    num_blocking_swaps:        unordered pairs {a, b} with gain_a > ε and gain_b > ε.
    num_beneficial_deviations: ordered feasible swaps (a, b) with gain_a > ε.
    in_blocking:               (m,) bool, a belongs to at least one blocking swap.
    nash_distance:             in_blocking.mean() (0 when m == 0).
    max_gain, avg_gain:        of gain_a + gain_b over the blocking swaps (0 when there are none).
    best_partner:              (m,) int, a's blocking partner with the largest gain_a + gain_b (ties: the partner
                               whose slot comes first — week, then rotation — then the lowest index), -1 when a is
                               in no blocking swap; best_gain_self / best_gain_partner are the two gains of that
                               swap (0 when there is none).
    """

    status: str
    total_assignments: int
    num_blocking_swaps: int
    num_beneficial_deviations: int
    in_blocking: np.ndarray
    nash_distance: float
    is_nash_equilibrium: bool
    max_gain: float
    avg_gain: float
    best_partner: np.ndarray
    best_gain_self: np.ndarray
    best_gain_partner: np.ndarray
    epsilon: float = EPSILON


@dataclass(frozen=True)
class SwapCandidate:
    """One blocking swap of a given assignment a with partner b (a swap suggestion).

    week, rotation: the slot a's holder would receive (b's slot). mutual_gain = gain_self + gain_partner.
    distance_after: nash_distance of the schedule with this swap executed; distance_reduction = before − after.
    """

    partner: int
    partner_faculty: int
    week: int
    rotation: int
    gain_self: float
    gain_partner: float
    mutual_gain: float
    distance_after: float
    distance_reduction: float


@dataclass(frozen=True)
class OptimalWelfare:
    """The exact maximum of Σ u: same per-faculty counts, capacities max(c, occupancy), eligibility (or the
    current slot), one slot per faculty member per week, locked rows fixed.

    assignments: (m, 3) rows aligned with the problem's: row k keeps its faculty member (and, when locked, its slot).
    welfare:     Σ u over those rows, from the actual utilities.
    """

    status: str
    welfare: float
    assignments: np.ndarray


@dataclass(frozen=True)
class Dynamics:
    """Blocking-swap dynamics: the best blocking swap (largest gain_a + gain_b) executed until none is left.

    status:       CONVERGED (a Nash equilibrium) or STEP_LIMIT.
    assignments:  the final rows, aligned with the starting rows (row k keeps its faculty member).
    swaps:        (steps, 2) the pairs (a, b) executed, in order.
    welfare_path: (steps + 1,) welfare before the first and after every swap; strictly increasing.
    welfare:      Σ u of the final rows, recomputed from the utilities.
    """

    status: str
    assignments: np.ndarray
    steps: int
    swaps: np.ndarray
    welfare_path: np.ndarray
    welfare: float


@dataclass(frozen=True)
class PriceOfAnarchy:
    """Blocking-swap dynamics from K random feasible schedules against the exact optimum.

    price_of_anarchy = optimal / worst stable welfare, price_of_stability = optimal / best stable welfare
    (1.0 when the optimum is 0; infinite when a stable welfare is ≤ 0 below a positive optimum); only runs that
    converged count as stable; None when none converged. is_acceptable = price_of_anarchy < 1.5.
    stable_welfare: (K,) final welfare of each run (NaN for a run that hit the step limit).
    key: welfare.problem_key of the problem it was computed for: it holds for every problem with that key.
    """

    status: str
    restarts: int
    converged: int
    optimal_welfare: float
    worst_stable_welfare: float | None
    best_stable_welfare: float | None
    price_of_anarchy: float | None
    price_of_stability: float | None
    is_acceptable: bool
    stable_welfare: np.ndarray
    steps: np.ndarray
    key: str


@dataclass(frozen=True)
class Instability:
    """The best blocking swap of one unstable assignment a = (faculty, week, rotation): a's holder wants
    (wanted_week, wanted_rotation), held by partner_faculty as assignment partner."""

    assignment: int
    faculty: int
    week: int
    rotation: int
    wanted_week: int
    wanted_rotation: int
    partner: int
    partner_faculty: int
    gain_self: float
    gain_partner: float
    total_gain: float


@dataclass(frozen=True)
class RecommendedSwap:
    """One swap of the recommended conflict-free set: faculty i gives assignment a (week_a, rotation_a) and takes
    b (week_b, rotation_b) from faculty j."""

    a: int
    b: int
    faculty_a: int
    faculty_b: int
    week_a: int
    rotation_a: int
    week_b: int
    rotation_b: int
    gain_a: float
    gain_b: float
    total_gain: float


@dataclass(frozen=True)
class Advice:
    """One recommendation of a report as data: its kind (stability.algorithms.advice) and the numbers it states."""

    kind: str
    values: dict[str, Any]


@dataclass(frozen=True)
class StabilityReport:
    """Everything DESIGN §9 asks of a stability report; as_dict() gives JSON-able Python types."""

    is_nash_equilibrium: bool
    nash_distance: float
    stability_level: str
    num_blocking_swaps: int
    num_beneficial_deviations: int
    total_assignments: int
    predicted_swap_requests: int
    current_welfare: float
    optimal_welfare: float
    efficiency_ratio: float
    price_of_anarchy: float | None
    price_of_stability: float | None
    restarts: int | None
    max_gain: float
    avg_gain: float
    top_instabilities: tuple[Instability, ...]
    recommended_swaps: tuple[RecommendedSwap, ...]
    forecast: str
    warnings: tuple[str, ...]
    recommendations: tuple[str, ...]
    compute_ms: float
    distance_after_recommended: float = 0.0
    welfare_after_recommended: float = 0.0
    thresholds: tuple[float, float, float] = THRESHOLDS
    base: float = 0.10
    pressure: float = 0.50
    epsilon: float = EPSILON
    price_of_anarchy_detail: PriceOfAnarchy | None = field(default=None, repr=False)
    advice: tuple[Advice, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Plain Python types only (lists, dicts, str, int, float, bool, None); a non-finite float becomes None."""
        out = {f.name: _plain(getattr(self, f.name)) for f in fields(self) if f.name != "price_of_anarchy_detail"}
        detail = self.price_of_anarchy_detail
        out["price_of_anarchy_detail"] = None if detail is None else {
            "status": detail.status, "restarts": detail.restarts, "converged": detail.converged,
            "worst_stable_welfare": _plain(detail.worst_stable_welfare),
            "best_stable_welfare": _plain(detail.best_stable_welfare),
            "is_acceptable": detail.is_acceptable, "steps": _plain(detail.steps),
        }
        return out


@dataclass(frozen=True)
class TTCResult:
    """Gale's Top Trading Cycles in a Shapley–Scarf housing market.

    allocation:    (K,) the item each agent ends with (its own when it trades nothing).
    receives_from: (K,) the agent whose item each agent ends with (itself when it trades nothing).
    cycles:     every cycle cleared, as tuples of agents (k0, k1, …): k0 receives k1's item, k1 receives k2's, …,
                the last receives k0's; a 1-tuple is an agent keeping its own item.
    rounds:     (len(cycles),) the round each cycle was cleared in (0-based).
    """

    status: str
    allocation: np.ndarray
    receives_from: np.ndarray
    cycles: tuple[tuple[int, ...], ...]
    rounds: np.ndarray

    @property
    def trades(self) -> tuple[tuple[int, ...], ...]:
        """The cycles of two or more agents: the trades to execute."""
        return tuple(c for c in self.cycles if len(c) > 1)


@dataclass(frozen=True)
class Calibration:
    """Least-squares fit of requests / assignments = base + pressure × distance.

    base, pressure, r_squared are None when status is INSUFFICIENT_DATA (fewer than two distinct distances).
    samples: observations used (those with at least one assignment).
    """

    status: str
    base: float | None
    pressure: float | None
    r_squared: float | None
    samples: int


def _plain(value: Any) -> Any:
    """JSON-able form of a result value: numpy scalars and arrays to Python, dataclasses to dicts, inf/NaN to None."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value
