"""Permission-scoped reads: every view and API endpoint fetches through these."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from gtsched_site.permissions import is_coordinator
from preferences.models import AcademicYear, Faculty, PreferenceSubmission

__all__ = ["access_year", "faculty_for_user", "is_coordinator", "own_faculty", "submissions_for_user",
           "year_from_label", "year_open_for_preferences"]


def own_faculty(user) -> Faculty | None:
    """The faculty record of this user; None for anonymous users and users without one."""
    if not (user and user.is_authenticated):
        return None
    return Faculty.objects.filter(user=user).first()


def faculty_for_user(user) -> QuerySet[Faculty]:
    qs = Faculty.objects.select_related("user").prefetch_related("rotations")
    if is_coordinator(user):
        return qs
    if user and user.is_authenticated:
        return qs.filter(user=user)
    return qs.none()


def submissions_for_user(user) -> QuerySet[PreferenceSubmission]:
    qs = PreferenceSubmission.objects.select_related("faculty", "year", "submitted_by")
    if is_coordinator(user):
        return qs
    if user and user.is_authenticated:
        return qs.filter(faculty__user=user)
    return qs.none()


def year_open_for_preferences() -> AcademicYear | None:
    """The year faculty are asked about: the collecting one, else the newest."""
    return (
        AcademicYear.objects.filter(status=AcademicYear.Status.COLLECTING).order_by("-label").first()
        or AcademicYear.objects.order_by("-label").first()
    )


def access_year(label: int) -> AcademicYear:
    year = AcademicYear.objects.filter(label=label).first()
    if year is None:
        raise Http404(f"No academic year {label}.")
    return year


def year_from_label(raw, *, field: str = "year", example: str = "2026") -> AcademicYear:
    """The academic year a command or form names by label, or a ValidationError on `field` naming the known years."""
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit()):
        raise ValidationError({field: f"{raw!r} is not a year label; give it as a number, e.g. {example}."})
    year = AcademicYear.objects.filter(label=int(text)).first()
    if year is None:
        known = ", ".join(str(y) for y in AcademicYear.objects.order_by("label").values_list("label", flat=True)) or "none yet"
        raise ValidationError({field: f"No academic year {text}; the years are {known}."})
    return year
