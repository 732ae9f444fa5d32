"""Limits every app checks input against, defined once."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.core.exceptions import ValidationError

# The largest value a 64-bit integer column stores: larger ids overflow the database driver instead of matching
# nothing, and seeds are stored in a BigIntegerField (numpy accepts any non-negative int).
ID_MAX = 2**63 - 1
SEED_MAX = 2**63 - 1


def seed_clean(seed: Any, *, field: str = "seed") -> int:
    """A seed as a whole number 0..SEED_MAX, else ValidationError naming the field."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= int(seed) <= SEED_MAX:
        raise ValidationError({field: f"The seed must be a whole number from 0 to {SEED_MAX}, got {seed!r}."})
    return int(seed)

