"""Password guessing is locked out and the API is throttled (issue 10, "Login throttling").

Logins (the site's and the admin's): a username at one address is locked out after AXES_FAILURE_LIMIT wrong
passwords in a row, and then even the right password gets the lockout page (429) until the cool-off has passed or an
administrator deletes the attempt in the admin; a correct password before the limit resets the count; other users
and other addresses are unaffected. The API: anonymous and authenticated (token) callers are held to DRF rates and
answer 429 with a JSON body once over them.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle

from tests.factories import PASSWORD, UserFactory
from tests.test_settings import run

LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")
WRONG = "not-the-password"


def log_in(client: Client, username: str, password: str, *, url: str = LOGIN, ip: str = "127.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def fail(client: Client, username: str, times: int, *, url: str = LOGIN, ip: str = "127.0.0.1") -> list[int]:
    return [log_in(client, username, WRONG, url=url, ip=ip).status_code for _ in range(times)]


def assert_logged_in(response, client: Client, username: str) -> None:
    assert response.status_code == 302, response.content[:500]
    assert client.session.get("_auth_user_id") == str(UserFactory(username=username).pk)


def assert_locked_out(response, client: Client) -> None:
    assert response.status_code == 429
    assert "registration/locked.html" in [t.name for t in response.templates]
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.fixture
def alice(db):
    return UserFactory(username="alice")


# --- the site login -------------------------------------------------------------------------------------------------

def test_the_defaults_lock_a_username_at_one_address_for_fifteen_minutes_after_five_failures():
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_RESET_ON_SUCCESS is True


def test_twenty_wrong_passwords_then_the_right_one_is_refused_on_the_site_login(client, alice):
    statuses = fail(client, "alice", 20)
    assert statuses[:4] == [200] * 4  # the form again, with its error
    assert statuses[4:] == [429] * 16  # the fifth failure locks
    assert_locked_out(log_in(client, "alice", PASSWORD), client)
    assert client.get(reverse("home")).status_code == 302  # still anonymous: sent to the login page


def test_the_lockout_page_is_the_products_own_and_says_what_to_do(client, alice):
    fail(client, "alice", 5)
    response = log_in(client, "alice", PASSWORD)
    assert_locked_out(response, client)
    text = response.content.decode()
    assert "gtsched" in text and 'class="card' in text  # the product's page, not axes' plain text
    assert "alice" in text and "15 minutes" in text and "coordinator" in text
    assert f'href="{LOGIN}"' in text


def test_the_failed_attempts_are_recorded_without_the_password(client, alice):
    fail(client, "alice", 2)
    attempt = AccessAttempt.objects.get(username="alice")
    assert attempt.failures_since_start == 2 and attempt.ip_address == "127.0.0.1"
    assert WRONG not in attempt.post_data


# --- the admin login ------------------------------------------------------------------------------------------------

def test_twenty_wrong_passwords_then_the_right_one_is_refused_on_the_admin_login(client, superuser):
    statuses = fail(client, "root", 20, url=ADMIN_LOGIN)
    assert statuses[:4] == [200] * 4 and statuses[4:] == [429] * 16
    response = log_in(client, "root", PASSWORD, url=ADMIN_LOGIN)
    assert_locked_out(response, client)
    assert f'href="{ADMIN_LOGIN}"' in response.content.decode()  # back to the login the user came from
    assert client.get(reverse("admin:index")).status_code == 302


def test_failures_on_the_site_and_the_admin_login_count_together(client, superuser):
    fail(client, "root", 3)
    fail(client, "root", 2, url=ADMIN_LOGIN)
    assert_locked_out(log_in(client, "root", PASSWORD), client)


# --- what resets and what is unaffected -----------------------------------------------------------------------------

def test_a_success_before_the_limit_resets_the_count(client, alice):
    assert fail(client, "alice", 4) == [200] * 4
    assert_logged_in(log_in(client, "alice", PASSWORD), client, "alice")
    assert not AccessAttempt.objects.exists()
    client.logout()
    assert fail(client, "alice", 4) == [200] * 4
    assert_logged_in(log_in(client, "alice", PASSWORD), client, "alice")


def test_other_users_and_other_addresses_are_unaffected(client, alice):
    UserFactory(username="bob")
    fail(client, "alice", 5, ip="10.0.0.1")
    assert_locked_out(log_in(client, "alice", PASSWORD, ip="10.0.0.1"), client)
    bob = Client()
    assert_logged_in(log_in(bob, "bob", PASSWORD, ip="10.0.0.1"), bob, "bob")
    elsewhere = Client()
    assert_logged_in(log_in(elsewhere, "alice", PASSWORD, ip="10.0.0.2"), elsewhere, "alice")


def test_the_lockout_expires_after_the_cool_off(client, alice, settings):
    settings.AXES_COOLOFF_TIME = timedelta(minutes=2)
    fail(client, "alice", 5)
    assert_locked_out(log_in(client, "alice", PASSWORD), client)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=1))
    assert_locked_out(log_in(client, "alice", PASSWORD), client)  # not yet
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=2, seconds=1))
    assert_logged_in(log_in(client, "alice", PASSWORD), client, "alice")


def test_trying_again_while_locked_out_does_not_extend_the_lockout(client, alice):
    fail(client, "alice", 5)
    locked_at = AccessAttempt.objects.get().attempt_time
    fail(client, "alice", 3)
    log_in(client, "alice", PASSWORD)
    assert AccessAttempt.objects.get().attempt_time == locked_at  # so "try again in 15 minutes" holds


def test_a_coordinator_unlocks_a_user_in_the_admin(client, alice, admin_console):
    locked = Client()
    fail(locked, "alice", 5)
    attempt = AccessAttempt.objects.get(username="alice")
    changelist = reverse("admin:axes_accessattempt_changelist")
    assert "alice" in admin_console.get(changelist).content.decode()
    response = admin_console.post(
        changelist, {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    assert response.status_code == 302 and not AccessAttempt.objects.exists()
    assert_logged_in(log_in(locked, "alice", PASSWORD), locked, "alice")


def test_the_test_clients_login_works_when_given_a_request(client, alice):
    """Axes needs the request to know the address; the test client's login() passes none unless given one."""
    assert client.login(request=HttpRequest(), username="alice", password=PASSWORD)
    assert not client.login(request=HttpRequest(), username="alice", password=WRONG)
    client.logout()
    client.force_login(alice)  # needs no request: it authenticates nobody
    assert client.session.get("_auth_user_id") == str(alice.pk)


# --- API throttling -------------------------------------------------------------------------------------------------

@pytest.fixture
def rates(monkeypatch):
    """Small rates for one test. DRF copies DEFAULT_THROTTLE_RATES onto the throttle class when it is imported, so
    overriding the setting alone would not reach it."""

    def set_rates(**rates: str) -> None:
        monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {**SimpleRateThrottle.THROTTLE_RATES, **rates})

    return set_rates


def test_the_api_throttles_anonymous_and_authenticated_callers_at_generous_default_rates():
    drf = settings.REST_FRAMEWORK
    assert drf["DEFAULT_THROTTLE_CLASSES"] == [
        "rest_framework.throttling.AnonRateThrottle", "rest_framework.throttling.UserRateThrottle",
    ]
    assert drf["DEFAULT_THROTTLE_RATES"] == {"anon": "100/minute", "user": "1000/minute"}
    assert drf["NUM_PROXIES"] == 0  # X-Forwarded-For is not trusted unless TRUSTED_PROXY_COUNT says so


def test_anonymous_api_callers_get_a_json_429_after_the_limit(client, db, rates):
    rates(anon="2/minute")
    schema = reverse("api-schema")
    assert [client.get(schema, {"format": "json"}).status_code for _ in range(2)] == [200, 200]
    response = client.get(schema, {"format": "json"})
    assert response.status_code == 429
    assert response["Content-Type"].endswith("json")  # the schema view's own JSON type, application/vnd.oai.openapi+json
    assert "throttled" in json.loads(response.content)["detail"][0]
    assert int(response["Retry-After"]) > 0
    assert Client(REMOTE_ADDR="10.0.0.9").get(schema, {"format": "json"}).status_code == 200  # another address


def test_token_callers_get_a_json_429_after_the_limit(api_client, alice, rates):
    rates(user="3/minute")
    token = Token.objects.create(user=alice)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    years = reverse("year-list")
    assert [api_client.get(years).status_code for _ in range(3)] == [200] * 3
    response = api_client.get(years)
    assert response.status_code == 429
    assert response["Content-Type"].startswith("application/json")
    assert "throttled" in response.json()["detail"][0]
    other = UserFactory(username="bob")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=other).key}")
    assert api_client.get(years).status_code == 200  # each caller has their own allowance


def test_each_test_starts_with_no_throttle_history(client, db, rates):
    """Counted requests do not leak from one test into the next (tests/conftest.py gives each a fresh history)."""
    rates(anon="2/minute")
    assert client.get(reverse("api-schema"), {"format": "json"}).status_code == 200


# --- settings from the environment -----------------------------------------------------------------------------------

SHOW = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), "
    "s.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES'], s.REST_FRAMEWORK['NUM_PROXIES']]))"
)


def test_limits_and_rates_come_from_the_environment():
    result = run(["-c", SHOW], AXES_FAILURE_LIMIT="10", AXES_COOLOFF_MINUTES="60", API_THROTTLE_ANON="30/hour",
                 API_THROTTLE_USER="5000/day", TRUSTED_PROXY_COUNT="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == '[10, 3600.0, {"anon": "30/hour", "user": "5000/day"}, 1]'


@pytest.mark.parametrize("variable, value", [
    ("API_THROTTLE_ANON", "lots"), ("API_THROTTLE_USER", "100/fortnight"), ("AXES_FAILURE_LIMIT", "0"),
    ("AXES_COOLOFF_MINUTES", "soon"),
])
def test_a_bad_limit_or_rate_refuses_to_start(variable, value):
    result = run(["-c", "import django; django.setup()"], **{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and variable in result.stderr
