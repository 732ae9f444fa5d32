from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from allocation.algorithms.registry import CHANCE_MECHANISMS, MECHANISM_LABELS, MECHANISMS
from gtsched_site.fields import actor_field
from preferences.models import AcademicYear, Faculty, Rotation, Week


class Comparison(models.Model):
    """Several mechanisms run on the same inputs with the same seed, to be read side by side."""

    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="comparisons")
    seed = models.BigIntegerField()
    mechanisms = models.JSONField(default=list, help_text="Mechanism names in the order they were asked for")
    options_by_mechanism = models.JSONField(default=dict, blank=True)
    created_by = actor_field()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Comparison #{self.pk} · {self.year} · seed {self.seed}"


class AllocationRun(models.Model):
    """One execution of a mechanism on a year's inputs; a completed run owns a draft schedule (DESIGN §3, §5)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATUSES = (Status.PENDING, Status.RUNNING)

    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="allocation_runs")
    mechanism = models.CharField(max_length=32, choices=[(m, MECHANISM_LABELS.get(m, m)) for m in MECHANISMS])
    parameters = models.JSONField(default=dict, blank=True, help_text="Options as given, including non_respondents")
    seed = models.BigIntegerField()
    input_fingerprint = models.CharField(
        max_length=64, db_index=True, help_text="sha256 of the problem arrays, mechanism, options and seed"
    )
    inputs_digest = models.CharField(
        max_length=64, blank=True, help_text="sha256 of the seed-independent inputs, to recognise a repeated click"
    )
    seed_drawn = models.BooleanField(default=False, help_text="The seed was drawn at random rather than given")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    progress_message = models.CharField(max_length=200, blank=True)
    created_by = actor_field()
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    stats = models.JSONField(default=dict, blank=True)
    details = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    comparison = models.ForeignKey(Comparison, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A repeated click never starts a second run on the same inputs (DESIGN §5).
            models.UniqueConstraint(
                fields=["year", "mechanism", "input_fingerprint"],
                condition=models.Q(status__in=["pending", "running"]),
                name="allocation_run_one_active_per_inputs",
            ),
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="allocation_run_progress_0_100"),
        ]
        indexes = [models.Index(fields=["year", "mechanism", "status"])]

    def __str__(self) -> str:
        return f"Run #{self.pk} · {self.get_mechanism_display()} · {self.year} · {self.get_status_display()}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES

    @property
    def duration_ms(self) -> int | None:
        """Wall time from start to finish (or to now while running); None before it starts."""
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return int((end - self.started_at).total_seconds() * 1000)


class PreAssignment(models.Model):
    """A (faculty, week, rotation) a coordinator fixes before a run, with the reason recorded."""

    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="preassignments")
    faculty = models.ForeignKey(Faculty, on_delete=models.CASCADE, related_name="preassignments")
    week = models.ForeignKey(Week, on_delete=models.CASCADE, related_name="preassignments")
    rotation = models.ForeignKey(Rotation, on_delete=models.PROTECT, related_name="preassignments")
    reason = models.CharField(max_length=300)
    created_by = actor_field()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["year", "week__index", "faculty__display_name"]
        verbose_name = "pre-assignment"
        constraints = [
            models.UniqueConstraint(fields=["year", "faculty", "week"], name="preassignment_one_per_faculty_week"),
        ]

    def __str__(self) -> str:
        return f"{self.faculty} · {self.week} · {self.rotation} (pre-assigned)"


class Schedule(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PUBLISHED = "published", "Published"
        ARCHIVED = "archived", "Archived"

    class Source(models.TextChoices):
        IMPORT = "import", "Imported"
        RUN = "run", "Allocation run"
        MANUAL = "manual", "Hand-made"

    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="schedules")
    name = models.CharField(max_length=120)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    content_hash = models.CharField(max_length=64, blank=True, help_text="Hash of the assignments, for imports")
    run = models.OneToOneField(
        AllocationRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="schedule",
        help_text="The allocation run that produced this draft",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field()
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["year", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["year"], condition=models.Q(status="published"), name="schedule_one_published_per_year"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_status_display()})"


class Assignment(models.Model):
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="assignments")
    faculty = models.ForeignKey(Faculty, on_delete=models.PROTECT, related_name="assignments")
    week = models.ForeignKey(Week, on_delete=models.PROTECT, related_name="assignments")
    rotation = models.ForeignKey(Rotation, on_delete=models.PROTECT, related_name="assignments")
    rank = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Position of the week in the faculty's strict order")
    utility = models.FloatField(null=True, blank=True)
    mechanism_data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["schedule", "week__index", "rotation__name", "faculty__display_name"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "faculty", "week"], name="assignment_one_slot_per_week"),
        ]

    def __str__(self) -> str:
        return f"{self.faculty} · {self.week} · {self.rotation}"

    def save(self, *args, **kwargs) -> None:
        if not kwargs.pop("_audited", False) and self._schedule_is_published():
            raise PublishedScheduleIsImmutable("A published schedule changes only through an audited swap or settlement.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self._schedule_is_published():
            raise PublishedScheduleIsImmutable("A published schedule changes only through an audited swap or settlement.")
        return super().delete(*args, **kwargs)

    def _schedule_is_published(self) -> bool:
        # Read the status from the database: the loaded schedule may have been published since.
        return Schedule.objects.filter(pk=self.schedule_id, status=Schedule.Status.PUBLISHED).exists()


class ScheduleChange(models.Model):
    """An audited change to a schedule: who, when, why, the assignments before and after, and (when the stability
    analysis made or measured it) the nash_distance before and after."""

    class Kind(models.TextChoices):
        SWAP = "swap", "Swap"
        TRADING_CYCLE = "cycle", "Trading cycle"
        RECOMMENDED = "recommended", "Recommended swap applied by a coordinator"
        SETTLEMENT = "settlement", "Auction settlement"

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=300, blank=True)
    # [{"assignment", "faculty", "week", "rotation"}] for every assignment row touched, before and after.
    before = models.JSONField(default=list)
    after = models.JSONField(default=list)
    nash_distance_before = models.FloatField(null=True, blank=True)
    nash_distance_after = models.FloatField(null=True, blank=True)

    class Meta:
        db_table = "stability_schedulechange"  # kept from when the stability app held the audit trail
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.schedule} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("The audit trail is append-only.")


class ChanceMatrix(models.Model):
    """A year's assignment probabilities under one lottery mechanism, before anything is drawn (DESIGN §6).

    probabilities[i][w] (and stderr, 0 for an exact mechanism) index faculty_ids[i] and week_ids[w]. fingerprint is
    the digest of the inputs it was computed from: when the year's inputs no longer match, the matrix is stale and
    is shown as such, never as current.
    """

    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="chance_matrices")
    mechanism = models.CharField(max_length=32, choices=[(m, MECHANISM_LABELS[m]) for m in CHANCE_MECHANISMS])
    computed_at = models.DateTimeField()
    fingerprint = models.CharField(max_length=64, help_text="sha256 of the seed-independent inputs")
    draws = models.PositiveIntegerField(help_text="Monte Carlo lotteries; 0 for an exact mechanism")
    seed = models.BigIntegerField()
    faculty_ids = models.JSONField(default=list)
    week_ids = models.JSONField(default=list)
    probabilities = models.JSONField(default=list)
    stderr = models.JSONField(default=list)
    # Per faculty: [{"top1", "top3", "expected_rank", "demand"}], aligned with faculty_ids.
    summary = models.JSONField(default=list)
    details = models.JSONField(default=dict, blank=True, help_text="compute_ms, decomposition size, trades…")
    stale = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["year", "mechanism"], name="one_chance_matrix_per_mechanism")]
        ordering = ["year", "mechanism"]

    def __str__(self) -> str:
        return f"Chances · {self.year} · {MECHANISM_LABELS.get(self.mechanism, self.mechanism)}"


class ChanceRecomputation(models.Model):
    """The debounce of a year's chances: at most one pending recomputation, never two running (DESIGN §6).

    A submission moves a pending recomputation's due_at later; one arriving while it runs sets `again`, so the
    recomputation queues itself once more when it finishes.
    """

    class State(models.TextChoices):
        IDLE = "idle", "Up to date"
        PENDING = "pending", "Waiting for more changes"
        RUNNING = "running", "Recomputing"

    year = models.OneToOneField(AcademicYear, on_delete=models.CASCADE, related_name="chance_recomputation")
    state = models.CharField(max_length=8, choices=State.choices, default=State.IDLE)
    due_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    again = models.BooleanField(default=False)
    requests = models.PositiveIntegerField(default=0, help_text="Changes that asked for a recomputation")
    error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"Chance recomputation · {self.year} · {self.get_state_display()}"


class PublishedScheduleIsImmutable(Exception):
    """Raised on a direct edit of a published schedule's assignments; changes go through audited services."""


class CalendarFeed(models.Model):
    """A user's private iCalendar feed of published weeks (DESIGN §14): a faculty member's own weeks, a
    coordinator's the whole published schedule.

    The token in the feed's URL is the credential and is never stored: it is derived from `nonce` with the
    SECRET_KEY (so the URL can be shown again), and a request finds its feed by the token's sha256. Regenerating
    draws a new nonce, so the old URL stops answering.
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed")
    nonce = models.CharField(max_length=64, help_text="Random; with the SECRET_KEY it gives the URL's token")
    token_hash = models.CharField(max_length=64, unique=True, help_text="sha256 of the URL's token")
    created_at = models.DateTimeField(auto_now_add=True)
    regenerated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "calendar feed"

    def __str__(self) -> str:
        return f"Calendar feed of {self.user}"
