"""The faculty member's notification settings page (DESIGN §14): which kinds of e-mail they get. A plain POST
redirects back; an HTMX POST swaps the form in place."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from preferences.notification_models import NotificationKind
from preferences.notifications import notification_settings, notification_settings_update
from preferences.querysets import own_faculty


class NotificationSettingsForm(forms.Form):
    """One checkbox per kind: ticked = send it."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for kind, label in NotificationKind.choices:
            self.fields[kind] = forms.BooleanField(required=False, label=label)


@login_required
@require_http_methods(["GET", "POST"])
def notification_settings_page(request: HttpRequest) -> HttpResponse:
    faculty = own_faculty(request.user)
    if faculty is None:
        return render(request, "preferences/no_profile.html", status=403)
    flash = None
    if request.method == "POST":
        form = NotificationSettingsForm(request.POST)
        form.is_valid()  # unticked boxes are simply False: a checkbox form cannot be invalid
        notification_settings_update(faculty=faculty, enabled={k: bool(form.cleaned_data.get(k)) for k in form.fields})
        done = "Saved: you get the messages ticked below."
        if not request.htmx:
            messages.success(request, done)
            return redirect("notification_settings")
        flash = done
    form = NotificationSettingsForm(initial=notification_settings(faculty=faculty))
    context = {"faculty": faculty, "form": form, "flash": flash, "email": faculty.user.email}
    if request.htmx:
        return render(request, "preferences/notification_settings.html#settings_form", context)
    return render(request, "preferences/notification_settings.html", {**context, "section": "settings"})
