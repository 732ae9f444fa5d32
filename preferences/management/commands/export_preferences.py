"""manage.py export_preferences YEAR — a year's preference sheet (CSV, README) out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from gtsched_site.commands import refuse
from preferences.exchange.sheet import preference_sheet_export
from preferences.management.commands.import_preferences import year_or_refuse


class Command(BaseCommand):
    help = "Print a year's preference sheet (CSV, one row per faculty member, one column per week) or write --output."

    def add_arguments(self, parser) -> None:
        parser.add_argument("year", help="The academic year's label, e.g. 2026")
        parser.add_argument("--output", "-o", help="Write the sheet here instead of standard output")
        parser.add_argument("--json", action="store_true", help="With --output, print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        as_json, output = options["json"], options["output"]
        year = year_or_refuse(options["year"], stdout=self.stdout, as_json=as_json)
        text = preference_sheet_export(year=year)
        if not output:
            self.stdout.write(text, ending="")
            return
        try:
            Path(output).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            refuse(self.stdout, {"output": [f"cannot write {output}: {exc.strerror or exc}"]}, as_json=as_json, head=None)
        rows = text.count("\r\n") - 1
        if as_json:
            self.stdout.write(json.dumps({"ok": True, "academic_year": year.label, "output": output, "rows": rows}))
        else:
            self.stdout.write(f"Wrote the preference sheet of {year} to {output}: {rows} faculty rows.")
