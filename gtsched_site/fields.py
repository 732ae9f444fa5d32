"""Model fields every app declares the same way."""

from __future__ import annotations

from django.conf import settings
from django.db import models


def actor_field(**kwargs) -> models.ForeignKey:
    """The user who made a record; kept (as null) when the user is deleted, never a reverse accessor."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", **kwargs
    )
