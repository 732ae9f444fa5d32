"""manage.py import_year FILE — create or update a whole academic year from a year file (DESIGN §13)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from allocation.exchange import ImportReport, year_file_import
from gtsched_site.commands import refuse
from preferences.exchange import validation_messages
from preferences.models import AcademicYear


class Command(BaseCommand):
    help = (
        "Import an academic year from a year file (JSON, DESIGN §13). Atomic: a refused file changes nothing. "
        "Re-importing the same file changes nothing; a changed preference set becomes a new submission version."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="The year file; - reads it from standard input")
        parser.add_argument("--json", action="store_true", help="Print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        as_json = options["json"]
        try:
            data = read_year_file(options["file"])
            report = year_file_import(data=data)
        except YearFileUnreadable as exc:
            self.fail({"file": [str(exc)]}, as_json=as_json, head=f"Cannot import {options['file']}:")
        except ValidationError as exc:
            head = f"{options['file']} was refused and nothing was changed; fix these fields:"
            self.fail(validation_messages(exc), as_json=as_json, head=head)
        if as_json:
            self.stdout.write(json.dumps({"ok": True, **report.as_dict()}, indent=2))
        else:
            self.stdout.write(summary(report))

    def fail(self, errors: dict[str, list[str]], *, as_json: bool, head: str) -> None:
        refuse(self.stdout, errors, as_json=as_json, head=head)


class YearFileUnreadable(Exception):
    """The file is missing, unreadable or not JSON."""


def read_year_file(name: str) -> Any:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise YearFileUnreadable(f"no such file: {name}") from None
    except UnicodeDecodeError as exc:
        raise YearFileUnreadable(f"not UTF-8 text (byte {exc.start}): save the year file as UTF-8 JSON") from None
    except OSError as exc:
        raise YearFileUnreadable(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise YearFileUnreadable(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def summary(report: ImportReport) -> str:
    year = AcademicYear.objects.get(label=report.academic_year)
    if not report.changed:
        head = f"Nothing changed: academic year {year} already matches the file."
    else:
        head = f"Imported academic year {year} ({'new' if report.year_created else 'updated'})."
    if report.schedule_created:
        schedule = f"imported as draft #{report.schedule_id} ({report.schedule_assignments} assignments)"
    elif report.schedule_unchanged:
        schedule = f"unchanged (same assignments as schedule #{report.schedule_id})"
    else:
        schedule = "none in the file"
    lines = [
        head,
        f"  Weeks:       {report.weeks} ({report.weeks_updated} holidays changed)",
        f"  Rotations:   {report.rotations} ({report.rotations_created} new); "
        f"demand {report.demand} slots in the file ({report.demand_changed} changed)",
        f"  Faculty:     {report.faculty_created} new, {report.faculty_updated} updated, {report.faculty_unchanged} unchanged",
        f"  Preferences: {report.submissions_created} new versions, {report.submissions_unchanged} unchanged",
        f"  Schedule:    {schedule}",
    ]
    return "\n".join(lines)
