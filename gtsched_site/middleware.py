"""Middleware of the site."""

from __future__ import annotations

from django.core.exceptions import MiddlewareNotUsed

from gtsched_site.background import embedded_beat_start


class EmbeddedBeatMiddleware:
    """Starts the embedded default's beat thread (gtsched_site.background) when the web process builds its
    middleware, then steps out of the chain: it costs requests nothing."""

    def __init__(self, get_response) -> None:
        embedded_beat_start()
        raise MiddlewareNotUsed
