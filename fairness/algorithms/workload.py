"""Fair shares of the workload from Shapley values, and how a schedule compares (DESIGN §7).

expected_i = φ_i / v(N) × total demand: faculty i's share of the slots to staff in proportion to their
contribution to coverage. A faculty member is overloaded when their actual load exceeds 110 % of expected and
underloaded below 90 % (with an expected load of 0, any load is over and none is under).

The fairness score of a schedule is 1 − ½ Σ_i |a_i / A − e_i / E|, one minus the total-variation distance between
how the actual load is spread (a_i of A weeks) and how the fair shares are spread (e_i of E): 1 when everyone
carries exactly their share of the work done, 0 when the work sits entirely with people whose fair share is nil.
It is undefined (None) when nothing is scheduled or nothing can be covered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OVER, UNDER = 1.10, 0.90


@dataclass(frozen=True)
class Workload:
    """expected: (n,) fair loads (fractional); expected_weeks: (n,) those loads in whole weeks (largest remainders,
    summing to the total demand covered); actual: (n,) int; deviation: actual − expected; over / under: (n,) bool;
    fairness_score: float in [0, 1] or None."""

    expected: np.ndarray
    expected_weeks: np.ndarray
    actual: np.ndarray
    deviation: np.ndarray
    over: np.ndarray
    under: np.ndarray
    fairness_score: float | None


@dataclass(frozen=True)
class Recommendation:
    """Move `slots` ((week, rotation) pairs that from_faculty now serves) to to_faculty, who is eligible for each
    and free in its week: `amount` of them would bring the two closer to their fair shares."""

    from_faculty: int
    to_faculty: int
    amount: int
    slots: tuple[tuple[int, int], ...]


def largest_remainders(shares, total: int) -> np.ndarray:
    """Whole numbers summing to `total`, each the floor of its share plus one for the largest remainders (ties to
    the lower index). Shares must be non-negative; they are scaled to sum to `total` first."""
    shares = np.asarray(shares, dtype=np.float64)
    if (shares < 0).any() or not np.isfinite(shares).all():
        raise ValueError("shares must be finite and non-negative.")
    if total < 0:
        raise ValueError("total must not be negative.")
    if shares.sum() <= 0:
        if total:
            raise ValueError("cannot apportion a positive total over zero shares.")
        return np.zeros(len(shares), dtype=np.int64)
    quota = shares / shares.sum() * total
    whole = np.floor(quota + 1e-9).astype(np.int64)
    left = total - int(whole.sum())
    if left > 0:
        order = np.argsort(-(quota - whole), kind="stable")
        whole[order[:left]] += 1
    return whole


def workload(phi, *, grand_value: int, total_demand: int, actual) -> Workload:
    phi = np.asarray(phi, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.int64)
    if phi.shape != actual.shape:
        raise ValueError(f"phi has shape {phi.shape} but actual has {actual.shape}.")
    if grand_value > 0:
        expected = np.clip(phi, 0, None) / grand_value * total_demand
        expected_weeks = largest_remainders(np.clip(phi, 0, None), total_demand) if phi.sum() > 0 else \
            np.zeros(len(phi), dtype=np.int64)
    else:
        expected = np.zeros(len(phi))
        expected_weeks = np.zeros(len(phi), dtype=np.int64)
    deviation = actual - expected
    over = actual > OVER * expected + 1e-9
    under = actual < UNDER * expected - 1e-9
    return Workload(expected, expected_weeks, actual, deviation, over, under, fairness_score(expected, actual))


def fairness_score(expected, actual) -> float | None:
    """1 − ½ Σ |a_i / A − e_i / E| (see the module docstring); None when A or E is 0."""
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    if actual.sum() <= 0 or expected.sum() <= 0:
        return None
    distance = 0.5 * np.abs(actual / actual.sum() - expected / expected.sum()).sum()
    return float(np.clip(1.0 - distance, 0.0, 1.0))


def recommendations(
    *, eligible: np.ndarray, assignments: np.ndarray, expected, actual, limit: int = 20,
) -> list[Recommendation]:
    """Moves from overloaded to underloaded faculty that keep the schedule feasible: a slot (w, r) that i serves
    goes to j only if j is eligible for it and does not serve week w already. Pairs are taken from the most
    over- and most underloaded first; each pair moves at most round(min(i's excess, j's shortfall)) slots, and no
    slot is offered twice."""
    eligible = np.asarray(eligible, dtype=bool)
    rows = np.asarray(assignments, dtype=np.int64).reshape(-1, 3)
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.int64)
    excess = actual - expected
    over = [int(i) for i in np.argsort(-excess, kind="stable") if actual[i] > OVER * expected[i] + 1e-9]
    under = [int(j) for j in np.argsort(excess, kind="stable") if actual[j] < UNDER * expected[j] - 1e-9]
    busy = {(int(i), int(w)) for i, w, _ in rows}
    held = {}
    for i, w, r in rows.tolist():
        held.setdefault(i, []).append((w, r))
    remaining_excess = {i: excess[i] for i in over}
    remaining_short = {j: -excess[j] for j in under}
    offered: set[tuple[int, int, int]] = set()
    out: list[Recommendation] = []
    for i in over:
        for j in under:
            amount = int(round(min(remaining_excess[i], remaining_short[j])))
            if amount < 1:
                continue
            slots = []
            for w, r in sorted(held.get(i, [])):
                if len(slots) == amount:
                    break
                if (i, w, r) in offered or not eligible[j, w, r] or (j, w) in busy:
                    continue
                slots.append((w, r))
            if not slots:
                continue
            for w, r in slots:
                offered.add((i, w, r))
                busy.add((j, w))
            remaining_excess[i] -= len(slots)
            remaining_short[j] -= len(slots)
            out.append(Recommendation(i, j, len(slots), tuple(slots)))
            if len(out) >= limit:
                return out
    return out
