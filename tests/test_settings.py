"""Settings come from the environment, default to a zero-configuration product, and fail loudly on bad values."""

from __future__ import annotations

import json
import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from gtsched_site.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
# Variables the settings module reads; each subprocess starts from none of them so the host's CI values do not leak in.
SETTINGS_ENV = {
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "DATABASE_URL", "DB_CONN_MAX_AGE", "REDIS_URL",
    "CELERY_TASK_ALWAYS_EAGER", "CELERY_TASK_TIME_LIMIT", "CELERY_TASK_SOFT_TIME_LIMIT", "TIME_ZONE", "LOG_LEVEL",
    "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "BEHIND_TLS_PROXY",
}
SETTINGS_ENV |= {"AXES_FAILURE_LIMIT", "AXES_COOLOFF_MINUTES", "API_THROTTLE_ANON", "API_THROTTLE_USER", "TRUSTED_PROXY_COUNT"}
REPORT = """
import json, django
django.setup()
from django.conf import settings
from gtsched_site.celery import app
print(json.dumps({
    "debug": settings.DEBUG,
    "engine": settings.DATABASES["default"]["ENGINE"],
    "db_name": str(settings.DATABASES["default"]["NAME"]),
    "cache": settings.CACHES["default"]["BACKEND"],
    "cache_location": settings.CACHES["default"].get("LOCATION"),
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "result_backend": settings.CELERY_RESULT_BACKEND,
    "app_eager": app.conf.task_always_eager,
    "app_broker": app.conf.broker_url,
    "app_result_backend": app.conf.result_backend,
    "allowed_hosts": settings.ALLOWED_HOSTS,
}))
"""


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    # DJANGO_* too: e.g. the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process, which --deploy rejects.
    clean = {k: v for k, v in os.environ.items() if k not in SETTINGS_ENV and not k.startswith("DJANGO_")}
    clean["DJANGO_SETTINGS_MODULE"] = "gtsched_site.settings"
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120,
    )


def report(**env: str) -> dict:
    result = run(["-c", REPORT], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def random_secret_key(length: int = 60) -> str:
    alphabet = string.ascii_letters + string.digits + "!@#%^&*(-_=+)"
    return "".join(secrets.choice(alphabet) for _ in range(length))


# --- failing loudly ----------------------------------------------------------------------------

def test_debug_off_without_a_secret_key_refuses_to_start():
    result = run(["-c", "import django; django.setup()"], DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    assert "ImproperlyConfigured" in result.stderr


def test_debug_off_with_an_empty_secret_key_refuses_to_start():
    result = run(["-c", "import django; django.setup()"], DEBUG="false", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize("value", ["maybe", "2", "enabled"])
def test_a_debug_value_that_is_not_a_boolean_refuses_to_start(value):
    result = run(["-c", "import django; django.setup()"], DEBUG=value)
    assert result.returncode != 0
    assert f"DEBUG={value!r} is not a boolean" in result.stderr


def test_a_non_integer_time_limit_refuses_to_start():
    result = run(["-c", "import django; django.setup()"], CELERY_TASK_TIME_LIMIT="soon")
    assert result.returncode != 0
    assert "CELERY_TASK_TIME_LIMIT='soon' is not an integer" in result.stderr


# --- zero-configuration defaults and the production switches ------------------------------------

def test_with_no_environment_the_product_runs_on_sqlite_with_eager_tasks_and_a_local_cache():
    values = report()
    assert values["debug"] is True
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["db_name"] == str(ROOT / "db.sqlite3")
    assert values["cache"] == "django.core.cache.backends.locmem.LocMemCache"
    assert values["eager"] is True and values["app_eager"] is True
    assert "testserver" in values["allowed_hosts"] and "localhost" in values["allowed_hosts"]


def test_redis_url_switches_cache_broker_and_results_to_redis_and_tasks_to_workers():
    url = "redis://redis.internal:6379/3"
    values = report(REDIS_URL=url)
    assert values["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert values["cache_location"] == url
    assert values["broker"] == values["app_broker"] == url
    assert values["result_backend"] == values["app_result_backend"] == url
    assert values["eager"] is False and values["app_eager"] is False


def test_redis_url_with_eager_tasks_requested_keeps_them_eager():
    values = report(REDIS_URL="redis://localhost:6379/15", CELERY_TASK_ALWAYS_EAGER="1")
    assert values["cache"] == "django.core.cache.backends.redis.RedisCache"
    assert values["eager"] is True and values["app_eager"] is True


def test_a_postgres_database_url_selects_postgresql():
    values = report(DATABASE_URL="postgres://gtsched:secret@db.internal:5432/gtsched")
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["db_name"] == "gtsched"


def test_allowed_hosts_come_from_a_comma_separated_list_and_are_empty_in_production_by_default():
    assert report(ALLOWED_HOSTS="a.example.org, b.example.org")["allowed_hosts"] == ["a.example.org", "b.example.org"]
    assert report(DEBUG="0", SECRET_KEY=random_secret_key())["allowed_hosts"] == []


def test_the_deployment_check_passes_in_production_configuration():
    result = run(
        [str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="0", SECRET_KEY=random_secret_key(), ALLOWED_HOSTS="gtsched.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deployment_check_would_catch_an_insecure_configuration():
    """The check above can fail: switching off HTTPS redirects is reported."""
    result = run(
        [str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="0", SECRET_KEY=random_secret_key(), ALLOWED_HOSTS="gtsched.example.org", SECURE_SSL_REDIRECT="0",
    )
    assert result.returncode != 0
    assert "security.W008" in result.stdout + result.stderr


# --- the Celery app mirrors Django settings (in this process) -------------------------------------

def test_the_celery_app_is_configured_from_django_settings():
    conf = celery_app.conf
    assert conf.task_always_eager == settings.CELERY_TASK_ALWAYS_EAGER
    assert conf.task_eager_propagates is settings.CELERY_TASK_EAGER_PROPAGATES is True
    assert conf.broker_url == settings.CELERY_BROKER_URL
    assert conf.result_backend == settings.CELERY_RESULT_BACKEND
    assert conf.task_acks_late is settings.CELERY_TASK_ACKS_LATE is True
    assert conf.task_reject_on_worker_lost is settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert conf.worker_prefetch_multiplier == settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    assert conf.task_time_limit == settings.CELERY_TASK_TIME_LIMIT
    assert conf.task_soft_time_limit == settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert conf.task_soft_time_limit < conf.task_time_limit
    assert conf.task_serializer == conf.result_serializer == "json"
    assert list(conf.accept_content) == ["json"]


def test_the_celery_app_is_the_sites_app():
    import gtsched_site

    assert gtsched_site.celery_app is celery_app
    assert celery_app.main == "gtsched"
