"""REST edges of the preferences app: read-only resources and the preference operations (DESIGN §10).

Thin: parse the payload's shape, find the year and the faculty member, call the same services as the
web form, serialize. Reads go through preferences.querysets so faculty only ever see their own rows.
"""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import generics, permissions, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse

from gtsched_site.api import ListFilterMixin, SiteJSONParser
from preferences.models import AcademicYear, Faculty, PreferenceSubmission, Rotation, Week
from preferences.outlook import top_choice_probability
from preferences.querysets import faculty_for_user, is_coordinator, own_faculty, submissions_for_user
from preferences.serializers import (
    DETAIL_SCHEMA,
    FIELD_ERRORS_SCHEMA,
    AcademicYearSerializer,
    FacultySerializer,
    PreferencesCheckSerializer,
    PreferencesInSerializer,
    RotationSerializer,
    StrategyproofSubmissionSerializer,
    SubmissionFilterSerializer,
    SubmissionSerializer,
    WeekFilterSerializer,
    WeekSerializer,
    render_entries,
    week_dates,
    window_open,
)
from preferences.services import access_submit_for, preferences_submit, preferences_validate

NO_PROFILE = "You have no faculty profile: only faculty members and coordinators can submit preferences."


def submissions_visible_to(user) -> QuerySet[PreferenceSubmission]:
    """The user's visible submissions, each annotated with the version that counts for its faculty and year."""
    counting = (
        PreferenceSubmission.objects.filter(faculty=OuterRef("faculty"), year=OuterRef("year"))
        .counting()
        .order_by("-version")
        .values("version")[:1]
    )
    return (
        submissions_for_user(user)
        .prefetch_related("year__weeks")
        .annotate(current_version=Subquery(counting))
        .order_by("-year__label", "faculty__external_id", "-version")
    )


# --- resources -----------------------------------------------------------------------------------

class AcademicYearViewSet(viewsets.ReadOnlyModelViewSet):
    """Academic years, looked up by label (e.g. /years/2026/)."""

    queryset = AcademicYear.objects.order_by("-label")
    serializer_class = AcademicYearSerializer
    lookup_field = "label"
    lookup_value_regex = r"\d+"


@extend_schema_view(list=extend_schema(parameters=[WeekFilterSerializer]))
class WeekViewSet(ListFilterMixin, viewsets.ReadOnlyModelViewSet):
    """Weeks of every year; ?year=<label> for one year."""

    queryset = Week.objects.select_related("year").order_by("-year__label", "index")
    serializer_class = WeekSerializer

    list_filter_serializer = WeekFilterSerializer
    list_filters = {"year": "year__label"}


class RotationViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = Rotation.objects.order_by("name")
    serializer_class = RotationSerializer


class FacultyViewSet(viewsets.ReadOnlyModelViewSet):
    """Faculty see only themselves; coordinators see everyone."""

    serializer_class = FacultySerializer

    def get_queryset(self) -> QuerySet[Faculty]:
        return faculty_for_user(self.request.user).order_by("display_name", "pk")


@extend_schema_view(list=extend_schema(parameters=[SubmissionFilterSerializer]))
class SubmissionViewSet(ListFilterMixin, viewsets.ReadOnlyModelViewSet):
    """Every stored version of preferences; faculty see only their own, coordinators all."""

    serializer_class = SubmissionSerializer

    def get_queryset(self) -> QuerySet[PreferenceSubmission]:
        return submissions_visible_to(self.request.user)

    list_filter_serializer = SubmissionFilterSerializer
    list_filters = {"year": "year__label", "faculty": "faculty__external_id"}


# --- operations ----------------------------------------------------------------------------------

class HasFacultyProfileOrIsCoordinator(permissions.BasePermission):
    message = NO_PROFILE

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_coordinator(request.user) or Faculty.objects.filter(user=request.user).exists()


def _payload(view: generics.GenericAPIView, request: Request) -> PreferencesInSerializer:
    payload = view.get_serializer(data=request.data)
    payload.is_valid(raise_exception=True)  # nested errors named like ordinal_rankings[2].rank (api_errors)
    return payload


def _year(label: int) -> AcademicYear:
    year = AcademicYear.objects.filter(label=label).first()
    if year is None:
        raise ValidationError({"academic_year": [f"Unknown academic year {label}."]})
    return year


def _target_faculty(user, external_id: str | None, *, required: bool = True) -> Faculty | None:
    """The caller's own faculty profile, or, for coordinators, the named one; faculty may only name themselves."""
    own = own_faculty(user)
    if not external_id:
        if own is None and required:
            raise ValidationError({"faculty": ["Name the faculty member (external_id); you have no faculty profile."]})
        return own
    faculty = Faculty.objects.filter(external_id=external_id).first()
    if faculty is None:
        if not is_coordinator(user):  # same answer as for someone else's id: existence is not disclosed
            raise PermissionDenied("You can only submit your own preferences.")
        raise ValidationError({"faculty": [f"Unknown faculty {external_id!r}; give their external_id."]})
    access_submit_for(actor=user, faculty=faculty)
    return faculty


_ERRORS = {
    400: OpenApiResponse(FIELD_ERRORS_SCHEMA, description="Invalid preferences: messages by field, nothing stored"),
    401: OpenApiResponse(DETAIL_SCHEMA, description="Not authenticated"),
    403: OpenApiResponse(DETAIL_SCHEMA, description="No faculty profile, or submitting for someone else"),
}
_EXAMPLE = OpenApiExample(
    "Ranked weeks",
    request_only=True,
    value={
        "academic_year": 2026,
        "preference_type": "ordinal",
        "ordinal_rankings": [{"week": "2026-07-13", "rank": 1}, {"week": "2026-08-03", "rank": 2}],
        "blocked_weeks": ["2026-07-27"],
    },
)


class _PreferencesInView(generics.GenericAPIView):
    """A POST of a preference set (PreferencesInSerializer), by faculty for themselves or coordinators for anyone."""

    serializer_class = PreferencesInSerializer
    permission_classes = [permissions.IsAuthenticated, HasFacultyProfileOrIsCoordinator]
    parser_classes = [SiteJSONParser]  # nested lists: JSON only

    def preference_set(self, request: Request, *, faculty_required: bool):
        """(the validated payload, its data, the year, the faculty member it is for)."""
        payload = _payload(self, request)
        data = payload.validated_data
        year = _year(data["academic_year"])
        return payload, data, year, _target_faculty(request.user, data.get("faculty"), required=faculty_required)


class StrategyproofPreferencesView(_PreferencesInView):
    """Submit preferences: stores a new immutable version, exactly as the web form does."""

    @extend_schema(
        operation_id="preferences_strategyproof_submit",
        summary="Submit preferences (ordinal_rankings, cardinal_valuations or binary_accepts)",
        description=(
            "Send the list matching preference_type; weeks are start dates or week ids. Refused with "
            "field-level messages, nothing stored, on duplicate or gapped ranks, values outside 0–100, "
            "unknown weeks or weeks of another year, or a closed window."
        ),
        request=PreferencesInSerializer,
        responses={201: StrategyproofSubmissionSerializer, **_ERRORS},
        examples=[_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        payload, data, year, faculty = self.preference_set(request, faculty_required=True)
        submission, _ = preferences_submit(
            faculty=faculty, year=year, preference_type=data["preference_type"],
            entries=payload.entries, blocked_weeks=data.get("blocked_weeks"),
            method=PreferenceSubmission.Method.API, actor=request.user,
            ip_address=request.META.get("REMOTE_ADDR"), user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
        submission = submissions_visible_to(request.user).get(pk=submission.pk)
        context = {**self.get_serializer_context(), "top_choice": top_choice_probability(year=year, faculty=faculty)}
        body = StrategyproofSubmissionSerializer(submission, context=context).data
        location = reverse("submission-detail", args=[submission.pk], request=request)
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})


class ValidatePreferencesView(_PreferencesInView):
    """Dry run: check preferences and return them normalised, storing nothing."""

    @extend_schema(
        operation_id="preferences_validate",
        summary="Check preferences without storing them",
        request=PreferencesInSerializer,
        responses={200: PreferencesCheckSerializer, **_ERRORS},
        examples=[_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        payload, data, year, faculty = self.preference_set(request, faculty_required=False)
        clean = preferences_validate(
            year=year, preference_type=data["preference_type"], entries=payload.entries,
            blocked_weeks=data.get("blocked_weeks"), target_load=faculty.target_load if faculty else None,
        )
        dates = week_dates(year)
        result = {
            **clean.summary,
            "window_open": window_open(year),
            "preference_type": clean.preference_type,
            **render_entries(clean.preference_type, clean.entries, dates),
            "blocked_weeks": [dates[index] for index in clean.blocked_weeks],
        }
        return Response(PreferencesCheckSerializer(result).data)
