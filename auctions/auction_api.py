"""REST edges of the auctions (DESIGN §8, §10): /auctions/ (everyone reads; coordinators create, close, settle,
cancel), /bids/ (a faculty member's own only: place, change, withdraw, list) and the seed's one-shot
POST /game-theory/vickrey-auction. Thin: parse, authorise, call auctions.services, answer through
auctions.selectors (sealed bids). Every write honours Idempotency-Key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from auctions import services
from auctions.auction_models import Bid, VickreyAuction
from auctions.auction_serializers import (
    AuctionCreateSerializer,
    AuctionFilterSerializer,
    AuctionSerializer,
    BidChangeSerializer,
    BidCreateSerializer,
    BidFilterSerializer,
    BidSerializer,
    OneShotAnswerSerializer,
    OneShotSerializer,
)
from auctions.models import IdempotentRequest
from auctions.selectors import auction_summary, auctions_for_user, bids_for_user, own_bids_by_auction
from gtsched_site.api import ListFilterMixin, SiteJSONParser, pk_or_404
from gtsched_site.api_errors import DETAIL_ERRORS_SCHEMA, FIELD_ERRORS_SCHEMA
from gtsched_site.idempotency import IDEMPOTENCY_PARAMETER, idempotency_key, idempotent_response
from gtsched_site.limits import echo
from gtsched_site.permissions import coordinators_only
from preferences.models import Faculty, Rotation
from preferences.querysets import own_faculty, year_from_label

_400 = OpenApiResponse(FIELD_ERRORS_SCHEMA, description="Refused, nothing stored: messages by field")
_401 = OpenApiResponse(DETAIL_ERRORS_SCHEMA, description="Not authenticated")
_403 = OpenApiResponse(DETAIL_ERRORS_SCHEMA, description="Not allowed for you")
_404 = OpenApiResponse(DETAIL_ERRORS_SCHEMA, description="No such object, or not yours")
_409 = OpenApiResponse(FIELD_ERRORS_SCHEMA, description="The Idempotency-Key was used for a different request")
IsCoordinator = coordinators_only("Only coordinators can create, close, settle or cancel auctions.")


def _idempotent(request: Request, handler: Callable[[], Response]) -> Response:
    idempotency_key(request)  # a bad header is a 400 before anything else
    return idempotent_response(request, store=IdempotentRequest, handler=handler)


def _me(request: Request) -> Faculty:
    faculty = own_faculty(request.user)
    if faculty is None:
        raise PermissionDenied("Only faculty members bid; your login has no faculty profile.")
    return faculty


def _auction_answer(request: Request, auction: VickreyAuction, code: int = status.HTTP_200_OK) -> Response:
    auction = auctions_for_user(request.user).get(pk=auction.pk)
    mine = own_bids_by_auction(request.user, [auction]).get(auction.pk)
    return Response(AuctionSerializer(auction_summary(auction, user=request.user, my_bid=mine)).data, status=code)


def _coordinator_action(*, operation_id: str, summary: str, description: str) -> Callable[[Callable], Callable]:
    def decorate(method: Callable) -> Callable:
        routed = action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated, IsCoordinator])(method)
        return extend_schema(
            operation_id=operation_id, summary=summary, description=description, request=None,
            parameters=[IDEMPOTENCY_PARAMETER],
            responses={200: AuctionSerializer, 400: _400, 401: _401, 403: _403, 404: _404, 409: _409},
        )(routed)
    return decorate


@extend_schema_view(
    list=extend_schema(
        summary="Auctions: open ones and settled outcomes",
        description=("Every auction of the programme. Once settled: the winner and the price — never a losing bid. "
                     "`my_bid` is your own bid; nobody else's amount is ever shown."),
        parameters=[AuctionFilterSerializer], responses={200: AuctionSerializer(many=True), 400: _400, 401: _401},
    ),
    retrieve=extend_schema(summary="One auction", responses={200: AuctionSerializer, 401: _401, 404: _404}),
)
class AuctionViewSet(ListFilterMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [SiteJSONParser]
    serializer_class = AuctionSerializer
    lookup_value_regex = "[^/.]+"
    list_filter_serializer = AuctionFilterSerializer
    list_filters = {"academic_year": "year__label", "status": "status"}

    def get_permissions(self) -> list[permissions.BasePermission]:
        if self.action == "create":
            return [permissions.IsAuthenticated(), IsCoordinator()]
        return super().get_permissions()

    def get_queryset(self) -> QuerySet[VickreyAuction]:
        return auctions_for_user(self.request.user).order_by("-closes_at", "-pk")

    def get_object(self) -> VickreyAuction:
        found = self.get_queryset().filter(pk=pk_or_404(self.kwargs["pk"], "auction")).first()
        if found is None:
            raise NotFound(f"No auction {echo(self.kwargs['pk'])}.")
        return found

    def _rows(self, auctions: list[VickreyAuction]) -> list[dict[str, Any]]:
        mine = own_bids_by_auction(self.request.user, auctions)
        faculty = own_faculty(self.request.user)
        return [auction_summary(a, user=self.request.user, my_bid=mine.get(a.pk), faculty=faculty) for a in auctions]

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        rows = AuctionSerializer(self._rows(list(page)), many=True).data
        return self.get_paginated_response(rows)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return _auction_answer(request, self.get_object())

    @extend_schema(
        operation_id="auctions_create", summary="Open an auction (coordinators)",
        description=("A desirable (Vickrey) or reverse auction of one seat of (week, rotation): a free seat of the "
                     "programme, or one offered by its `holder`. On a published schedule the seat must be free or "
                     "held by the holder; the deadline must be in the future."),
        parameters=[IDEMPOTENCY_PARAMETER], request=AuctionCreateSerializer,
        responses={201: AuctionSerializer, 400: _400, 401: _401, 403: _403, 409: _409},
        examples=[OpenApiExample("A wanted week", request_only=True, value={
            "academic_year": 2026, "week": "2026-07-20", "rotation": "inpatient", "is_desirable": True,
            "reserve_price": 2, "closes_at": "2030-06-28T17:00:00Z"})],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def handler() -> Response:
            payload = AuctionCreateSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            data = payload.validated_data
            year = year_from_label(data["academic_year"], field="academic_year")
            week = year.weeks.filter(start_date__lte=data["week"]).order_by("-start_date").first()
            if week is None or (data["week"] - week.start_date).days > 6:
                raise DRFValidationError({"week": [f"No week of {year} contains {data['week']:%Y-%m-%d}."]})
            rotation = Rotation.objects.filter(name=data["rotation"]).first()
            if rotation is None:
                raise DRFValidationError({"rotation": [f"No rotation {echo(data['rotation'])!r}."]})
            holder = None
            if data.get("holder"):
                holder = Faculty.objects.filter(external_id=data["holder"]).first()
                if holder is None:
                    raise DRFValidationError({"holder": [f"No faculty member {echo(data['holder'])!r}."]})
            auction = services.auction_create(
                year=year, week=week, rotation=rotation,
                kind=VickreyAuction.Kind.DESIRABLE if data["is_desirable"] else VickreyAuction.Kind.REVERSE,
                reserve_price=data["reserve_price"], closes_at=data["closes_at"], holder=holder, actor=request.user,
            )
            return _auction_answer(request, auction, status.HTTP_201_CREATED)

        return _idempotent(request, handler)

    @_coordinator_action(operation_id="auctions_close", summary="Close an auction to bids (coordinators)",
                         description="No more bids; closing a closed or settled auction changes nothing.")
    def close(self, request: Request, pk: str | None = None) -> Response:
        auction = self.get_object()
        return _idempotent(request, lambda: _auction_answer(
            request, services.auction_close(auction=auction, actor=request.user)))

    @_coordinator_action(
        operation_id="auctions_settle", summary="Settle an auction (coordinators)",
        description=("Exactly once, in one transaction: the winner's hold posted at the price, every other hold "
                     "released, the seat given (a pre-assignment before publication, an audited change after). "
                     "An open auction settles only after its deadline; settling again returns the first outcome."),
    )
    def settle(self, request: Request, pk: str | None = None) -> Response:
        auction = self.get_object()
        return _idempotent(request, lambda: _auction_answer(
            request, services.auction_settle(auction=auction, actor=request.user)))

    @_coordinator_action(operation_id="auctions_cancel", summary="Cancel an auction (coordinators)",
                         description="Before settlement: every bid withdrawn, every hold released, nothing posted.")
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        auction = self.get_object()
        return _idempotent(request, lambda: _auction_answer(
            request, services.auction_cancel(auction=auction, actor=request.user)))


def _bid_answer(bid: Bid, code: int = status.HTTP_200_OK) -> Response:
    bid = Bid.objects.select_related("hold").get(pk=bid.pk)
    return Response(BidSerializer(bid).data, status=code)


@extend_schema_view(
    list=extend_schema(summary="Your own bids", description="Only ever your own bids, whoever you are.",
                       parameters=[BidFilterSerializer], responses={200: BidSerializer(many=True), 400: _400, 401: _401}),
    retrieve=extend_schema(summary="One of your bids", responses={200: BidSerializer, 401: _401, 404: _404}),
)
class BidViewSet(ListFilterMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                 viewsets.GenericViewSet):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [SiteJSONParser]
    serializer_class = BidSerializer
    lookup_value_regex = "[^/.]+"
    list_filter_serializer = BidFilterSerializer
    list_filters = {"auction": "auction_id", "status": "status"}

    def get_queryset(self) -> QuerySet[Bid]:
        return bids_for_user(self.request.user).order_by("-created_at", "-pk")

    def get_object(self) -> Bid:
        found = self.get_queryset().filter(pk=pk_or_404(self.kwargs["pk"], "bid")).first()
        if found is None:
            raise NotFound(f"No bid {echo(self.kwargs['pk'])} of yours.")
        return found

    @extend_schema(
        operation_id="bids_create", summary="Place a sealed bid",
        description=("Desirable auction: the points you offer, held on your account until settlement (at most your "
                     "available points). Reverse auction: the points you ask for taking the slot; nothing is held. "
                     "One active bid per auction; change or withdraw it until the auction closes."),
        parameters=[IDEMPOTENCY_PARAMETER], request=BidCreateSerializer,
        responses={201: BidSerializer, 400: _400, 401: _401, 403: _403, 409: _409},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        def handler() -> Response:
            payload = BidCreateSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            faculty = _me(request)
            auction = auctions_for_user(request.user).filter(pk=payload.validated_data["auction"]).first()
            if auction is None:
                raise DRFValidationError({"auction": [f"No auction {payload.validated_data['auction']}."]})
            bid = services.bid_place(auction=auction, faculty=faculty, amount=payload.validated_data["amount"])
            return _bid_answer(bid, status.HTTP_201_CREATED)

        return _idempotent(request, handler)

    @extend_schema(
        operation_id="bids_change", summary="Raise or lower your bid",
        description="Before the auction closes; the old hold is released and the new one placed in one step.",
        parameters=[IDEMPOTENCY_PARAMETER], request=BidChangeSerializer,
        responses={200: BidSerializer, 400: _400, 401: _401, 403: _403, 404: _404, 409: _409},
    )
    @action(detail=True, methods=["post"])
    def change(self, request: Request, pk: str | None = None) -> Response:
        bid = self.get_object()

        def handler() -> Response:
            payload = BidChangeSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            return _bid_answer(services.bid_change(bid=bid, amount=payload.validated_data["amount"]))

        return _idempotent(request, handler)

    @extend_schema(
        operation_id="bids_withdraw", summary="Withdraw your bid", description="Before the auction closes; its hold is released.",
        parameters=[IDEMPOTENCY_PARAMETER], request=None,
        responses={200: BidSerializer, 400: _400, 401: _401, 403: _403, 404: _404, 409: _409},
    )
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        bid = self.get_object()
        return _idempotent(request, lambda: _bid_answer(services.bid_withdraw(bid=bid)))


class VickreyAuctionView(generics.GenericAPIView):
    """The seed's one-shot Vickrey auction (DESIGN §8)."""

    serializer_class = OneShotSerializer
    permission_classes = [permissions.IsAuthenticated, coordinators_only("Only coordinators can run auctions.")]
    parser_classes = [SiteJSONParser]

    @extend_schema(
        operation_id="vickrey_auction",
        summary="Run and settle a Vickrey auction in one call (coordinators)",
        description=("Auctions a free seat of (shift_week, shift_type) on the given sealed bids (faculty external id "
                     "→ whole points) and settles it at once: the highest bid at or above the reserve wins and pays "
                     "max(second-highest bid, reserve) from its points (is_desirable false: the lowest ask at or "
                     "below the reserve wins and is credited min(second-lowest ask, reserve)). A bid above the "
                     "bidder's available points, an unknown faculty member or week, or a negative bid is a 400 "
                     "naming the field (`bids.F002`), and nothing is stored. The seed's request: `{\"academic_year\": 2027, "
                     "\"shift_week\": \"2027-07-05\", \"shift_type\": \"inpatient\", \"is_desirable\": true, "
                     "\"bids\": {\"F001\": 10, \"F002\": 7}, \"reserve_price\": 0}`."),
        parameters=[IDEMPOTENCY_PARAMETER], request=OneShotSerializer,
        responses={201: OneShotAnswerSerializer, 400: _400, 401: _401, 403: _403, 409: _409},
        examples=[OpenApiExample("An unwanted week", request_only=True, value={
            "academic_year": 2026, "shift_week": "2026-07-20", "shift_type": "inpatient", "is_desirable": False,
            "bids": {"F001": 3}, "reserve_price": 5})],
    )
    def post(self, request: Request) -> Response:
        def handler() -> Response:
            payload = OneShotSerializer(data=request.data)
            payload.is_valid(raise_exception=True)
            data = payload.validated_data
            year = year_from_label(data["academic_year"], field="academic_year")
            result = services.auction_run_once(
                year=year, shift_week=data["shift_week"], shift_type=data["shift_type"],
                is_desirable=data["is_desirable"], bids=data["bids"], reserve_price=data["reserve_price"],
                actor=request.user,
            )
            auction = result.auction
            body = {
                "auction_id": auction.pk, "winner_faculty_id": auction.winner.external_id if auction.winner_id else None,
                "winning_bid": auction.winning_bid, "payment": auction.price or 0, "num_bidders": result.num_bidders,
                "is_strategyproof": True, "winner_points_deducted": result.winner_points_deducted,
                "winner_new_balance": result.winner_new_balance,
            }
            return Response(OneShotAnswerSerializer(body).data, status=status.HTTP_201_CREATED)

        return _idempotent(request, handler)

