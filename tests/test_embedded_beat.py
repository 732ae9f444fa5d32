"""The embedded default's beat (gtsched_site.background): with eager tasks run in the background, the web process
runs CELERY_BEAT_SCHEDULE's periodic tasks at their intervals — auctions past their deadline settle and the
preference window's e-mails go out without a Celery beat."""

from __future__ import annotations

import pytest
from django.core.exceptions import MiddlewareNotUsed

from gtsched_site import background
from gtsched_site.middleware import EmbeddedBeatMiddleware

SCHEDULE = {"fast": {"task": "t.fast", "schedule": 60}, "slow": {"task": "t.slow", "schedule": 900}}


def test_an_entry_is_due_at_once_and_then_every_interval(settings):
    settings.CELERY_BEAT_SCHEDULE = SCHEDULE
    last: dict[str, float] = {}
    assert background.beat_tick(last, 1000.0) == ["fast", "slow"]
    assert background.beat_tick(last, 1059.0) == []
    assert background.beat_tick(last, 1060.0) == ["fast"]
    assert background.beat_tick(last, 1900.0) == ["fast", "slow"]
    assert last == {"fast": 1900.0, "slow": 1900.0}


def test_the_real_schedule_names_tasks_that_exist(settings):
    from celery import Task
    from django.utils.module_loading import import_string

    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"auctions.tasks.auctions_settle_due_task", "preferences.tasks.notifications_due_task"} <= names
    for name in names:
        task = import_string(name)
        assert isinstance(task, Task) and task.name == name


def test_a_failing_periodic_task_is_logged_and_never_raises(settings, monkeypatch, caplog):
    from auctions import tasks

    settings.CELERY_BEAT_SCHEDULE = {"broken": {"task": "auctions.tasks.auctions_settle_due_task", "schedule": 1}}

    def broken(*args, **kwargs):
        raise RuntimeError("database away")

    monkeypatch.setattr(tasks, "auctions_settle_due", broken)
    background.beat_run("broken")
    assert "Periodic task broken failed" in caplog.text and "database away" in caplog.text


@pytest.mark.django_db
def test_a_periodic_task_runs_for_real(settings, year, coordinator):
    """The settle-due task through beat_run: an auction past its deadline is closed and settled."""
    import datetime as dt

    from django.utils import timezone

    from auctions.auction_models import VickreyAuction
    from tests.auctions.auction_helpers import open_auction

    auction = open_auction(year, actor=coordinator)
    VickreyAuction.objects.filter(pk=auction.pk).update(closes_at=timezone.now() - dt.timedelta(minutes=1))
    settings.CELERY_BEAT_SCHEDULE = {"auctions": {"task": "auctions.tasks.auctions_settle_due_task", "schedule": 60}}
    background.beat_run("auctions")
    auction.refresh_from_db()
    assert auction.status == VickreyAuction.Status.SETTLED


def test_the_beat_starts_once_per_process_and_only_in_the_embedded_mode(settings, monkeypatch):
    started = []

    class FakeThread:
        def __init__(self, *, target, name, daemon):
            started.append(name)

        def start(self):
            pass

    monkeypatch.setattr(background.threading, "Thread", FakeThread)
    monkeypatch.setattr(background, "_beat_pid", None)
    settings.CELERY_TASK_ALWAYS_EAGER, settings.GTSCHED_RUNS_IN_BACKGROUND = True, False
    assert background.embedded_beat_start() is False  # the tests' mode: tasks run inside the request
    settings.CELERY_TASK_ALWAYS_EAGER, settings.GTSCHED_RUNS_IN_BACKGROUND = False, True
    assert background.embedded_beat_start() is False  # a real Celery worker: its own beat does this
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with pytest.raises(MiddlewareNotUsed):
        EmbeddedBeatMiddleware(lambda request: None)
    assert background.embedded_beat_start() is False  # already running in this process
    assert started == ["gtsched-beat"]
