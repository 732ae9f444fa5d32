"""Stability benchmark: the DESIGN §9 report at the reference sizes against an in-run naive baseline.

Run:  .venv/bin/python -m bench.stability [--quick] [--json]
Prints one row per case: our time (median of repeats), the goal, the baseline measured in the same run, the
ratio and whether the goal is met; the large cases also report the peak memory of the call (VmHWM reset
before it), measured in a fresh subprocess.

The naive baseline is the straightforward analysis: a Python loop over all ordered assignment pairs, each
tested against the definitions (vectorised over nothing). At 10,400 assignments (108 million ordered pairs)
it runs over the pairs of the first rows only and is extrapolated by pair count — marked "extrapolated".
The price-of-anarchy baseline is the same dynamics, one restart after another, with a full vectorised rescan
per step instead of the incremental refresh. The stored-estimate report rows are measured against the same
report computing its price of anarchy cold, in the same run.

Schedules are random feasible schedules (the unstable end: many blocking swaps) over realistic utilities:
correlated ordinal preferences (a common popularity plus personal noise, 10–20 ranked weeks), about 5 %
blocked weeks, each rotation qualified with probability 0.7, the shared utility weights (0.6 preference,
0.2 workload, 0.1 time-off proximity, 0.1 swap history).
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace

import numpy as np

from bench.common import Case, arguments, in_fresh_process, peak_growth_mb, print_table, timed
from stability.algorithms.types import SwapProblem


def synthetic_problem(seed: int, *, n: int, weeks: int, rotations: int, per_faculty: int) -> SwapProblem:
    """n faculty holding per_faculty weeks each over weeks × rotations slots, in a random feasible schedule."""
    from stability.algorithms.welfare import random_feasible_schedule

    rng = np.random.default_rng(seed)
    popularity = rng.random(weeks)
    keys = 0.6 * popularity[None, :] + 0.4 * rng.random((n, weeks))
    blocked = rng.random((n, weeks)) < 0.05
    keys = np.where(blocked, -np.inf, keys)
    order = np.argsort(-keys, axis=1)
    rank = np.empty((n, weeks), dtype=np.int64)
    np.put_along_axis(rank, order, np.arange(1, weeks + 1)[None, :], axis=1)
    listed = rng.integers(10, 21, size=n)
    score = np.where(rank <= listed[:, None], 1.0 - 0.5 * (rank - 1) / listed[:, None], 0.5)
    score = np.where(blocked, 0.0, score)
    proximity = np.round(rng.random((n, weeks)), 2)
    utility = 0.6 * score + 0.2 * 0.5 + 0.1 * proximity + 0.1 * 0.5
    qualified = rng.random((n, rotations)) < 0.7
    qualified[np.arange(n), rng.integers(0, rotations, size=n)] = True
    eligible = qualified[:, None, :] & ~blocked[:, :, None]
    # Capacity ≈ 1.1 × the load, spread over rotations in proportion to the qualified faculty.
    share = qualified.sum(axis=0) / qualified.sum()
    capacity = np.ceil(1.1 * n * per_faculty / weeks * share[None, :] * np.ones((weeks, 1))).astype(np.int64)
    # Any rows with the right counts (the random schedule re-places them all; capacity covers the load).
    seed_rows = []
    for i in range(n):
        for w in rng.choice(weeks, size=per_faculty, replace=False):
            seed_rows.append((i, int(w), int(rng.choice(np.flatnonzero(qualified[i])))))
    problem = SwapProblem(utility=utility, eligible=eligible, capacity=capacity,
                          assignments=np.array(seed_rows, dtype=np.int64))
    return replace(problem, assignments=random_feasible_schedule(problem, rng))


def naive_analysis(problem: SwapProblem, *, first_rows: int | None = None) -> dict:
    """The definitions over every ordered pair, in plain Python (first_rows: only pairs (a, ·) with a < first_rows)."""
    rows = [tuple(int(x) for x in row) for row in problem.assignments]
    u = problem.utility.tolist()
    eligible = problem.eligible.tolist()
    locked = [False] * len(rows) if problem.locked is None else problem.locked.tolist()
    holds = {(i, w) for i, w, _ in rows}
    eps = 1e-9
    m = len(rows)
    blocking = deviations = 0
    in_blocking = [False] * m
    best = [(-1.0, -1)] * m
    total_gain = 0.0
    for a in range(m if first_rows is None else min(first_rows, m)):
        i, w, r = rows[a]
        if locked[a]:
            continue
        for b in range(m):
            j, w2, r2 = rows[b]
            if i == j or locked[b] or not eligible[i][w2][r2] or not eligible[j][w][r]:
                continue
            if (i, w2) in holds or (j, w) in holds:
                continue
            gain_a = u[i][w2] - u[i][w]
            if gain_a <= eps:
                continue
            deviations += 1
            gain_b = u[j][w] - u[j][w2]
            if gain_b > eps:
                in_blocking[a] = True
                blocking += 1
                total_gain += gain_a
                if gain_a + gain_b > best[a][0]:
                    best[a] = (gain_a + gain_b, b)
    return {"blocking": blocking // 2, "deviations": deviations, "distance": sum(in_blocking) / max(m, 1),
            "avg_gain": total_gain / max(blocking // 2, 1)}


def rescan_dynamics(problem: SwapProblem, *, rng: np.random.Generator, restarts: int) -> list[float]:
    """PoA baseline: the same dynamics, but a full vectorised rescan for the best blocking swap at every step."""
    from stability.algorithms import _state, _validate
    from stability.algorithms.welfare import _random

    problem = _validate.swap_problem(problem)
    finals = []
    for _ in range(restarts):
        state = _state.SwapState(replace(problem, assignments=_random(problem, rng)), 1e-9)
        while True:
            tabs, _ = _state.tables(state, full=False)
            total = _state._pair_total(tabs.bmax, tabs.bmax.T)
            flat = int(np.argmax(total))
            if total.flat[flat] <= 0:
                break
            s, t = divmod(flat, state.n_slots)
            state.swap(int(tabs.barg[s, t]), int(tabs.barg[t, s]))
        finals.append(state.welfare())
    return finals


def _naive_ms(problem: SwapProblem, first_rows: int | None = None) -> float:
    start = time.perf_counter()
    naive_analysis(problem, first_rows=first_rows)
    elapsed = (time.perf_counter() - start) * 1000
    m = len(problem.assignments)
    return elapsed if first_rows is None or first_rows >= m else elapsed * m / first_rows


def _memory_child(case_index: int, quick: bool, queue) -> None:
    case = cases(quick)[case_index]
    problem = case.make()
    case.ours(problem)  # warm-up, so imports and solver set-up are not counted
    queue.put(peak_growth_mb(lambda: case.ours(problem))[1])


SMALL = {"n": 50, "weeks": 52, "rotations": 3, "per_faculty": 30}      # 1,500 assignments
LARGE = {"n": 200, "weeks": 104, "rotations": 3, "per_faculty": 52}    # 10,400 assignments (two years)


def cases(quick: bool) -> list[Case]:
    from stability.algorithms.report import stability_report
    from stability.algorithms.swaps import swap_analysis
    from stability.algorithms.welfare import price_of_anarchy

    rng = lambda: np.random.default_rng(0)  # noqa: E731
    k = 5 if quick else 20
    estimates: dict[int, object] = {}

    def reused(p: SwapProblem):
        # The product stores one estimate per feasible set (swaps keep it); it is computed here once, in the
        # warm-up call, and every timed call reuses it as the service does.
        if id(p) not in estimates:
            estimates[id(p)] = price_of_anarchy(p, rng=rng(), restarts=k)
        return stability_report(p, rng=None, price=estimates[id(p)])

    def cold_ms(p: SwapProblem) -> float:
        return timed(lambda: stability_report(p, rng=rng(), restarts=k), 1)

    small = lambda: synthetic_problem(1, **SMALL)  # noqa: E731
    large = lambda: synthetic_problem(2, **LARGE)  # noqa: E731
    extrapolate_rows = 150 if quick else 600
    return [
        Case("swap_analysis", "50 × 1,500", None, small, swap_analysis, _naive_ms, "naive pair loop", repeats=9),
        Case("report without PoA", "50 × 1,500", 20, small,
             lambda p: stability_report(p, rng=rng(), with_price_of_anarchy=False), _naive_ms,
             "naive pair loop (analysis only)", repeats=9),
        Case(f"price of anarchy K={k}", "50 × 1,500", None, small,
             lambda p: price_of_anarchy(p, rng=rng(), restarts=k),
             lambda p: timed(lambda: rescan_dynamics(p, rng=rng(), restarts=k), 1), "rescan every step", repeats=1),
        Case(f"full report, PoA K={k} cold", "50 × 1,500", None, small,
             lambda p: stability_report(p, rng=rng(), restarts=k), None, "", repeats=1),
        Case(f"full report, PoA K={k} stored", "50 × 1,500", 20, small, reused, cold_ms,
             "the same report with PoA computed cold", repeats=9),
        Case("swap_analysis", "200 × 10,400", None, large, swap_analysis,
             lambda p: _naive_ms(p, extrapolate_rows), f"naive pair loop, extrapolated from {extrapolate_rows} rows",
             repeats=3, measure_memory=True),
        Case("report without PoA", "200 × 10,400", 500, large,
             lambda p: stability_report(p, rng=rng(), with_price_of_anarchy=False),
             lambda p: _naive_ms(p, extrapolate_rows), "naive pair loop (analysis only), extrapolated", repeats=3,
             measure_memory=True),
        Case(f"price of anarchy K={k}", "200 × 10,400", None, large,
             lambda p: price_of_anarchy(p, rng=rng(), restarts=k), None, "", repeats=1),
        Case(f"full report, PoA K={k} cold", "200 × 10,400", None, large,
             lambda p: stability_report(p, rng=rng(), restarts=k), None, "", repeats=1),
        Case(f"full report, PoA K={k} stored", "200 × 10,400", 500, large, reused, cold_ms,
             "the same report with PoA computed cold", repeats=3),
    ]


def main(argv: list[str] | None = None) -> int:
    args = arguments(__doc__, "K=5 restarts and a shorter extrapolation run", argv)

    rows = []
    made: dict[str, SwapProblem] = {}   # one schedule per size, shared by its cases
    for index, case in enumerate(cases(args.quick)):
        problem = made.get(case.size) or made.setdefault(case.size, case.make())
        case.ours(problem)  # warm-up
        ours = timed(lambda case=case, problem=problem: case.ours(problem), case.repeats)
        baseline = case.baseline(problem) if case.baseline else None
        memory = None
        if case.measures_memory:
            memory = in_fresh_process(_memory_child, index, args.quick)
        rows.append({
            "case": case.name, "size": case.size, "ours_ms": round(ours, 2), "goal_ms": case.goal_ms,
            "baseline": case.baseline_name, "baseline_ms": None if baseline is None else round(baseline, 1),
            "ratio": None if baseline is None else round(baseline / ours, 1),
            "meets_goal": None if case.goal_ms is None else ours <= case.goal_ms,
            "peak_mb": None if memory is None else round(memory, 1),
        })

    # The baseline is a baseline only if it computes the same thing: check it on the 1,500-assignment schedule.
    from stability.algorithms.swaps import swap_analysis

    small = made["50 × 1,500"]
    ours, naive = swap_analysis(small), naive_analysis(small)
    agrees = (ours.num_blocking_swaps, ours.num_beneficial_deviations) == (naive["blocking"], naive["deviations"]) \
        and abs(ours.nash_distance - naive["distance"]) < 1e-12 and abs(ours.avg_gain - naive["avg_gain"]) < 1e-9
    notes = [
        f"naive baseline agrees with swap_analysis on 50 × 1,500: {'yes' if agrees else 'NO'} "
        f"({ours.num_blocking_swaps:,} blocking swaps, {ours.num_beneficial_deviations:,} beneficial deviations, "
        f"distance {ours.nash_distance:.3f})",
        "price of anarchy = K random feasible schedules + blocking-swap dynamics to convergence, the K restarts "
        "stepping together; 'cold' computes it inside the report, 'stored' reuses the estimate the product keeps for "
        "the feasible set (one per set of preferences, eligibility, capacities and demands; swaps keep it)",
        f"the cold full report cannot meet 20 / 500 ms at K = {5 if args.quick else 20}: the dynamics alone execute "
        "about K × 280 (small) and K × 2,400 (large) sequential best-swap steps",
        "peak MB: growth of the peak resident set during one call, in a fresh process",
    ]
    if args.json:
        print(json.dumps({"rows": rows, "notes": notes}, indent=2))
        return 0
    print_table(rows, case_width=30, size_width=13, goal_format="")
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, ".")
    sys.exit(main())
