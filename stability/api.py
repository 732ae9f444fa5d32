"""REST edges of the stability app (DESIGN §9, §10): a schedule's report, the publish gate, analytics, the
game-theory operations and the stored reports.

Thin: parse, authorise, call the stability services (the same services the coordinator pages, the admin action and
`manage.py stability` call), serialize. Who may do what:

- Publishing, /game-theory/nash-stable-schedule, /game-theory/price-of-anarchy/{year}, /schedules/{id}/analytics
  and the stability-reports resource are for coordinators; faculty get 403.
- GET /schedules/{id}/stability: coordinators for every schedule; a faculty member for a *published* schedule of
  their years only (a draft answers 403), and then with only their own instabilities — colleagues' names, ids and
  gains are null. A schedule they cannot see at all is 404.
"""

from __future__ import annotations

from typing import Any

from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, permissions, status, viewsets
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from allocation.models import Schedule
from allocation.querysets import current_schedule_for, schedules_for_user
from gtsched_site.api import ListFilterMixin, SiteJSONParser, pk_or_404, query_filters
from gtsched_site.permissions import coordinators_only
from preferences.models import AcademicYear
from preferences.querysets import is_coordinator, own_faculty
from preferences.serializers import DETAIL_SCHEMA, FIELD_ERRORS_SCHEMA
from stability.algorithms.types import ACCEPTABLE_POA
from stability.gate import PublishRefused, schedule_publish
from stability.models import NashStabilityReport
from stability.parameters import report_parameters
from stability.price_requests import price_of_anarchy_request
from stability.reports import stability_report_for
from stability.serializers import (
    AnalyticsSerializer,
    NashStableScheduleSerializer,
    PriceOfAnarchyPendingSerializer,
    PriceOfAnarchyQuerySerializer,
    PriceOfAnarchySerializer,
    PublicationSerializer,
    PublishSerializer,
    ReportFilterSerializer,
    StabilityReportSerializer,
)
from stability.summaries import schedule_analytics

COORDINATORS_ONLY = "Only coordinators can publish schedules or read stability analyses."
DRAFT_FOR_FACULTY = "Faculty can read the stability report of a published schedule only; this one is a draft."

ERRORS_SCHEMA = {**FIELD_ERRORS_SCHEMA, "example": {"reason": ["Publishing over a CRITICAL report needs a written reason."]}}
_400 = OpenApiResponse(ERRORS_SCHEMA, description="Refused: messages by field")
_401 = OpenApiResponse(DETAIL_SCHEMA, description="Not authenticated")
_403 = OpenApiResponse(DETAIL_SCHEMA, description="Not a coordinator")
_404 = OpenApiResponse(DETAIL_SCHEMA, description="No such schedule, or not visible to you")
SCHEDULE_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Schedule id")


_CoordinatorPermission = coordinators_only(COORDINATORS_ONLY)


class _CoordinatorView(generics.GenericAPIView):
    # For coordinators only (faculty get 403). No docstring: a view's docstring is its schema description.
    permission_classes = [permissions.IsAuthenticated, _CoordinatorPermission]


def access_schedule(request: Request, pk: Any) -> Schedule:
    """The schedule if the caller may see it (coordinators: any; faculty: those of their years), else 404."""
    schedule = schedules_for_user(request.user).filter(pk=pk_or_404(pk, "schedule")).first()
    if schedule is None:
        raise NotFound(f"No schedule {pk}, or it is not visible to you.")
    return schedule


def _context(request: Request) -> dict[str, Any]:
    faculty = own_faculty(request.user)
    return {"request": request, "is_coordinator": is_coordinator(request.user),
            "faculty_id": faculty.pk if faculty else None}


def _year(label: Any) -> AcademicYear:
    text = str(label)
    if not text.isdigit():
        raise NotFound(f"{text!r} is not an academic year label; give it as a number, e.g. 2026.")
    year = AcademicYear.objects.filter(label=int(text)).first()
    if year is None:
        raise NotFound(f"No academic year {text}.")
    return year


class ScheduleStabilityView(generics.GenericAPIView):
    """The swap-stability report of one schedule (the newest fresh one, computed when there is none)."""

    serializer_class = StabilityReportSerializer
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="schedules_stability",
        parameters=[SCHEDULE_ID],
        summary="Stability report of a schedule",
        description=(
            "Reuses the newest report while the schedule and the utilities are unchanged and the report is young "
            "enough; otherwise computes one. Coordinators read every schedule's full report. Faculty read a "
            "published schedule of their years, with only their own instabilities (scope = own)."
        ),
        responses={
            200: StabilityReportSerializer, 401: _401,
            403: OpenApiResponse(DETAIL_SCHEMA, description="A faculty member asking about a draft"), 404: _404,
        },
    )
    def get(self, request: Request, pk: str) -> Response:
        schedule = access_schedule(request, pk)
        if not is_coordinator(request.user) and schedule.status != Schedule.Status.PUBLISHED:
            raise PermissionDenied(DRAFT_FOR_FACULTY)
        report = stability_report_for(schedule=schedule, actor=request.user)
        return Response(StabilityReportSerializer(report, context=_context(request)).data)


class SchedulePublishView(_CoordinatorView):
    """Publish a draft schedule through the stability gate (coordinators)."""

    serializer_class = PublishSerializer
    parser_classes = [SiteJSONParser]

    @extend_schema(
        operation_id="schedules_publish",
        parameters=[SCHEDULE_ID],
        summary="Publish a draft through the stability gate (coordinators)",
        description=(
            "Runs or reuses a fresh stability report and the coverage check. CRITICAL, empty seats "
            "(uncovered_seats), and assignments in a blocked week (blocked_assignments) or an unqualified rotation "
            "(ineligible_assignments) are refused with 409, each finding listed in words under its key, unless "
            "force is true; force without a written reason is refused with 400. UNSTABLE and MARGINAL, and "
            "faculty above their target load (over_target), publish with a warning; the findings are kept in "
            "`coverage`. The year's previously published schedule is archived. A refusal changes nothing."
        ),
        request=PublishSerializer,
        responses={
            200: PublicationSerializer,
            400: OpenApiResponse(ERRORS_SCHEMA, description="Bad request, e.g. reason missing with force"),
            401: _401, 403: _403, 404: _404,
            409: OpenApiResponse(ERRORS_SCHEMA, description="Refused by the gate: force (CRITICAL or coverage, with the findings) or status (not a draft)"),
        },
        examples=[OpenApiExample("Override", request_only=True, value={
            "force": True, "reason": "Programme director approved: swaps will be handled in the first week.",
        })],
    )
    def post(self, request: Request, pk: str) -> Response:
        schedule = access_schedule(request, pk)
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            result = schedule_publish(
                schedule=schedule, actor=request.user, force=payload.validated_data["force"],
                reason=payload.validated_data["reason"], channel="api",
            )
        except PublishRefused as exc:
            code = status.HTTP_409_CONFLICT if exc.conflict else status.HTTP_400_BAD_REQUEST
            return Response(exc.message_dict, status=code)
        context = {**_context(request), "archived": [s.pk for s in result.archived]}
        return Response(PublicationSerializer(result.record, context=context).data)


class ScheduleAnalyticsView(_CoordinatorView):
    """Stability, regret and fairness of one schedule (coordinators)."""

    serializer_class = AnalyticsSerializer

    @extend_schema(
        operation_id="schedules_analytics",
        parameters=[SCHEDULE_ID],
        summary="Stability, regret and fairness of a schedule (coordinators)",
        description="fairness is null until Shapley values are computed; fairness_status says why.",
        responses={200: AnalyticsSerializer, 401: _401, 403: _403, 404: _404},
    )
    def get(self, request: Request, pk: str) -> Response:
        schedule = access_schedule(request, pk)
        return Response(AnalyticsSerializer(schedule_analytics(schedule=schedule, actor=request.user)).data)


class NashStableScheduleView(_CoordinatorView):
    """The stability report of a schedule, named by id or by academic year (coordinators)."""

    serializer_class = NashStableScheduleSerializer
    parser_classes = [SiteJSONParser]

    @extend_schema(
        operation_id="game_theory_nash_stable_schedule",
        summary="Swap-stability (Nash) report of a schedule (coordinators)",
        description=(
            "Give `schedule` (an id) or `academic_year` (a label: its published schedule, else its newest draft). "
            "Answers with the newest fresh report, computing one when needed (or when refresh is true)."
        ),
        request=NashStableScheduleSerializer,
        responses={200: StabilityReportSerializer, 400: _400, 401: _401, 403: _403, 404: _404},
        examples=[OpenApiExample("By year", request_only=True, value={"academic_year": 2026})],
    )
    def post(self, request: Request) -> Response:
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if "schedule" in data:
            schedule = access_schedule(request, data["schedule"])
        else:
            year = AcademicYear.objects.filter(label=data["academic_year"]).first()
            if year is None:
                return Response({"academic_year": [f"Unknown academic year {data['academic_year']}."]},
                                status=status.HTTP_400_BAD_REQUEST)
            schedule = current_schedule_for(request.user, year=year)
            if schedule is None:
                return Response({"academic_year": [f"Academic year {year.label} has no published or draft schedule yet."]},
                                status=status.HTTP_400_BAD_REQUEST)
        report = stability_report_for(
            schedule=schedule, actor=request.user, refresh=data["refresh"], restarts=data.get("restarts"),
        )
        return Response(StabilityReportSerializer(report, context=_context(request)).data)


class PriceOfAnarchyView(_CoordinatorView):
    """Price of anarchy and stability of a year's schedule (coordinators)."""

    serializer_class = PriceOfAnarchySerializer

    @extend_schema(
        operation_id="game_theory_price_of_anarchy",
        summary="Price of anarchy / stability of a year's schedule (coordinators)",
        description=(
            "Blocking-swap dynamics from K random feasible schedules: PoA = optimal / worst stable welfare found, "
            f"PoS = optimal / best; acceptable when PoA < {ACCEPTABLE_POA}. Uses the year's published schedule, "
            "else its newest draft. The estimate is stored per set of preferences, eligibility, capacities and "
            "demands and reused (swaps keep it); without one, a large schedule's dynamics run in the background "
            "and the answer is 202 until they finish."
        ),
        parameters=[PriceOfAnarchyQuerySerializer,
                    OpenApiParameter("academic_year", int, OpenApiParameter.PATH, description="Year label, e.g. 2026")],
        responses={200: PriceOfAnarchySerializer, 202: PriceOfAnarchyPendingSerializer, 400: _400, 401: _401,
                   403: _403, 404: OpenApiResponse(DETAIL_SCHEMA, description="No such year, or it has no schedule")},
    )
    def get(self, request: Request, academic_year: str) -> Response:
        query = query_filters(PriceOfAnarchyQuerySerializer, request)
        year = _year(academic_year)
        schedule = current_schedule_for(request.user, year=year)
        if schedule is None:
            raise NotFound(f"Academic year {year.label} has no published or draft schedule yet.")
        # Always with the dynamics: a large schedule's ordinary report skips them (restarts None), this one may not.
        restarts = query.get("restarts") or report_parameters()["restarts"]
        report = price_of_anarchy_request(schedule=schedule, actor=request.user, restarts=restarts)
        if report is None:
            return Response(
                {"status": "pending", "academic_year": year.label, "schedule": schedule.pk, "restarts": restarts,
                 "detail": f"Blocking-swap dynamics from {restarts} random schedules are running in the background; "
                           "ask again with the same URL in a minute.",
                 "poll": request.build_absolute_uri()},
                status=status.HTTP_202_ACCEPTED,
            )
        detail = report.payload.get("price_of_anarchy_detail") or {}
        body = {
            "academic_year": year.label, "schedule": schedule.pk, "schedule_status": schedule.status,
            "report": report.pk, "restarts": report.restarts or 0,
            "current_welfare": report.current_welfare, "optimal_welfare": report.optimal_welfare,
            "efficiency_ratio": report.efficiency_ratio, "price_of_anarchy": report.price_of_anarchy,
            "price_of_stability": report.price_of_stability,
            "is_acceptable": report.is_acceptable,
            "converged": detail.get("converged"),
            "estimated_at": parse_datetime(detail.get("estimated_at") or ""),
        }
        return Response(PriceOfAnarchySerializer(body).data)


@extend_schema_view(
    list=extend_schema(
        summary="Stored stability reports, newest first (coordinators)",
        parameters=[ReportFilterSerializer],
        responses={200: StabilityReportSerializer(many=True), 400: _400, 401: _401, 403: _403},
    ),
    retrieve=extend_schema(
        summary="One stored stability report (coordinators)",
        responses={200: StabilityReportSerializer, 401: _401, 403: _403,
                   404: OpenApiResponse(DETAIL_SCHEMA, description="No such report")},
    ),
)
class StabilityReportViewSet(ListFilterMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Every stability report ever computed, for audit: the gate's record points at one of them."""

    serializer_class = StabilityReportSerializer
    permission_classes = [permissions.IsAuthenticated, _CoordinatorPermission]
    queryset = NashStabilityReport.objects.select_related("schedule__year").order_by("-created_at", "-pk")

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "is_coordinator": True}

    list_filter_serializer = ReportFilterSerializer
    list_filters = {"schedule": "schedule_id", "year": "schedule__year__label", "stability_level": "stability_level"}
