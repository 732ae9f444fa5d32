"""The cp_sat option names, their allowed choices and bounds, and the validation that turns the keyword options into
one checked dict (integers, a float time limit, (i, j) pairs and (faculty, rotation, min, max) quotas) or raises
OptionError (a ValueError) with the exact message, naming the option.

Every number is bounded: the time limit by TIME_LIMIT_MAX_S, search workers by WORKERS_MAX, the soft back-to-back
penalty by BACK_TO_BACK_PENALTY_MAX, and week counts (max_holidays, quota min and max) by WEEK_COUNT_MAX, so no
number can overflow the solver's 64-bit model. A count above the year's weeks keeps its meaning (no cap; a quota
minimum that cannot be met makes the run infeasible)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from numbers import Integral, Real
from typing import Any

from allocation.algorithms import _validate
from allocation.algorithms.types import OptionError

MECHANISM = "cp_sat"
OBJECTIVES = ("regret", "fairness")
FAIRNESS = ("greedy", "generous")
COSTS = ("squared", "linear")
BACK_TO_BACK = ("off", "hard", "soft")
QUOTA_KEYS = {"faculty", "rotation", "min", "max"}
# A run is stopped at its 840 s soft limit (allocation.services.runs.RUN_SOFT_TIME_LIMIT_S); the solver's budget
# leaves time to build the problem and save the schedule.
TIME_LIMIT_MAX_S = 600.0
WORKERS_MAX = 16  # more search threads than this only contend for the worker's cores
BACK_TO_BACK_PENALTY_MAX = 10_000  # above the squared regret of any rank (52² = 2,704): "never, if avoidable"
WEEK_COUNT_MAX = 1_000  # more weeks than any schedule has


def _validated_options(unknown: Mapping[str, Any], n: int, n_rotations: int, **options: Any) -> dict[str, Any]:
    # The shared check names unknown options and the allowed choices; the other values get checks of their own.
    choices = {"objective": OBJECTIVES, "fairness": FAIRNESS, "cost": COSTS, "back_to_back": BACK_TO_BACK,
               "hint": (True, False), "relaxation": (True, False)}
    _validate.options(MECHANISM, {**{k: options[k] for k in choices}, **unknown}, {**dict.fromkeys(options, object), **choices})

    def integer(name: str, value: Any, *, low: int = 0, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < low or (high is not None and value > high):
            bound = f"in {low}..{high}" if high is not None else f"≥ {low}"
            raise OptionError(name, f"{MECHANISM}: option {name!r} must be an integer {bound}, got {value!r}.")
        return int(value)

    if options["max_holidays"] is not None:
        options["max_holidays"] = integer("max_holidays", options["max_holidays"], high=WEEK_COUNT_MAX)
    options["back_to_back_penalty"] = integer("back_to_back_penalty", options["back_to_back_penalty"],
                                              high=BACK_TO_BACK_PENALTY_MAX)
    options["workers"] = integer("workers", options["workers"], low=1, high=WORKERS_MAX)
    limit = options["time_limit_s"]
    if isinstance(limit, bool) or not isinstance(limit, Real) or not math.isfinite(limit) or limit <= 0:
        raise OptionError("time_limit_s", f"{MECHANISM}: option 'time_limit_s' must be a positive number of seconds, got {limit!r}.")
    if limit > TIME_LIMIT_MAX_S:
        raise OptionError("time_limit_s", f"{MECHANISM}: option 'time_limit_s' must be at most {TIME_LIMIT_MAX_S:g} seconds, "
                                          f"got {limit!r}.")
    options["time_limit_s"] = float(limit)

    pairs = []
    for pair in _as_list(options["pairs"], "pairs"):
        members = _as_list(pair, "pairs")
        if len(members) != 2:
            raise OptionError("pairs", f"{MECHANISM}: option 'pairs' must hold (i, j) pairs of faculty indices, got {pair!r}.")
        i, j = (integer("pairs", member, high=n - 1) for member in members)
        if i == j:
            raise OptionError("pairs", f"{MECHANISM}: option 'pairs' must pair two different faculty, got ({i}, {j}).")
        pairs.append((i, j))
    options["pairs"] = pairs

    quotas = []
    for quota in _as_list(options["rotation_quotas"], "rotation_quotas"):
        if not isinstance(quota, Mapping) or not {"faculty", "rotation"} <= set(quota) or set(quota) - QUOTA_KEYS:
            raise OptionError(
                "rotation_quotas", f"{MECHANISM}: option 'rotation_quotas' must hold {{faculty, rotation, min, max}} mappings "
                f"(min and max optional), got {quota!r}.")
        i = integer("rotation_quotas", quota["faculty"], high=n - 1)
        r = integer("rotation_quotas", quota["rotation"], high=n_rotations - 1)
        low = integer("rotation_quotas", quota.get("min", 0), high=WEEK_COUNT_MAX)
        high = None if quota.get("max") is None else integer("rotation_quotas", quota["max"], low=low, high=WEEK_COUNT_MAX)
        quotas.append((i, r, low, high))
    options["rotation_quotas"] = quotas
    return options


def _as_list(value: Any, name: str) -> list[Any]:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise OptionError(name, f"{MECHANISM}: option {name!r} must be a list, got {value!r}.")
    return list(value)

