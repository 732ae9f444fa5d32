"""REST edges of the swap market (DESIGN §9, §10): swap requests and their operations, suggestions, trading cycles,
strategy performance.

Thin: parse, authorise, call the stability.market services (the same services the pages and the admin call), serialize.

- /swap-requests/: faculty list, read and post their own and read the proposals addressed to them; coordinators
  see every request (and may post on a faculty member's behalf). confirm / decline are for the parties, cancel for
  the requester (or a coordinator). Anything else a faculty member cannot see is 404.
- GET /schedules/{id}/swap-suggestions: a faculty member's own suggestions; coordinators name ?faculty=.
- POST /schedules/{id}/clear-cycles and GET /strategy-performance: coordinators only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from allocation.models import Assignment, Schedule
from allocation.querysets import assignments_for_user, schedules_for_user
from gtsched_site.api import ListFilterMixin, SiteJSONParser, pk_or_404, query_filters
from gtsched_site.permissions import coordinators_only
from preferences.models import Faculty, Week
from preferences.querysets import is_coordinator, own_faculty
from preferences.serializers import DETAIL_SCHEMA, FIELD_ERRORS_SCHEMA
from stability.market.matching import swap_requests_clear_cycles, swap_suggestions
from stability.market.requests import swap_request_cancel, swap_request_confirm, swap_request_decline, swap_request_post
from stability.market.selectors import swap_requests_for_user
from stability.market.serializers import (
    ClearedCyclesSerializer,
    StrategyPerformanceQuerySerializer,
    StrategyPerformanceSerializer,
    SuggestionQuerySerializer,
    SuggestionSerializer,
    SwapRequestCreateSerializer,
    SwapRequestFilterSerializer,
    SwapRequestSerializer,
)
from stability.models import StrategyPerformance, SwapRequest

ERRORS_SCHEMA = {
    **FIELD_ERRORS_SCHEMA,
    "example": {"wanted_weeks": ["You already serve week 3 (20 Jul 2026); nobody serves twice in one week."]},
}
_400 = OpenApiResponse(ERRORS_SCHEMA, description="Refused, nothing stored: messages by field")
_401 = OpenApiResponse(DETAIL_SCHEMA, description="Not authenticated")
_403 = OpenApiResponse(DETAIL_SCHEMA, description="Not allowed for you")
_403_COORD = OpenApiResponse(DETAIL_SCHEMA, description="Not a coordinator")
_404 = OpenApiResponse(DETAIL_SCHEMA, description="No such object, or not visible to you")
SCHEDULE_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Schedule id")
COORDINATORS_ONLY = "Only coordinators can clear trading cycles or read strategy performance."


IsCoordinator = coordinators_only(COORDINATORS_ONLY)


def _party_action(*, operation_id: str, summary: str, description: str | None = None) -> Callable[[Callable], Callable]:
    """A POST operation on one swap request, without a body, answering with the request: its route and schema."""
    def decorate(method: Callable) -> Callable:
        routed = action(detail=True, methods=["post"])(method)
        return extend_schema(
            operation_id=operation_id, summary=summary, description=description, request=None,
            responses={200: SwapRequestSerializer, 400: _400, 401: _401, 403: _403, 404: _404},
        )(routed)
    return decorate


def _context(request: Request) -> dict[str, Any]:
    return {"request": request, "faculty": own_faculty(request.user), "is_coordinator": is_coordinator(request.user)}


def _schedule(request: Request, pk: Any) -> Schedule:
    schedule = schedules_for_user(request.user).filter(pk=pk_or_404(pk, "schedule")).first()
    if schedule is None:
        raise NotFound(f"No schedule {pk}, or it is not visible to you.")
    return schedule


def _wanted_weeks(refs: list[Any], schedule: Schedule) -> list[Any]:
    """Week refs as the service takes them: ids pass through (it checks their year), start dates resolve here."""
    by_date = {w.start_date: w for w in Week.objects.filter(year=schedule.year)}
    out, errors = [], []
    for position, ref in enumerate(refs):
        if isinstance(ref, int) and not isinstance(ref, bool):
            out.append(ref)
            continue
        try:
            day = dt.date.fromisoformat(ref) if isinstance(ref, str) else None
        except ValueError:
            day = None
        if day is None:
            errors.append(f"Item {position + 1}: {ref!r} is not a week; give its start date (YYYY-MM-DD) or its id.")
        elif day not in by_date:
            errors.append(f"Item {position + 1}: no week of {schedule.year} starts on {day:%Y-%m-%d}.")
        else:
            out.append(by_date[day])
    if errors:
        raise ValidationError({"wanted_weeks": errors})
    return out


@extend_schema_view(
    list=extend_schema(
        summary="Swap requests you may see",
        description="Faculty: the requests they posted and the proposals addressed to them. Coordinators: all.",
        parameters=[SwapRequestFilterSerializer],
        responses={200: SwapRequestSerializer(many=True), 400: _400, 401: _401},
    ),
    retrieve=extend_schema(summary="One swap request", responses={200: SwapRequestSerializer, 401: _401, 404: _404}),
)
class SwapRequestViewSet(ListFilterMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                         viewsets.GenericViewSet):
    """Swap requests on published schedules (DESIGN §9)."""

    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [SiteJSONParser]
    serializer_class = SwapRequestSerializer
    lookup_value_regex = "[^/.]+"

    def get_queryset(self) -> QuerySet[SwapRequest]:
        return swap_requests_for_user(self.request.user).order_by("-created_at", "-pk")

    def get_object(self) -> SwapRequest:
        found = self.get_queryset().filter(pk=pk_or_404(self.kwargs["pk"], "swap request")).first()
        if found is None:
            raise NotFound(f"No swap request {self.kwargs['pk']}, or it is not yours.")
        return found

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), **_context(self.request)}

    def get_serializer_class(self) -> type:
        return SwapRequestCreateSerializer if self.action == "create" else SwapRequestSerializer

    list_filter_serializer = SwapRequestFilterSerializer
    list_filters = {"schedule": "schedule_id", "status": "status"}

    def _done(self, swap: SwapRequest, code: int = status.HTTP_200_OK) -> Response:
        swap = self.get_queryset().get(pk=swap.pk)
        return Response(SwapRequestSerializer(swap, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        operation_id="swap_requests_create",
        summary="Post a swap request (and look for a match)",
        description=(
            "Offers one of your weeks on a published schedule for any of the wanted weeks (same year, not the week "
            "you give, not a week you serve or blocked). With `match` (default) the matcher proposes the "
            "counterparty at once: the holder of a wanted week who does not lose by the swap, ranked by mutual "
            "gain and by how much nash_distance drops. With `take` (from your swap suggestions) the request is "
            "`suggested` and proposes exactly that swap, confirmed on your side. One active request per week."
        ),
        request=SwapRequestCreateSerializer,
        responses={201: SwapRequestSerializer, 400: _400, 401: _401, 403: _403},
        examples=[OpenApiExample("Flexible", request_only=True, value={
            "give": 17, "wanted_weeks": ["2026-07-13", "2026-08-03"], "strategy": "flexible", "note": "Conference",
        })],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = SwapRequestCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        give = assignments_for_user(request.user).filter(pk=data["give"]).first()
        if give is None:
            raise ValidationError({"give": [f"No assignment {data['give']} that you can see."]})
        if "take" in data:
            take = Assignment.objects.filter(pk=data["take"], schedule_id=give.schedule_id).select_related("week").first()
            if take is None:
                raise ValidationError({"take": [f"No assignment {data['take']} in the schedule of the week you give."]})
            swap = swap_request_post(actor=request.user, give=give, take=take, note=data["note"])
        else:
            swap = swap_request_post(
                actor=request.user, give=give, wanted_weeks=_wanted_weeks(data["wanted_weeks"], give.schedule),
                strategy=data["strategy"], note=data["note"], match=data["match"],
            )
        return self._done(swap, status.HTTP_201_CREATED)

    @_party_action(
        operation_id="swap_requests_confirm",
        summary="Confirm your side of a proposed swap",
        description=(
            "The requester or the counterparty confirms; in a trading cycle each member confirms their own request. "
            "When everyone has, the swap executes as an audited change of the published schedule (status executed), "
            "or expires if a week moved meanwhile."
        ),
    )
    def confirm(self, request: Request, pk: str | None = None) -> Response:
        return self._done(swap_request_confirm(swap=self.get_object(), actor=request.user))

    @_party_action(
        operation_id="swap_requests_decline",
        summary="Decline a proposed swap",
        description="A party turns the proposal down; in a trading cycle the other members' requests reopen.",
    )
    def decline(self, request: Request, pk: str | None = None) -> Response:
        return self._done(swap_request_decline(swap=self.get_object(), actor=request.user))

    @_party_action(operation_id="swap_requests_cancel", summary="Withdraw your open or proposed request")
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return self._done(swap_request_cancel(swap=self.get_object(), actor=request.user))


class SwapSuggestionsView(generics.GenericAPIView):
    """Weeks a faculty member could get by a mutually beneficial (blocking) swap on a published schedule."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = SuggestionSerializer
    pagination_class = None

    @extend_schema(
        operation_id="schedules_swap_suggestions",
        summary="Swap suggestions on a published schedule",
        description=(
            "For each of the faculty member's assignments, the blocking swaps open to them (both sides strictly "
            "gain), ranked by mutual gain, then by how much nash_distance would drop. Faculty get their own "
            "(partner_gain and mutual_gain null); coordinators name ?faculty=<id>."
        ),
        parameters=[SuggestionQuerySerializer, SCHEDULE_ID],
        responses={200: SuggestionSerializer(many=True), 400: _400, 401: _401, 403: _403, 404: _404},
    )
    def get(self, request: Request, pk: str) -> Response:
        schedule = _schedule(request, pk)
        query = query_filters(SuggestionQuerySerializer, request)
        coordinator = is_coordinator(request.user)
        me = own_faculty(request.user)
        wanted = query.get("faculty")
        if coordinator and wanted is not None:
            faculty = Faculty.objects.filter(pk=wanted).first()
            if faculty is None:
                raise ValidationError({"faculty": [f"No faculty member {wanted}."]})
        elif wanted is not None and (me is None or wanted != me.pk):
            raise PermissionDenied("Faculty can only read their own swap suggestions.")
        elif me is not None:
            faculty = me
        else:
            raise ValidationError({"faculty": ["Name the faculty member whose suggestions you want (?faculty=<id>)."]})
        if schedule.status != Schedule.Status.PUBLISHED:
            raise ValidationError({"schedule": [f"Schedule {schedule.pk} is not published; swaps happen on the published one."]})
        rows = [
            {
                "give": {"assignment": s.give_id, "week": s.give_week.start_date, "week_id": s.give_week.pk, "rotation": s.give_rotation},
                "take": {"assignment": s.take_id, "week": s.take_week.start_date, "week_id": s.take_week.pk, "rotation": s.take_rotation},
                "partner": {"id": s.partner_id, "name": s.partner_name},
                "gain": s.gain,
                "partner_gain": s.partner_gain if coordinator else None,
                "mutual_gain": s.mutual_gain if coordinator else None,
                "distance_reduction": s.distance_reduction,
                "distance_after": s.distance_after,
            }
            for s in swap_suggestions(faculty=faculty, schedule=schedule)
        ]
        return Response(SuggestionSerializer(rows, many=True).data)


class ClearCyclesView(generics.GenericAPIView):
    """Top Trading Cycles over the open requests of a published schedule (coordinators)."""

    permission_classes = [permissions.IsAuthenticated, IsCoordinator]
    serializer_class = ClearedCyclesSerializer

    @extend_schema(
        operation_id="schedules_clear_cycles",
        summary="Clear trading cycles among open swap requests (coordinators)",
        description=(
            "Each open request owns its given week and prefers the other requests' weeks it wants and could take, "
            "by its utility. Every cycle of two or more is proposed (status matched, a shared cycle id); each "
            "member confirms before the exchange executes."
        ),
        request=None,
        parameters=[SCHEDULE_ID],
        responses={200: ClearedCyclesSerializer, 400: _400, 401: _401, 403: _403_COORD, 404: _404},
    )
    def post(self, request: Request, pk: str) -> Response:
        schedule = _schedule(request, pk)
        cycles = swap_requests_clear_cycles(schedule=schedule, actor=request.user)
        context = _context(request)
        fresh = swap_requests_for_user(request.user)
        body = {
            "cleared": len(cycles),
            "cycles": [SwapRequestSerializer([fresh.get(pk=r.pk) for r in cycle], many=True, context=context).data
                       for cycle in cycles],
        }
        return Response(body)


@extend_schema_view(
    get=extend_schema(
        operation_id="strategy_performance_list",
        summary="Swap-request strategies under replicator dynamics (coordinators)",
        parameters=[StrategyPerformanceQuerySerializer],
        responses={200: StrategyPerformanceSerializer(many=True), 400: _400, 401: _401, 403: _403_COORD},
    ),
)
class StrategyPerformanceView(generics.ListAPIView):
    """Attempts, successes, share, fitness (success rate − mean), growth (share × fitness) and next share."""

    permission_classes = [permissions.IsAuthenticated, IsCoordinator]
    serializer_class = StrategyPerformanceSerializer

    def get_queryset(self) -> QuerySet[StrategyPerformance]:
        query = query_filters(StrategyPerformanceQuerySerializer, self.request)
        qs = StrategyPerformance.objects.select_related("year").order_by("-year__label", "strategy")
        if "year" in query:
            qs = qs.filter(year__label=query["year"])
        return qs
