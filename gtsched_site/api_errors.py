"""One error shape for every API failure, and JSON (never HTML) for every error under /api/.

Every 4xx body is an object of names to lists of messages:

- a field of the request body, nested fields by their path: {"ordinal_rankings[0].rank": ["..."]};
- an unknown field of the body under its own (misspelled) name;
- `body`: the body could not be read (not JSON, or nested too deep);
- `non_field_errors`: the body as a whole (e.g. a list where an object belongs);
- a query parameter under its name (`limit`, `offset`, `year`, ...);
- `detail`: the request itself (not authenticated, not allowed, not found, unsupported media type, throttled).

Echoed input is cut to ECHO_LIMIT characters. Django's own errors are translated, never 500s.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from gtsched_site.limits import ECHO_LIMIT, echo

BODY = "body"

FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
    "description": "Messages by field; nested fields by path, e.g. ordinal_rankings[0].rank; `body`: unreadable JSON",
    "example": {"ordinal_rankings[0].rank": ["A valid integer is required."]},
}
DETAIL_ERRORS_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "array", "items": {"type": "string"}}},
    "required": ["detail"],
    "example": {"detail": ["Not found."]},
}


# A quoted value longer than ECHO_LIMIT, or an unquoted run of that many non-space characters: echoed input.
_LONG = re.compile(rf'"[^"]{{{ECHO_LIMIT + 1},}}"|\'[^\']{{{ECHO_LIMIT + 1},}}\'|[^\s"\']{{{ECHO_LIMIT + 1},}}')


def _cut_echoes(message: str) -> str:
    def cut(match: re.Match[str]) -> str:
        text = match.group()
        if text[0] in "\"'":
            return text[0] + echo(text[1:-1]) + text[0]
        return echo(text)

    return _LONG.sub(cut, message)


def flat_errors(detail: Any, prefix: str = "", *, default: str = "non_field_errors") -> dict[str, list[str]]:
    """Nested serializer errors as {"ordinal_rankings[2].rank": [...]}: one level of names to lists of messages."""
    if isinstance(detail, dict):
        children = [(_child_name(prefix, key), value) for key, value in detail.items()]
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        children = [(f"{prefix}[{position}]", item) for position, item in enumerate(detail) if item]
    else:
        messages = detail if isinstance(detail, list) else [detail]
        return {prefix or default: [_cut_echoes(str(message)) for message in messages]}
    flat: dict[str, list[str]] = {}
    for name, value in children:
        for field, messages in flat_errors(value, name, default=default).items():
            flat.setdefault(field, []).extend(messages)
    return flat


def _child_name(prefix: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    key = echo(key)
    if key == "non_field_errors" and prefix:
        return prefix
    return f"{prefix}.{key}" if prefix else key


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, exceptions.ParseError):
        exc = exceptions.ParseError({BODY: [exc.detail]})
    response = drf_exception_handler(exc, context)
    if response is not None:
        default = "non_field_errors" if isinstance(exc, exceptions.ValidationError) else "detail"
        response.data = flat_errors(response.data, default=default)
    return response


# --- Django's error views: JSON under /api/, the product's own pages elsewhere ------------------------------------

def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _json(message: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": [message]}, status=status)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json("Bad request.", 400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json("You do not have permission to perform this action.", 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json(f"Not found: no API endpoint at {echo(request.path)}; the endpoints are listed at /api/v1/docs/.", 404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return _json("Server error: the request could not be completed. It has been logged; try again later.", 500)
    return defaults.server_error(request)


class ApiHtmlErrorMiddleware:
    """Under /api/, an HTML error page that Django made itself (while DEBUG it shows its technical 404 and 500 pages
    instead of calling the handlers above) becomes the API's JSON error, so integrations never parse HTML. Listed
    before CommonMiddleware, so its slash-appending redirect has already replaced a 404 it can mend."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        html = response.get("Content-Type", "").startswith("text/html")
        if _is_api(request) and html and response.status_code in (404, 500):
            return page_not_found(request, None) if response.status_code == 404 else server_error(request)
        return response
