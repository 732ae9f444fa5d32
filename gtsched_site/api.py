"""Small pieces every app's REST API uses: ids from the URL, validated query filters."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.request import Request

from gtsched_site.limits import ID_MAX


def pk_or_404(raw: Any, name: str) -> int:
    """A database id from the URL; anything else (text, an id past the bigint range) is a 404 naming the resource."""
    text = str(raw)
    if not text.isdigit() or int(text) > ID_MAX:
        raise NotFound(f"No {name} {text!r}: give its id as a whole number.")
    return int(text)


def query_filters(serializer_class: type, request: Request) -> dict[str, Any]:
    """The request's query parameters validated by a filter serializer (a 400 with field errors otherwise)."""
    filters = serializer_class(data=request.query_params)
    filters.is_valid(raise_exception=True)
    return filters.validated_data
