"""Page shortcuts every app's coordinator pages share."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from preferences.querysets import year_open_for_preferences


def redirect_to_current_year(request: HttpRequest, url_name: str, *, section: str) -> HttpResponse:
    """A section's page of the year faculty are asked about now (the collecting one, else the newest), or a page
    saying there is no year yet (with the section highlighted in the navigation)."""
    year = year_open_for_preferences()
    if year is None:
        return render(request, "preferences/no_year.html", {"section": section})
    return redirect(url_name, label=year.label)
