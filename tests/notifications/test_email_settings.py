"""E-mail settings from the environment: the console in the embedded default, SMTP when EMAIL_HOST is set, and a
loud failure on a bad port or site address."""

from __future__ import annotations

import json

from tests.test_settings import run

REPORT = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({k: getattr(settings, k) for k in ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER",
      "EMAIL_USE_TLS", "DEFAULT_FROM_EMAIL", "GTSCHED_SITE_URL")}))
"""


def _settings(**env: str) -> dict:
    result = run(["-c", REPORT], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_configuration_mail_goes_to_the_console():
    found = _settings()
    assert found["EMAIL_BACKEND"] == "django.core.mail.backends.console.EmailBackend"
    assert found["GTSCHED_SITE_URL"] == "http://127.0.0.1:8000"


def test_an_smtp_host_from_the_environment_sends_by_smtp_with_tls():
    found = _settings(EMAIL_HOST="smtp.example.org", EMAIL_PORT="2525", EMAIL_HOST_USER="gtsched",
                      EMAIL_HOST_PASSWORD="secret", DEFAULT_FROM_EMAIL="rota@example.org",
                      GTSCHED_SITE_URL="https://gtsched.example.org/")
    assert found["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    assert (found["EMAIL_PORT"], found["EMAIL_USE_TLS"], found["EMAIL_HOST_USER"]) == (2525, True, "gtsched")
    assert found["DEFAULT_FROM_EMAIL"] == "rota@example.org"
    assert found["GTSCHED_SITE_URL"] == "https://gtsched.example.org"


def test_a_bad_port_or_site_address_fails_naming_the_variable():
    for name, value in (("EMAIL_PORT", "smtp"), ("EMAIL_USE_TLS", "maybe"), ("GTSCHED_SITE_URL", "gtsched.example.org")):
        result = run(["-c", REPORT], **{name: value})
        assert result.returncode != 0 and name in result.stderr, (name, result.stderr[-300:])
