"""Page shortcuts every app's coordinator pages share."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from gtsched_site.permissions import coordinator_required
from preferences.querysets import year_open_for_preferences


def current_year_page(url_name: str, *, section: str) -> Callable[[HttpRequest], HttpResponse]:
    """A coordinator section's entry page: it redirects to the section's page of the year faculty are asked about
    now (the collecting one, else the newest), or says there is no year yet (the section highlighted)."""

    @coordinator_required
    @require_GET
    def view(request: HttpRequest) -> HttpResponse:
        year = year_open_for_preferences()
        if year is None:
            return render(request, "preferences/no_year.html", {"section": section})
        return redirect(url_name, label=year.label)

    return view
