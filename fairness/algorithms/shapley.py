"""Shapley values of the coverage game (DESIGN §7): exact over all coalitions, or by permutation sampling.

φ_i = the average, over all orders of the faculty, of i's marginal contribution v(P ∪ {i}) − v(P) where P is the
set of faculty before i.

- **Exact** (n ≤ EXACT_MAX): v of all 2^n coalitions by a depth-first walk that adds one member at a time on the
  flow kept from the smaller coalition and steps back with an undo journal (one augmenting search per coalition,
  never a fresh maximum flow), then φ_i = Σ over S ∌ i of |S|! (n − |S| − 1)! / n! · (v(S ∪ {i}) − v(S)).
- **Monte Carlo**: permutations in antithetic pairs (an order and its reverse: a member early in one is late in
  the other, so their marginals are negatively correlated and the pair's mean varies less than two independent
  orders'). Along each order the marginals come from the incremental flow. Per faculty, the pair means are the
  independent samples: φ̂ is their mean and the 95 % confidence interval φ̂ ± 1.96 · s / √pairs. Pair k belongs to
  block k // BLOCK, whose orders are the successive permutations of ``default_rng([seed, block])``, so a chunk of
  pairs [start, stop) gives the same sums however the pairs are split over workers; chunks merge by adding
  integer sums and sums of squares — never averages of averages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fairness.algorithms.flow import IncrementalFlow
from fairness.algorithms.game import CoverageGame

EXACT_MAX = 15
DEFAULT_SAMPLES = 5_000
MIN_SAMPLES, MAX_SAMPLES = 1_000, 100_000
BLOCK = 64  # antithetic pairs per generator block
Z95 = 1.959963984540054
EXACT, MONTE_CARLO = "exact", "monte_carlo"


@dataclass(frozen=True)
class ShapleyResult:
    """phi: (n,) Shapley values; ci_low / ci_high: (n,) the 95 % interval (equal to phi when exact); method: EXACT
    or MONTE_CARLO; samples: permutations used (0 when exact); grand_value: v(N); by_size: (n, n) the average
    marginal contribution of i joining a coalition of size s (nan where no sample has i join at that size)."""

    phi: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    method: str
    samples: int
    grand_value: int
    by_size: np.ndarray


@dataclass(frozen=True)
class PermutationSums:
    """Integer sums over antithetic pairs of orders, mergeable with +: pairs; total[i] = Σ over pairs of i's two
    marginals; squares[i] = Σ of their squares (of that per-pair sum); size_total[i, s] / size_count[i, s] = the
    marginals of i joining at coalition size s and how many; grand_value = v(N)."""

    pairs: int
    total: np.ndarray
    squares: np.ndarray
    size_total: np.ndarray
    size_count: np.ndarray
    grand_value: int

    def __add__(self, other: PermutationSums) -> PermutationSums:
        return PermutationSums(
            self.pairs + other.pairs, self.total + other.total, self.squares + other.squares,
            self.size_total + other.size_total, self.size_count + other.size_count,
            max(self.grand_value, other.grand_value))

    def result(self) -> ShapleyResult:
        n = len(self.total)
        if self.pairs < 2:
            raise ValueError("need at least two antithetic pairs for an interval.")
        mean_pair = self.total / self.pairs  # the mean of per-pair sums = 2 φ̂
        phi = mean_pair / 2
        # sample variance of the pair means (pair sum / 2), from integer sums: exact up to the final division
        var_sum = (self.squares - self.total.astype(np.float64) ** 2 / self.pairs) / (self.pairs - 1)
        half = Z95 * np.sqrt(np.maximum(var_sum, 0) / 4 / self.pairs)
        with np.errstate(invalid="ignore", divide="ignore"):
            by_size = np.where(self.size_count > 0, self.size_total / np.maximum(self.size_count, 1), np.nan)
        return ShapleyResult(phi=phi, ci_low=phi - half, ci_high=phi + half, method=MONTE_CARLO,
                             samples=2 * self.pairs, grand_value=self.grand_value, by_size=by_size.reshape(n, n))


def shapley(game: CoverageGame, *, method: str = "auto", samples: int = DEFAULT_SAMPLES, seed: int = 0) -> ShapleyResult:
    """φ by the exact method when n ≤ EXACT_MAX (method "auto" or "exact"), else (or with "monte_carlo") by
    `samples` permutations."""
    if method not in ("auto", EXACT, MONTE_CARLO):
        raise ValueError(f"method must be 'auto', 'exact' or 'monte_carlo', not {method!r}.")
    if method == EXACT or (method == "auto" and game.n_faculty <= EXACT_MAX):
        return exact_shapley(game)
    check_samples(samples)
    return sample_sums(game, seed=seed, start=0, stop=samples // 2).result()


def check_samples(samples: int) -> int:
    if isinstance(samples, bool) or not isinstance(samples, int | np.integer) or not MIN_SAMPLES <= samples <= MAX_SAMPLES:
        raise ValueError(f"samples must be a whole number from {MIN_SAMPLES:,} to {MAX_SAMPLES:,}, got {samples!r}.")
    return int(samples)


def coalition_values(game: CoverageGame) -> np.ndarray:
    """v(S) for every coalition S, indexed by the bit mask of S (bit i for faculty i): 2^n values, n ≤ EXACT_MAX.

    A depth-first walk adds members in increasing index order on the flow kept from the parent coalition (one
    augmenting search per coalition) and undoes the additions on the way back.
    """
    n = game.n_faculty
    if n > EXACT_MAX:
        raise ValueError(f"the exact method is for at most {EXACT_MAX} faculty, got {n}.")
    values = np.zeros(1 << n, dtype=np.int64)
    flow = IncrementalFlow(game)
    flow.checkpoint()

    def walk(mask: int, first: int) -> None:
        for j in range(first, n):
            mark = flow.checkpoint()
            flow.join(j)
            child = mask | (1 << j)
            values[child] = flow.value
            if j + 1 < n:
                walk(child, j + 1)
            flow.undo(mark)

    walk(0, 0)
    return values


def exact_shapley(game: CoverageGame) -> ShapleyResult:
    values = coalition_values(game)
    phi, by_size = shapley_of_values(values)
    return ShapleyResult(phi=phi, ci_low=phi.copy(), ci_high=phi.copy(), method=EXACT, samples=0,
                         grand_value=int(values[-1]), by_size=by_size)


def shapley_of_values(values) -> tuple[np.ndarray, np.ndarray]:
    """(phi, by_size) of any game given by its 2^n coalition values (indexed by bit mask):
    φ_i = Σ over S ∌ i of |S|! (n − |S| − 1)! / n! · (v(S ∪ {i}) − v(S)); by_size[i, s] = the plain average of i's
    marginal over the coalitions of size s."""
    values = np.asarray(values, dtype=np.float64)
    n = int(len(values)).bit_length() - 1
    if len(values) != 1 << n:
        raise ValueError(f"need 2^n coalition values, got {len(values)}.")
    masks = np.arange(1 << n, dtype=np.int64)
    sizes = np.bitwise_count(masks.astype(np.uint64)).astype(np.int64)
    weight = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)])
    phi = np.zeros(n)
    by_size = np.full((n, n), np.nan)
    for i in range(n):
        bit = 1 << i
        without = masks[(masks & bit) == 0]
        marginal = values[without | bit] - values[without]
        size = sizes[without]
        phi[i] = (weight[size] * marginal).sum()
        by_size[i] = np.bincount(size, weights=marginal, minlength=n) / np.bincount(size, minlength=n)
    return phi, by_size


def pair_orders(seed: int, start: int, stop: int, n: int) -> np.ndarray:
    """(stop − start, n) the first order of each antithetic pair in [start, stop) (the second is its reverse)."""
    if not 0 <= start <= stop:
        raise ValueError("need 0 ≤ start ≤ stop.")
    out = np.empty((stop - start, n), dtype=np.int64)
    done = 0
    for block in range(start // BLOCK, -(-stop // BLOCK)):
        lo, hi = max(start, block * BLOCK) - block * BLOCK, min(stop, (block + 1) * BLOCK) - block * BLOCK
        orders = np.random.default_rng([seed, block]).permuted(np.broadcast_to(np.arange(n), (hi, n)), axis=1)
        out[done:done + hi - lo] = orders[lo:hi]
        done += hi - lo
    return out


def pair_ranges(pairs: int, chunks: int) -> list[tuple[int, int]]:
    """[start, stop) ranges splitting `pairs` antithetic pairs into at most `chunks` block-aligned pieces."""
    if pairs < 0 or chunks < 1:
        raise ValueError("pairs must be ≥ 0 and chunks ≥ 1.")
    blocks = -(-pairs // BLOCK)
    chunks = max(1, min(chunks, blocks))
    edges = [min(pairs, round(b) * BLOCK) for b in np.linspace(0, blocks, chunks + 1)]
    return [(a, b) for a, b in zip(edges, edges[1:], strict=False) if b > a]


def marginals_along(flow: IncrementalFlow, order) -> np.ndarray:
    """Each member's marginal contribution as the coalition grows in `order` (the flow starts empty)."""
    flow.reset()
    out = np.zeros(len(order), dtype=np.int64)
    for j in order:
        out[j] = flow.join(int(j))
    return out


def sample_sums(game: CoverageGame, *, seed: int, start: int, stop: int) -> PermutationSums:
    """The sums of antithetic pairs [start, stop) of the seeded sequence of orders."""
    n = game.n_faculty
    flow = IncrementalFlow(game)
    total = np.zeros(n, dtype=np.int64)
    squares = np.zeros(n, dtype=np.int64)
    size_total = np.zeros(n * n, dtype=np.int64)
    size_count = np.zeros(n * n, dtype=np.int64)
    positions = np.arange(n)
    grand = 0
    for order in pair_orders(seed, start, stop, n):
        forward = marginals_along(flow, order)
        grand = flow.value
        backward = marginals_along(flow, order[::-1])
        pair = forward + backward
        total += pair
        squares += pair * pair
        size_total += np.bincount(order * n + positions, weights=forward[order], minlength=n * n).astype(np.int64)
        size_total += np.bincount(order[::-1] * n + positions, weights=backward[order[::-1]],
                                  minlength=n * n).astype(np.int64)
        size_count[order * n + positions] += 1
        size_count[order[::-1] * n + positions] += 1
    if stop == start:
        grand = _grand_value(game)
    return PermutationSums(stop - start, total, squares, size_total.reshape(n, n), size_count.reshape(n, n), grand)


def _grand_value(game: CoverageGame) -> int:
    flow = IncrementalFlow(game)
    for j in range(game.n_faculty):
        flow.join(j)
    return flow.value


def closed_form(game: CoverageGame) -> np.ndarray:
    """φ when no load cap and no one-slot-per-week limit binds (every faculty member can serve every slot they are
    eligible for at once): the game is a sum of one-slot games, and in the game of slot (w, r) with c seats and k
    eligible faculty each of them gets min(c, k) / k. Valid as an oracle only under that condition."""
    eligible = game.eligible & (game.capacity > 0)[None]
    k = eligible.sum(axis=0)  # (W, R)
    share = np.where(k > 0, np.minimum(game.capacity, k) / np.maximum(k, 1), 0.0)
    return (eligible * share[None]).sum(axis=(1, 2))
