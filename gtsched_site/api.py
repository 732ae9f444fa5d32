"""Small pieces every app's REST API uses: ids from the URL, validated query filters, filtered lists."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
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


class ListFilterMixin:
    """A viewset whose list is filtered by validated query parameters: `list_filter_serializer` checks them (a 400
    naming the parameter otherwise) and `list_filters` maps each to the queryset lookup it filters on, or to a
    function (queryset, value) -> queryset for anything a lookup cannot say."""

    list_filter_serializer: type
    list_filters: dict[str, str | Callable[[QuerySet, Any], QuerySet]] = {}

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if getattr(self, "action", None) == "list":
            for name, value in query_filters(self.list_filter_serializer, self.request).items():
                lookup = self.list_filters.get(name)
                if callable(lookup):
                    queryset = lookup(queryset, value)
                elif lookup is not None:
                    queryset = queryset.filter(**{lookup: value})
        return queryset
