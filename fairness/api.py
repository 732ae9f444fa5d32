"""REST edges of Shapley fairness (DESIGN §7, §10): POST /api/v1/game-theory/shapley-allocation, the computation it
starts (GET /api/v1/shapley-computations/{id}/) and the stored values (GET /api/v1/shapley-values/).

Thin: validate, find the year, call fairness.services to start a computation or fairness.reads for the answer. The
operation and the computation are for coordinators; a faculty member reads their own row of the values. The 200
answer is cached under the year's input fingerprint (fairness.reads.allocation_body_cached).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from fairness.inputs import shapley_inputs
from fairness.models import ShapleyComputation
from fairness.reads import allocation_body_cached
from fairness.serializers import (
    ShapleyAcceptedSerializer,
    ShapleyAllocationSerializer,
    ShapleyQuerySerializer,
    ShapleyRequestSerializer,
    ShapleyValuesSerializer,
)
from fairness.services import shapley_parameters_clean, shapley_request
from gtsched_site.api import SiteJSONParser, pk_or_404, query_filters
from gtsched_site.permissions import coordinators_only
from preferences.models import AcademicYear
from preferences.querysets import is_coordinator, own_faculty, year_from_label, year_open_for_preferences
from preferences.serializers import DETAIL_SCHEMA, FIELD_ERRORS_SCHEMA

COORDINATORS_ONLY = ("Only coordinators can compute Shapley values; faculty read their own value at "
                     "GET /api/v1/shapley-values/.")
NO_PROFILE = "Your login is not linked to a faculty member, so there is no fair share to show."
_401 = OpenApiResponse(DETAIL_SCHEMA, description="Not authenticated")
_403 = OpenApiResponse(DETAIL_SCHEMA, description="Not a coordinator")
_404 = OpenApiResponse(DETAIL_SCHEMA, description="No such computation")
_400 = OpenApiResponse({**FIELD_ERRORS_SCHEMA, "example": {"samples": ["Ensure this value is less than or equal "
                                                                      "to 100000."]}},
                       description="A bad academic_year, method, samples or seed, named")
_415 = OpenApiResponse(DETAIL_SCHEMA, description="The body is not JSON")


def computation_body(computation: ShapleyComputation, request: Request) -> dict[str, Any]:
    return {
        "id": computation.pk, "url": reverse("shapley-computation", args=[computation.pk], request=request),
        "academic_year": computation.year.label, "status": computation.status, "progress": computation.progress,
        "progress_message": computation.progress_message, "method": computation.method,
        "samples": computation.samples, "seed": computation.seed, "error": computation.error,
        "created_at": computation.created_at, "finished_at": computation.finished_at,
    }


def _accepted(computation: ShapleyComputation, request: Request) -> Response:
    body = computation_body(computation, request)
    detail = (f"Computation {computation.pk} is {computation.status}; GET computation.url until it answers 200 "
              "with the values.")
    return Response(ShapleyAcceptedSerializer({"detail": detail, "computation": body}).data,
                    status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})


class ShapleyAllocationView(generics.GenericAPIView):
    """Each faculty member's Shapley value of the year's coverage game and their fair share of the workload."""

    serializer_class = ShapleyRequestSerializer
    permission_classes = [permissions.IsAuthenticated, coordinators_only(COORDINATORS_ONLY)]
    parser_classes = [SiteJSONParser]

    @extend_schema(
        operation_id="game_theory_shapley_allocation",
        summary="Shapley values and fair workloads of a year (coordinators)",
        description=(
            "φ_i is faculty member i's average marginal contribution to coverage (the largest number of demanded "
            "slots a coalition can staff, DESIGN §7). expected_workload = φ / v(N) × total demand; actual_workload "
            "counts the year's published schedule, else its newest draft; over- / underloaded means more than 110 % "
            "/ less than 90 % of expected. 200: values computed with these parameters on the year's present inputs "
            "exist, here they are. 202: a computation was started (or one on the same inputs was already running): "
            "GET computation.url (also the Location) until it answers 200 with the same body."
        ),
        request=ShapleyRequestSerializer,
        responses={
            200: ShapleyAllocationSerializer,
            202: OpenApiResponse(ShapleyAcceptedSerializer, description="Started or running: poll computation.url"),
            400: _400, 401: _401, 403: _403, 415: _415,
        },
        examples=[
            OpenApiExample("Automatic", request_only=True, value={"academic_year": 2026}),
            OpenApiExample("Sampled, seeded", request_only=True,
                           value={"academic_year": 2026, "method": "monte_carlo", "samples": 2000, "seed": 7}),
        ],
    )
    def post(self, request: Request) -> Response:
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        year = year_from_label(data["academic_year"], field="academic_year")
        inputs = shapley_inputs(year=year)
        method, samples, seed = shapley_parameters_clean(
            n_faculty=inputs.game.n_faculty, method=data["method"], samples=data.get("samples"),
            seed=data.get("seed"))
        fresh = ShapleyComputation.objects.filter(
            year=year, status=ShapleyComputation.Status.COMPLETED, fingerprint=inputs.fingerprint, method=method,
            samples__in={samples, samples - samples % 2}, seed=seed,
        ).order_by("-finished_at", "-pk").first()
        if fresh is not None:
            body = allocation_body_cached(year=year, inputs=inputs, computation=fresh)
            return Response(ShapleyAllocationSerializer(body).data)
        computation, _ = shapley_request(year=year, method=method, samples=samples or None, seed=seed,
                                         actor=request.user)
        return _accepted(computation, request)


class ShapleyComputationView(generics.GenericAPIView):
    """One computation of a year's Shapley values: its progress while it runs, its values once done."""

    serializer_class = ShapleyAllocationSerializer
    permission_classes = [permissions.IsAuthenticated, coordinators_only(COORDINATORS_ONLY)]

    @extend_schema(
        operation_id="shapley_computation",
        summary="A Shapley computation: progress, then its values (coordinators)",
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="Computation id")],
        description=(
            "202 with the progress while pending or running; 200 with the shapley-allocation body once completed "
            "(`stale` is true when the year's inputs changed since); 422 when it failed (read error)."
        ),
        responses={
            200: ShapleyAllocationSerializer,
            202: OpenApiResponse(ShapleyAcceptedSerializer, description="Pending or running"),
            401: _401, 403: _403, 404: _404,
            422: OpenApiResponse(ShapleyAcceptedSerializer, description="The computation failed"),
        },
    )
    def get(self, request: Request, pk: str) -> Response:
        computation = ShapleyComputation.objects.select_related("year").filter(
            pk=pk_or_404(pk, "Shapley computation")).first()
        if computation is None:
            raise NotFound(f"No Shapley computation {pk}.")
        if computation.is_active:
            return _accepted(computation, request)
        if computation.status == ShapleyComputation.Status.FAILED:
            body = {"detail": f"Computation {computation.pk} failed: {computation.error}",
                    "computation": computation_body(computation, request)}
            return Response(ShapleyAcceptedSerializer(body).data, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        body = allocation_body_cached(year=computation.year, inputs=shapley_inputs(year=computation.year),
                                      computation=computation)
        return Response(ShapleyAllocationSerializer(body).data)


def _year(label: Any) -> AcademicYear:
    if label is not None:
        return year_from_label(label, field="academic_year")
    year = year_open_for_preferences()
    if year is None:
        raise NotFound("No academic year has been set up yet.")
    return year


def _for_faculty(row: dict[str, Any], *, published: bool) -> dict[str, Any]:
    """A faculty member's own row: without the comparison with a draft schedule, which faculty do not see."""
    if published:
        return row
    return {**row, "actual_workload": None, "fairness_deviation": None, "is_overloaded": None,
            "is_underloaded": None}


class ShapleyValuesView(generics.GenericAPIView):
    """The stored Shapley values of a year: coordinators every row, a faculty member their own."""

    serializer_class = ShapleyValuesSerializer
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="shapley_values",
        summary="Stored Shapley values of a year (faculty: their own row)",
        description=(
            "The year's current values, else its newest completed ones with `stale` true. Nothing is computed "
            "here (coordinators compute with POST /api/v1/game-theory/shapley-allocation). A faculty member's "
            "actual workload, deviation and flags are null while the year has no published schedule."
        ),
        parameters=[ShapleyQuerySerializer],
        responses={
            200: ShapleyValuesSerializer, 400: _400, 401: _401,
            403: OpenApiResponse(DETAIL_SCHEMA, description="A login without a faculty profile"),
            404: OpenApiResponse(DETAIL_SCHEMA, description="No year yet, or no values computed for it yet"),
        },
    )
    def get(self, request: Request) -> Response:
        query = query_filters(ShapleyQuerySerializer, request)
        year = _year(query.get("academic_year"))
        faculty = None
        if not is_coordinator(request.user):
            faculty = own_faculty(request.user)
            if faculty is None:
                raise PermissionDenied(NO_PROFILE)
        body = allocation_body_cached(year=year, inputs=shapley_inputs(year=year))
        if body is None:
            raise NotFound(f"No Shapley values for {year.label} yet; a coordinator computes them.")
        rows = body["shapley_values"]
        if faculty is not None:
            published = (body["compared_schedule"] or {}).get("status") == "published"
            rows = [_for_faculty(row, published=published) for row in rows if row["faculty_id"] == faculty.pk]
        answer = {key: body[key] for key in ("academic_year", "computation_id", "stale", "computed_at",
                                             "calculation_method")}
        return Response(ShapleyValuesSerializer({**answer, "shapley_values": rows}).data)
