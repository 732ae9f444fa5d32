"""The embedded default's one background worker (DESIGN §12: SQLite and eager tasks, no Celery worker).

With ``CELERY_TASK_ALWAYS_EAGER`` a queued task runs at once inside the caller. For long jobs started from a page
(an allocation run, a Shapley computation), ``GTSCHED_RUNS_IN_BACKGROUND`` (on in the embedded default, off in
the tests) hands them to one thread of the web process instead, so the request that started them answers at once
and its page shows live progress; jobs queue behind each other as they would with one Celery worker.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.db import connections

logger = logging.getLogger(__name__)

_worker: tuple[int, ThreadPoolExecutor] | None = None
_worker_lock = threading.Lock()


def eager() -> bool:
    return bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


def runs_in_background() -> bool:
    """Whether queued jobs go to the in-process worker thread (eager tasks and GTSCHED_RUNS_IN_BACKGROUND)."""
    return eager() and bool(getattr(settings, "GTSCHED_RUNS_IN_BACKGROUND", False))


def in_process_worker() -> ThreadPoolExecutor:
    """The single worker thread, so jobs queue behind each other as with one Celery worker."""
    global _worker
    with _worker_lock:
        if _worker is None or _worker[0] != os.getpid():  # a forked server process gets a thread of its own
            _worker = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="gtsched-run"))
        return _worker[1]


def run_in_background(fn: Callable[..., object], *args) -> Future:
    """Run fn(*args) on the worker thread, closing the thread's database connections afterwards."""

    def job():
        try:
            return fn(*args)
        finally:
            connections.close_all()  # the thread's own connections; the next job opens fresh ones

    return in_process_worker().submit(job)
