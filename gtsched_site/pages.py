"""Page rendering every app's HTMX pages share."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def render_page(request: HttpRequest, template: str, context: dict[str, Any], *, partial: str, section: str,
                partial_status: int | None = None) -> HttpResponse:
    """The page's `partial` for an HTMX request (with `partial_status`, e.g. 286 to stop polling), else the whole
    page with its navigation `section` highlighted."""
    if request.htmx:
        return render(request, f"{template}#{partial}", context, status=partial_status)
    return render(request, template, {**context, "section": section})
