"""The shared utility model (DESIGN §4): reported preferences -> scores, utilities, strict orders, eligibility.

Every mechanism and analysis starts from one call of :func:`build_utility_model`
on dense arrays for a whole year. Pure numpy; no Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from numbers import Real

import numpy as np

NONE, ORDINAL, CARDINAL, BINARY = 0, 1, 2, 3
PREFERENCE_TYPE_CODES = {"ordinal": ORDINAL, "cardinal": CARDINAL, "binary": BINARY}

FACTORS = ("preference", "workload_balance", "time_off_proximity", "swap_out_rate")
DEFAULT_WEIGHTS = {"preference": 0.60, "workload_balance": 0.20, "time_off_proximity": 0.10, "swap_out_rate": 0.10}
NEUTRAL = 0.5


@dataclass(frozen=True)
class UtilityModel:
    """Everything a mechanism needs about what faculty want, as arrays indexed [faculty, week(, rotation)].

    score:    s[i,w] in [0,1], the preference score.
    utility:  u[i,w], the weighted sum of factors; 0 on blocked weeks.
    blocked:  blocked[i,w], including binary rejects.
    listed:   listed[i,w], the weeks the faculty member put in their list (ranked, valued or accepted), not blocked.
    order:    order[i,k] = the week at position k of faculty i's strict order (best first).
    rank:     rank[i,w] = 1-based position of week w in that order.
    eligible: E[i,w,r] = qualified for rotation r and (week not blocked, unless blocking is relaxed).
    factors:  the (n, W) arrays of the non-preference factors the utility was built from (0.5 where no data).
    weights:  the factor weights used.
    unavailable: unavailable[i,w], weeks blocked by time off (a subset of blocked), always a hard exclusion.
    """

    score: np.ndarray
    utility: np.ndarray
    blocked: np.ndarray
    listed: np.ndarray
    order: np.ndarray
    rank: np.ndarray
    eligible: np.ndarray
    status: str = "ok"
    factors: Mapping[str, np.ndarray] = field(default_factory=dict)
    weights: Mapping[str, float] = field(default_factory=dict)
    unavailable: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.eligible.shape  # type: ignore[return-value]


def validate_weights(weights: Mapping[str, float]) -> dict[str, float]:
    unknown = sorted(set(weights) - set(FACTORS))
    if unknown:
        raise ValueError(f"Unknown utility factor(s) {', '.join(unknown)}; known factors are {', '.join(FACTORS)}.")
    not_numbers = sorted(k for k, v in weights.items() if isinstance(v, bool) or not isinstance(v, Real))
    if not_numbers:
        raise ValueError(f"Utility weight(s) {', '.join(not_numbers)} must be a number, e.g. 0.25.")
    merged = {**DEFAULT_WEIGHTS, **{k: float(v) for k, v in weights.items()}}
    if any(not np.isfinite(v) or v < 0 for v in merged.values()):
        raise ValueError("Utility weights must be finite and non-negative.")
    total = sum(merged.values())
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"Utility weights must sum to 1 (they sum to {total:g}).")
    return merged


def _validate_reports(preference_type: np.ndarray, reported: np.ndarray, blocked: np.ndarray) -> None:
    n, n_weeks = reported.shape
    if preference_type.shape != (n,):
        raise ValueError(f"preference_type has shape {preference_type.shape}, expected ({n},).")
    if blocked.shape != (n, n_weeks):
        raise ValueError(f"blocked has shape {blocked.shape}, expected {(n, n_weeks)}.")
    if not np.isin(preference_type, (NONE, ORDINAL, CARDINAL, BINARY)).all():
        raise ValueError("preference_type codes must be 0 (none), 1 (ordinal), 2 (cardinal) or 3 (binary).")
    listed = ~np.isnan(reported)
    if (listed & (preference_type == NONE)[:, None]).any():
        raise ValueError("Faculty without a submission cannot have reported entries.")
    if (listed & blocked).any():
        raise ValueError("A week cannot be both listed and blocked.")
    row = preference_type[:, None]
    value = np.where(listed, reported, 0.0)
    if ((row == CARDINAL) & listed & ((value < 0) | (value > 100))).any():
        raise ValueError("Cardinal values must lie in 0..100.")
    if ((row == BINARY) & listed & (value != 0) & (value != 1)).any():
        raise ValueError("Binary entries must be 0 (reject) or 1 (accept).")
    ordinal = preference_type == ORDINAL
    if ordinal.any():
        ranks = np.where(listed[ordinal], reported[ordinal], np.inf)
        ranks.sort(axis=1)
        m = listed[ordinal].sum(axis=1)
        expected = np.arange(1, n_weeks + 1, dtype=float)[None, :]
        within = np.arange(n_weeks)[None, :] < m[:, None]
        if (within & (ranks != expected)).any():
            raise ValueError("Ordinal ranks must be unique and run 1..M without gaps.")


def preference_scores(preference_type: np.ndarray, reported: np.ndarray, blocked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """s[i,w] per DESIGN §4, and the effective blocked mask (blocked weeks plus binary rejects)."""
    listed = ~np.isnan(reported)
    value = np.where(listed, reported, 0.0)
    row = preference_type[:, None]
    m = np.maximum(listed.sum(axis=1, keepdims=True), 1)
    score = np.full(reported.shape, NEUTRAL)
    score = np.where((row == ORDINAL) & listed, 1.0 - 0.5 * (value - 1.0) / m, score)
    score = np.where((row == CARDINAL) & listed, value / 100.0, score)
    score = np.where((row == BINARY) & listed, value, score)
    effectively_blocked = blocked | ((row == BINARY) & listed & (value == 0))
    score = np.where(effectively_blocked, 0.0, score)
    return score, effectively_blocked


def strict_order(score: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each row's weeks by score descending, ties broken by a seeded per-row random permutation.

    Returns (order, rank): order[i,k] is the k-th best week, rank[i,w] its 1-based position.
    """
    n, n_weeks = score.shape
    tiebreak = rng.permuted(np.broadcast_to(np.arange(n_weeks), (n, n_weeks)), axis=1)
    order = np.lexsort((tiebreak, -score), axis=1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(1, n_weeks + 1)[None, :], axis=1)
    return order, rank


def build_utility_model(
    *,
    preference_type: np.ndarray,
    reported: np.ndarray,
    blocked: np.ndarray,
    qualified: np.ndarray,
    rng: np.random.Generator,
    factors: Mapping[str, np.ndarray | None] | None = None,
    weights: Mapping[str, float] | None = None,
    blocked_is_hard: bool = True,
    unavailable: np.ndarray | None = None,
) -> UtilityModel:
    """Build scores, utilities, strict orders and eligibility for a whole year in one vectorised step.

    preference_type: (n,) codes NONE/ORDINAL/CARDINAL/BINARY.
    reported: (n, W) rank (ordinal), value 0..100 (cardinal) or 1/0 (binary); NaN = not listed.
    blocked: (n, W) weeks the faculty member cannot serve.
    qualified: (n, R) rotations each faculty member may serve.
    factors: optional (n, W) arrays in [0,1] for the non-preference factors; a missing factor scores 0.5.
    unavailable: optional (n, W) weeks overlapping the faculty member's time off: blocked like a blocked week
        (score 0, utility 0, not listed) and never eligible, whatever `blocked_is_hard` says.
    """
    preference_type = np.asarray(preference_type, dtype=np.int8)
    reported = np.asarray(reported, dtype=float)
    blocked = np.asarray(blocked, dtype=bool)
    qualified = np.asarray(qualified, dtype=bool)
    if reported.ndim != 2:
        raise ValueError(f"reported must be a 2-D (faculty, week) array, got {reported.ndim} dimensions.")
    if qualified.ndim != 2 or qualified.shape[0] != reported.shape[0]:
        raise ValueError(f"qualified must have shape ({reported.shape[0]}, R), got {qualified.shape}.")
    _validate_reports(preference_type, reported, blocked)
    unavailable = np.zeros(reported.shape, dtype=bool) if unavailable is None else np.asarray(unavailable, dtype=bool)
    if unavailable.shape != reported.shape:
        raise ValueError(f"unavailable has shape {unavailable.shape}, expected {reported.shape}.")
    merged = validate_weights(weights or {})

    score, effectively_blocked = preference_scores(preference_type, reported, blocked)
    score = np.where(unavailable, 0.0, score)
    effectively_blocked = effectively_blocked | unavailable
    used = _factor_arrays(factors, score.shape)
    utility = combine_factors(score, used, merged, effectively_blocked)

    order, rank = strict_order(score, rng)
    available = ~effectively_blocked if blocked_is_hard else ~unavailable
    eligible = available[:, :, None] & qualified[:, None, :]
    listed = ~np.isnan(reported) & ~effectively_blocked
    for array in (score, utility, effectively_blocked, listed, order, rank, eligible, unavailable):
        array.setflags(write=False)
    return UtilityModel(
        score=score, utility=utility, blocked=effectively_blocked, listed=listed, order=order, rank=rank,
        eligible=eligible, factors=used, weights=merged, unavailable=unavailable,
    )


def _factor_arrays(factors: Mapping[str, np.ndarray | None] | None, shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Each non-preference factor as a checked read-only (n, W) array; a missing one is 0.5 everywhere."""
    unknown = sorted(set(factors or {}) - set(FACTORS[1:]))
    if unknown:
        raise ValueError(f"Unknown factor(s) {', '.join(unknown)}; the data factors are {', '.join(FACTORS[1:])}.")
    used = {}
    for name in FACTORS[1:]:
        factor = (factors or {}).get(name)
        factor = np.full(shape, NEUTRAL) if factor is None else np.array(factor, dtype=float)
        if factor.shape != shape:
            raise ValueError(f"Factor {name} has shape {factor.shape}, expected {shape}.")
        if not ((factor >= 0) & (factor <= 1)).all():
            raise ValueError(f"Factor {name} must lie in [0, 1].")
        factor.setflags(write=False)
        used[name] = factor
    return used


def combine_factors(
    score: np.ndarray, factors: Mapping[str, np.ndarray], weights: Mapping[str, float], blocked: np.ndarray
) -> np.ndarray:
    """u = Σ weight·factor (the preference score being the first factor), clipped to [0, 1], 0 on blocked weeks."""
    utility = weights["preference"] * score
    for name in FACTORS[1:]:
        utility = utility + weights[name] * factors[name]
    # Weights may sum to 1 only within rounding/tolerance: keep u in [0, 1] exactly.
    return np.where(blocked, 0.0, np.clip(utility, 0.0, 1.0))


def with_factors(model: UtilityModel, factors: Mapping[str, np.ndarray], weights: Mapping[str, float] | None = None) -> UtilityModel:
    """The same model with some factors (and optionally the weights) replaced and its utility recomputed.

    Used by the layers that know a factor's data the preferences layer cannot see (a schedule's loads, the swap
    history of earlier schedules); scores, orders, blocks and eligibility stay as they were.
    """
    merged = validate_weights(weights if weights is not None else (model.weights or {}))
    used = dict(_factor_arrays({**(model.factors or {}), **factors}, model.score.shape))
    utility = combine_factors(model.score, used, merged, model.blocked)
    utility.setflags(write=False)
    return replace(model, utility=utility, factors=used, weights=merged)
