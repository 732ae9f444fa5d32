"""GET / PATCH /api/v1/notification-settings: the caller's own notification opt-outs (DESIGN §14). Faculty only;
each kind is true (sent) or false (turned off). A PATCH names only the kinds it changes."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, permissions, serializers
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from preferences.models import Faculty
from preferences.notification_models import NotificationKind
from preferences.notifications import notification_settings, notification_settings_update
from preferences.querysets import own_faculty
from preferences.serializers import DETAIL_SCHEMA, FIELD_ERRORS_SCHEMA


class NotificationSettingsSerializer(serializers.Serializer):
    """Every kind of message: true = send it, false = turned off."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {kind: serializers.BooleanField(required=False, help_text=label) for kind, label in NotificationKind.choices}


def _faculty(request: Request) -> Faculty:
    faculty = own_faculty(request.user)
    if faculty is None:
        raise PermissionDenied("Notification settings belong to faculty members; this login has no faculty profile.")
    return faculty


class NotificationSettingsView(generics.GenericAPIView):
    permission_classes = [permissions.IsAuthenticated]
    serializer_class = NotificationSettingsSerializer

    @extend_schema(operation_id="notification_settings_read", summary="Your notification settings",
                   responses={200: NotificationSettingsSerializer, 401: OpenApiResponse(DETAIL_SCHEMA),
                              403: OpenApiResponse(DETAIL_SCHEMA)})
    def get(self, request: Request) -> Response:
        return Response(notification_settings(faculty=_faculty(request)))

    @extend_schema(
        operation_id="notification_settings_update", summary="Turn kinds of notification on or off",
        request=NotificationSettingsSerializer,
        responses={200: NotificationSettingsSerializer, 400: OpenApiResponse(FIELD_ERRORS_SCHEMA),
                   401: OpenApiResponse(DETAIL_SCHEMA), 403: OpenApiResponse(DETAIL_SCHEMA)},
        examples=[OpenApiExample("Turn off auction results", request_only=True, value={"auction_settled": False})],
    )
    def patch(self, request: Request) -> Response:
        faculty = _faculty(request)
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["Send an object such as {\"auction_settled\": false}."]})
        try:  # the service names unknown kinds and non-booleans; nothing changes when one is wrong
            return Response(notification_settings_update(faculty=faculty, enabled=dict(request.data)))
        except DjangoValidationError as exc:
            raise ValidationError({k: list(v) for k, v in exc.message_dict.items()}) from None

    def get_serializer(self, *args: Any, **kwargs: Any) -> NotificationSettingsSerializer:
        return NotificationSettingsSerializer(*args, **kwargs)
