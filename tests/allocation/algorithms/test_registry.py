"""The registry's declared option schema stays in step with the strategies it describes."""

from __future__ import annotations

import inspect

import pytest

from allocation.algorithms import registry
from allocation.algorithms.cpsat import (
    BACK_TO_BACK,
    BACK_TO_BACK_PENALTY_MAX,
    COSTS,
    FAIRNESS,
    OBJECTIVES,
    TIME_LIMIT_MAX_S,
    WEEK_COUNT_MAX,
    WORKERS_MAX,
)
from allocation.algorithms.least_regret import COSTS as LEAST_REGRET_COSTS
from allocation.algorithms.vcg import METHODS


@pytest.mark.parametrize("mechanism", registry.MECHANISMS)
def test_every_declared_option_is_a_keyword_of_the_strategy_with_the_same_default(mechanism):
    signature = inspect.signature(registry.strategy(mechanism))
    keywords = {name: p.default for name, p in list(signature.parameters.items())[1:]
                if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "rng"}
    declared = {spec.name: spec.default for spec in registry.OPTIONS[mechanism]}
    if mechanism == "vcg":  # vcg reads its one option out of **options
        assert declared == {"method": "auto"} and keywords == {}
    else:
        assert declared == keywords


def test_declared_choices_are_the_strategies_own():
    specs = {m: registry.option_specs(m) for m in registry.MECHANISMS}
    assert specs["least_regret"]["cost"].choices == LEAST_REGRET_COSTS == specs["cp_sat"]["cost"].choices == COSTS
    assert specs["cp_sat"]["objective"].choices == OBJECTIVES
    assert specs["cp_sat"]["fairness"].choices == FAIRNESS
    assert specs["cp_sat"]["back_to_back"].choices == BACK_TO_BACK
    assert specs["vcg"]["method"].choices == METHODS


def test_declared_bounds_are_the_strategies_own_and_every_number_is_bounded():
    cp_sat = registry.option_specs("cp_sat")
    assert cp_sat["time_limit_s"].maximum == TIME_LIMIT_MAX_S == 600 and "at most 600" in cp_sat["time_limit_s"].help
    assert (cp_sat["workers"].minimum, cp_sat["workers"].maximum) == (1, WORKERS_MAX)
    assert (cp_sat["back_to_back_penalty"].minimum, cp_sat["back_to_back_penalty"].maximum) == (0, BACK_TO_BACK_PENALTY_MAX)
    assert (cp_sat["max_holidays"].minimum, cp_sat["max_holidays"].maximum) == (0, WEEK_COUNT_MAX)
    numeric = [spec for m in registry.MECHANISMS for spec in registry.OPTIONS[m] if spec.kind in (int, float)]
    assert numeric and all(spec.maximum is not None for spec in numeric)
