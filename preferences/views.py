"""Faculty and coordinator pages: function-based, HTMX partials, every form also a plain POST."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from gtsched_site.pages import render_page
from gtsched_site.permissions import coordinator_required
from preferences.forms import TYPE_HELP, PreferenceForm
from preferences.models import AcademicYear, Faculty, PreferenceSubmission
from preferences.querysets import (
    access_year,
    faculty_for_user,
    is_coordinator,
    submissions_for_user,
    year_open_for_preferences,
)
from preferences.services import ENTRY_FIELDS, preferences_submit, submissions_current
from preferences.shortcuts import current_year_page
from preferences.time_off_views import time_off_context


def _faculty_or_none(request: HttpRequest) -> Faculty | None:
    return faculty_for_user(request.user).filter(user=request.user).first() if request.user.is_authenticated else None


@login_required
def home(request: HttpRequest) -> HttpResponse:
    if is_coordinator(request.user):
        return redirect("coordinator_overview")
    if _faculty_or_none(request) is not None:
        return redirect("my_preferences")
    return render(request, "preferences/no_profile.html", status=403)


def _initial(submission: PreferenceSubmission | None, preference_type: str) -> dict[str, Any]:
    if submission is None:
        return {"preference_type": preference_type}
    initial: dict[str, Any] = {"preference_type": preference_type}
    for index in submission.blocked_weeks:
        initial[f"block_{index}"] = True
    if submission.preference_type == preference_type:
        _, key = ENTRY_FIELDS[preference_type]
        for entry in submission.entries:
            value = entry[key]
            initial[f"w_{entry['week']}"] = ("accept" if value else "reject") if key == "accept" else value
    return initial


def _preference_context(request: HttpRequest, faculty: Faculty, year: AcademicYear, form: PreferenceForm) -> dict[str, Any]:
    history = list(submissions_for_user(request.user).filter(faculty=faculty, year=year).order_by("-version"))
    preference_type = form["preference_type"].value()
    if preference_type not in TYPE_HELP:  # an invalid posted type is a form error; show the default tab meanwhile
        preference_type = "ordinal"
    return {
        "year": year,
        "faculty": faculty,
        "form": form,
        "rows": form.week_rows(),
        "preference_type": preference_type,
        "type_help": TYPE_HELP[preference_type],
        "types": PreferenceSubmission.Type.choices,
        "history": history,
        "current": history[0] if history else None,
        "window": year.window(),
        **time_off_context(faculty=faculty, year=year),
    }


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


@login_required
@require_http_methods(["GET", "POST"])
def my_preferences(request: HttpRequest) -> HttpResponse:
    faculty = _faculty_or_none(request)
    if faculty is None:
        return render(request, "preferences/no_profile.html", status=403)
    year = year_open_for_preferences()
    if year is None:
        return render(request, "preferences/no_year.html", {"section": "preferences"})
    weeks = list(year.weeks.order_by("index"))
    latest = submissions_for_user(request.user).filter(faculty=faculty, year=year).order_by("-version").first()

    if request.method == "POST":
        form = PreferenceForm(request.POST, year=year, weeks=weeks, target_load=faculty.target_load)
        if form.is_valid():
            try:
                submission, _ = preferences_submit(
                    faculty=faculty, year=year, preference_type=form.cleaned_data["preference_type"],
                    entries=[{**e, "week": weeks[e["week"]]} for e in form.clean_submission.entries],
                    blocked_weeks=[weeks[i] for i in form.clean_submission.blocked_weeks],
                    method=PreferenceSubmission.Method.WEB_FORM, actor=request.user,
                    ip_address=_client_ip(request), user_agent=request.META.get("HTTP_USER_AGENT", ""),
                )
            except ValidationError as exc:
                for message in exc.messages:
                    form.add_error(None, message)
            else:
                messages.success(request, f"Saved version {submission.version} of your preferences for {year}.")
                return redirect(f"{reverse('my_preferences')}?type={submission.preference_type}")
        return render(request, "preferences/my_preferences.html",
                      {**_preference_context(request, faculty, year, form), "section": "preferences"}, status=400)

    preference_type = request.GET.get("type") or (latest.preference_type if latest else "ordinal")
    if preference_type not in ENTRY_FIELDS:
        preference_type = "ordinal"
    form = PreferenceForm(initial=_initial(latest, preference_type), year=year, weeks=weeks, target_load=faculty.target_load)
    context = _preference_context(request, faculty, year, form)
    if request.htmx and request.htmx.target == "preference-form":
        return render(request, "preferences/my_preferences.html#preference_form", context)
    return render(request, "preferences/my_preferences.html", {**context, "section": "preferences"})


@login_required
@require_POST
def validate_preferences(request: HttpRequest) -> HttpResponse:
    """Live validation while editing: checks the form without storing anything."""
    faculty = _faculty_or_none(request)
    year = year_open_for_preferences()
    if faculty is None or year is None:
        raise PermissionDenied("No faculty profile or no open year.")
    weeks = list(year.weeks.order_by("index"))
    form = PreferenceForm(request.POST, year=year, weeks=weeks, target_load=faculty.target_load)
    form.is_valid()
    return render(request, "preferences/_validation.html",
                  {"form": form, "rows": form.week_rows(), "year": year, "oob": True})


@login_required
@require_GET
def submission_detail(request: HttpRequest, pk: int) -> HttpResponse:
    submission = get_object_or_404(submissions_for_user(request.user), pk=pk)
    year = submission.year
    weeks = {w.index: w for w in year.weeks.all()}
    _, key = ENTRY_FIELDS[submission.preference_type]
    rows = [{"week": weeks[e["week"]], "value": e[key]} for e in submission.entries]
    if key == "rank":
        rows.sort(key=lambda r: r["value"])
    blocked = [weeks[i] for i in submission.blocked_weeks]
    return render(request, "preferences/submission_detail.html",
                  {"submission": submission, "rows": rows, "blocked": blocked, "key": key, "section": "preferences"})


coordinator_overview = current_year_page("coordinator_year", section="year")


@coordinator_required
@require_GET
def coordinator_year(request: HttpRequest, label: int) -> HttpResponse:
    year = access_year(label)
    current = submissions_current(year=year)
    latest_any = {}
    for s in PreferenceSubmission.objects.filter(year=year).order_by("faculty_id", "-version"):
        latest_any.setdefault(s.faculty_id, s)
    faculty = list(year.faculty_queryset().select_related("user").prefetch_related("rotations"))
    rows = [{"faculty": f, "submission": current.get(f.pk), "late": latest_any.get(f.pk) if f.pk not in current else None}
            for f in faculty]
    show = request.GET.get("show", "all")
    if show == "missing":
        rows = [r for r in rows if r["submission"] is None]
    elif show == "submitted":
        rows = [r for r in rows if r["submission"] is not None]
    rows.sort(key=lambda r: (r["submission"] is not None, r["faculty"].display_name))
    submitted = sum(1 for f in faculty if f.pk in current)
    by_type = Counter(s.preference_type for s in current.values())
    context = {
        "year": year,
        "years": AcademicYear.objects.order_by("-label"),
        "rows": rows,
        "show": show,
        "total": len(faculty),
        "submitted": submitted,
        "missing": len(faculty) - submitted,
        "percent": round(100 * submitted / len(faculty)) if faculty else 0,
        "by_type": [(label_, by_type.get(value, 0)) for value, label_ in PreferenceSubmission.Type.choices],
        "window": year.window(),
    }
    return render_page(request, "preferences/coordinator_year.html", context,
                       partial="submission_table", section="year")
