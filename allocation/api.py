"""REST edges of the allocation app: runs, schedules, assignments and the game-theory operations (DESIGN §10).

Thin: parse the payload's shape, find the year, call allocation.services (the same services the coordinator
pages and `manage.py allocate` call), serialize. Who sees what:

- Runs, and starting or cancelling them, are for coordinators (staff) only; faculty get 403.
- Schedules: coordinators see all; faculty see the schedules of their years (a year whose roster names them,
  a roster-less year while they are active, or any schedule they serve in).
- Assignments: coordinators see all; faculty see their own, and every assignment of a *published* schedule of
  their years (a published roster is public inside the programme). In a draft they see only their own rows.
  On a colleague's row, rank, utility and mechanism data are null: they reveal that colleague's preferences.
- "Why did I get this?" is answered for the assignee and coordinators only.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from allocation.models import AllocationRun, Assignment, Schedule
from allocation.querysets import assignments_for_user, schedules_for_user
from allocation.serializers import (
    AssignmentFilterSerializer,
    AssignmentSerializer,
    ExplanationSerializer,
    GameTheoryRunSerializer,
    RsdAllocationSerializer,
    RunAcceptedSerializer,
    RunFilterSerializer,
    RunSerializer,
    RunStartSerializer,
    RunUnfinishedSerializer,
    ScheduleFilterSerializer,
    ScheduleSerializer,
    VcgAuctionSerializer,
    run_schedule,
)
from allocation.services import allocation_run_cancel, allocation_run_start, assignment_explain
from allocation.services.spreadsheets import XLSX, attachment, export_filename, schedule_csv, schedule_xlsx
from gtsched_site.api import ListFilterMixin, SiteJSONParser
from gtsched_site.permissions import coordinators_only
from preferences.models import AcademicYear
from preferences.querysets import is_coordinator, own_faculty
from preferences.serializers import DETAIL_SCHEMA, FIELD_ERRORS_SCHEMA

COORDINATORS_ONLY = "Only coordinators can start, cancel or read allocation runs."
POLL_INTERVAL_SECONDS = 0.2
_pause = time.sleep  # the wait between polls of a queued run; tests replace it


def inline_wait_seconds() -> float:
    """How long an operation endpoint waits for a queued (or background-thread) run before answering 202."""
    return float(getattr(settings, "GTSCHED_API_INLINE_WAIT_SECONDS", 5.0))


# --- who sees what -------------------------------------------------------------------------------

IsCoordinator = coordinators_only(COORDINATORS_ONLY)


class ViewerContextMixin:
    """Puts the caller's faculty id and role in the serializer context (private fields, the `mine` count)."""

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not hasattr(self, "_viewer_faculty"):
            self._viewer_faculty = own_faculty(self.request.user)
        context["faculty_id"] = self._viewer_faculty.pk if self._viewer_faculty else None
        context["is_coordinator"] = is_coordinator(self.request.user)
        return context


def _year(label: int) -> AcademicYear:
    year = AcademicYear.objects.filter(label=label).first()
    if year is None:
        raise ValidationError(
            {"academic_year": [f"Unknown academic year {label}; give the label of an existing year, e.g. 2026."]}
        )
    return year


def _start(request: Request, *, mechanism: str, data: dict[str, Any]) -> tuple[AllocationRun, bool]:
    return allocation_run_start(
        year=_year(data["academic_year"]), mechanism=mechanism, options=data.get("options") or {},
        seed=data.get("seed"), actor=request.user,
    )


def _settle(run: AllocationRun, *, wait: bool) -> AllocationRun:
    """Give a queued run a few seconds to finish so quick runs answer inline; a run already finished needs no wait."""
    deadline = time.monotonic() + (inline_wait_seconds() if wait else 0.0)
    while run.is_active and time.monotonic() < deadline:
        _pause(POLL_INTERVAL_SECONDS)
        run.refresh_from_db()
    return run


def _run_url(run: AllocationRun, request: Request) -> str:
    return reverse("run-detail", args=[run.pk], request=request)


# --- shared schema pieces --------------------------------------------------------------------------

# Field-level error body, with an example from this app.
ERRORS_SCHEMA = {
    **FIELD_ERRORS_SCHEMA,
    "example": {"options.cost": ["Option 'cost' must be one of 'squared', 'linear', got 'cubic'."]},
}
_401 = OpenApiResponse(DETAIL_SCHEMA, description="Not authenticated")
_403_RUNS = OpenApiResponse(DETAIL_SCHEMA, description="Not a coordinator: only coordinators run mechanisms")
_404 = OpenApiResponse(DETAIL_SCHEMA, description="No such object, or not visible to you")
_400_START = OpenApiResponse(
    ERRORS_SCHEMA,
    description=(
        "Refused, no run stored: messages by field, e.g. academic_year (unknown year), mechanism, seed, "
        "options.<name> (unknown option or bad value)"
    ),
)


# --- runs --------------------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(
        summary="Allocation runs, newest first (coordinators)",
        parameters=[RunFilterSerializer],
        responses={200: RunSerializer(many=True), 400: OpenApiResponse(ERRORS_SCHEMA), 401: _401, 403: _403_RUNS},
    ),
    retrieve=extend_schema(
        summary="One run: poll it until is_active is false (coordinators)",
        responses={200: RunSerializer, 401: _401, 403: _403_RUNS, 404: _404},
    ),
)
class RunViewSet(ListFilterMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Allocation runs. Coordinators only: faculty and other users get 403 (runs hold everyone's lottery
    positions and payments; faculty read their outcome through /assignments/)."""

    permission_classes = [permissions.IsAuthenticated, IsCoordinator]
    queryset = AllocationRun.objects.select_related("year", "created_by", "schedule").order_by("-created_at", "-pk")
    parser_classes = [SiteJSONParser]

    def get_serializer_class(self) -> type:
        return RunStartSerializer if self.action == "create" else RunSerializer

    list_filter_serializer = RunFilterSerializer
    list_filters = {"year": "year__label", "mechanism": "mechanism", "status": "status"}

    @extend_schema(
        operation_id="runs_start",
        summary="Start a mechanism on a year (coordinators)",
        description=(
            "Runs the named mechanism on the year's current preferences. An identical request while a run on the "
            "same inputs is pending or running returns that run instead of starting a second one. "
            "202: queued or running, poll the Location; 201: finished within the request (eager execution), "
            "completed or failed — read status and error; 200: an identical request's run, already finished."
        ),
        request=RunStartSerializer,
        responses={
            201: RunSerializer, 200: RunSerializer,
            202: OpenApiResponse(RunSerializer, description="Queued or running: poll the Location"),
            400: _400_START, 401: _401, 403: _403_RUNS,
        },
        examples=[OpenApiExample("Least regret", request_only=True, value={
            "academic_year": 2026, "mechanism": "least_regret", "options": {"cost": "linear"}, "seed": 7,
        })],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run, created = _start(request, mechanism=payload.validated_data["mechanism"], data=payload.validated_data)
        run.refresh_from_db()
        code = status.HTTP_202_ACCEPTED if run.is_active else status.HTTP_201_CREATED if created else status.HTTP_200_OK
        body = RunSerializer(run, context=self.get_serializer_context()).data
        return Response(body, status=code, headers={"Location": _run_url(run, request)})

    @extend_schema(
        operation_id="runs_cancel",
        summary="Cancel a pending or running run (coordinators)",
        request=None,
        responses={
            200: RunSerializer,
            400: OpenApiResponse(ERRORS_SCHEMA, description="The run has already finished"),
            401: _401, 403: _403_RUNS, 404: _404,
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        run = allocation_run_cancel(run=self.get_object(), actor=request.user)
        run.refresh_from_db()
        return Response(RunSerializer(run, context=self.get_serializer_context()).data)


# --- the game-theory operations ------------------------------------------------------------------------

class _MechanismOperationView(generics.GenericAPIView):
    """Start one mechanism and answer with its result when the run finishes within the request, else 202."""

    mechanism: str
    serializer_class = GameTheoryRunSerializer
    permission_classes = [permissions.IsAuthenticated, IsCoordinator]
    parser_classes = [SiteJSONParser]

    def post(self, request: Request) -> Response:
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        run, created = _start(request, mechanism=self.mechanism, data=payload.validated_data)
        run.refresh_from_db()
        run = _settle(run, wait=payload.validated_data["wait"])
        context = self.get_serializer_context()
        headers = {"Location": _run_url(run, request)}
        if run.is_active:
            body = {"detail": f"Run {run.pk} is {run.status}; poll run.url until is_active is false.", "run": run}
            accepted = RunAcceptedSerializer(body, context=context).data
            return Response(accepted, status.HTTP_202_ACCEPTED, headers=headers)
        if run.status != AllocationRun.Status.COMPLETED or run_schedule(run) is None:
            reason = run.error or f"the run was {run.status}"
            body = {"detail": f"Run {run.pk} ended without a schedule: {reason}", "run": run}
            unfinished = RunUnfinishedSerializer(body, context=context).data
            return Response(unfinished, status.HTTP_422_UNPROCESSABLE_ENTITY, headers=headers)
        body = self.result(run)
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(self.result_serializer(body, context=context).data, code, headers=headers)

    result_serializer: type

    def result(self, run: AllocationRun) -> dict[str, Any]:
        raise NotImplementedError

    @staticmethod
    def assignments(run: AllocationRun) -> list[Assignment]:
        return list(
            run_schedule(run).assignments.select_related("faculty", "week", "rotation")
            .order_by("week__index", "rotation__name", "faculty__external_id")
        )

    @staticmethod
    def row(assignment: Assignment) -> dict[str, Any]:
        return {
            "faculty": assignment.faculty.external_id, "week": assignment.week.start_date,
            "rotation": assignment.rotation.name, "rank": assignment.rank, "utility": assignment.utility,
        }


def _operation_responses(result: type) -> dict[int, Any]:
    return {
        201: OpenApiResponse(result, description="The run finished within the request: its result"),
        200: OpenApiResponse(result, description="An identical request's run, finished: its result"),
        202: OpenApiResponse(RunAcceptedSerializer, description="Queued or running: poll run.url (also the Location)"),
        400: _400_START, 401: _401, 403: _403_RUNS,
        422: OpenApiResponse(RunUnfinishedSerializer, description="The run failed or was cancelled: no schedule"),
    }


class RsdAllocationView(_MechanismOperationView):
    """Random serial dictatorship on a year (coordinators; faculty get 403)."""

    mechanism = "rsd"
    result_serializer = RsdAllocationSerializer

    @extend_schema(
        operation_id="game_theory_rsd_allocation",
        summary="Run random serial dictatorship (RSD) on a year",
        description=(
            "Draws a uniformly random order from the seed and lets each faculty member in turn take their most "
            "preferred weeks still free. Strategyproof and ex-post Pareto efficient. The result is stored as a "
            "draft schedule; allocation rows are that schedule's assignments."
        ),
        request=GameTheoryRunSerializer,
        responses=_operation_responses(RsdAllocationSerializer),
        examples=[OpenApiExample("Seeded draw", request_only=True, value={"academic_year": 2026, "seed": 42})],
    )
    def post(self, request: Request) -> Response:
        return super().post(request)

    def result(self, run: AllocationRun) -> dict[str, Any]:
        rows = [
            {**self.row(a), "lottery_position": (a.mechanism_data or {}).get("lottery_position")}
            for a in self.assignments(run)
        ]
        return {
            "run": run, "allocation": rows, "lottery_order": list((run.details or {}).get("lottery_order", [])),
            "is_strategyproof": True, "is_ex_post_efficient": True, "stats": run.stats or {},
        }


class VcgAuctionView(_MechanismOperationView):
    """VCG (welfare-maximising assignment with Clarke payments) on a year (coordinators; faculty get 403)."""

    mechanism = "vcg"
    result_serializer = VcgAuctionSerializer

    @extend_schema(
        operation_id="game_theory_vcg_auction",
        summary="Run the VCG mechanism on a year",
        description=(
            "Chooses the assignment that maximises reported welfare on the 0–100 value scale and charges each "
            "faculty member their Clarke payment (others' best welfare without them − others' welfare with them, "
            "≥ 0). The result is stored as a draft schedule."
        ),
        request=GameTheoryRunSerializer,
        responses=_operation_responses(VcgAuctionSerializer),
        examples=[OpenApiExample("VCG", request_only=True, value={"academic_year": 2026})],
    )
    def post(self, request: Request) -> Response:
        return super().post(request)

    def result(self, run: AllocationRun) -> dict[str, Any]:
        rows = [self.row(a) for a in self.assignments(run)]
        payments = list((run.details or {}).get("payments", []))
        return {
            "run": run, "allocation": rows, "payments": payments,
            "total_social_welfare": sum(float(p["reported_value"]) for p in payments),
            "is_strategyproof": True, "stats": run.stats or {},
        }


# --- schedules and assignments -------------------------------------------------------------------------

DRAFT_EXPORT = "Only coordinators export a draft schedule; faculty export the published one."
_403_EXPORT = OpenApiResponse(DETAIL_SCHEMA, description="A faculty member asking for a draft")

@extend_schema_view(
    list=extend_schema(
        summary="Schedules you may see",
        parameters=[ScheduleFilterSerializer],
        responses={200: ScheduleSerializer(many=True), 400: OpenApiResponse(ERRORS_SCHEMA), 401: _401},
    ),
    retrieve=extend_schema(
        summary="One schedule with its counts", responses={200: ScheduleSerializer, 401: _401, 404: _404}
    ),
)
class ScheduleViewSet(ListFilterMixin, ViewerContextMixin, viewsets.ReadOnlyModelViewSet):
    """Schedules. Coordinators see every schedule; faculty see the schedules of their years — drafts included,
    but through /assignments/ only their own rows of a draft; the whole schedule once it is published."""


    def get_queryset(self) -> QuerySet[Schedule]:
        return schedules_for_user(self.request.user).order_by("-created_at", "-pk")

    serializer_class = ScheduleSerializer

    list_filter_serializer = ScheduleFilterSerializer
    list_filters = {"year": "year__label", "status": "status"}

    def _exportable(self) -> Schedule:
        schedule = self.get_object()
        if schedule.status != Schedule.Status.PUBLISHED and not is_coordinator(self.request.user):
            raise PermissionDenied(DRAFT_EXPORT)
        return schedule

    @extend_schema(summary="The schedule as CSV, one row per assignment (faculty: published schedules)",
                   responses={(200, "text/csv"): OpenApiTypes.STR, 401: _401, 403: _403_EXPORT, 404: _404})
    @action(detail=True, methods=["get"], url_path="csv")
    def csv(self, request: Request, pk: str | None = None) -> HttpResponse:
        schedule = self._exportable()
        return attachment(schedule_csv(schedule=schedule), "text/csv; charset=utf-8", export_filename(schedule, "csv"))

    @extend_schema(summary="The schedule as an XLSX workbook, a sheet per rotation (faculty: published schedules)",
                   responses={(200, XLSX): OpenApiTypes.BINARY, 401: _401, 403: _403_EXPORT, 404: _404})
    @action(detail=True, methods=["get"], url_path="xlsx")
    def xlsx(self, request: Request, pk: str | None = None) -> HttpResponse:
        schedule = self._exportable()
        return attachment(schedule_xlsx(schedule=schedule), XLSX, export_filename(schedule, "xlsx"))


@extend_schema_view(
    list=extend_schema(
        summary="Assignments you may see",
        parameters=[AssignmentFilterSerializer],
        responses={200: AssignmentSerializer(many=True), 400: OpenApiResponse(ERRORS_SCHEMA), 401: _401},
    ),
    retrieve=extend_schema(summary="One assignment", responses={200: AssignmentSerializer, 401: _401, 404: _404}),
)
class AssignmentViewSet(ListFilterMixin, ViewerContextMixin, viewsets.ReadOnlyModelViewSet):
    """Assignments. Coordinators see all; faculty see their own in any schedule, and every assignment of a
    published schedule of their years (colleagues' rank, utility and mechanism data stay null). In a draft
    schedule a faculty member sees only their own rows."""

    serializer_class = AssignmentSerializer

    def get_queryset(self) -> QuerySet[Assignment]:
        return assignments_for_user(self.request.user).order_by(
            "schedule_id", "week__index", "rotation__name", "faculty__external_id"
        )

    list_filter_serializer = AssignmentFilterSerializer
    list_filters = {"schedule": "schedule_id", "faculty": "faculty__external_id",
                    "week": lambda queryset, lookup: queryset.filter(**lookup)}  # by id or by start date

    @extend_schema(
        operation_id="assignments_why",
        summary="Why did I get this? (the assignee and coordinators)",
        description=(
            "RSD: the lottery position and which higher-ranked weeks were already taken, and by whose earlier pick. "
            "Optimising mechanisms: the trade-off — what a better week would have displaced, and the cost."
        ),
        responses={
            200: ExplanationSerializer, 401: _401,
            403: OpenApiResponse(DETAIL_SCHEMA, description="A colleague's assignment: only they and coordinators ask"),
            404: _404,
        },
    )
    @action(detail=True, methods=["get"])
    def why(self, request: Request, pk: str | None = None) -> Response:
        assignment = self.get_object()
        context = self.get_serializer_context()
        if not (context["is_coordinator"] or assignment.faculty_id == context["faculty_id"]):
            raise PermissionDenied("You can only ask why for your own assignments.")
        explanation = assignment_explain(assignment=assignment)
        return Response(ExplanationSerializer({"assignment": assignment.pk, **explanation}).data)
