"""Small pieces every app's REST API uses: ids from the URL, validated query filters, filtered lists, the one
pagination class, the one JSON parser, input serializers that refuse unknown fields.

Nothing here may import rest_framework.views (directly or through drf_spectacular.openapi): the settings name these
classes, and DRF reads its settings while rest_framework.views loads (the schema class is in gtsched_site.api_schema).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ParseError, ValidationError
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.settings import api_settings

from gtsched_site.limits import ID_MAX, echo


def pk_or_404(raw: Any, name: str) -> int:
    """A database id from the URL; anything else (text, an id past the bigint range) is a 404 naming the resource."""
    text = str(raw)
    if not text.isdigit() or int(text) > ID_MAX:
        raise NotFound(f"No {name} {text!r}: give its id as a whole number.")
    return int(text)


def query_filters(serializer_class: type, request: Request) -> dict[str, Any]:
    """The request's query parameters validated by a filter serializer (a 400 with field errors otherwise). Given as
    a plain dict, not the QueryDict: DRF reads a QueryDict as an HTML form, where an empty value (`?status=`) means
    "not given" and would be silently ignored; here it is validated like any other value (blank: a 400)."""
    filters = serializer_class(data=request.query_params.dict())
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


# --- pagination ---------------------------------------------------------------------------------------------------

PAGE_SIZE_MAX = 1000  # a larger ?limit= is served as this many rows


def _whole_number(request: Request, name: str, *, low: int, high: int) -> int | None:
    """?name= as a whole number low..high (None when absent), else a 400 naming the parameter."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not re.fullmatch(r"[0-9]{1,19}", raw) or not low <= int(raw) <= high:
        raise ValidationError({name: [f"{name} must be a whole number from {low} to {high}, got {raw!r}."]})
    return int(raw)


class SitePagination(LimitOffsetPagination):
    """?limit=&offset= on every list: a limit of 1 or more (above PAGE_SIZE_MAX it is capped there), an offset of 0
    up to ID_MAX; anything else (text, a negative number, a number past the 64-bit range) is a 400 naming it."""

    max_limit = PAGE_SIZE_MAX

    def get_limit(self, request: Request) -> int:
        limit = _whole_number(request, self.limit_query_param, low=1, high=ID_MAX)
        return self.default_limit if limit is None else min(limit, self.max_limit)

    def get_offset(self, request: Request) -> int:
        return _whole_number(request, self.offset_query_param, low=0, high=ID_MAX) or 0

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": ID_MAX},
            self.offset_query_param: {"minimum": 0, "maximum": ID_MAX},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
            if parameter["name"] == self.limit_query_param:
                parameter["description"] = (
                    f"Number of results to return per page (default {api_settings.PAGE_SIZE}, at most "
                    f"{PAGE_SIZE_MAX}: a larger limit returns {PAGE_SIZE_MAX})."
                )
        return parameters


# --- request bodies ------------------------------------------------------------------------------------------------

JSON_DEPTH_MAX = 32  # objects and lists inside each other; no operation needs more than a handful


class SiteJSONParser(JSONParser):
    """The only parser of the API: JSON bodies (anything else is a 415), refused with a 400 when unreadable or
    nested more than JSON_DEPTH_MAX deep (a body nested 1,000 deep used to exhaust the stack: a 500)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - the body is nested more than {JSON_DEPTH_MAX} levels deep.") from None
        if _depth(data) > JSON_DEPTH_MAX:
            raise ParseError(f"JSON parse error - the body is nested more than {JSON_DEPTH_MAX} levels deep.")
        return data


def _depth(data: Any) -> int:
    """How deep lists and objects nest in parsed JSON (a scalar is 0), without recursion."""
    deepest, level = 0, [(data, 1)]
    while level:
        value, depth = level.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth <= JSON_DEPTH_MAX:  # deeper is refused anyway: stop walking
            level.extend((child, depth + 1) for child in children)
    return deepest


class StrictFieldsMixin:
    """An input serializer that refuses keys it does not know (a misspelled `ordinal_ranking` used to be ignored and
    an empty submission stored): each unknown key is a 400 under its own name, with the nearest known field. Values
    have the JSON type the schema gives them: DRF alone would read 0 or "yes" as a boolean, "2026" as a number and 5
    as text, which the schema does not allow."""

    def to_internal_value(self, data: Any) -> Any:
        refused = {}
        if isinstance(data, Mapping):
            known = [name for name, field in self.fields.items() if not field.read_only]
            for key, value in data.items():
                if key not in known:
                    refused[echo(key)] = [_unknown_message(str(key), known)]
                elif (message := _wrong_json_type(self.fields[key], value)) is not None:
                    refused[key] = [message]
        try:
            value = super().to_internal_value(data)
        except ValidationError as exc:
            if not refused or not isinstance(exc.detail, dict):
                raise
            raise ValidationError({**refused, **exc.detail}) from None  # a field's own message, where it has one
        if refused:
            raise ValidationError(refused)
        return value


def _json_type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    return "a list" if isinstance(value, list) else "an object"


def _text_choices(field: serializers.Field) -> bool:
    return (isinstance(field, serializers.ChoiceField) and not isinstance(field, serializers.MultipleChoiceField)
            and all(isinstance(key, str) for key in field.choices))


def _wrong_json_type(field: serializers.Field, value: Any) -> str | None:
    """The message for a value of the wrong JSON type for `field`, or None (null is the field's own business)."""
    if value is None:
        return None
    if isinstance(field, serializers.BooleanField):
        expected, ok = "true or false", isinstance(value, bool)
    elif isinstance(field, serializers.IntegerField | serializers.FloatField | serializers.DecimalField):
        expected, ok = "a number", isinstance(value, int | float) and not isinstance(value, bool)
    elif isinstance(field, serializers.CharField | serializers.DateField) or _text_choices(field):
        expected, ok = "text", isinstance(value, str)
    else:
        return None
    return None if ok else f"Must be {expected}, not {_json_type_name(value)}."


def _unknown_message(key: str, known: list[str]) -> str:
    near = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {near[0]!r}?" if near else f"the fields are {', '.join(known)}."
    return f"Unknown field {echo(key)!r}: {hint}"

