"""Allocation's e-mail notifications (DESIGN §14): "the schedule is published" to the year's faculty, with each
person's own weeks. Connected to allocation's schedule_published signal in AllocationConfig.ready(); the outbox
itself is preferences' (notification_enqueue), which never raises."""

from __future__ import annotations

from collections import defaultdict

from django.urls import reverse

from allocation.models import Assignment, Schedule
from preferences.models import Faculty
from preferences.notifications import Kind, notification_enqueue


def notify_schedule_published(sender, *, schedule_id: int, **kwargs) -> None:
    schedule = Schedule.objects.select_related("year").filter(pk=schedule_id).first()
    if schedule is None:
        return
    weeks: dict[int, list[str]] = defaultdict(list)
    rows = (Assignment.objects.filter(schedule=schedule).select_related("week", "rotation")
            .order_by("week__index", "rotation__name"))
    for a in rows:
        weeks[a.faculty_id].append(f"{a.week} · {a.rotation.name}")
    people = {f.pk: f for f in schedule.year.faculty_queryset()}
    people.update({f.pk: f for f in Faculty.objects.filter(pk__in=weeks)})
    notification_enqueue(
        kind=Kind.SCHEDULE_PUBLISHED, event_key=f"schedule_published:{schedule.pk}", recipients=people.values(),
        subject=f"The {schedule.year} schedule is published", link_path=reverse("my_schedule"),
        context={"year": schedule.year, "schedule": schedule}, per_recipient=lambda f: {"weeks": weeks.get(f.pk, [])},
    )
