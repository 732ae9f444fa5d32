"""The calendar feed's edges (DESIGN §14): the feed itself at /calendar/<token>.ics (no login: the token is the
credential; ETag and Last-Modified so a conditional GET answers 304), and the page /calendar/ where a faculty member
or coordinator copies their link, reads how to subscribe, and regenerates it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_POST, require_safe

from allocation.services.calendar import (
    calendar_feed_find,
    calendar_feed_regenerate,
    calendar_feed_render,
    calendar_feed_token,
    feed_scope,
)

TEMPLATE = "allocation/calendar.html"
# Calendar clients poll; a private cache may keep the feed for a few minutes, shared caches never (the URL is secret).
CACHE_CONTROL = "private, max-age=300"


def feed_url(request: HttpRequest, token: str) -> str:
    return request.build_absolute_uri(reverse("calendar_feed", args=[token]))


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    scope = calendar_feed_find(token=token)
    if scope is None:
        raise Http404("No such calendar feed; it may have been replaced by a new link.")
    rendered = calendar_feed_render(scope=scope, host=request.get_host(),
                                    page_url=request.build_absolute_uri(reverse("my_schedule")))
    response = HttpResponse(rendered.body, content_type="text/calendar; charset=utf-8")
    response["ETag"] = rendered.etag
    response["Last-Modified"] = http_date(rendered.last_modified.timestamp())
    response["Cache-Control"] = CACHE_CONTROL
    response["Content-Disposition"] = 'inline; filename="gtsched.ics"'
    response["X-Robots-Tag"] = "noindex"
    return get_conditional_response(request, etag=rendered.etag, last_modified=int(rendered.last_modified.timestamp()),
                                    response=response)


def _context(request: HttpRequest, token: str, notice: str = "") -> dict:
    url = feed_url(request, token)
    return {"feed_url": url, "webcal_url": "webcal://" + url.split("://", 1)[1], "notice": notice,
            "scope": feed_scope(request.user)}


@login_required
@require_safe
def calendar_page(request: HttpRequest) -> HttpResponse:
    if feed_scope(request.user) is None:
        return render(request, "preferences/no_profile.html", status=403)
    context = _context(request, calendar_feed_token(user=request.user))
    return render(request, TEMPLATE, {**context, "section": "schedule"})


@login_required
@require_POST
def calendar_regenerate(request: HttpRequest) -> HttpResponse:
    if feed_scope(request.user) is None:
        return render(request, "preferences/no_profile.html", status=403)
    token = calendar_feed_regenerate(user=request.user)
    notice = ("Your calendar link is new: the old one has stopped working. Subscribe again with the new link "
              "(and remove the old subscription from your calendar).")
    if request.htmx:
        return render(request, f"{TEMPLATE}#feed_link", _context(request, token, notice))
    messages.success(request, notice)
    return redirect("calendar_page")
