"""The strategy registry: a mechanism is picked by name, so adding one never changes callers (DESIGN §5).

Every strategy has the signature ``fn(problem: Problem, *, rng: np.random.Generator, **options) -> Allocation``
and raises ValueError naming any option it does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from allocation.algorithms.types import Allocation

_STRATEGIES = {
    "rsd": "allocation.algorithms.rsd:rsd",
    "least_regret": "allocation.algorithms.least_regret:least_regret",
    "min_cost_flow": "allocation.algorithms.min_cost_flow:min_cost_flow",
    "cp_sat": "allocation.algorithms.cpsat:cp_sat",
    "vcg": "allocation.algorithms.vcg:vcg",
}

MECHANISMS = tuple(_STRATEGIES)


def strategy(name: str) -> Callable[..., Allocation]:
    if name not in _STRATEGIES:
        raise ValueError(f"Unknown mechanism {name!r}; choose one of {', '.join(MECHANISMS)}.")
    module, attribute = _STRATEGIES[name].split(":")
    return getattr(import_module(module), attribute)
