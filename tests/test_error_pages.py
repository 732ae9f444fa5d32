"""The product's own 404 and 500 pages when DEBUG is off (not Django's debug or plain pages), how bin/serve runs with
DEBUG off, and the favicon on the product's pages and the admin."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.test import Client, override_settings
from django.urls import path

from gtsched_site import urls as site_urls


def boom(request):
    raise RuntimeError("a bug")


# The site's URLs, their error handlers, and one view that fails.
urlpatterns = [path("boom/", boom), *site_urls.urlpatterns]
handler404 = getattr(site_urls, "handler404", "django.views.defaults.page_not_found")
handler500 = getattr(site_urls, "handler500", "django.views.defaults.server_error")

PRODUCT_PAGE = ('href="/static/css/gtsched.css"', '<a class="brand" href="/">gtsched</a>', 'href="/static/favicon.svg"')


def _assert_product_page(html: str) -> None:
    for fragment in PRODUCT_PAGE:
        assert fragment in html
    assert "Traceback" not in html and "Django" not in html


@pytest.mark.django_db
@override_settings(DEBUG=False)
@pytest.mark.parametrize("logged_in", [False, True])
def test_a_missing_page_is_the_products_404(client_as, client, faculty, logged_in):
    browser = client_as(faculty.user) if logged_in else client
    response = browser.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    _assert_product_page(html)
    assert "<h1>Not found</h1>" in html
    assert ("Log out" in html) is logged_in


@pytest.mark.django_db
@override_settings(DEBUG=False, ROOT_URLCONF=__name__)
def test_a_server_error_is_the_products_500(faculty):
    browser = Client(raise_request_exception=False)
    browser.force_login(faculty.user)
    response = browser.get("/boom/")
    assert response.status_code == 500
    html = response.content.decode()
    _assert_product_page(html)
    assert "Something went wrong on our side" in html
    assert "a bug" not in html and "Log out" not in html  # rendered without the request: no user, no details


def test_the_500_page_renders_without_a_request_or_context():
    html = render_to_string("500.html")
    _assert_product_page(html)


@pytest.mark.django_db
def test_the_favicon_is_linked_on_the_products_pages_and_the_admin(faculty, admin_console):
    member = Client()
    member.force_login(faculty.user)
    assert 'rel="icon" href="/static/favicon.svg"' in member.get("/preferences/").content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in admin_console.get("/admin/").content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in admin_console.get("/api/v1/redoc/").content.decode()


ROOT = Path(__file__).resolve().parent.parent
SETTINGS_REPORT = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({"debug": settings.DEBUG, "hosts": settings.ALLOWED_HOSTS, "ssl_redirect": settings.SECURE_SSL_REDIRECT,
                  "secure_cookies": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
                  "whitenoise": "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE}))
"""


def test_bin_serve_says_how_to_run_with_debug_off_and_that_command_works_over_local_http():
    script = (ROOT / "bin" / "serve").read_text()
    [line] = [ln for ln in script.splitlines() if ln.strip().startswith('echo "  DEBUG=0 ')]
    command = shlex.split(shlex.split(line)[1])
    assert command[-1] == "bin/serve"
    env = dict(item.split("=", 1) for item in command[:-1])
    assert "collectstatic --noinput" in script  # WhiteNoise's manifest storage needs the files collected
    clean = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}  # none of the host's settings
    out = subprocess.run([sys.executable, "-c", SETTINGS_REPORT], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={**clean, "DJANGO_SETTINGS_MODULE": "gtsched_site.settings", **env})
    report = json.loads(out.stdout)
    assert report == {"debug": False, "hosts": ["127.0.0.1"], "ssl_redirect": False, "secure_cookies": [False, False],
                      "whitenoise": True}
    default_addr = re.search(r"ADDR=\$\{ADDR:-([^}:]+):\d+\}", script).group(1)
    assert default_addr in report["hosts"]
