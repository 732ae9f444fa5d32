"""The lottery mechanisms (DESIGN §6): a random assignment, its exact decomposition into feasible schedules, and one
schedule drawn with the run's generator.

- ``probabilistic_serial``: Bogomolnaia–Moulin's eating algorithm, generalised to capacities and multi-unit demand
  (``allocation.algorithms.serial``), in exact rationals;
- ``rsd_trading``: RSD's Monte Carlo counts over `draws` lotteries (``allocation.algorithms.chances``), given rotations
  by an integral split, improved by probability trading (``allocation.algorithms.trading``).

Either matrix is decomposed in exact integers (``allocation.algorithms.decomposition``); the decomposition is
verified to reproduce the matrix before a schedule is drawn. Every assignment row carries its probability, and the
details name the schedule drawn and the decomposition's size ("why did I get this?" for a lottery).
"""

from __future__ import annotations

import time

import numpy as np

from allocation.algorithms import _validate, decomposition
from allocation.algorithms.chances import DEFAULT_DRAWS, rsd_chances
from allocation.algorithms.serial import probabilistic_serial_matrix
from allocation.algorithms.trading import probability_trade
from allocation.algorithms.types import FEASIBLE, Allocation, Problem, RandomAssignment, sort_assignments

SEED_BOUND = 2**63 - 1


def probabilistic_serial(problem: Problem, *, rng: np.random.Generator, **options: object) -> Allocation:
    """Draw one schedule from the probabilistic serial random assignment."""
    started = time.perf_counter()
    _validate.options("probabilistic_serial", options, {})
    p = _validate.problem(problem)
    matrix = probabilistic_serial_matrix(p)
    return _draw(p, matrix, rng=rng, mechanism="probabilistic_serial", started=started, details={"draws": 0})


def rsd_trading(problem: Problem, *, rng: np.random.Generator, draws: int = DEFAULT_DRAWS, **options: object) -> Allocation:
    """Draw one schedule from RSD's Monte Carlo random assignment after probability trading."""
    started = time.perf_counter()
    _validate.options("rsd_trading", options, {})
    if isinstance(draws, bool) or not isinstance(draws, int) or not 1 <= draws <= 1_000_000:
        raise ValueError(f"draws must be a whole number from 1 to 1,000,000, got {draws!r}.")
    p = _validate.problem(problem)
    lottery_seed = int(rng.integers(SEED_BOUND))
    matrix, traded = rsd_trading_matrix(p, seed=lottery_seed, draws=draws)
    return _draw(p, matrix, rng=rng, mechanism="rsd_trading", started=started, details={
        "draws": draws, "lottery_seed": lottery_seed, "trades": int(len(traded.trades)),
        "happiness_before": traded.happiness_before, "happiness_after": traded.happiness_after,
    })


def rsd_matrix(problem: Problem, *, seed: int, draws: int) -> RandomAssignment:
    """RSD's Monte Carlo counts as an exact (n, W, R) random assignment over `draws`: a pre-assigned week sits in its
    recorded rotation in every draw; the other holders of each week are split over the seats left (an integral flow;
    every draw's holders fit, so their sum does)."""
    weeks = rsd_chances(problem, seed=seed, stop=draws).counts.copy()
    pre = np.asarray(problem.preassigned, dtype=np.int64).reshape(-1, 3)
    weeks[pre[:, 0], pre[:, 1]] = 0
    capacity = np.asarray(problem.capacity, dtype=np.int64).copy()
    np.subtract.at(capacity, (pre[:, 1], pre[:, 2]), 1)
    counts = decomposition.rotation_split(weeks, draws, eligible=problem.eligible, capacity=capacity)
    counts[pre[:, 0], pre[:, 1], pre[:, 2]] = draws
    return RandomAssignment(counts, draws)


def rsd_trading_matrix(problem: Problem, *, seed: int, draws: int):
    """(RSD + trading matrix, TradeResult)."""
    traded = probability_trade(problem, rsd_matrix(problem, seed=seed, draws=draws))
    return traded.assignment, traded


def _draw(problem: Problem, matrix: RandomAssignment, *, rng, mechanism: str, started: float, details: dict) -> Allocation:
    lottery = decomposition.decompose(
        matrix, demand=problem.demand, capacity=problem.capacity, eligible=problem.eligible
    )
    broken = decomposition.verify(
        lottery, matrix, demand=problem.demand, capacity=problem.capacity, eligible=problem.eligible
    )
    if broken:
        raise RuntimeError(f"{mechanism}: the decomposition does not reproduce the matrix ({'; '.join(broken[:3])}).")
    k = decomposition.draw(lottery, rng)
    rows = sort_assignments(lottery.schedules[k])
    probability = matrix.week_probabilities()[rows[:, 0], rows[:, 1]]
    pre = np.asarray(problem.preassigned, dtype=np.int64).reshape(-1, 3)
    is_pre = np.zeros(problem.eligible.shape, dtype=bool)
    is_pre[pre[:, 0], pre[:, 1], pre[:, 2]] = True
    preassigned = is_pre[rows[:, 0], rows[:, 1], rows[:, 2]]
    n = problem.n_faculty
    per_assignment = {"probability": probability, "preassigned": preassigned}
    for array in per_assignment.values():
        array.setflags(write=False)
    unassigned = np.asarray(problem.demand, dtype=np.int64) - np.bincount(rows[:, 0], minlength=n)
    unassigned.setflags(write=False)
    weight = lottery.weights[k]
    return Allocation(
        status=FEASIBLE, mechanism=mechanism, assignments=rows, unassigned=unassigned,
        per_assignment=per_assignment,
        details={
            **details,
            "decomposition_size": lottery.size,
            "drawn_schedule": k + 1,
            "drawn_weight": weight / lottery.total,
            "drawn_weight_exact": f"{weight}/{lottery.total}",
        },
        wall_ms=(time.perf_counter() - started) * 1000,
    )
