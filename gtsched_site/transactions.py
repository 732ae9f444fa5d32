"""Transactions that are retried whole when PostgreSQL aborts them for a serialization failure (SQLSTATE 40001) or a
deadlock (40P01): both say "nothing of this happened, run it again", and only the outermost transaction can be run
again — a savepoint inside an aborted transaction cannot."""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

logger = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
ATTEMPTS = 8

P = ParamSpec("P")
R = TypeVar("R")


def is_retryable(exc: BaseException) -> bool:
    """Whether `exc` (Django's OperationalError / DatabaseError, or the psycopg error it wraps) is a serialization
    failure or a deadlock."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) in RETRYABLE_SQLSTATES or getattr(seen, "pgcode", None) in RETRYABLE_SQLSTATES:
            return True
        seen = seen.__cause__
    return False


def retried_atomic(func: Callable[P, R] | None = None, *, attempts: int = ATTEMPTS, using: str = DEFAULT_DB_ALIAS):
    """Decorator: run `func` in its own transaction, and run the whole transaction again (up to `attempts` times, with
    a short random pause) when the database aborts it as a serialization failure or a deadlock. Called inside a
    transaction that is already open, it runs as a savepoint of that one and lets such an error through: the
    outermost transaction is the one to retry (wrap that one in retried_atomic too)."""
    return _retrying(func, attempts=attempts, using=using, atomic=True)


def retried_statement(func: Callable[P, R] | None = None, *, attempts: int = ATTEMPTS,
                      using: str = DEFAULT_DB_ALIAS):
    """Decorator for a function that runs a single statement: outside a transaction the statement is its own (no
    BEGIN and COMMIT round trips) and is run again, as retried_atomic would, when it is aborted as a serialization
    failure or a deadlock; inside an open transaction it runs as a savepoint and lets such an error through."""
    return _retrying(func, attempts=attempts, using=using, atomic=False)


def _retrying(func, *, attempts: int, using: str, atomic: bool):
    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if connections[using].in_atomic_block:
                with transaction.atomic(using=using):
                    return fn(*args, **kwargs)
            for attempt in range(1, attempts + 1):
                try:
                    if not atomic:
                        return fn(*args, **kwargs)
                    with transaction.atomic(using=using):
                        return fn(*args, **kwargs)
                except DatabaseError as exc:
                    if attempt == attempts or not is_retryable(exc):
                        raise
                    logger.info("Retrying %s after %s (attempt %d of %d)", fn.__qualname__, exc.__class__.__name__,
                                attempt, attempts)
                    time.sleep(random.uniform(0, 0.005 * 2**attempt))  # noqa: S311 - jitter, not a secret
            raise AssertionError("unreachable")

        return wrapper

    return decorate(func) if func is not None else decorate
