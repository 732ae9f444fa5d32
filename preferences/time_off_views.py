"""The time-off section of the faculty preference page: add and delete one's own periods away (HTMX or plain POST)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from preferences.models import AcademicYear, Faculty, TimeOff
from preferences.querysets import own_faculty, year_open_for_preferences
from preferences.time_off import time_off_create, time_off_delete


class TimeOffForm(forms.Form):
    start = forms.DateField(label="First day away", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label="Last day away", widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(choices=TimeOff.Kind.choices, initial=TimeOff.Kind.CONFERENCE)
    note = forms.CharField(required=False, max_length=200, label="Note (optional)")


def time_off_context(*, faculty: Faculty, year: AcademicYear, form: TimeOffForm | None = None) -> dict[str, Any]:
    return {
        "time_off": list(TimeOff.objects.filter(faculty=faculty, year=year).order_by("start")),
        "time_off_form": form or TimeOffForm(),
        "year": year,
    }


def _section(request: HttpRequest, faculty: Faculty, year: AcademicYear, form: TimeOffForm | None = None,
             status: int = 200) -> HttpResponse:
    if request.htmx:  # htmx swaps only 2xx answers: the section with its errors is the answer
        return render(request, "preferences/_time_off.html", time_off_context(faculty=faculty, year=year, form=form))
    if status >= 400:  # a plain POST that was refused: the form's messages on a page of its own
        return render(request, "preferences/time_off_refused.html",
                      {**time_off_context(faculty=faculty, year=year, form=form), "section": "preferences"}, status=status)
    return redirect(f"{reverse('my_preferences')}#time-off")


def _who(request: HttpRequest) -> tuple[Faculty, AcademicYear]:
    faculty = own_faculty(request.user)
    year = year_open_for_preferences()
    if faculty is None or year is None:
        raise Http404("No faculty profile or no academic year.")
    return faculty, year


@login_required
@require_POST
def time_off_add(request: HttpRequest) -> HttpResponse:
    faculty, year = _who(request)
    form = TimeOffForm(request.POST)
    if form.is_valid():
        try:
            row = time_off_create(faculty=faculty, year=year, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            if not request.htmx:
                messages.success(request, f"Saved your {row.get_kind_display().lower()}, {row.start:%-d %b} – {row.end:%-d %b}.")
            return _section(request, faculty, year)
    return _section(request, faculty, year, form, status=400)


@login_required
@require_POST
def time_off_remove(request: HttpRequest, pk: int) -> HttpResponse:
    faculty, year = _who(request)
    row = get_object_or_404(TimeOff, pk=pk, faculty=faculty)  # someone else's: 404, never disclosed
    time_off_delete(time_off=row, actor=request.user)
    if not request.htmx:
        messages.success(request, "Deleted that time off.")
    return _section(request, faculty, year)
