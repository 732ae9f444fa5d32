"""The strategy registry: a mechanism is picked by name, so adding one never changes callers (DESIGN §5).

Every strategy has the signature ``fn(problem: Problem, *, rng: np.random.Generator, **options) -> Allocation``
and raises :class:`~allocation.algorithms.types.OptionError` naming any option it does not know or allow.
``OPTIONS`` declares each strategy's keyword options, so callers check and describe them without importing the
strategy's module or reading its signature (a test keeps the two in step).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from allocation.algorithms.types import Allocation, OptionSpec

_STRATEGIES = {
    "rsd": "allocation.algorithms.rsd:rsd",
    "least_regret": "allocation.algorithms.least_regret:least_regret",
    "min_cost_flow": "allocation.algorithms.min_cost_flow:min_cost_flow",
    "cp_sat": "allocation.algorithms.cpsat:cp_sat",
    "vcg": "allocation.algorithms.vcg:vcg",
    "probabilistic_serial": "allocation.algorithms.lotteries:probabilistic_serial",
    "rsd_trading": "allocation.algorithms.lotteries:rsd_trading",
}

MECHANISMS = tuple(_STRATEGIES)
# What people read: the page, the API's labels and the charts all name a mechanism this way.
MECHANISM_LABELS = {
    "rsd": "Random serial dictatorship",
    "least_regret": "Least regret",
    "min_cost_flow": "Min-cost flow",
    "cp_sat": "CP-SAT",
    "vcg": "VCG",
    "probabilistic_serial": "Probabilistic serial",
    "rsd_trading": "RSD + probability trading",
}
# The lottery mechanisms whose chances are shown before the draw (DESIGN §6).
CHANCE_MECHANISMS = ("rsd", "probabilistic_serial", "rsd_trading")

_COST = OptionSpec("cost", str, "squared", ("squared", "linear"), help="regret per assignment: (r − 1)² or r − 1")

OPTIONS: dict[str, tuple[OptionSpec, ...]] = {
    "rsd": (),
    "least_regret": (_COST,),
    "min_cost_flow": (
        OptionSpec("fill_unlisted", bool, False, (True, False), help="also arcs to eligible unlisted weeks"),
        OptionSpec("allow_unassigned", bool, True, (True, False), help="let demand go unmet as a last resort"),
    ),
    "cp_sat": (
        OptionSpec("objective", str, "regret", ("regret", "fairness"), help="least regret or fairness tiers"),
        OptionSpec("fairness", str, "greedy", ("greedy", "generous"), help="the reading of fairness tiers"),
        _COST,
        OptionSpec("max_holidays", int, None, nullable=True, minimum=0, maximum=1_000, unit="weeks",
                   help="most major-holiday weeks per person, 0 to 1,000"),
        OptionSpec("back_to_back", str, "off", ("off", "hard", "soft"), help="service in consecutive weeks"),
        OptionSpec("back_to_back_penalty", int, 10, minimum=0, maximum=10_000, unit="regret units",
                   help="regret units per soft back-to-back occurrence, 0 to 10,000"),
        OptionSpec("pairs", None, (), help="(i, j) faculty indices who serve the same weeks"),
        OptionSpec("rotation_quotas", None, (), help="{faculty, rotation, min, max} per-rotation quotas, min and max 0 to 1,000"),
        # At most 600 s: a run is stopped at its 840 s soft limit, and loading and saving need time too.
        OptionSpec("time_limit_s", float, 10.0, maximum=600, unit="seconds",
                   help="wall-clock budget for all solves, in seconds: more than 0, at most 600 (10 minutes)"),
        OptionSpec("workers", int, 2, minimum=1, maximum=16, unit="workers", help="CP-SAT search workers, 1 to 16"),
        OptionSpec("hint", bool, True, (True, False), help="start from the flow relaxation's optimum"),
        OptionSpec("relaxation", bool, True, (True, False), help="return the flow relaxation when it is feasible"),
    ),
    # vcg takes its one option through **options, so a wrong type is reported against its choices.
    "vcg": (OptionSpec("method", None, "auto", ("auto", "prices", "resolve"), help="how payments are computed"),),
    "probabilistic_serial": (),
    "rsd_trading": (
        OptionSpec("draws", int, 10_000, minimum=1_000, maximum=100_000, unit="lotteries",
                   help="RSD lotteries drawn before trading, 1,000 to 100,000"),
    ),
}


def strategy(name: str) -> Callable[..., Allocation]:
    if name not in _STRATEGIES:
        raise ValueError(f"Unknown mechanism {name!r}; choose one of {', '.join(MECHANISMS)}.")
    module, attribute = _STRATEGIES[name].split(":")
    return getattr(import_module(module), attribute)


def option_specs(name: str) -> dict[str, OptionSpec]:
    """The declared options of mechanism `name`, by option name."""
    return {spec.name: spec for spec in OPTIONS[name]}
