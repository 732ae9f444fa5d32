"""REST edges of swap approval (DESIGN §14), coordinators only:

- GET /api/v1/swap-approvals: every exchange awaiting approval, with the stability change it makes;
- POST /api/v1/swap-approvals/{id}/approve: the audited change executes (id: any request of the exchange);
- POST /api/v1/swap-approvals/{id}/refuse {"reason"}: closed as refused, the schedule untouched.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, permissions, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from gtsched_site.api import SiteJSONParser, StrictFieldsMixin, pk_or_404
from gtsched_site.permissions import coordinators_only
from preferences.querysets import own_faculty
from preferences.serializers import DETAIL_SCHEMA, FIELD_ERRORS_SCHEMA
from stability.market.approval import swap_approvals_pending, swap_request_approve, swap_request_refuse
from stability.market.selectors import swap_requests_for_user
from stability.market.serializers import SwapRequestSerializer
from stability.models import SwapRequest

IsCoordinator = coordinators_only("Only coordinators approve or refuse swaps.")
_400 = OpenApiResponse(FIELD_ERRORS_SCHEMA, description="Refused, nothing changed: messages by field")
_401 = OpenApiResponse(DETAIL_SCHEMA, description="Not authenticated")
_403 = OpenApiResponse(DETAIL_SCHEMA, description="Not a coordinator")
_404 = OpenApiResponse(DETAIL_SCHEMA, description="No such swap request")
REQUEST_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Swap request id (any request of the exchange)")


class StabilityChangeSerializer(serializers.Serializer):
    nash_distance_before = serializers.FloatField()
    nash_distance_after = serializers.FloatField()
    blocking_swaps_before = serializers.IntegerField()
    blocking_swaps_after = serializers.IntegerField()


class PendingApprovalSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The request to approve or refuse (any request of the exchange works)")
    academic_year = serializers.IntegerField()
    schedule = serializers.IntegerField()
    cycle = serializers.UUIDField(allow_null=True)
    confirmed_at = serializers.DateTimeField(allow_null=True)
    stability_change = StabilityChangeSerializer(allow_null=True, help_text="null when it can no longer happen")
    problem = serializers.CharField(allow_null=True, help_text="Why it can no longer happen, if so")
    requests = SwapRequestSerializer(many=True)


class RefuseSerializer(StrictFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(max_length=300, help_text="Told to both faculty members")


def _context(request: Request) -> dict[str, Any]:
    return {"request": request, "faculty": own_faculty(request.user), "is_coordinator": True}


def _request(pk: Any) -> SwapRequest:
    swap = SwapRequest.objects.filter(pk=pk_or_404(pk, "swap request")).first()
    if swap is None:
        raise NotFound(f"No swap request {pk}.")
    return swap


def _answer(request: Request, swap: SwapRequest) -> Response:
    fresh = swap_requests_for_user(request.user).get(pk=swap.pk)
    return Response(SwapRequestSerializer(fresh, context=_context(request)).data)


class SwapApprovalListView(generics.GenericAPIView):
    permission_classes = [permissions.IsAuthenticated, IsCoordinator]
    serializer_class = PendingApprovalSerializer
    pagination_class = None

    @extend_schema(operation_id="swap_approvals_list", summary="Swaps awaiting a coordinator's approval",
                   responses={200: PendingApprovalSerializer(many=True), 401: _401, 403: _403})
    def get(self, request: Request) -> Response:
        context = _context(request)
        fresh = swap_requests_for_user(request.user)
        rows = []
        for item in swap_approvals_pending():
            first, change = item.first, item.change
            rows.append({
                "id": first.pk, "academic_year": first.schedule.year.label, "schedule": first.schedule_id,
                "cycle": first.cycle, "confirmed_at": first.confirmed_at, "problem": item.problem,
                "stability_change": None if change is None else {
                    "nash_distance_before": change.distance_before, "nash_distance_after": change.distance_after,
                    "blocking_swaps_before": change.blocking_before, "blocking_swaps_after": change.blocking_after,
                },
                "requests": SwapRequestSerializer([fresh.get(pk=m.pk) for m in item.members], many=True,
                                                  context=context).data,
            })
        return Response(rows)  # already in PendingApprovalSerializer's shape: its requests are serialized above


class SwapApprovalApproveView(generics.GenericAPIView):
    permission_classes = [permissions.IsAuthenticated, IsCoordinator]
    serializer_class = SwapRequestSerializer

    @extend_schema(operation_id="swap_approvals_approve", summary="Approve a confirmed swap: it executes now",
                   request=None, parameters=[REQUEST_ID],
                   responses={200: SwapRequestSerializer, 400: _400, 401: _401, 403: _403, 404: _404})
    def post(self, request: Request, pk: str) -> Response:
        return _answer(request, swap_request_approve(swap=_request(pk), actor=request.user))


class SwapApprovalRefuseView(generics.GenericAPIView):
    permission_classes = [permissions.IsAuthenticated, IsCoordinator]
    parser_classes = [SiteJSONParser]
    serializer_class = RefuseSerializer

    @extend_schema(operation_id="swap_approvals_refuse", summary="Refuse a confirmed swap, with the reason",
                   request=RefuseSerializer, parameters=[REQUEST_ID],
                   responses={200: SwapRequestSerializer, 400: _400, 401: _401, 403: _403, 404: _404},
                   examples=[OpenApiExample("Refuse", request_only=True,
                                            value={"reason": "Leaves nights under-covered in December."})])
    def post(self, request: Request, pk: str) -> Response:
        swap = _request(pk)
        payload = RefuseSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return _answer(request, swap_request_refuse(swap=swap, actor=request.user, reason=payload.validated_data["reason"]))
