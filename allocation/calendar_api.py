"""REST edges of the calendar feed (DESIGN §10, §14): GET /api/v1/calendar (the caller's own feed's URL) and POST
/api/v1/calendar/regenerate (a new URL; the old one answers 404 from then on). The feed itself is not an API view:
calendar clients cannot log in, so /calendar/<token>.ics (allocation.calendar_views) needs none."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import PermissionDenied as ApiPermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from allocation.calendar_views import feed_url
from allocation.services.calendar import NO_FEED, calendar_feed_regenerate, calendar_feed_token, feed_scope
from preferences.serializers import DETAIL_SCHEMA


class CalendarUrlSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="The private iCalendar feed: an absolute URL ending in .ics. No login needed; "
                                         "whoever has it can read the feed, so keep it to yourself.")


_401 = OpenApiResponse(DETAIL_SCHEMA, description="Not authenticated")
_403 = OpenApiResponse(DETAIL_SCHEMA, description="A login that is neither a faculty member nor a coordinator")


def _check(request: Request) -> None:
    if feed_scope(request.user) is None:
        raise ApiPermissionDenied(NO_FEED)


class CalendarView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="calendar",
        summary="My calendar feed's URL",
        description=("The caller's private iCalendar (RFC 5545) feed: a faculty member's published weeks, a "
                     "coordinator's whole published schedule, as all-day events. Subscribe to it in Google Calendar, "
                     "Outlook or Apple Calendar."),
        responses={200: CalendarUrlSerializer, 401: _401, 403: _403},
    )
    def get(self, request: Request) -> Response:
        _check(request)
        return Response({"url": feed_url(request, calendar_feed_token(user=request.user))})


class CalendarRegenerateView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="calendar_regenerate",
        summary="A new URL for my calendar feed (the old one stops working)",
        request=None,
        responses={200: CalendarUrlSerializer, 401: _401, 403: _403},
    )
    def post(self, request: Request) -> Response:
        _check(request)
        return Response({"url": feed_url(request, calendar_feed_regenerate(user=request.user))})
