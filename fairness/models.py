"""Shapley fairness (DESIGN §7): computations of a year's coverage game, their per-faculty values, and the audited
changes that apply the fair shares as target loads."""

from __future__ import annotations

from django.db import models

from allocation.models import Schedule
from gtsched_site.fields import actor_field
from preferences.models import AcademicYear, Faculty


class ShapleyComputation(models.Model):
    """One computation of a year's Shapley values, from request to stored rows; a page polls status and progress.

    fingerprint is the digest of the game's inputs (eligibility, loads, demand and the faculty, week and rotation
    identities): the values are current exactly while the year's inputs still hash to it. grand_value is v(N),
    total_demand the seats to fill; fairness_score, schedule and the rows' actual workloads compare the fair shares
    with the schedule the computation found (published, else the newest draft).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    class Method(models.TextChoices):
        EXACT = "exact", "Exact (all coalitions)"
        MONTE_CARLO = "monte_carlo", "Monte Carlo (antithetic permutations)"

    ACTIVE_STATUSES = (Status.PENDING, Status.RUNNING)

    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="shapley_computations")
    fingerprint = models.CharField(max_length=64, db_index=True, help_text="sha256 of the coverage game's inputs")
    method = models.CharField(max_length=12, choices=Method.choices)
    samples = models.PositiveIntegerField(default=0, help_text="Permutations sampled; 0 when exact")
    seed = models.BigIntegerField(default=0, help_text="Seed of the permutations (unused when exact)")
    chunks = models.PositiveSmallIntegerField(default=1, help_text="Pieces the permutations were split into")
    chunks_done = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    progress_message = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    n_faculty = models.PositiveIntegerField(default=0)
    grand_value = models.IntegerField(null=True, blank=True, help_text="v(N): the seats all faculty together cover")
    total_demand = models.IntegerField(null=True, blank=True, help_text="Seats the year's demand asks for")
    fairness_score = models.FloatField(null=True, blank=True)
    schedule = models.ForeignKey(
        Schedule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The schedule the actual workloads were counted from",
    )
    compute_ms = models.FloatField(null=True, blank=True)
    requested_by = actor_field()
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["year", "status", "fingerprint"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="shapley_computation_progress_0_100"),
        ]

    def __str__(self) -> str:
        return f"Shapley #{self.pk} · {self.year} · {self.get_method_display()} · {self.get_status_display()}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class ShapleyValue(models.Model):
    """A faculty member's Shapley value in one computation, with what it means for their workload.

    expected_workload = φ / v(N) × total demand (expected_weeks: the same apportioned to whole weeks by largest
    remainders); actual_workload, deviation and the over/underload flags compare it with the computation's schedule.
    marginal_by_size[s] is the average marginal contribution when joining a coalition of s others (null where no
    sample had them join at that size).
    """

    computation = models.ForeignKey(ShapleyComputation, on_delete=models.CASCADE, related_name="values")
    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="shapley_values")
    faculty = models.ForeignKey(Faculty, on_delete=models.CASCADE, related_name="shapley_values")
    position = models.PositiveIntegerField(help_text="The faculty member's index in the game")
    shapley_value = models.FloatField()
    ci_low = models.FloatField()
    ci_high = models.FloatField()
    expected_workload = models.FloatField()
    expected_weeks = models.PositiveIntegerField()
    actual_workload = models.PositiveIntegerField(default=0)
    deviation = models.FloatField(default=0.0)
    is_overloaded = models.BooleanField(default=False)
    is_underloaded = models.BooleanField(default=False)
    coverage_capacity = models.PositiveIntegerField(help_text="Slots with a seat this faculty member may serve")
    target_load = models.PositiveIntegerField(help_text="The load the game capped them at")
    qualifications = models.JSONField(default=list, help_text="Names of the rotations they are qualified for")
    marginal_by_size = models.JSONField(default=list)

    class Meta:
        ordering = ["computation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["computation", "faculty"], name="shapley_value_one_per_faculty"),
        ]

    def __str__(self) -> str:
        return f"φ {self.shapley_value:.3f} · {self.faculty} · {self.year}"


class FairTargetChange(models.Model):
    """An audited application of Shapley expected workloads as the faculty's target loads: who, when, why, from
    which computation, and each changed faculty member's load before and after ([{"faculty", "external_id",
    "name", "before", "after"}])."""

    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="fair_target_changes")
    computation = models.ForeignKey(
        ShapleyComputation, null=True, on_delete=models.SET_NULL, related_name="target_changes"
    )
    actor = actor_field()
    at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=300)
    changes = models.JSONField(default=list)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"Fair targets applied to {self.year} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("The audit trail is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("The audit trail is append-only.")
