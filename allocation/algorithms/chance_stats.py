"""What a random assignment means to each faculty member, in numbers people read (DESIGN §6, §11).

P is the (n, W) week-probability matrix of a lottery mechanism (rotations summed). For faculty i:
- expected rank: Σ_w P[i, w]·rank[i, w] / Σ_w P[i, w] — the average position, in their own strict order, of the
  weeks they can expect (1 = their first choice); undefined (NaN) when they expect no week;
- top-k chance: the probability of holding at least one of the weeks they listed at rank ≤ k. Marginals do not
  determine it when a faculty member needs several weeks, so it comes from the draws (Monte Carlo hits) or from the
  decomposition into schedules (exact);
- envy: how much more expected utility they would get from another's chances, scaled to their own load:
  max over j of Σ_w (P[j, w]·d_i/d_j − P[i, w])·u[i, w], floored at 0. Zero for everyone means envy-free chances.
"""

from __future__ import annotations

import numpy as np

from allocation.algorithms.chances import TOP, top_weeks
from allocation.algorithms.types import Problem


def expected_rank(probabilities: np.ndarray, rank: np.ndarray) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float64)
    mass = p.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mass > 0, (p * rank).sum(axis=1) / np.where(mass > 0, mass, 1), np.nan)


def lottery_top_chances(problem: Problem, weights, schedules, total: int) -> np.ndarray:
    """(n, len(TOP)) exact top-k chances of a lottery over schedules (rows (i, w, r)) with integer weights."""
    top = top_weeks(problem)
    n = problem.n_faculty
    mass = [[0] * len(TOP) for _ in range(n)]  # Python ints: the weights may have hundreds of digits
    for weight, rows in zip(weights, schedules, strict=True):
        rows = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
        for k in range(len(TOP)):
            for i in np.unique(rows[top[k, rows[:, 0], rows[:, 1]], 0]).tolist():
                mass[i][k] += weight
    return np.array([[m / total for m in row] for row in mass], dtype=np.float64).reshape(n, len(TOP))


def envy(probabilities: np.ndarray, utility: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """(n,) each faculty member's largest expected-utility envy of another's chances (see the module docstring)."""
    p = np.asarray(probabilities, dtype=np.float64)
    u = np.asarray(utility, dtype=np.float64)
    d = np.asarray(demand, dtype=np.float64)
    per_unit = np.divide(p, d[:, None], out=np.zeros_like(p), where=d[:, None] > 0)  # (n, W) j's chances per week
    own = (p * u).sum(axis=1)  # (n,)
    other = d[:, None] * (u @ per_unit.T)  # (n, n): i's utility of j's chances, scaled to d_i
    np.fill_diagonal(other, -np.inf)
    other[:, d == 0] = -np.inf
    best = other.max(axis=1, initial=-np.inf)
    return np.where(d > 0, np.maximum(best - own, 0.0), 0.0)


def comparison_row(problem: Problem, probabilities: np.ndarray, top_chances: np.ndarray) -> dict[str, float]:
    """One mechanism's line in the side-by-side: mean expected rank, share getting a top-3 week (mean top-3 chance
    over those who listed a week), share with envy above 0.001, mean envy."""
    listed_any = np.asarray(problem.listed).any(axis=1) & (np.asarray(problem.demand) > 0)
    # Only those who listed weeks: a non-respondent's "rank" is the seeded tie-break, not a preference.
    ranks = np.where(listed_any, expected_rank(probabilities, problem.rank), np.nan)
    e = envy(probabilities, problem.utility, problem.demand)
    k3 = TOP.index(3)
    return {
        "expected_rank": float(np.nanmean(ranks)) if np.isfinite(ranks).any() else float("nan"),
        "top3_share": float(top_chances[listed_any, k3].mean()) if listed_any.any() else 0.0,
        "envious_share": float((e > 1e-3).mean()) if len(e) else 0.0,
        "mean_envy": float(e.mean()) if len(e) else 0.0,
    }
