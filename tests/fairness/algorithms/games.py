"""Coverage games for the fairness tests and the benchmark."""

from __future__ import annotations

import numpy as np

from fairness.algorithms.game import CoverageGame, coverage_game


def random_game(rng: np.random.Generator, *, n: int, weeks: int, rotations: int = 1, load: tuple[int, int] = (0, 3),
                capacity: tuple[int, int] = (0, 2), qualify_p: float = 0.6, block_p: float = 0.2) -> CoverageGame:
    qualified = rng.random((n, rotations)) < qualify_p
    available = rng.random((n, weeks)) >= block_p
    return coverage_game(qualified[:, None, :] & available[:, :, None], rng.integers(load[0], load[1] + 1, n),
                         rng.integers(capacity[0], capacity[1] + 1, (weeks, rotations)))


def demo_like_game(seed: int, *, n: int, weeks: int = 52, rotations: int = 3, slack: float = 1.25) -> CoverageGame:
    """A year like the demo's: every faculty member qualified for one to three rotations (the first rotation, the
    inpatient service, by fewer), about 15 % of weeks blocked, one seat per slot, and target loads adding up to
    `slack` times the seats: a faculty member can serve far fewer slots than they are eligible for, so the load
    caps bind, and late joiners find the seats they could take already covered."""
    rng = np.random.default_rng(seed)
    qualified = rng.random((n, rotations)) < np.linspace(0.3, 0.6, rotations)[None, :]
    qualified[np.arange(n), rng.integers(0, rotations, n)] = True
    available = rng.random((n, weeks)) >= 0.15
    capacity = np.ones((weeks, rotations), dtype=np.int64)
    total = int(round(slack * capacity.sum()))
    load = np.full(n, total // n, dtype=np.int64)
    load[: total - load.sum()] += 1
    return coverage_game(qualified[:, None, :] & available[:, :, None], load, capacity)


def uncapped_game(seed: int, *, n: int, weeks: int) -> CoverageGame:
    """Each faculty member qualified for one rotation and a load of every week: no load cap and no
    one-slot-per-week limit binds, so the closed form of DESIGN §7 holds."""
    rng = np.random.default_rng(seed)
    rotations = 2
    qualified = np.zeros((n, rotations), dtype=bool)
    qualified[np.arange(n), rng.integers(0, rotations, n)] = True
    available = rng.random((n, weeks)) >= 0.3
    capacity = rng.integers(0, 4, (weeks, rotations))
    return coverage_game(qualified[:, None, :] & available[:, :, None], np.full(n, weeks), capacity)
