"""manage.py export_year YEAR — print an academic year as a year file (DESIGN §13)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from allocation.exchange import year_file_export
from gtsched_site.commands import refuse
from preferences.models import AcademicYear


class Command(BaseCommand):
    help = "Export an academic year as a year file (JSON, DESIGN §13) to standard output or --output FILE."

    def add_arguments(self, parser) -> None:
        parser.add_argument("year", help="The academic year's label, e.g. 2026")
        parser.add_argument("--output", "-o", help="Write the year file here instead of standard output")
        parser.add_argument("--json", action="store_true", help="With --output, print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        as_json, output = options["json"], options["output"]
        year = AcademicYear.objects.filter(label=_label(options["year"], as_json=as_json, stdout=self.stdout)).first()
        if year is None:
            known = ", ".join(str(label) for label in AcademicYear.objects.order_by("label").values_list("label", flat=True))
            _fail(f"no academic year {options['year']} (known years: {known or 'none'})", as_json=as_json, stdout=self.stdout)
        data = year_file_export(year=year)
        text = json.dumps(data, indent=2, ensure_ascii=False)
        if not output:
            self.stdout.write(text)
            return
        try:
            Path(output).write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot write {output}: {exc.strerror or exc}", as_json=as_json, stdout=self.stdout, key="output")
        counts = {
            "weeks": len(data["weeks"]), "faculty": len(data["faculty"]), "preferences": len(data["preferences"]),
            "schedule_assignments": len(data.get("schedule", [])),
        }
        if as_json:
            self.stdout.write(json.dumps({"ok": True, "academic_year": year.label, "output": output, **counts}, indent=2))
        else:
            self.stdout.write(
                f"Wrote academic year {year} to {output}: {counts['weeks']} weeks, {counts['faculty']} faculty, "
                f"{counts['preferences']} preference sets, {counts['schedule_assignments']} scheduled assignments."
            )


def _label(raw: str, *, as_json: bool, stdout) -> int:
    try:
        return int(raw)
    except ValueError:
        _fail(f'"{raw}" is not an academic year label such as 2026', as_json=as_json, stdout=stdout)


def _fail(message: str, *, as_json: bool, stdout, key: str = "academic_year") -> None:
    refuse(stdout, {key: [message]}, as_json=as_json, head=None)
