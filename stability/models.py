"""Stability reports, publication records, price-of-anarchy estimates and the swap market (DESIGN §9)."""

from __future__ import annotations

import numpy as np
from django.conf import settings
from django.db import models

from allocation.models import Assignment, Schedule, ScheduleChange
from gtsched_site.fields import actor_field
from preferences.models import AcademicYear, Faculty, Week
from stability.algorithms.types import PriceOfAnarchy, poa_acceptable


class StabilityLevel(models.TextChoices):
    STABLE = "STABLE", "Stable"
    MARGINAL = "MARGINAL", "Marginal"
    UNSTABLE = "UNSTABLE", "Unstable"
    CRITICAL = "CRITICAL", "Critical"


class NashStabilityReport(models.Model):
    """One swap-stability analysis of one state of a schedule (its assignments and the utilities at the time).

    `assignments_hash` identifies the state analysed: a report is fresh for the publish gate while the schedule's
    assignments and the utility inputs still hash to it.
    """

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="stability_reports")
    assignments_hash = models.CharField(max_length=64, db_index=True, help_text="sha256 of the analysed assignments and utilities")
    is_nash_equilibrium = models.BooleanField()
    nash_distance = models.FloatField(help_text="Share of assignments in at least one blocking swap")
    stability_level = models.CharField(max_length=10, choices=StabilityLevel.choices)
    num_blocking_swaps = models.PositiveIntegerField()
    num_beneficial_deviations = models.PositiveIntegerField()
    total_assignments = models.PositiveIntegerField()
    predicted_swap_requests = models.PositiveIntegerField()
    current_welfare = models.FloatField()
    optimal_welfare = models.FloatField()
    efficiency_ratio = models.FloatField()
    price_of_anarchy = models.FloatField(null=True, blank=True)
    price_of_stability = models.FloatField(null=True, blank=True)
    restarts = models.PositiveIntegerField(null=True, blank=True, help_text="K random schedules the PoA/PoS dynamics ran from")
    forecast = models.CharField(max_length=20)
    parameters = models.JSONField(default=dict, blank=True, help_text="Thresholds, prediction coefficients, seed, K")
    # The full report as the API returns it: top instabilities, recommended swaps, warnings, recommendations, gains.
    payload = models.JSONField(default=dict, blank=True)
    compute_ms = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field()

    class Meta:
        ordering = ["-created_at", "-pk"]
        get_latest_by = "created_at"
        indexes = [models.Index(fields=["schedule", "-created_at"])]

    def __str__(self) -> str:
        return f"Stability of {self.schedule} · {self.stability_level} ({self.nash_distance:.1%})"

    @property
    def is_acceptable(self) -> bool | None:
        return poa_acceptable(self.price_of_anarchy)


class PriceOfAnarchyEstimate(models.Model):
    """Price of anarchy / stability from K random feasible schedules, stored for the feasible set they range over.

    problem_key is stability.algorithms.welfare.problem_key: utilities, eligibility, capacities, demands, locked rows
    and side constraints — not the arrangement of the free rows. So one estimate serves a schedule through all its
    swaps and every schedule of the year with the same inputs, and a report reuses it instead of rerunning K
    dynamics (seconds at 10,000 assignments). New preferences or constraints give a new key.
    """

    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="price_of_anarchy_estimates")
    problem_key = models.CharField(max_length=64, help_text="sha256 of the feasible set (welfare.problem_key)")
    restarts = models.PositiveIntegerField(help_text="K random feasible schedules the dynamics ran from")
    seed = models.PositiveBigIntegerField()
    status = models.CharField(max_length=20, help_text="converged, partial (some runs hit the step limit) or step_limit")
    converged = models.PositiveIntegerField()
    optimal_welfare = models.FloatField()
    worst_stable_welfare = models.FloatField(null=True, blank=True)
    best_stable_welfare = models.FloatField(null=True, blank=True)
    price_of_anarchy = models.FloatField(null=True, blank=True)
    price_of_stability = models.FloatField(null=True, blank=True)
    stable_welfare = models.JSONField(default=list, help_text="Final welfare of each run; null for a run cut off")
    steps = models.JSONField(default=list, help_text="Blocking swaps each run executed")
    compute_ms = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["problem_key", "restarts"], name="poa_estimate_one_per_key_and_k"),
        ]

    def __str__(self) -> str:
        poa = "—" if self.price_of_anarchy is None else f"{self.price_of_anarchy:.3f}"
        return f"PoA {poa} over K = {self.restarts} ({self.year})"

    def as_result(self):
        """The stored estimate as the algorithm's PriceOfAnarchy (what stability_report(price=...) takes)."""
        finals = np.array([np.nan if x is None else float(x) for x in self.stable_welfare], dtype=float)
        steps = np.array(self.steps, dtype=np.int64)
        finals.setflags(write=False)
        steps.setflags(write=False)
        return PriceOfAnarchy(
            status=self.status, restarts=self.restarts, converged=self.converged, optimal_welfare=self.optimal_welfare,
            worst_stable_welfare=self.worst_stable_welfare, best_stable_welfare=self.best_stable_welfare,
            price_of_anarchy=self.price_of_anarchy, price_of_stability=self.price_of_stability,
            is_acceptable=bool(poa_acceptable(self.price_of_anarchy)),
            stable_welfare=finals, steps=steps, key=self.problem_key,
        )


class PublicationRecord(models.Model):
    """What the publish gate saw and decided when a schedule was published (DESIGN §9: stored with the schedule)."""

    schedule = models.OneToOneField(Schedule, on_delete=models.CASCADE, related_name="publication")
    report = models.ForeignKey(NashStabilityReport, on_delete=models.PROTECT, related_name="+")
    nash_distance = models.FloatField()
    stability_level = models.CharField(max_length=10, choices=StabilityLevel.choices)
    predicted_swap_requests = models.PositiveIntegerField()
    forced = models.BooleanField(default=False, help_text="Published over a CRITICAL report or a failed coverage check")
    override_reason = models.TextField(blank=True)
    warnings = models.JSONField(default=list, blank=True)
    coverage = models.JSONField(
        default=dict, blank=True, help_text="The coverage check's findings: empty seats, blocked, ineligible, over target"
    )
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField()
    channel = models.CharField(max_length=10, help_text="admin, page or api")

    class Meta:
        ordering = ["-published_at"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(forced=True, override_reason=""), name="publication_forced_needs_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule} published {self.published_at:%Y-%m-%d} ({self.stability_level})"


class SwapRequest(models.Model):
    """A faculty member offers one of their published weeks for any of the weeks they want.

    Life cycle: open → matched (a counterparty and their assignment proposed, by the matcher or a trading cycle)
    → executed once every party confirmed; or cancelled / declined / expired. When the year's swaps need approval
    (AcademicYear.swaps_need_approval), a fully confirmed swap waits as awaiting_approval until a coordinator
    approves (executed) or refuses it (refused, with the reason). A trading cycle links its requests through `cycle`.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        MATCHED = "matched", "Matched, awaiting confirmation"
        EXECUTED = "executed", "Executed"
        CANCELLED = "cancelled", "Cancelled"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "No longer possible"
        AWAITING_APPROVAL = "awaiting_approval", "Confirmed, awaiting coordinator approval"
        REFUSED = "refused", "Refused by a coordinator"

    class Strategy(models.TextChoices):
        TARGETED = "targeted", "One specific week"
        FLEXIBLE = "flexible", "A few wanted weeks"
        ANY_BETTER = "any_better", "Any week I prefer"
        SUGGESTED = "suggested", "Taken from a swap suggestion"

    ACTIVE = (Status.OPEN, Status.MATCHED, Status.AWAITING_APPROVAL)

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="swap_requests")
    requester = models.ForeignKey(Faculty, on_delete=models.CASCADE, related_name="swap_requests")
    give = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="offered_in")
    wanted_weeks = models.ManyToManyField(Week, related_name="wanted_in")
    strategy = models.CharField(max_length=12, choices=Strategy.choices, default=Strategy.FLEXIBLE)
    note = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    counterparty = models.ForeignKey(
        Faculty, null=True, blank=True, on_delete=models.SET_NULL, related_name="swap_requests_received"
    )
    take = models.ForeignKey(
        Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="requested_in",
        help_text="The counterparty's assignment the requester would receive",
    )
    cycle = models.UUIDField(null=True, blank=True, db_index=True, help_text="Trading cycle this request is part of")
    requester_confirmed = models.BooleanField(default=False)
    counterparty_confirmed = models.BooleanField(default=False)
    mutual_gain = models.FloatField(null=True, blank=True)
    distance_reduction = models.FloatField(null=True, blank=True)
    # The weeks as they stood when the request was posted and matched: a request goes stale when either moves.
    give_week = models.ForeignKey(Week, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    take_week = models.ForeignKey(Week, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requester_gain = models.FloatField(null=True, blank=True, help_text="u[requester, take week] − u[requester, give week]")
    counterparty_gain = models.FloatField(
        null=True, blank=True, help_text="u[counterparty, give week] − u[counterparty, take week]; empty in a trading cycle",
    )
    outcome = models.CharField(max_length=300, blank=True, help_text="The latest event in plain words, e.g. why it expired")
    created_by = actor_field(help_text="Who posted it: the requester, or a coordinator on their behalf")
    created_at = models.DateTimeField(auto_now_add=True)
    matched_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    change = models.ForeignKey(ScheduleChange, null=True, blank=True, on_delete=models.SET_NULL, related_name="swap_requests")
    confirmed_at = models.DateTimeField(null=True, blank=True, help_text="When the last party confirmed")
    reviewed_by = actor_field(help_text="The coordinator who approved or refused it (when swaps need approval)")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_reason = models.CharField(max_length=300, blank=True, help_text="Why a coordinator refused it")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["give"], condition=models.Q(status__in=["open", "matched", "awaiting_approval"]),
                name="swap_request_one_active_per_week_v2",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.requester} offers {self.give.week} ({self.get_status_display()})"


class StrategyPerformance(models.Model):
    """How well a swap-request strategy does in a year, evolved by replicator dynamics (DESIGN §9)."""

    year = models.ForeignKey(AcademicYear, on_delete=models.CASCADE, related_name="strategy_performance")
    strategy = models.CharField(max_length=12, choices=SwapRequest.Strategy.choices)
    attempts = models.PositiveIntegerField(default=0, help_text="Closed requests (executed, declined, cancelled, expired)")
    successes = models.PositiveIntegerField(default=0, help_text="Executed requests")
    share = models.FloatField(default=0.0, help_text="Share of the year's requests using the strategy, before the step")
    frequency = models.FloatField(default=0.0, help_text="Population share of the strategy after the last update")
    fitness = models.FloatField(default=0.0, help_text="Success rate minus the population's mean success rate")
    growth = models.FloatField(default=0.0, help_text="Frequency × fitness")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["year", "strategy"]
        constraints = [models.UniqueConstraint(fields=["year", "strategy"], name="strategy_performance_unique")]

    def __str__(self) -> str:
        return f"{self.get_strategy_display()} · {self.year}"

    @property
    def success_rate(self) -> float:
        return self.successes / self.attempts if self.attempts else 0.0


class PredictionCalibration(models.Model):
    """Coefficients of predicted_swap_requests = round(A × (base + pressure × distance)) fitted to swap history."""

    base = models.FloatField()
    pressure = models.FloatField()
    r_squared = models.FloatField(null=True, blank=True)
    samples = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = actor_field()

    class Meta:
        ordering = ["-created_at", "-pk"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"base {self.base:.3f}, pressure {self.pressure:.3f} (R² {self.r_squared})"
