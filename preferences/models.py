from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from preferences.algorithms.utility import validate_weights


@dataclass(frozen=True)
class PreferenceWindow:
    """The preference window's state at one moment, as every page and the API show it (AcademicYear.window).

    state is "upcoming", "open" or "closed". closed_at is when it actually closed: the deadline, or the first
    publication when the schedule was published before it; None when that moment is not recorded. closed_early
    says why a window closed before its deadline: "published" or "allocating" (the year moved on), else "".
    """

    state: str
    opens: dt.datetime
    closes: dt.datetime
    closed_at: dt.datetime | None = None
    closed_early: str = ""

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @property
    def is_upcoming(self) -> bool:
        return self.state == "upcoming"


class AcademicYear(models.Model):
    class Status(models.TextChoices):
        COLLECTING = "collecting", "Collecting preferences"
        ALLOCATING = "allocating", "Allocating"
        PUBLISHED = "published", "Published"

    label = models.PositiveIntegerField(unique=True, help_text="e.g. 2026 for the year starting July 2026")
    first_monday = models.DateField()
    num_weeks = models.PositiveSmallIntegerField(default=52)
    preference_opens = models.DateTimeField()
    preference_closes = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COLLECTING)
    blocked_is_hard = models.BooleanField(
        default=True, help_text="Blocked weeks are never assigned; off relaxes them to utility 0."
    )
    utility_weights = models.JSONField(
        default=dict, blank=True, help_text="Factor weights of the utility model; empty uses the defaults."
    )
    roster = models.ManyToManyField(
        "Faculty", blank=True, related_name="years",
        help_text="Faculty who serve this year; empty means every active faculty member.",
    )
    swaps_need_approval = models.BooleanField(
        default=False, help_text="A swap both parties confirmed waits for a coordinator's approval before it executes."
    )
    first_published_at = models.DateTimeField(
        null=True, blank=True, help_text="When a schedule of this year was first published (set by the publish gate)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-label"]

    def __str__(self) -> str:
        return f"{self.label}–{str(self.label + 1)[-2:]}"

    def clean(self) -> None:
        if self.first_monday and self.first_monday.weekday() != 0:
            raise ValidationError({"first_monday": "The first week must start on a Monday."})
        if self.preference_opens and self.preference_closes and self.preference_closes <= self.preference_opens:
            raise ValidationError({"preference_closes": "The window must close after it opens."})
        try:
            validate_weights(self.weights)
        except ValueError as exc:
            raise ValidationError({"utility_weights": str(exc)}) from None

    @property
    def weights(self) -> dict[str, float]:
        return {**settings.GTSCHED_DEFAULT_UTILITY_WEIGHTS, **(self.utility_weights or {})}

    def window(self, at: dt.datetime | None = None) -> PreferenceWindow:
        """The one rule for the window: open only while collecting and between its dates.

        Once the year is allocating or published the window is closed whatever its dates say: since the deadline
        if that has passed (or since the first publication, if that came first), else closed early.
        """
        at = at or timezone.now()
        opens, closes = self.preference_opens, self.preference_closes
        if self.status == self.Status.COLLECTING:
            if at < opens:
                return PreferenceWindow("upcoming", opens, closes)
            if at < closes:
                return PreferenceWindow("open", opens, closes)
            return PreferenceWindow("closed", opens, closes, closed_at=closes)
        published = self.first_published_at if self.status == self.Status.PUBLISHED else None
        if published is not None and published < min(at, closes):
            return PreferenceWindow("closed", opens, closes, closed_at=published, closed_early="published")
        if at >= closes:
            return PreferenceWindow("closed", opens, closes, closed_at=closes)
        return PreferenceWindow("closed", opens, closes, closed_early=self.status)

    def window_is_open(self, at: dt.datetime | None = None) -> bool:
        return self.window(at).is_open

    def faculty_queryset(self):
        """The year's active faculty: its roster when one is set, else everyone active."""
        qs = Faculty.objects.filter(active=True)
        return qs.filter(years=self) if self.roster.exists() else qs

    @property
    def last_day(self) -> dt.date:
        return self.first_monday + dt.timedelta(weeks=self.num_weeks, days=-1)


class Week(models.Model):
    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="weeks")
    index = models.PositiveSmallIntegerField(help_text="0-based position in the year")
    start_date = models.DateField()
    is_holiday = models.BooleanField(default=False)
    holiday_name = models.CharField(max_length=80, blank=True)

    class Meta:
        ordering = ["year", "index"]
        constraints = [
            models.UniqueConstraint(fields=["year", "index"], name="week_unique_index"),
            models.UniqueConstraint(fields=["year", "start_date"], name="week_unique_start"),
        ]

    def __str__(self) -> str:
        label = f"Week {self.index + 1} ({self.start_date:%d %b %Y})"
        return f"{label} – {self.holiday_name}" if self.is_holiday else label

    @property
    def end_date(self) -> dt.date:
        return self.start_date + dt.timedelta(days=6)


class Rotation(models.Model):
    name = models.SlugField(max_length=40, unique=True, help_text="Slot type, e.g. inpatient, clinic, nights")
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CoverageDemand(models.Model):
    week = models.ForeignKey(Week, on_delete=models.CASCADE, related_name="demands")
    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="demands")
    count = models.PositiveSmallIntegerField(help_text="Faculty needed: the capacity of this slot")

    class Meta:
        ordering = ["week", "rotation"]
        constraints = [models.UniqueConstraint(fields=["week", "rotation"], name="demand_unique_slot")]

    def __str__(self) -> str:
        return f"{self.week} · {self.rotation}: {self.count}"


class Faculty(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="faculty")
    external_id = models.CharField(
        max_length=64, unique=True, help_text="The programme's own stable key (e.g. F001), used in exchange files"
    )
    display_name = models.CharField(max_length=120)
    rotations = models.ManyToManyField(Rotation, blank=True, related_name="faculty", verbose_name="qualified rotations")
    target_load = models.PositiveSmallIntegerField(default=4, help_text="Service weeks per year")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["display_name"]
        verbose_name_plural = "faculty"

    def __str__(self) -> str:
        return self.display_name


class PreferenceSubmissionQuerySet(models.QuerySet):
    def counting(self) -> PreferenceSubmissionQuerySet:
        """Submissions collected before their year's window closed: the latest of these per faculty counts."""
        return self.filter(collected_at__lt=models.F("year__preference_closes"))


class PreferenceSubmission(models.Model):
    """One immutable version of a faculty member's preferences for a year.

    Resubmitting creates a new row with the next version; the latest submission
    made before the window closed is the one that counts.
    """


    class Type(models.TextChoices):
        ORDINAL = "ordinal", "Ranked weeks"
        CARDINAL = "cardinal", "Values 0–100"
        BINARY = "binary", "Accept / reject"

    class Method(models.TextChoices):
        WEB_FORM = "web_form", "Web form"
        API = "api", "API"
        IMPORT = "import", "Import"

    faculty = models.ForeignKey(Faculty, on_delete=models.CASCADE, related_name="submissions")
    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="submissions")
    version = models.PositiveIntegerField()
    preference_type = models.CharField(max_length=10, choices=Type.choices)
    # [{"week": <week index>, "rank": r} | {"week", "value"} | {"week", "accept"}], sorted by week.
    entries = models.JSONField(default=list)
    blocked_weeks = models.JSONField(default=list, help_text="Week indices the faculty member cannot serve")
    collected_at = models.DateTimeField(default=timezone.now)
    collection_method = models.CharField(max_length=10, choices=Method.choices)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    validation_result = models.JSONField(default=dict, blank=True)
    content_hash = models.CharField(max_length=64, help_text="Hash of type, entries and blocked weeks")

    objects = PreferenceSubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["year", "faculty", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["faculty", "year", "version"], name="submission_unique_version"),
        ]
        indexes = [models.Index(fields=["year", "faculty", "-collected_at"])]

    def __str__(self) -> str:
        return f"{self.faculty} · {self.year} · v{self.version}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.pop("_allow_update", False):
            raise ValidationError("Preference submissions are immutable; submit a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Preference submissions are kept for the audit trail and cannot be deleted.")

    @property
    def entry_count(self) -> int:
        return len(self.entries)


class TimeOff(models.Model):
    """A period a faculty member is away (leave, a conference, parental leave), DESIGN §4 and §13.

    Weeks overlapping it are blocked for that faculty member; the weeks near it score lower on the utility
    model's time-off proximity factor. Written only through preferences.time_off services, which check it.
    """

    class Kind(models.TextChoices):
        LEAVE = "leave", "Leave"
        CONFERENCE = "conference", "Conference"
        PARENTAL = "parental", "Parental leave"
        OTHER = "other", "Other"

    faculty = models.ForeignKey(Faculty, on_delete=models.CASCADE, related_name="time_off")
    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="time_off")
    start = models.DateField(help_text="First day away")
    end = models.DateField(help_text="Last day away (the same day for a one-day absence)")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["year", "faculty", "start"]
        verbose_name = "time off"
        verbose_name_plural = "time off"
        constraints = [
            models.CheckConstraint(condition=models.Q(end__gte=models.F("start")), name="time_off_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.faculty} · {self.get_kind_display()} {self.start:%d %b} – {self.end:%d %b %Y}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1
from preferences.notification_models import Notification, NotificationKind, NotificationOptOut  # noqa: E402,F401
