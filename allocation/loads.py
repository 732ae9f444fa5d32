"""Where a run's faculty loads d_i come from: the run option `loads`.

"targets" (the default) is each faculty member's stored target load. Higher apps add other sources without
allocation importing them (DESIGN §2): fairness registers "shapley" — the Shapley expected workloads in whole weeks —
in its AppConfig.ready(). A source is a function ``fn(*, year, faculty_ids) -> (n,) int array`` aligned with
faculty_ids; it raises ValidationError (naming ``loads``) when it has nothing to give, e.g. no fresh values.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from django.core.exceptions import ValidationError

TARGETS = "targets"

LoadSource = Callable[..., np.ndarray]
_SOURCES: dict[str, LoadSource] = {}


def register_load_source(name: str, fn: LoadSource) -> None:
    """Make `name` a value of the run option `loads`; registering the same name again replaces the function."""
    if not isinstance(name, str) or not name.isidentifier() or name == TARGETS:
        raise ValueError(f"{name!r} cannot name a load source.")
    _SOURCES[name] = fn


def load_source_names() -> tuple[str, ...]:
    return (TARGETS, *sorted(_SOURCES))


def loads_problem(value: object) -> str | None:
    """A plain-words complaint when `value` is not a load source's name, else None."""
    if isinstance(value, str) and value in load_source_names():
        return None
    return f"{value!r} is not a source of loads; use {' or '.join(repr(n) for n in load_source_names())}."


def source_loads(*, name: str, year, faculty_ids: np.ndarray) -> np.ndarray | None:
    """The loads source `name` gives the faculty of `faculty_ids` (None for "targets": keep the stored targets)."""
    problem = loads_problem(name)
    if problem:
        raise ValidationError({"loads": problem})
    if name == TARGETS:
        return None
    loads = np.asarray(_SOURCES[name](year=year, faculty_ids=np.asarray(faculty_ids)), dtype=np.int64)
    if loads.shape != (len(faculty_ids),) or (loads < 0).any():
        raise ValidationError({"loads": f"The {name!r} loads do not fit this year's faculty; compute them again."})
    return loads
