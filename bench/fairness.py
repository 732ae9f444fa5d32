"""Fairness benchmark: Shapley values of the coverage game at the issue's reference sizes against in-run baselines.

Run:  .venv/bin/python -m bench.fairness [--quick] [--json]
Rows: exact Shapley on a demo-like year (52 weeks, 3 rotations, one seat a slot, target loads adding up to the
seats so the caps bind) with n = 12 and n = 15, against one fresh OR-Tools maximum flow per coalition (n = 15:
timed on a sample of coalitions and scaled, as the row says); Monte Carlo with n = 40 and 5,000 permutations on
one worker, against one fresh maximum flow per prefix (sampled and scaled); the same over two worker processes
against one (and whether the merged sums are identical); the real WPI 2017 project-centre data as a game (students
as faculty with load 1, centres as weeks of one rotation, eligible where interested) with 1,000 permutations; and
the antithetic estimator's 95 % interval width against plain permutation sampling at the same budget.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from bench.common import arguments, print_table, timed
from fairness.algorithms.flow import IncrementalFlow
from fairness.algorithms.game import FlowOracle, coverage_game
from fairness.algorithms.shapley import Z95, exact_shapley, marginals_along, pair_ranges, sample_sums
from tests.fairness.algorithms.games import demo_like_game

SEED = 2026
_GAME = demo_like_game(SEED, n=40)


def fresh_per_coalition_ms(game, coalitions: int, sample: int) -> float:
    """One fresh maximum flow per coalition: `sample` random coalitions timed, scaled to `coalitions`."""
    oracle = FlowOracle(game)
    rng = np.random.default_rng(SEED)
    masks = rng.random((sample, game.n_faculty)) < 0.5
    start = time.perf_counter()
    for mask in masks:
        oracle.value(mask)
    return (time.perf_counter() - start) * 1000 * coalitions / sample


def fresh_per_prefix_ms(game, permutations: int, sample: int) -> float:
    """Monte Carlo the straightforward way: every prefix of every order a fresh maximum flow."""
    oracle = FlowOracle(game)
    n = game.n_faculty
    start = time.perf_counter()
    for order in np.random.default_rng(SEED).permuted(np.broadcast_to(np.arange(n), (sample, n)), axis=1):
        mask = np.zeros(n, dtype=bool)
        before = 0
        for j in order:
            mask[j] = True
            value = oracle.value(mask)
            _ = value - before
            before = value
    return (time.perf_counter() - start) * 1000 * permutations / sample


def _chunk(args):
    start, stop = args
    return sample_sums(_GAME, seed=SEED, start=start, stop=stop)


def over_workers(pairs: int, workers: int, pool):
    """The sums over `pairs` antithetic pairs, in one process, or over a pool in four chunks per worker handed out
    as workers free up (so one slower chunk does not leave the other worker idle); the sums are the same."""
    ranges = pair_ranges(pairs, workers if pool is None else 4 * workers)
    parts = [_chunk(r) for r in ranges] if pool is None else list(pool.map(_chunk, ranges))
    return sum(parts[1:], parts[0])


def plain_interval_width(game, permutations: int, seed: int) -> np.ndarray:
    """Mean 95 % interval width of plain permutation sampling (independent orders) at the same budget."""
    flow = IncrementalFlow(game)
    n = game.n_faculty
    orders = np.random.default_rng([seed, 99]).permuted(np.broadcast_to(np.arange(n), (permutations, n)), axis=1)
    samples = np.array([marginals_along(flow, order) for order in orders], dtype=np.float64)
    return 2 * Z95 * samples.std(axis=0, ddof=1) / np.sqrt(permutations)


def wpi_game():
    from tests.allocation.algorithms.wpi import IQP_2017, read_wpi

    ratings, capacity = read_wpi(IQP_2017)
    return coverage_game((ratings > 0)[:, :, None], np.ones(len(ratings), dtype=np.int64), capacity[:, None])


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, "fewer repeats and smaller baseline samples", argv)
    repeats = 1 if args.quick else 3
    rows = []

    def row(case, size, ours, goal, baseline, baseline_name, **extra):
        rows.append({"case": case, "size": size, "ours_ms": round(ours, 1), "goal_ms": goal,
                     "baseline_ms": None if baseline is None else round(baseline, 1), "baseline": baseline_name,
                     "ratio": None if baseline is None else round(baseline / ours, 1),
                     "meets_goal": None if goal is None else ours <= goal, **extra})

    twelve = demo_like_game(SEED, n=12)
    ours = timed(lambda: exact_shapley(twelve), repeats)
    start = time.perf_counter()
    fresh = FlowOracle(twelve)
    for mask in range(1 << 12):
        fresh.value(np.array([(mask >> i) & 1 for i in range(12)], dtype=bool))
    row("exact Shapley, demo-like year", "n = 12, 52 × 3", ours, 2000, (time.perf_counter() - start) * 1000,
        "fresh max flow per coalition (all 4,096)")

    fifteen = demo_like_game(SEED, n=15)
    ours = timed(lambda: exact_shapley(fifteen), 1)
    sample = 1000 if args.quick else 4000
    row("exact Shapley, demo-like year", "n = 15, 52 × 3", ours, 20_000,
        fresh_per_coalition_ms(fifteen, 1 << 15, sample), f"fresh max flow per coalition ({sample:,} timed, scaled)")

    pairs = 2500
    one = timed(lambda: over_workers(pairs, 1, None), repeats)
    sample = 20 if args.quick else 60
    row("Monte Carlo Shapley, 1 worker", "n = 40, 5,000 perms", one, 20_000,
        fresh_per_prefix_ms(_GAME, 2 * pairs, sample), f"fresh max flow per prefix ({sample} orders timed, scaled)")
    with ProcessPoolExecutor(2) as pool:
        over_workers(128, 2, pool)  # start both workers before timing
        two = timed(lambda: over_workers(pairs, 2, pool), repeats)
        merged = over_workers(pairs, 2, pool)
    single = over_workers(pairs, 1, None)
    same = all(np.array_equal(getattr(merged, k), getattr(single, k)) for k in ("total", "squares", "size_count"))
    row("Monte Carlo Shapley, 2 worker processes", "n = 40, 5,000 perms", two, round(0.6 * one, 1), one,
        f"one worker (same sums: {'yes' if same else 'NO'})")

    wpi = wpi_game()
    wpi_pairs = 100 if args.quick else 500
    ours = timed(lambda: sample_sums(wpi, seed=SEED, start=0, stop=wpi_pairs), 1)
    row("Monte Carlo Shapley, WPI 2017 (real data)", f"n = {wpi.n_faculty}, {2 * wpi_pairs:,} perms", ours, None,
        None, "—")

    antithetic = single.result()
    width = antithetic.ci_high - antithetic.ci_low
    plain = plain_interval_width(_GAME, 2 * pairs, SEED)
    varies = plain > 0
    ratio = float(width[varies].mean() / plain[varies].mean()) if varies.any() else float("nan")
    rows.append({"case": "interval width, antithetic ÷ plain sampling", "size": "n = 40, 5,000 perms",
                 "ours_ms": None, "goal_ms": None, "baseline_ms": None, "baseline": "plain permutation sampling",
                 "ratio": None, "meets_goal": None,
                 "note": f"mean 95 % width {width[varies].mean():.4f} vs {plain[varies].mean():.4f}: ratio "
                         f"{ratio:.2f} (below 1 = narrower at the same budget)"})

    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print_table(rows, case_width=44, size_width=22, goal_format="g")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, ".")
    sys.exit(main())
