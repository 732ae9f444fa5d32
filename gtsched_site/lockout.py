"""The two hooks django-axes calls (settings: AXES_CLIENT_IP_CALLABLE, AXES_LOCKOUT_CALLABLE): whose address a login
attempt came from, and the page a locked-out login gets."""

from __future__ import annotations

import math

from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from rest_framework.throttling import BaseThrottle


def client_ip(request: HttpRequest) -> str | None:
    """The caller's address exactly as the API throttles see it: REMOTE_ADDR, or behind NUM_PROXIES trusted proxies
    the address the outermost of them put in X-Forwarded-For."""
    return BaseThrottle().get_ident(request)


def lockout_response(request: HttpRequest, original_response: HttpResponse | None, credentials: dict | None):
    """The product's lockout page (429), back to the login form the attempt came from (the site's or the admin's)."""
    cool_off = get_cool_off(request)
    context = {
        "username": get_client_username(request, credentials) or "",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": math.ceil(cool_off.total_seconds() / 60) if cool_off else None,
        "login_url": request.path,
    }
    return render(request, "registration/locked.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
