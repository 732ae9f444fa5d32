"""When CI points gtsched at real PostgreSQL and Redis, prove the connections are the ones in use."""

from __future__ import annotations

import os
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from gtsched_site.celery import app as celery_app


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="REDIS_URL is not set: the embedded default has no Redis")
def test_cache_and_broker_use_redis():
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    key, value = f"gtsched-test-{uuid.uuid4()}", {"ok": 1}
    cache.set(key, value, 30)
    assert cache.get(key) == value
    cache.delete(key)
    assert celery_app.conf.broker_url == os.environ["REDIS_URL"]
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=3)
        assert conn.connected


@pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="DATABASE_URL is not PostgreSQL")
@pytest.mark.django_db
def test_database_is_postgresql_through_psycopg3():
    assert connection.vendor == "postgresql"
    import psycopg

    assert connection.connection.__class__.__module__.startswith("psycopg")
    assert psycopg.__version__.startswith("3.")


@pytest.mark.django_db
def test_embedded_default_is_sqlite_with_eager_tasks_unless_configured():
    if not os.environ.get("DATABASE_URL"):
        assert connection.vendor == "sqlite"
    assert celery_app.conf.task_always_eager is True  # tests always run tasks in-process
