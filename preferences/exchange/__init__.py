"""Whole academic years in and out as the JSON year file of DESIGN §13, the sections preferences owns.

The file is validated as a whole before anything is written; every problem is reported under the path of the
field that causes it (``weeks[3].start``, ``preferences[5].cardinal_valuations[0].value``). Import runs in one
transaction, so a refused file changes nothing, and importing the same file twice changes nothing the second time.

An import runs in stages — `year_file_parse` (no database), `year_file_check_database`, `year_file_store` — so a
higher app can add its own sections between them in the same transaction: `allocation.exchange` adds the schedule
and offers the whole-file entry points. `year_import` / `year_export` here cover a file without a schedule.
"""

from preferences.exchange.export import year_export
from preferences.exchange.parse import (
    FacultyRow,
    PreferenceRow,
    YearFile,
    check_keys,
    faculty_ref,
    file_list,
    file_object,
    listing,
    rotation_ref,
    section_rows,
    week_ref,
    year_file_parse,
)
from preferences.exchange.store import (
    ImportedYear,
    PreferencesImportReport,
    StoredRows,
    validation_messages,
    year_file_check_database,
    year_file_store,
    year_import,
    year_import_authorise,
)
from preferences.exchange.wpi import wpi_year_file

__all__ = [
    "FacultyRow", "ImportedYear", "PreferenceRow", "PreferencesImportReport", "StoredRows", "YearFile",
    "check_keys", "faculty_ref", "file_list", "file_object", "listing", "rotation_ref", "section_rows",
    "validation_messages",
    "week_ref", "wpi_year_file", "year_export", "year_file_check_database", "year_file_parse", "year_file_store",
    "year_import", "year_import_authorise",
]
