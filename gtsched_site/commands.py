"""What every management command does with a refusal (DESIGN §13): with --json, print {"ok": false, "errors"}; in
every case exit non-zero with a message that names each offending field, having changed nothing."""

from __future__ import annotations

import json
from typing import NoReturn

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, OutputWrapper


def field_errors(exc: ValidationError) -> dict[str, list[str]]:
    """A ValidationError as {field: [messages]} ("" for errors that name no field)."""
    return {k: list(v) for k, v in exc.message_dict.items()} if hasattr(exc, "error_dict") else {"": exc.messages}


def refuse(stdout: OutputWrapper, errors: dict[str, list[str]], *, as_json: bool, head: str | None) -> NoReturn:
    """Report `errors` and stop: "head" then one indented "field: message" line each (without a head, the
    "field: message" lines alone)."""
    if as_json:
        stdout.write(json.dumps({"ok": False, "errors": errors}, indent=2, ensure_ascii=False))
    lines = [f"{field}: {message}" for field, messages in errors.items() for message in messages]
    raise CommandError("\n".join([head, *(f"  {line}" for line in lines)]) if head is not None else "\n".join(lines))
