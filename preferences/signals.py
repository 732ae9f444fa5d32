"""What preferences tells the apps above it (DESIGN §2): sent once the transaction that made the change commits;
the higher apps connect receivers in their `AppConfig.ready()`."""

from __future__ import annotations

from django.dispatch import Signal

# A faculty member's preferences for a year changed (a new submission version). Arguments: year_id, faculty_id.
preferences_changed = Signal()
# The demo year was created (manage.py demo_year). Arguments: year_id, seed. Allocation adds the past year whose
# executed swaps give the swap-history factor its data.
demo_year_created = Signal()
