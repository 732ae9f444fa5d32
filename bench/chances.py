"""Chances benchmark: the reference sizes of the chances issue against in-run straightforward baselines.

Run:  .venv/bin/python -m bench.chances [--quick] [--json]
Rows: RSD Monte Carlo (10,000 lotteries) on 300 × 30 and on 60 faculty × 4 of 52 weeks × 3 rotations, against
calling the rsd mechanism once per lottery (timed on a sample of lotteries and scaled, as the row says); 100,000
lotteries over two worker processes against one; probabilistic serial 300 × 30 against a textbook eating loop in
Python Fractions; the exact decomposition of that matrix (with its size against non-zero entries + 1) against a
floating-point Birkhoff–von Neumann on the seat-expanded matrix, the method of published implementations.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction

import numpy as np

from allocation.algorithms.chances import draw_ranges, rsd_chances
from allocation.algorithms.decomposition import decompose, verify
from allocation.algorithms.rsd import rsd
from allocation.algorithms.serial import probabilistic_serial_matrix
from allocation.algorithms.types import Problem
from bench.allocation import synthetic_problem
from bench.common import arguments, print_table, timed

SEED = 2026


def three_rotations(seed: int, *, n: int = 60, weeks: int = 52, demand: int = 4) -> Problem:
    """n faculty needing `demand` of `weeks` weeks over 3 rotations, each qualified for one to three of them; the
    seats (n·demand in all) spread over the slots; correlated preferences; a few blocked weeks."""
    rng = np.random.default_rng(seed)
    popularity = rng.random(weeks)
    keys = 0.7 * popularity[None, :] + 0.3 * rng.random((n, weeks))
    rank = np.empty((n, weeks), dtype=np.int64)
    np.put_along_axis(rank, np.argsort(-keys, axis=1), np.arange(1, weeks + 1)[None, :], axis=1)
    qualified = rng.random((n, 3)) < 0.6
    qualified[np.arange(n), rng.integers(0, 3, n)] = True
    blocked = rng.random((n, weeks)) < 0.05
    slots = weeks * 3
    capacity = np.full(slots, n * demand // slots, dtype=np.int64)
    capacity[: n * demand - capacity.sum()] += 1
    listed = rank <= 12
    score = np.where(listed, 1.0 - 0.5 * (rank - 1) / 12, 0.5)
    return Problem(
        utility=0.6 * score + 0.2, rank=rank, listed=listed, value=100 * score,
        eligible=qualified[:, None, :] & ~blocked[:, :, None], demand=np.full(n, demand, dtype=np.int64),
        capacity=capacity.reshape(weeks, 3), is_holiday=np.zeros(weeks, dtype=bool),
    )


class _Order:
    def __init__(self, order: np.ndarray) -> None:
        self.order = order

    def permutation(self, n: int) -> np.ndarray:
        return self.order


def rsd_per_draw_ms(problem: Problem, draws: int, sample: int) -> float:
    """The straightforward Monte Carlo: the rsd mechanism once per lottery; `sample` lotteries timed, scaled."""
    rng = np.random.default_rng(SEED)
    counts = np.zeros((problem.n_faculty, problem.n_weeks), dtype=np.int64)
    start = time.perf_counter()
    for _ in range(sample):
        rows = rsd(problem, rng=_Order(rng.permutation(problem.n_faculty))).assignments
        np.add.at(counts, (rows[:, 0], rows[:, 1]), 1)
    return (time.perf_counter() - start) * 1000 * draws / sample


def _chunk(args: tuple[int, int]) -> np.ndarray:
    start, stop = args
    return rsd_chances(_PROBLEM, seed=SEED, start=start, stop=stop).counts


_PROBLEM = synthetic_problem(1, n=300, weeks=30, capacity=10, listed=None, correlated=0.7)


def over_workers(draws: int, workers: int, pool: ProcessPoolExecutor | None) -> np.ndarray:
    """The counts of `draws` lotteries, in one process, or over a pool in four chunks per worker handed out as
    workers free up (so one slower chunk does not leave the other worker idle); the counts are the same."""
    ranges = draw_ranges(draws, workers if pool is None else 4 * workers)
    if pool is None:
        return sum(_chunk(r) for r in ranges)
    return sum(pool.map(_chunk, ranges))


def fraction_eating(problem: Problem) -> list[list[Fraction]]:
    """Textbook probabilistic serial for unit demand and one rotation: every agent eats its best week with supply
    left at speed 1; at each event, find the first week to run out, advance everyone, repeat."""
    n, weeks = problem.n_faculty, problem.n_weeks
    order = [sorted(range(weeks), key=lambda w, i=i: problem.rank[i, w]) for i in range(n)]
    supply = [Fraction(int(c)) for c in problem.capacity[:, 0]]
    share = [[Fraction(0)] * weeks for _ in range(n)]
    eaten = [Fraction(0)] * n
    clock = Fraction(0)
    while clock < 1:
        current = [next((w for w in order[i] if supply[w] > 0), None) if eaten[i] < 1 else None for i in range(n)]
        eaters = [0] * weeks
        for w in current:
            if w is not None:
                eaters[w] += 1
        if not any(eaters):
            break
        step = min([supply[w] / eaters[w] for w in range(weeks) if eaters[w]] + [1 - clock])
        for i, w in enumerate(current):
            if w is not None:
                share[i][w] += step
                eaten[i] += step
        for w in range(weeks):
            supply[w] -= step * eaters[w]
        clock += step
    return share


def bvn_float_expanded(problem: Problem, probabilities: np.ndarray) -> int:
    """Birkhoff–von Neumann as published implementations do it: expand each week into its seats (a doubly
    stochastic n × n matrix for unit demand), then repeatedly take a perfect matching on the positive entries and
    subtract its smallest entry, in floating point. Returns the number of matchings (it may stop early when
    rounding leaves no perfect matching)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    seats = np.repeat(np.arange(problem.n_weeks), problem.capacity[:, 0])
    matrix = probabilities[:, seats] / problem.capacity[seats, 0]
    steps = 0
    while matrix.max() > 1e-9 and steps < 10 * matrix.size:
        match = maximum_bipartite_matching(csr_matrix(matrix > 1e-12), perm_type="column")
        if (match < 0).any():
            break
        weight = matrix[np.arange(len(match)), match].min()
        matrix[np.arange(len(match)), match] -= weight
        steps += 1
    return steps


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, "fewer repeats and a smaller baseline sample", argv)
    repeats = 3 if args.quick else 7
    sample = 100 if args.quick else 300
    rows = []

    def row(case, size, ours, goal, baseline, baseline_name, **extra):
        rows.append({"case": case, "size": size, "ours_ms": round(ours, 2), "goal_ms": goal,
                     "baseline_ms": None if baseline is None else round(baseline, 2), "baseline": baseline_name,
                     "ratio": None if baseline is None else round(baseline / ours, 1),
                     "meets_goal": None if goal is None else ours <= goal, **extra})

    big = _PROBLEM
    rsd_chances(big, seed=SEED, stop=1000)
    ours = timed(lambda: rsd_chances(big, seed=SEED, stop=10_000), repeats)
    row("RSD Monte Carlo, correlated", "300 × 30, 10k draws", ours, 200, rsd_per_draw_ms(big, 10_000, sample),
        f"rsd() per draw ({sample} timed, ×{10_000 / sample:.0f})")

    rot = three_rotations(SEED)
    rsd_chances(rot, seed=SEED, stop=1000)
    ours = timed(lambda: rsd_chances(rot, seed=SEED, stop=10_000), repeats)
    row("RSD Monte Carlo, 3 rotations", "60 × 4/52 × 3, 10k", ours, 200, rsd_per_draw_ms(rot, 10_000, sample),
        f"rsd() per draw ({sample} timed, ×{10_000 / sample:.0f})")

    one = timed(lambda: over_workers(100_000, 1, None), max(1, repeats // 2))
    with ProcessPoolExecutor(2) as pool:
        over_workers(4096, 2, pool)  # start both workers before timing
        two = timed(lambda: over_workers(100_000, 2, pool), max(1, repeats // 2))
        same = (over_workers(100_000, 2, pool) == over_workers(100_000, 1, None)).all()
    row("RSD Monte Carlo, 2 worker processes", "300 × 30, 100k", two, round(0.6 * one, 1), one,
        f"one worker (same counts: {'yes' if same else 'NO'})")

    probabilistic_serial_matrix(big)
    ours = timed(lambda: probabilistic_serial_matrix(big), repeats)
    start = time.perf_counter()
    fraction_eating(big)
    row("probabilistic serial, exact", "300 × 30", ours, 100, (time.perf_counter() - start) * 1000,
        "textbook eating loop in Fractions")

    matrix = probabilistic_serial_matrix(big)
    nnz = int((np.asarray(matrix.counts) != 0).sum())
    start = time.perf_counter()
    lottery = decompose(matrix, demand=big.demand, capacity=big.capacity, eligible=big.eligible)
    ours = (time.perf_counter() - start) * 1000
    exact = not verify(lottery, matrix, demand=big.demand, capacity=big.capacity, eligible=big.eligible)
    start = time.perf_counter()
    float_steps = bvn_float_expanded(big, matrix.week_probabilities())
    row("decomposition of the PS matrix", "300 × 30", ours, 5000, (time.perf_counter() - start) * 1000,
        f"float BvN on seats ({float_steps} matchings)",
        note=f"{lottery.size} schedules ≤ nnz + 1 = {nnz + 1}: {'yes' if lottery.size <= nnz + 1 else 'NO'}; "
             f"reproduces the matrix exactly: {'yes' if exact else 'NO'}")

    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print_table(rows, case_width=38, size_width=20, goal_format="g")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, ".")
    sys.exit(main())
