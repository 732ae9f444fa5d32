"""Checking what a run is asked to do: the mechanism, its options against the registry's schema, the seed, the actor."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError

from allocation.algorithms import registry
from allocation.algorithms.registry import MECHANISM_LABELS
from allocation.algorithms.types import OptionError, OptionSpec, Problem
from allocation.loads import loads_problem
from allocation.problem import NON_RESPONDENT_POLICIES

logger = logging.getLogger(__name__)

RESERVED_OPTIONS = ("problem", "rng", "seed")
_KIND_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


def mechanism_clean(mechanism: Any) -> str:
    if not isinstance(mechanism, str) or mechanism not in registry.MECHANISMS:
        raise ValidationError(
            {"mechanism": f"Unknown mechanism {mechanism!r}; choose one of {', '.join(registry.MECHANISMS)}."}
        )
    try:
        registry.strategy(mechanism)
    except (ImportError, AttributeError):
        raise ValidationError(
            {"mechanism": f"The {MECHANISM_LABELS.get(mechanism, mechanism)} mechanism is not available in this installation."}
        ) from None
    return mechanism


def options_clean(*, mechanism: str, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check the values of declared options (registry.OPTIONS) for their kind and bounds; errors name `options.<name>`.

    Every type or bound error is reported at once. Unknown names, choices, other ranges and cross-option rules are the mechanism's
    own checks, reported one at a time by options_probe before a run starts (its OptionError names the option).
    """
    mechanism = mechanism_clean(mechanism)
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ValidationError({"options": "Options must be an object of option names and values."})
    specs = registry.option_specs(mechanism)
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for name, value in options.items():
        key = f"options.{name}"
        if not isinstance(name, str) or not name.isidentifier():
            errors.setdefault("options", []).append(f"{name!r} is not an option name.")
            continue
        if name == "non_respondents":
            if value not in NON_RESPONDENT_POLICIES:
                errors.setdefault(key, []).append(
                    f"{value!r} is not a policy; use 'neutral' (include them as neutral) or 'exclude' (leave them out)."
                )
                continue
        elif name == "loads":
            problem = loads_problem(value)
            if problem:
                errors.setdefault(key, []).append(problem)
                continue
        elif name in RESERVED_OPTIONS:
            hint = "give the seed as the run's seed, not as an option" if name == "seed" else "it is set by the service"
            errors.setdefault(key, []).append(f"{name} cannot be an option: {hint}.")
            continue
        elif name in specs:
            problem = _value_problem(specs[name], value)
            if problem:
                errors.setdefault(key, []).append(problem)
                continue
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            errors.setdefault(key, []).append("The value must be plain JSON: a number, text, true/false or a list.")
            continue
        clean[name] = value
    if errors:
        raise ValidationError(errors)
    return dict(sorted(clean.items()))


def _value_problem(spec: OptionSpec, value: Any) -> str | None:
    """A plain-words complaint when value is not of the declared option's kind, else None."""
    if value is None and spec.nullable:
        return None
    if spec.kind is None:
        return None
    if not _is_kind(value, spec.kind):
        text = f"Must be {_KIND_WORDS[spec.kind]}, got {value!r}."
        return text[:-1] + " (or null for the default)." if spec.nullable else text
    unit = f" {spec.unit}" if spec.unit else ""
    if spec.maximum is not None and isinstance(value, int | float) and value > spec.maximum:
        return f"Must be at most {spec.maximum:,g}{unit}, got {value!r}."
    if spec.minimum is not None and isinstance(value, int | float) and value < spec.minimum:
        return f"Must be at least {spec.minimum:,g}{unit}, got {value!r}."
    return None


def _is_kind(value: Any, kind: type) -> bool:
    if isinstance(value, bool):
        return kind is bool
    return isinstance(value, int | float) if kind is float else isinstance(value, kind)


def options_probe(*, mechanism: str, problem: Problem, options: Mapping[str, Any]) -> None:
    """Let the mechanism itself check its options, on a problem of the same size with nothing to assign.

    This catches the rules the schema does not declare (ranges, indices in range, cross-option rules): every
    strategy checks its options first and raises OptionError naming the option. The probe has no eligible slot and
    no demand, so it costs next to nothing; anything about the real inputs is the run's to report.
    """
    n, n_weeks, n_rot = problem.eligible.shape
    probe = Problem(
        utility=np.broadcast_to(np.zeros(1), (n, n_weeks)),
        rank=np.broadcast_to(np.arange(1, n_weeks + 1, dtype=np.int64), (n, n_weeks)),
        listed=np.broadcast_to(np.zeros(1, dtype=bool), (n, n_weeks)),
        value=np.broadcast_to(np.zeros(1), (n, n_weeks)),
        eligible=np.broadcast_to(np.zeros(1, dtype=bool), (n, n_weeks, n_rot)),
        demand=np.zeros(n, dtype=np.int64),
        capacity=np.zeros((n_weeks, n_rot), dtype=np.int64),
        is_holiday=problem.is_holiday,
    )
    try:
        registry.strategy(mechanism)(probe, rng=np.random.default_rng(0), **options)
    except OptionError as exc:
        text = exc.message.removeprefix(f"{mechanism}: ")
        key = f"options.{exc.name}" if exc.name in options else "options"
        raise ValidationError({key: text[:1].upper() + text[1:]}) from None
    except ValueError:
        return  # about the inputs, not the options: the run reports it
    except Exception:  # a mechanism that cannot take an empty problem: the run itself will check the options
        logger.debug("Option probe of %s skipped", mechanism, exc_info=True)

