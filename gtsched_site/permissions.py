"""Who may do what, in one place for every app (STYLE habit 6): the coordinator role, the page decorator and the
API permission that check it, and the actor an audited record names."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework import permissions
from rest_framework.request import Request

COORDINATORS_ONLY = "Only coordinators can do this."


def is_coordinator(user) -> bool:
    return bool(user and user.is_authenticated and user.is_staff)


def user_or_none(actor):
    """The authenticated user an audited record names as its actor; None for the system, a command or anonymous."""
    return actor if getattr(actor, "pk", None) and getattr(actor, "is_authenticated", False) else None


def coordinator_required(view):
    """Staff only; checked in the view so HTMX partial requests are guarded too."""

    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_coordinator(request.user):
            raise PermissionDenied("Coordinators only.")
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


class IsCoordinator(permissions.BasePermission):
    message = COORDINATORS_ONLY

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_coordinator(request.user)


def coordinators_only(message: str) -> type[IsCoordinator]:
    """IsCoordinator refusing with an app's own words ("Only coordinators can publish schedules…")."""
    return type("IsCoordinator", (IsCoordinator,), {"message": message})
