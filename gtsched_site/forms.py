"""Form pieces every app uses."""

from __future__ import annotations

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


def add_service_errors(form: forms.Form, exc: ValidationError, *, prefix: str = "") -> None:
    """Put a service's ValidationError on the form field it names (`mechanism`, `options.cost`…, with `prefix`
    removed), else on the form with the key in words."""
    if not hasattr(exc, "error_dict"):
        for message in exc.messages:
            form.add_error(None, message)
        return
    for key, errors in exc.message_dict.items():
        field = key.removeprefix(prefix)
        if field in form.fields and field not in form.errors:
            for message in errors:
                form.add_error(field, message)
        else:
            where = "" if key == NON_FIELD_ERRORS else f"{key.replace('_', ' ')}: "
            for message in errors:
                form.add_error(None, f"{where}{message}")
