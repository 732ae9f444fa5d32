"""Browser-test helpers shared by the flows."""

from __future__ import annotations

from tests.factories import PASSWORD


def log_in(page, live_server, username: str, *, lands_on: str | None = None) -> None:
    """Log in through the login form; lands_on (a path prefix such as "/preferences/") waits for the redirect."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    if lands_on:
        page.wait_for_url(f"{live_server.url}{lands_on}**")
