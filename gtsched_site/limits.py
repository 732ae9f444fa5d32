"""Limits every app checks input against, defined once."""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError

# The largest value a 64-bit integer column stores: larger ids overflow the database driver instead of matching
# nothing, and seeds are stored in a BigIntegerField (numpy accepts any non-negative int).
ID_MAX = 2**63 - 1
SEED_MAX = 2**63 - 1
DRAWN_SEED_LIMIT = 2**31  # a drawn seed stays short enough to read out and type back
ECHO_LIMIT = 60  # characters of a user's input repeated in an error message


def echo(value: Any) -> str:
    """Input to repeat in a message, cut to ECHO_LIMIT characters."""
    text = str(value)
    return text if len(text) <= ECHO_LIMIT else text[:ECHO_LIMIT] + "…"


def seed_clean(seed: Any, *, field: str = "seed") -> int | None:
    """A given seed as a whole number 0..SEED_MAX (None stays None: draw one), else ValidationError naming the field."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= int(seed) <= SEED_MAX:
        raise ValidationError({field: f"The seed must be a whole number from 0 to {SEED_MAX}, got {seed!r}."})
    return int(seed)



def seed_draw() -> int:
    """A fresh seed for a run or an analysis that was given none; it is stored, so the result can be reproduced."""
    return secrets.randbelow(DRAWN_SEED_LIMIT)
