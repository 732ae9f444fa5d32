"""The registry's declared option schema stays in step with the strategies it describes."""

from __future__ import annotations

import inspect

import pytest

from allocation.algorithms import registry
from allocation.algorithms.cpsat import BACK_TO_BACK, COSTS, FAIRNESS, OBJECTIVES
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
