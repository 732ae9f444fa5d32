"""The embedded default's one background worker and its beat (DESIGN §12: SQLite and eager tasks, no Celery worker
or beat).

With ``CELERY_TASK_ALWAYS_EAGER`` a queued task runs at once inside the caller. For long jobs started from a page
(an allocation run, a Shapley computation), ``GTSCHED_RUNS_IN_BACKGROUND`` (on in the embedded default, off in
the tests) hands them to one thread of the web process instead, so the request that started them answers at once
and its page shows live progress; jobs queue behind each other as they would with one Celery worker. In the same mode
a beat thread hands the periodic tasks of ``CELERY_BEAT_SCHEDULE`` (auctions past their deadline, the preference
window's e-mails) to that worker at their intervals, as celery beat would.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

_worker: tuple[int, ThreadPoolExecutor] | None = None
_worker_lock = threading.Lock()
_beat_pid: int | None = None


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


def beat_tick(last: dict[str, float], now: float) -> list[str]:
    """The names of the CELERY_BEAT_SCHEDULE entries due at `now` (seconds, monotonic) given when each last ran
    (`last`, updated for those returned); an entry that never ran is due at once."""
    due = []
    for name, entry in getattr(settings, "CELERY_BEAT_SCHEDULE", {}).items():
        if now - last.get(name, float("-inf")) >= float(entry["schedule"]):
            last[name] = now
            due.append(name)
    return due


def beat_run(name: str) -> None:
    """Run one periodic task by its schedule entry's name, on this thread (tasks are eager here)."""
    try:
        import_string(settings.CELERY_BEAT_SCHEDULE[name]["task"]).apply(throw=True)
    except Exception:  # a failing periodic task is logged and tried again at its next interval
        logger.exception("Periodic task %s failed", name)


def embedded_beat_start() -> bool:
    """Start this process's beat thread when jobs run in the background (the embedded default; not in the tests,
    not with a Celery worker, whose own beat does this). Once per process; True when it started one now."""
    global _beat_pid
    if not runs_in_background() or not getattr(settings, "CELERY_BEAT_SCHEDULE", None):
        return False
    with _worker_lock:
        if _beat_pid == os.getpid():
            return False
        _beat_pid = os.getpid()
    threading.Thread(target=_beat_loop, name="gtsched-beat", daemon=True).start()
    return True


def _beat_loop() -> None:
    last: dict[str, float] = {}
    while True:
        for name in beat_tick(last, time.monotonic()):
            run_in_background(beat_run, name)  # behind any allocation run: one writer at a time on SQLite
        time.sleep(5)
