"""Collecting a service's field-level messages before raising them together (every app's input checks)."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class FieldErrors:
    """Collects field-level messages and raises them together as one ValidationError({field: [messages]})."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)
