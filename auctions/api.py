"""REST edges of the priority points (DESIGN §8, §10): GET /api/v1/priority-points/{faculty_id} and POST
/api/v1/priority-points/{faculty_id}/grant. Thin: find the faculty member the caller may see (others: 404), the year,
call the ledger, serialize. The grant honours Idempotency-Key (gtsched_site.idempotency)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from auctions.ledger import LedgerConflict, points_grant
from auctions.models import IdempotentRequest, PriorityPointAccount, PriorityPointTransaction
from auctions.selectors import account_figures
from auctions.serializers import (
    PointsAccountSerializer,
    PointsEntrySerializer,
    PointsGrantAnswerSerializer,
    PointsGrantSerializer,
    PointsQuerySerializer,
)
from gtsched_site.api import SiteJSONParser, query_filters
from gtsched_site.api_errors import DETAIL_ERRORS_SCHEMA, FIELD_ERRORS_SCHEMA
from gtsched_site.idempotency import IDEMPOTENCY_PARAMETER, idempotency_key, idempotent_response
from gtsched_site.limits import echo
from gtsched_site.permissions import coordinators_only
from preferences.models import AcademicYear, Faculty
from preferences.querysets import faculty_for_user, year_from_label, year_open_for_preferences

FACULTY_ID = OpenApiParameter("faculty_id", str, OpenApiParameter.PATH,
                              description="The faculty member's external id, e.g. F001")
_401 = OpenApiResponse(DETAIL_ERRORS_SCHEMA, description="Not authenticated")
_404 = OpenApiResponse(DETAIL_ERRORS_SCHEMA, description="No such faculty member that you may see, or no year yet")
_400 = OpenApiResponse(FIELD_ERRORS_SCHEMA, description="A bad field, named (amount, reason, academic_year, …)")
_409 = OpenApiResponse(FIELD_ERRORS_SCHEMA,
                       description="The Idempotency-Key was used for a different request (under Idempotency-Key)")


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with what was done before."


def _faculty(request: Request, faculty_id: str) -> Faculty:
    """The faculty member by external id, if the caller may see them: coordinators anyone, faculty themselves."""
    person = faculty_for_user(request.user).filter(external_id=faculty_id).first()
    if person is None:
        raise NotFound(f"No faculty member {echo(faculty_id)!r} that you can see.")
    return person


def _year(label: Any) -> AcademicYear:
    if label is not None:
        return year_from_label(label, field="academic_year")
    year = year_open_for_preferences()
    if year is None:
        raise NotFound("No academic year has been set up yet.")
    return year


def entry_row(entry: PriorityPointTransaction) -> dict[str, Any]:
    return {
        "id": entry.pk, "amount": entry.amount, "type": entry.type, "description": entry.description,
        "balance_before": entry.balance_before, "balance_after": entry.balance_after, "created_at": entry.created_at,
        "auction": entry.auction_id, "week": entry.week.start_date if entry.week_id else None,
    }


class PriorityPointsView(generics.GenericAPIView):
    """A faculty member's priority points for a year: balance, held, available, lifetime figures and the ledger."""

    serializer_class = PointsAccountSerializer
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="priority_points",
        summary="Priority points and ledger of a faculty member (faculty: their own)",
        description=(
            "The account of the faculty member for the academic year (default: the year open for preferences, else "
            "the newest), with every entry oldest first. A faculty member may read only their own account; anyone "
            "else's is a 404, as is an unknown id. Before the first entry every figure is 0. Bids are sealed: while "
            "the account holds points for open bids, `held` and `available` are null for anyone but its owner."
        ),
        parameters=[FACULTY_ID, PointsQuerySerializer],
        responses={200: PointsAccountSerializer, 400: _400, 401: _401, 404: _404},
    )
    def get(self, request: Request, faculty_id: str) -> Response:
        query = query_filters(PointsQuerySerializer, request)
        person = _faculty(request, faculty_id)
        year = _year(query.get("academic_year"))
        account = PriorityPointAccount.objects.filter(faculty=person, year=year).first()
        entries = [] if account is None else account.entries.select_related("week").order_by("pk")
        body = {**account_figures(person, year, account, reader=request.user), "transactions": [entry_row(e) for e in entries]}
        return Response(PointsAccountSerializer(body).data)


class PriorityPointsGrantView(generics.GenericAPIView):
    """A coordinator grants points with a reason, or corrects with a negative amount."""

    serializer_class = PointsGrantSerializer
    permission_classes = [permissions.IsAuthenticated, coordinators_only("Only coordinators can grant points.")]
    parser_classes = [SiteJSONParser]

    @extend_schema(
        operation_id="priority_points_grant",
        summary="Grant or correct priority points (coordinators)",
        description=(
            "Posts one entry to the faculty member's account for the year (created on first use): a positive amount "
            "is a `grant`, a negative one a correction (`reversal`) that may not take the balance below the points "
            "held by open bids. With an Idempotency-Key, repeating the request returns the first answer and posts "
            "nothing; the same key with a different body is a 409."
        ),
        parameters=[FACULTY_ID, IDEMPOTENCY_PARAMETER],
        request=PointsGrantSerializer,
        responses={201: PointsGrantAnswerSerializer, 400: _400, 401: _401,
                   403: OpenApiResponse(DETAIL_ERRORS_SCHEMA, description="Not a coordinator"), 404: _404, 409: _409},
        examples=[OpenApiExample("A grant", value={"amount": 5, "reason": "Covered a colleague's holiday week",
                                                   "academic_year": 2026}, request_only=True)],
    )
    def post(self, request: Request, faculty_id: str) -> Response:
        key = idempotency_key(request)  # a bad header is a 400 before anything else

        def grant() -> Response:
            person = _faculty(request, faculty_id)
            payload = PointsGrantSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            data = payload.validated_data
            year = _year(data.get("academic_year"))
            try:
                posted = points_grant(
                    faculty=person, year=year, amount=data["amount"], reason=data["reason"],
                    processed_by=request.user,
                    idempotency_key=f"api:{request.user.pk}:{key}" if key is not None else None,
                )
            except LedgerConflict as exc:
                raise Conflict(exc.message_dict) from None
            account = PriorityPointAccount.objects.get(pk=posted.entry.account_id)
            body = {**account_figures(person, year, account, reader=request.user), "entry": PointsEntrySerializer(entry_row(posted.entry)).data}
            return Response(PointsGrantAnswerSerializer(body).data, status=status.HTTP_201_CREATED)

        return idempotent_response(request, store=IdempotentRequest, handler=grant)

