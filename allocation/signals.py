"""What allocation tells the apps above it (DESIGN §2): a lower app never imports a higher one, so it sends these
once its transaction has committed and the higher apps connect receivers in their `AppConfig.ready()`."""

from __future__ import annotations

from django.dispatch import Signal

from gtsched_site.signals import send, send_on_commit

__all__ = ["draft_schedule_created", "schedule_changed", "schedule_published", "send", "send_on_commit"]

# A completed allocation run saved its draft schedule. Arguments: schedule_id, run_id.
draft_schedule_created = Signal()
# An audited change rewrote assignments of a schedule (a swap, a trading cycle, a recommended swap, an auction
# settlement). Arguments: change (the ScheduleChange), published (whether the schedule was published).
schedule_changed = Signal()
# A draft became the year's published schedule (the publish gate, stability.gate.schedule_publish). Arguments:
# schedule_id, year_id.
schedule_published = Signal()
