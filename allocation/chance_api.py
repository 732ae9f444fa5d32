"""REST edges of the chances (DESIGN §6, §10): GET /api/v1/probabilities/ and POST /api/v1/probabilities/recompute.

Thin: validate the query, find the year, read the stored matrix (allocation.chance_reads), serialize. Who sees what:
coordinators every faculty member's row, a faculty member their own row only; asking for a recomputation is for
coordinators. Nothing is computed in a GET, except that without a worker or timer (the test settings) a recomputation
already due runs, as it does for the pages.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, permissions, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from allocation.chance_reads import YearChances, chances_read, matrix_weeks
from allocation.chance_serializers import (
    ChanceQuerySerializer,
    ChancesSerializer,
    RecomputeAcceptedSerializer,
    RecomputeRequestSerializer,
)
from allocation.models import ChanceMatrix, ChanceRecomputation
from allocation.services.chances import chances_catch_up, chances_request
from gtsched_site.api import SiteJSONParser, query_filters
from gtsched_site.permissions import coordinators_only
from preferences.models import AcademicYear, Faculty
from preferences.querysets import is_coordinator, own_faculty, year_from_label, year_open_for_preferences
from preferences.serializers import DETAIL_SCHEMA, FIELD_ERRORS_SCHEMA

COORDINATORS_ONLY = "Only coordinators can ask for the chances to be recomputed."
NO_PROFILE = "Your login is not linked to a faculty member, so there are no chances to show."
_401 = OpenApiResponse(DETAIL_SCHEMA, description="Not authenticated")
_400 = OpenApiResponse({**FIELD_ERRORS_SCHEMA, "example": {"mechanism": ['"lottery" is not a valid choice.']}},
                       description="A bad academic_year or mechanism, named")


def _year(label: Any) -> AcademicYear:
    """The year named by label (a 400 on academic_year when there is none), else the one open for preferences."""
    if label is not None:
        return year_from_label(label, field="academic_year")
    year = year_open_for_preferences()
    if year is None:
        raise NotFound("No academic year has been set up yet.")
    return year


def _rows(matrix: ChanceMatrix, faculty_ids: list[int] | None) -> list[dict[str, Any]]:
    """The matrix's rows as the API gives them: every row, or those of `faculty_ids`, in the matrix's order."""
    wanted = [i for i, pk in enumerate(matrix.faculty_ids) if faculty_ids is None or pk in faculty_ids]
    people = Faculty.objects.in_bulk([matrix.faculty_ids[i] for i in wanted])
    starts = [w.start_date for w in matrix_weeks(matrix)]
    rows = []
    for i in wanted:
        person, summary = people.get(matrix.faculty_ids[i]), matrix.summary[i]
        rows.append({
            "faculty": person.external_id if person else "", "faculty_id": matrix.faculty_ids[i],
            "name": person.display_name if person else "",
            "top1": summary.get("top1", 0.0), "top3": summary.get("top3", 0.0),
            "expected_rank": summary.get("expected_rank"),
            "weeks": [{"week": start, "probability": p, "stderr": se}
                      for start, p, se in zip(starts, matrix.probabilities[i], matrix.stderr[i], strict=True)],
        })
    return rows


def _recomputation(chances: YearChances) -> dict[str, Any]:
    record = chances.recomputation
    return {"state": chances.state, "due_at": record.due_at if record and chances.updating else None}


class ProbabilitiesView(generics.GenericAPIView):
    """Each faculty member's chance of each week of a year under a lottery mechanism, before anything is drawn."""

    serializer_class = ChancesSerializer
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        operation_id="probabilities",
        summary="Chances of each week before the draw (faculty: their own row)",
        description=(
            "The stored probabilities of the year's lottery mechanism: rsd (Monte Carlo, with standard errors), "
            "probabilistic_serial (exact) or rsd_trading (RSD lotteries, then probability trading). They are "
            "recomputed, debounced, after preferences change: while `recomputation.state` is pending or running, "
            "or `stale` is true, the numbers are from before the latest changes. Coordinators get every faculty "
            "member's row, faculty their own."
        ),
        parameters=[ChanceQuerySerializer],
        responses={
            200: ChancesSerializer, 400: _400, 401: _401,
            403: OpenApiResponse(DETAIL_SCHEMA, description="A login without a faculty profile"),
            404: OpenApiResponse(DETAIL_SCHEMA, description="No year yet, or no chances computed for it yet"),
        },
    )
    def get(self, request: Request) -> Response:
        query = query_filters(ChanceQuerySerializer, request)
        year = _year(query.get("academic_year"))
        faculty_ids = None
        if not is_coordinator(request.user):
            faculty = own_faculty(request.user)
            if faculty is None:
                raise PermissionDenied(NO_PROFILE)
            faculty_ids = [faculty.pk]
        chances_catch_up(year=year)
        chances = chances_read(year=year, mechanism=query["mechanism"])
        matrix = chances.matrix
        if matrix is None:
            when = "a recomputation is under way" if chances.updating else "they are computed after preferences change"
            raise NotFound(f"No chances under {chances.label} for {year.label} yet: {when}.")
        body = {
            "academic_year": year.label, "mechanism": chances.mechanism, "draws": matrix.draws, "seed": matrix.seed,
            "computed_at": matrix.computed_at, "stale": chances.stale, "recomputation": _recomputation(chances),
            "faculty": _rows(matrix, faculty_ids),
        }
        return Response(ChancesSerializer(body).data)


class ProbabilitiesRecomputeView(generics.GenericAPIView):
    """Ask for the year's chances to be recomputed at once, under every lottery mechanism (coordinators)."""

    serializer_class = RecomputeRequestSerializer
    permission_classes = [permissions.IsAuthenticated, coordinators_only(COORDINATORS_ONLY)]
    parser_classes = [SiteJSONParser]

    @extend_schema(
        operation_id="probabilities_recompute",
        summary="Recompute the chances now (coordinators)",
        description=(
            "Skips the debounce: the recomputation starts at once on a worker (or, without one, in this request). "
            "Answers 202 with its state; poll GET /api/v1/probabilities/ until `recomputation.state` is idle."
        ),
        request=RecomputeRequestSerializer,
        responses={
            202: RecomputeAcceptedSerializer, 400: _400, 401: _401,
            403: OpenApiResponse(DETAIL_SCHEMA, description="Not a coordinator"),
            404: OpenApiResponse(DETAIL_SCHEMA, description="No academic year yet"),
        },
        examples=[OpenApiExample("A year", value={"academic_year": 2026}, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        payload = RecomputeRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        year = _year(payload.validated_data.get("academic_year"))
        chances_request(year_id=year.pk, delay_s=0)
        chances_catch_up(year=year)
        record = ChanceRecomputation.objects.get(year=year)
        poll = reverse("probabilities", request=request) + f"?academic_year={year.label}"
        body = {
            "academic_year": year.label, "state": record.state, "due_at": record.due_at,
            "requested_at": record.requested_at, "finished_at": record.finished_at, "error": record.error,
            "poll": poll,
        }
        return Response(RecomputeAcceptedSerializer(body).data, status=status.HTTP_202_ACCEPTED)
