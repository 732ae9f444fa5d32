"""A schedule as spreadsheets (DESIGN §13, §14): CSV with one row per assignment, and an XLSX workbook (openpyxl) with
one sheet per rotation — weeks down, the seats of the slot across."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from django.conf import settings
from django.http import HttpResponse
from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from allocation.models import Schedule
from allocation.services.grid import schedule_week_grid

CSV_COLUMNS = ("week", "week_start", "week_end", "holiday", "rotation", "faculty", "name")
SHEET_COLUMNS = ("Week", "Monday", "Sunday", "Holiday", "Seats")
HOLIDAY_FILL = PatternFill("solid", start_color="FFF8E6")  # the site's --holiday token
EMPTY_SEAT = "(empty seat)"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def attachment(body: str | bytes, content_type: str, filename: str) -> HttpResponse:
    """A download: the body with its type, saved under filename."""
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_filename(schedule: Schedule, extension: str) -> str:
    return f"schedule-{schedule.year.label}-{schedule.pk}-{schedule.status}.{extension}"


def schedule_csv(*, schedule: Schedule) -> str:
    """Every assignment of the schedule, by week, rotation and name: week number (1-based), the week's Monday and
    Sunday, its holiday, the rotation, the faculty member's id (as in the year file) and name."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    rows = (schedule.assignments.select_related("week", "rotation", "faculty")
            .order_by("week__index", "rotation__name", "faculty__display_name", "pk"))
    for a in rows:
        writer.writerow([a.week.index + 1, a.week.start_date.isoformat(), a.week.end_date.isoformat(),
                         a.week.holiday_name if a.week.is_holiday else "", a.rotation.name, a.faculty.external_id,
                         a.faculty.display_name])
    return out.getvalue()


def _as_text(cells) -> None:
    """Names and holidays are text: openpyxl stores a string starting with "=" as a formula, which a spreadsheet
    would run (formula injection through a name); these cells keep their value as a plain string."""
    for cell in cells:
        if isinstance(cell.value, str):
            cell.data_type = "s"


def schedule_xlsx(*, schedule: Schedule) -> bytes:
    """The schedule as a workbook: a sheet per rotation, a row per week (holiday weeks shaded), its seats, and who
    serves in each seat ("Name (ID)"); a seat demanded and not filled reads "(empty seat)"."""
    grid = schedule_week_grid(schedule=schedule)
    serving: dict[tuple[int, int], list[str]] = defaultdict(list)
    for a in (schedule.assignments.select_related("faculty").order_by("faculty__display_name", "pk")):
        serving[(a.week_id, a.rotation_id)].append(f"{a.faculty.display_name} ({a.faculty.external_id})")
    book = Workbook()
    book.remove(book.active)
    for k, rotation in enumerate(grid.rotations):
        sheet = book.create_sheet(title=rotation.name[:31])
        widest = max((max(cell.demand, len(cell.faculty)) for row in grid.rows for cell in row.cells[k:k + 1]),
                     default=1) or 1
        sheet.append([*SHEET_COLUMNS, *(f"Faculty {n}" for n in range(1, widest + 1))])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in grid.rows:
            slot = row.cells[k]
            names = serving.get((row.week.pk, rotation.pk), [])
            names = names + [EMPTY_SEAT] * max(slot.demand - len(names), 0)
            sheet.append([row.week.index + 1, row.week.start_date, row.week.end_date,
                          row.week.holiday_name if row.week.is_holiday else None, slot.demand, *names])
            _as_text(sheet[sheet.max_row])
            if row.week.is_holiday:
                for cell in sheet[sheet.max_row]:
                    cell.fill = HOLIDAY_FILL
        for column in ("B", "C"):
            for cell in sheet[column][1:]:
                cell.number_format = "yyyy-mm-dd"
        widths = {1: 6, 2: 12, 3: 12, 4: 18, 5: 6}
        for n in range(1, len(SHEET_COLUMNS) + widest + 1):
            sheet.column_dimensions[get_column_letter(n)].width = widths.get(n, 30)
        sheet.freeze_panes = "B2"
    if not book.sheetnames:
        book.create_sheet(title="Schedule").append(["This schedule has no rotations with demand or assignments."])
    book.properties.title = f"{settings.GTSCHED_PROGRAMME_NAME} · {schedule.name}"
    book.properties.creator = "gtsched"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
