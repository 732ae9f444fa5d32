"""The one problem form and the one result form every allocation mechanism shares (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Result statuses. Infeasible is a status, never None.
OPTIMAL = "optimal"        # proven optimal for the mechanism's objective
FEASIBLE = "feasible"      # a valid allocation, optimality not proven (e.g. CP-SAT time limit) or not claimed (RSD)
INFEASIBLE = "infeasible"  # no allocation satisfies the hard constraints
STATUSES = (OPTIMAL, FEASIBLE, INFEASIBLE)


@dataclass(frozen=True)
class Problem:
    """Faculty i = 0..n-1, weeks w = 0..W-1, rotations r = 0..R-1.

    utility:     (n, W) float u[i,w] in [0,1] from the shared utility model.
    rank:        (n, W) int, 1-based position of week w in faculty i's strict order (1 = best).
    listed:      (n, W) bool, weeks faculty i put in their list (ranked / valued / accepted), not blocked.
    value:       (n, W) float reported value on the 0–100 scale (100·s) for VCG.
    eligible:    (n, W, R) bool, i may serve rotation r in week w.
    demand:      (n,) int d_i, weeks faculty i should serve.
    capacity:    (W, R) int c_{w,r}, faculty the slot holds.
    is_holiday:  (W,) bool, major-holiday weeks.
    preassigned: (k, 3) int rows (i, w, r) that every feasible result must contain.
    At most one slot per faculty per week is always a hard constraint.
    """

    utility: np.ndarray
    rank: np.ndarray
    listed: np.ndarray
    value: np.ndarray
    eligible: np.ndarray
    demand: np.ndarray
    capacity: np.ndarray
    is_holiday: np.ndarray
    preassigned: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), dtype=np.int64))

    @property
    def n_faculty(self) -> int:
        return int(self.eligible.shape[0])

    @property
    def n_weeks(self) -> int:
        return int(self.eligible.shape[1])

    @property
    def n_rotations(self) -> int:
        return int(self.eligible.shape[2])


class OptionError(ValueError):
    """A mechanism option that is unknown or not allowed; `name` is the option, `message` the full text."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


@dataclass(frozen=True)
class OptionSpec:
    """One keyword option of a strategy, declared in the registry.

    kind: the JSON type a value must have (bool, int, float — an int is accepted —, str), or None when the
    mechanism checks the value's shape itself (lists of pairs, quotas; free choices). choices: the allowed values,
    when the option is a choice. nullable: null stands for the default. minimum, maximum: inclusive bounds of a
    number (the mechanism may check more, e.g. that a time limit is positive); unit: what the number counts.
    """

    name: str
    kind: type | None
    default: Any = None
    choices: tuple = ()
    nullable: bool = False
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""


@dataclass(frozen=True)
class Payments:
    """VCG's per-faculty report on the 0–100 value scale; index i is faculty i (DESIGN §5)."""

    reported_value: np.ndarray
    vcg_payment: np.ndarray
    others_welfare_with: np.ndarray
    others_welfare_without: np.ndarray


@dataclass(frozen=True)
class Allocation:
    """What a mechanism returns.

    assignments: (m, 3) int rows (i, w, r), sorted by (i, w).
    unassigned:  (n,) int, demand of faculty i left unmet.
    objective:   the mechanism's own objective value (regret, cost, welfare…), None when it has none.
    per_assignment: arrays aligned with the rows of `assignments` (e.g. "lottery_position").
    details:     mechanism-wide data (e.g. "solver_status", "time_limit_s", "levels").
    lottery_order: faculty indices in draw order, for a lottery mechanism (RSD).
    payments:    per-faculty payments, for a mechanism that charges them (VCG).
    """

    status: str
    mechanism: str
    assignments: np.ndarray
    unassigned: np.ndarray
    objective: float | None = None
    per_assignment: Mapping[str, np.ndarray] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    wall_ms: float = 0.0
    lottery_order: np.ndarray | None = None
    payments: Payments | None = None

    @property
    def ok(self) -> bool:
        return self.status in (OPTIMAL, FEASIBLE)


def empty_assignments() -> np.ndarray:
    return np.zeros((0, 3), dtype=np.int64)


def sort_assignments(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    return rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]


@dataclass(frozen=True)
class RandomAssignment:
    """An exact random assignment (DESIGN §6): faculty i holds slot (w, r) with probability counts[i, w, r] / total.

    counts: (n, W, R) integer array — int64, or object dtype holding Python ints when an exact common denominator
    does not fit 64 bits (probabilistic serial's rationals). total: the common denominator (Monte Carlo: the number
    of draws). Feasible means: counts ≥ 0, zero where not eligible; Σ_r counts[i, w, :] ≤ total (one slot a week);
    Σ_{w,r} counts[i] ≤ d_i · total; Σ_i counts[:, w, r] ≤ c_{w,r} · total; a pre-assigned slot has counts = total.
    """

    counts: np.ndarray
    total: int

    def week_probabilities(self) -> np.ndarray:
        """(n, W) float P[i, w], summed over rotations."""
        counts = np.asarray(self.counts).sum(axis=2)
        if counts.dtype == object:
            # Python ints: int / int is the correctly rounded quotient however large the common denominator.
            return np.array([[x / self.total for x in row] for row in counts.tolist()], dtype=np.float64).reshape(counts.shape)
        return counts / float(self.total)
