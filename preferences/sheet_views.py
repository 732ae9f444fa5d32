"""The preference sheet on the coordinator's year page: download it as CSV, upload a changed one (DESIGN §13).

The upload works as a plain POST (a redirect back to the year page on success; a page with the errors and the form,
status 400, on a refusal) and with HTMX (the sheet's card alone, with the notice or the errors)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from gtsched_site.commands import field_errors
from gtsched_site.permissions import coordinator_required
from preferences.exchange.sheet import MAX_BYTES, preference_sheet_export, preference_sheet_import
from preferences.querysets import access_year

REGION = "preferences/_preference_sheet.html"


@coordinator_required
@require_GET
def preference_sheet_download(request: HttpRequest, label: int) -> HttpResponse:
    year = access_year(label)
    response = HttpResponse(preference_sheet_export(year=year), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="preferences-{year.label}.csv"'
    return response


@coordinator_required
@require_POST
def preference_sheet_upload(request: HttpRequest, label: int) -> HttpResponse:
    year = access_year(label)
    upload = request.FILES.get("file")
    try:
        if upload is None:
            raise ValidationError({"file": "Choose the CSV file to upload."})
        if upload.size > MAX_BYTES:
            raise ValidationError({"file": f"is larger than {MAX_BYTES // (1024 * 1024)} MB; a preference sheet is far smaller"})
        report = preference_sheet_import(year=year, data=upload.read(), actor=request.user)
    except ValidationError as exc:
        context = {"year": year, "sheet_errors": field_errors(exc)}
        if request.htmx:  # htmx swaps only 2xx answers: the card with its errors is the answer
            return render(request, REGION, context)
        return render(request, "preferences/preference_sheet_refused.html", {**context, "section": "year"}, status=400)
    notice = (f"Imported the sheet: {report.submissions_created} new preference version"
              f"{'s' if report.submissions_created != 1 else ''}, {report.submissions_unchanged} unchanged.")
    if request.htmx:
        return render(request, REGION, {"year": year, "sheet_notice": notice})
    messages.success(request, notice)
    return redirect(f"{reverse('coordinator_year', args=[year.label])}#preference-sheet")

