"""manage.py import_preferences YEAR FILE — a year's preference sheet (CSV, README) in; atomic."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from gtsched_site.commands import field_errors, refuse
from preferences.exchange.sheet import preference_sheet_import
from preferences.models import AcademicYear


class Command(BaseCommand):
    help = ("Import a preference sheet (CSV: one row per faculty member, one column per week; see the README) into "
            "an academic year. The whole sheet is checked first: a refused sheet changes nothing, and each bad cell "
            "is named by its row and column. Unchanged rows stay as they are; a changed row becomes a new version.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("year", help="The academic year's label, e.g. 2026")
        parser.add_argument("file", help="The CSV file; - reads it from standard input")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        as_json, name = options["json"], options["file"]
        year = year_or_refuse(options["year"], stdout=self.stdout, as_json=as_json)
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            refuse(self.stdout, {"file": [f"cannot read {name}: {exc.strerror or exc}"]}, as_json=as_json,
                   head=f"Cannot import {name}:")
        try:
            report = preference_sheet_import(year=year, data=data)
        except ValidationError as exc:
            refuse(self.stdout, field_errors(exc), as_json=as_json,
                   head=f"{name} was refused and nothing was changed; fix these cells:")
        if as_json:
            self.stdout.write(json.dumps({"ok": True, **report.as_dict()}, indent=2))
        else:
            self.stdout.write(
                f"Imported the preference sheet into {year}: {report.submissions_created} new versions, "
                f"{report.submissions_unchanged} unchanged, {report.rows_without_preferences} rows without preferences."
            )


def year_or_refuse(raw: str, *, stdout, as_json: bool) -> AcademicYear:
    year = AcademicYear.objects.filter(label=int(raw)).first() if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    if year is None:
        known = ", ".join(str(label) for label in AcademicYear.objects.order_by("label").values_list("label", flat=True))
        refuse(stdout, {"academic_year": [f'no academic year "{raw}" (known years: {known or "none"})']},
               as_json=as_json, head=None)
    return year
