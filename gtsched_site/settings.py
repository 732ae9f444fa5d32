"""gtsched settings, read from the environment.

With no environment at all a fresh checkout runs: SQLite file, eager Celery,
local-memory cache, DEBUG on. Production sets DEBUG=0, SECRET_KEY,
ALLOWED_HOSTS, DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false, yes/no or on/off.")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug-" + "x" * 24

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "preferences",
    "allocation",
    "fairness",
    "auctions",
    "stability",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "gtsched_site.api_errors.ApiHtmlErrorMiddleware",  # JSON errors under /api/ even while DEBUG
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "gtsched_site.middleware.EmbeddedBeatMiddleware",  # the embedded default's periodic tasks; then out of the chain
]

if not DEBUG:  # runserver serves static files itself while debugging
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "gtsched_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "gtsched_site.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves concurrent requests (a double-click on "start run"): readers never wait in WAL
    # mode, and a writer takes the write lock when its transaction begins (IMMEDIATE), waiting up to 20 s for it,
    # instead of failing with "database is locked" when a read lock cannot be upgraded.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
        **DATABASES["default"].get("OPTIONS", {}),
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Redis: unset -> tasks run eagerly in-process and the cache is local memory.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# Eager (no worker): a started run executes on a background thread of the web process, so the page answers at once
# and shows its progress; off, it executes inside the request that started it (the test suite's default).
GTSCHED_RUNS_IN_BACKGROUND = env_bool("GTSCHED_RUNS_IN_BACKGROUND", True)
# The programme named in calendar feeds and spreadsheets (DESIGN §14).
GTSCHED_PROGRAMME_NAME = os.environ.get("GTSCHED_PROGRAMME_NAME", "").strip() or "Residency programme"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 1800)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 1700)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Periodic work (celery beat): auctions past their deadline close and settle, each exactly once.
CELERY_BEAT_SCHEDULE = {
    "auctions-settle-due": {
        "task": "auctions.tasks.auctions_settle_due_task",
        "schedule": env_int("GTSCHED_AUCTION_SETTLE_EVERY_S", 60),
    },
    # E-mail notifications: "the preference window opened", "it closes in 48 h", and a resend of stuck messages.
    "notifications-due": {
        "task": "preferences.tasks.notifications_due_task",
        "schedule": env_int("GTSCHED_NOTIFICATIONS_EVERY_S", 900),
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "gtsched_site.api_schema.SiteAutoSchema",
    "DEFAULT_PARSER_CLASSES": ["gtsched_site.api.SiteJSONParser"],  # JSON only: other bodies are a 415
    "DEFAULT_PAGINATION_CLASS": "gtsched_site.api.SitePagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "gtsched_site.api_errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "gtsched API",
    "DESCRIPTION": "Game-theoretic scheduling of faculty service weeks.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The lottery mechanisms (the chances API) are a subset of the run mechanisms: name both enums.
    "ENUM_NAME_OVERRIDES": {
        "ChanceMechanismEnum": "allocation.chance_serializers.MECHANISM_CHOICES",
        "MechanismEnum": "allocation.serializers.MECHANISM_CHOICES",
        "ShapleyMethodRequestEnum": "fairness.serializers.METHOD_CHOICES",
        "ShapleyMethodEnum": "fairness.serializers.COMPUTED_METHOD_CHOICES",
        "AuctionStatusEnum": "auctions.auction_models.VickreyAuction.Status",
        "BidStatusEnum": "auctions.auction_models.Bid.Status",
        "TimeOffKindEnum": "preferences.models.TimeOff.Kind",
    },
}

# Security: strict whenever DEBUG is off; each switch can be overridden.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# --- Login lockout (django-axes) and API throttling (DRF) ---------------------------------------------------------------
# A username at one address is locked out after AXES_FAILURE_LIMIT wrong passwords in a row, on the site's and the
# admin's login alike, for AXES_COOLOFF_MINUTES counted from the failure that locked it (trying again meanwhile does not
# extend it); then even the right password gets templates/registration/locked.html (429). A correct password before the
# limit resets the count. An administrator unlocks early by deleting the row under Admin > Axes > Access attempts (or
# `manage.py axes_reset_username NAME`). Attempts are kept in the database, so every web process sees the same count.
# The API holds anonymous callers (per address) and authenticated ones (session or token, per user) to DRF rates kept
# in the default cache (local memory per process, Redis when REDIS_URL is set); over them it answers 429 in JSON.
# Addresses are REMOTE_ADDR; behind TRUSTED_PROXY_COUNT proxies that append X-Forwarded-For, the address the outermost
# of them saw. Leave it 0 unless the proxy overwrites or appends that header: a client can write it too.
_RATE = re.compile(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)")


def env_rate(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip() or default
    if not _RATE.fullmatch(value):
        raise ImproperlyConfigured(f"{name}={value!r} is not a rate such as 100/minute (per second, minute, hour or day).")
    return value


def env_int_at_least(name: str, default: int, minimum: int) -> int:
    value = env_int(name, default)
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}.")
    return value


INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last, as axes requires
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int_at_least("AXES_FAILURE_LIMIT", 5, 1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int_at_least("AXES_COOLOFF_MINUTES", 15, 1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no start-up banner on every manage.py command; failures and lockouts are still logged
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "gtsched_site.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "gtsched_site.lockout.client_ip"
REST_FRAMEWORK |= {
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env_rate("API_THROTTLE_ANON", "100/minute"),
        "user": env_rate("API_THROTTLE_USER", "1000/minute"),
    },
    "NUM_PROXIES": env_int_at_least("TRUSTED_PROXY_COUNT", 0, 0),
}
# --- end of login lockout and API throttling ----------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# The utility model's factor weights used when a year does not set its own (DESIGN §4).
GTSCHED_DEFAULT_UTILITY_WEIGHTS = {
    "preference": 0.60,
    "workload_balance": 0.20,
    "time_off_proximity": 0.10,
    "swap_out_rate": 0.10,
}

# How long the synchronous API operations (rsd-allocation, vcg-auction) wait for a run before answering 202.
GTSCHED_API_INLINE_WAIT_SECONDS = env_int("GTSCHED_API_INLINE_WAIT_SECONDS", 5)

# Swap stability (DESIGN §9): level thresholds on nash_distance, default prediction coefficients (a fitted
# PredictionCalibration overrides them), K random restarts for price of anarchy / stability, and how old a report
# may be for the publish gate to reuse it when the schedule and utilities have not changed.
GTSCHED_STABILITY = {
    "thresholds": (0.05, 0.15, 0.30),
    "prediction_base": 0.10,
    "prediction_pressure": 0.50,
    "restarts": env_int("GTSCHED_STABILITY_RESTARTS", 20),
    # Without a stored estimate, larger schedules get price of anarchy / stability only on request (a background
    # job: about 0.5 s per restart at 10,400 assignments).
    "poa_inline_max_assignments": env_int("GTSCHED_STABILITY_POA_INLINE_MAX", 3000),
    # Every new draft gets its price-of-anarchy estimate in the background (one per feasible set, reused by reports).
    "precompute_price_of_anarchy": env_bool("GTSCHED_STABILITY_PRECOMPUTE_POA", True),
    "top": 10,
    "report_max_age_s": 3600,
}

# Priority points awarded when a schedule is published (DESIGN §8), per assigned week: a holiday week, and a week
# the faculty member ranked in their worst quarter or valued at most 20. Whole points, 0 turns an award off.
GTSCHED_POINTS = {
    "holiday_week": env_int_at_least("GTSCHED_POINTS_HOLIDAY_WEEK", 3, 0),
    "unwanted_week": env_int_at_least("GTSCHED_POINTS_UNWANTED_WEEK", 2, 0),
}

# E-mail notifications (DESIGN §14). Without EMAIL_HOST messages are printed to the console (the embedded default);
# with it they go out by SMTP. Links in messages are absolute: GTSCHED_SITE_URL is where people reach the site.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", bool(EMAIL_HOST))
EMAIL_TIMEOUT = env_int_at_least("EMAIL_TIMEOUT", 20, 1)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "gtsched <gtsched@localhost>")
GTSCHED_SITE_URL = os.environ.get("GTSCHED_SITE_URL", "http://127.0.0.1:8000").strip().rstrip("/")
if not re.fullmatch(r"https?://[^/\s]+(/[^\s]*)?", GTSCHED_SITE_URL):
    raise ImproperlyConfigured(f"GTSCHED_SITE_URL={GTSCHED_SITE_URL!r} is not an http(s) address such as https://gtsched.example.org.")
