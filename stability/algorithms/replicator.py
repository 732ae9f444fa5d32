"""Replicator dynamics for swap-request strategies (DESIGN §9, ``StrategyPerformance``).

Taylor & Jonker (1978) "Evolutionarily stable strategies and game dynamics", Math. Biosci. 40; Hofbauer &
Sigmund, *Evolutionary Games and Population Dynamics*, 1998. One Euler step of ẋ_s = x_s (f_s − f̄) with fitness
f_s − f̄ = success rate − the population's mean success rate f̄ = Σ x_s f_s (the frequency-weighted mean, so an
unused strategy does not drag the mean; with equal frequencies it is the plain mean).
"""

from __future__ import annotations

import numpy as np

from stability.algorithms import _validate


def replicator_step(frequency: np.ndarray, success_rate: np.ndarray, *, dt: float = 1.0) -> np.ndarray:
    """new = x + dt·x·(f − Σ x f), clipped at 0 and renormalised to sum 1 (x is normalised first)."""
    x = _validate.vector("frequency", frequency)
    f = _validate.vector("success_rate", success_rate, length=len(x))
    dt = _validate.number("dt", dt, low=0.0)
    if len(x) == 0:
        return x
    if x.min() < 0 or x.sum() <= 0:
        raise ValueError("frequency must be non-negative with a positive sum (population shares).")
    x = x / x.sum()
    fitness = f - x @ f
    new = np.clip(x + dt * x * fitness, 0.0, None)
    return new / new.sum()


def fitness(frequency: np.ndarray, success_rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(fitness, growth) per strategy: success rate − frequency-weighted mean success rate, and frequency × fitness."""
    x = _validate.vector("frequency", frequency)
    f = _validate.vector("success_rate", success_rate, length=len(x))
    if len(x) == 0:
        return x, x
    if x.min() < 0 or x.sum() <= 0:
        raise ValueError("frequency must be non-negative with a positive sum (population shares).")
    x = x / x.sum()
    fit = f - x @ f
    return fit, x * fit
