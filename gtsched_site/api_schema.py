"""The API's schema class: every operation documents the errors it answers with, in the one error shape."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny, IsAuthenticated

from gtsched_site.api import StrictFieldsMixin
from gtsched_site.api_errors import DETAIL_ERRORS_SCHEMA, FIELD_ERRORS_SCHEMA


class SiteAutoSchema(AutoSchema):
    """Every operation documents the errors it can answer with, in the one error shape (gtsched_site.api_errors):
    400 for a request body (unreadable JSON under `body`, unknown fields, bad values) and for a paginated list (bad
    limit or offset); 401; 403 where a permission beyond being logged in applies, or a session's CSRF check does
    (unsafe methods); 404 for a path with an id or label; 415 for a request body that is not JSON. An operation's own
    `responses` (with its more specific descriptions) win."""

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction=direction)
        for code, description in self._error_responses().items():
            if str(code) not in responses:
                schema = FIELD_ERRORS_SCHEMA if code == 400 else DETAIL_ERRORS_SCHEMA
                responses[str(code)] = self._get_response_for_code(
                    OpenApiResponse(schema, description=description), str(code), direction=direction
                )
        return responses

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        """A strict input serializer refuses unknown fields (a 400 naming each): its request schema says so."""
        result = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and isinstance(serializer, StrictFieldsMixin) and result.get("type") == "object":
            result["additionalProperties"] = False
        return result

    def _error_responses(self) -> dict[int, str]:
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        listed = self._is_list_view() and getattr(self.view, "pagination_class", None) is not None
        permissions = [cls for cls in getattr(self.view, "permission_classes", []) if cls not in (IsAuthenticated, AllowAny)]
        errors: dict[int, str] = {}
        if has_body or listed:
            errors[400] = (
                "Refused: messages by field (`body`: the JSON could not be read; an unknown field under its own name)"
                if has_body else "Refused: messages by parameter (limit, offset)"
            )
        if IsAuthenticated in getattr(self.view, "permission_classes", []):
            errors[401] = "Not authenticated"
        if permissions or self.method not in ("GET", "HEAD", "OPTIONS"):
            errors[403] = "Not allowed for you" if permissions else "CSRF check failed (session authentication)"
        if "{" in self.path:
            errors[404] = "No such object, or not visible to you"
        if has_body:
            errors[415] = "The body is not JSON: send Content-Type: application/json"
        return errors
