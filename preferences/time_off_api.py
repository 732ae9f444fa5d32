"""/api/v1/time-off: faculty record their own time off, coordinators everyone's (DESIGN §4, §10).

Thin: the serializer checks the payload's shape, the time-off services check the rules (end after start, inside
the year, no overlap, one's own) and answer 400 naming the field with nothing stored.
"""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from gtsched_site.api import ListFilterMixin, StrictFieldsMixin
from preferences.models import AcademicYear, Faculty, TimeOff
from preferences.querysets import is_coordinator, own_faculty
from preferences.time_off import time_off_create, time_off_delete, time_off_update


class TimeOffSerializer(serializers.ModelSerializer):
    faculty = serializers.CharField(source="faculty.external_id", read_only=True)
    academic_year = serializers.IntegerField(source="year.label", read_only=True)

    class Meta:
        model = TimeOff
        fields = ["id", "faculty", "academic_year", "start", "end", "kind", "note", "created_at"]
        read_only_fields = fields


class TimeOffInSerializer(StrictFieldsMixin, serializers.Serializer):
    faculty = serializers.CharField(required=False, help_text="External id; faculty may leave it out (themselves)")
    academic_year = serializers.IntegerField(help_text="Label of the academic year, e.g. 2026")
    start = serializers.DateField(help_text="First day away, YYYY-MM-DD")
    end = serializers.DateField(help_text="Last day away, YYYY-MM-DD (on or after start)")
    kind = serializers.ChoiceField(choices=TimeOff.Kind.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class TimeOffChangeSerializer(StrictFieldsMixin, serializers.Serializer):
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)
    kind = serializers.ChoiceField(choices=TimeOff.Kind.choices, required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class TimeOffFilterSerializer(serializers.Serializer):
    year = serializers.IntegerField(required=False, help_text="Only this academic year (label)")
    faculty = serializers.CharField(required=False, help_text="Only this faculty member (external_id)")


def time_off_for_user(user) -> QuerySet[TimeOff]:
    qs = TimeOff.objects.select_related("faculty", "year").order_by("-year__label", "faculty__external_id", "start")
    if is_coordinator(user):
        return qs
    return qs.filter(faculty__user=user) if user and user.is_authenticated else qs.none()


@extend_schema_view(
    list=extend_schema(parameters=[TimeOffFilterSerializer]),
    create=extend_schema(request=TimeOffInSerializer, responses={201: TimeOffSerializer}),
    partial_update=extend_schema(request=TimeOffChangeSerializer, responses={200: TimeOffSerializer}),
)
class TimeOffViewSet(ListFilterMixin, viewsets.ModelViewSet):
    """Periods away; faculty see and change only their own, coordinators everyone's."""

    serializer_class = TimeOffSerializer
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    list_filter_serializer = TimeOffFilterSerializer
    list_filters = {"year": "year__label", "faculty": "faculty__external_id"}

    def get_queryset(self) -> QuerySet[TimeOff]:
        return time_off_for_user(self.request.user)

    def create(self, request: Request, *args, **kwargs) -> Response:
        payload = TimeOffInSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        year = AcademicYear.objects.filter(label=data["academic_year"]).first()
        if year is None:
            raise ValidationError({"academic_year": [f"Unknown academic year {data['academic_year']}."]})
        faculty = self._faculty(request.user, data.get("faculty"))
        row = time_off_create(faculty=faculty, year=year, start=data["start"], end=data["end"], kind=data["kind"],
                              note=data.get("note", ""), actor=request.user)
        return Response(TimeOffSerializer(row).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        row = self.get_object()
        payload = TimeOffChangeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        row = time_off_update(time_off=row, actor=request.user, **payload.validated_data)
        return Response(TimeOffSerializer(row).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        time_off_delete(time_off=self.get_object(), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def _faculty(user, external_id: str | None) -> Faculty:
        own = own_faculty(user)
        if not external_id:
            if own is None:
                raise ValidationError({"faculty": ["Name the faculty member (external_id); you have no faculty profile."]})
            return own
        if not is_coordinator(user) and (own is None or own.external_id != external_id):
            raise ValidationError({"faculty": ["You can only record your own time off."]})
        faculty = Faculty.objects.filter(external_id=external_id).first()
        if faculty is None:
            raise ValidationError({"faculty": [f"Unknown faculty {external_id!r}; give their external_id."]})
        return faculty
