"""API shapes for allocation runs, schedules, assignments and the game-theory operations (DESIGN §10, §13).

Payload serializers check only the shape of a request; what a mechanism accepts (its options, the year's
inputs) is checked by allocation.services, so the coordinator page, the CLI and the API refuse the same things.
Faculty, weeks and rotations appear as the integration keys of the year file: external_id, start date, name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Count, Q
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from allocation.models import AllocationRun, Assignment, Schedule
from gtsched_site.api import StrictFieldsMixin
from gtsched_site.limits import ID_MAX, SEED_MAX

# --- shared pieces ---------------------------------------------------------------------------------


class RunStatsSerializer(serializers.Serializer):
    """What every run records (DESIGN §5); empty while the run is pending or running."""

    assignments = serializers.IntegerField(required=False, help_text="Assignments made")
    total_regret = serializers.IntegerField(required=False, help_text="Σ (rank − 1) over the assignments")
    average_regret = serializers.FloatField(required=False)
    max_regret = serializers.IntegerField(required=False)
    rank_distribution = serializers.DictField(
        child=serializers.IntegerField(), required=False,
        help_text='How many assignments got their 1st, 2nd, … choice: {"1": 12, "2": 5}',
    )
    welfare = serializers.FloatField(required=False, help_text="Σ utility u[i,w] of the assigned weeks (0–1 scale each)")
    unassigned = serializers.IntegerField(required=False, help_text="Demand (faculty-weeks) left unmet")
    uncovered = serializers.IntegerField(required=False, help_text="Slot seats left empty")
    envy = serializers.IntegerField(required=False, help_text="Faculty who prefer a week someone else holds")
    compute_ms = serializers.FloatField(required=False, help_text="Mechanism compute time")


@extend_schema_field(RunStatsSerializer)
class RunStatsField(serializers.JSONField):
    """The stored stats, documented with their shape."""


@extend_schema_field({"type": "object", "additionalProperties": {}, "description": "Mechanism-specific run data"})
class RunDetailsField(serializers.JSONField):
    pass


@extend_schema_field({"type": "object", "additionalProperties": {}})
class MechanismDataField(serializers.JSONField):
    pass


def run_schedule(run: AllocationRun) -> Schedule | None:
    """The draft schedule a completed run produced (select_related("schedule") saves the query)."""
    try:
        return run.schedule
    except Schedule.DoesNotExist:
        return None


# --- runs ------------------------------------------------------------------------------------------

MECHANISM_CHOICES = AllocationRun._meta.get_field("mechanism").choices  # one choice set, one schema enum


class RunSerializer(serializers.ModelSerializer):
    """A run: its inputs, status and progress (poll `url` while is_active), statistics and mechanism details
    (lottery_order, VCG payments, solver status, …). The same shape everywhere a run appears."""

    url = serializers.HyperlinkedIdentityField(view_name="run-detail", help_text="Poll this URL for progress")
    year = serializers.SlugRelatedField(slug_field="label", read_only=True, help_text="Academic year label")
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    is_active = serializers.BooleanField(read_only=True, help_text="Pending or running: poll again")
    duration_ms = serializers.SerializerMethodField(help_text="Wall time from start to finish (so far while running)")
    stats = RunStatsField(read_only=True)
    timings = serializers.DictField(child=serializers.FloatField(), read_only=True, help_text="Phase times in ms")
    details = RunDetailsField(read_only=True)
    schedule = serializers.SerializerMethodField(help_text="id of the draft schedule a completed run produced")
    schedule_url = serializers.SerializerMethodField()
    cancel_url = serializers.SerializerMethodField(help_text="POST here to cancel; null once the run has finished")

    class Meta:
        model = AllocationRun
        fields = [
            "id", "url", "year", "mechanism", "parameters", "seed", "input_fingerprint", "status", "is_active",
            "progress", "progress_message", "created_by", "created_at", "started_at", "finished_at", "duration_ms",
            "stats", "timings", "details", "error", "schedule", "schedule_url", "cancel_url",
        ]
        read_only_fields = fields

    def get_duration_ms(self, run: AllocationRun) -> int | None:
        return run.duration_ms

    def get_schedule(self, run: AllocationRun) -> int | None:
        schedule = run_schedule(run)
        return schedule.pk if schedule else None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_schedule_url(self, run: AllocationRun) -> str | None:
        schedule = run_schedule(run)
        if schedule is None:
            return None
        return reverse("schedule-detail", args=[schedule.pk], request=self.context.get("request"))

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_cancel_url(self, run: AllocationRun) -> str | None:
        if not run.is_active:
            return None
        return reverse("run-cancel", args=[run.pk], request=self.context.get("request"))


class RunFilterSerializer(serializers.Serializer):
    year = serializers.IntegerField(required=False, help_text="Only this academic year (label)")
    mechanism = serializers.ChoiceField(choices=MECHANISM_CHOICES, required=False)
    status = serializers.ChoiceField(choices=AllocationRun.Status.choices, required=False)


class _StartSerializer(StrictFieldsMixin, serializers.Serializer):
    academic_year = serializers.IntegerField(help_text="Academic year label, e.g. 2026")
    seed = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=SEED_MAX,
        error_messages=dict.fromkeys(
            ("invalid", "min_value", "max_value", "max_string_length"),
            f"The seed must be a whole number from 0 to {SEED_MAX}; omit it to draw one.",
        ),
        help_text="Seed for the random draws; omit to draw one. The same seed on the same inputs gives the same schedule.",
    )
    options = serializers.DictField(
        child=serializers.JSONField(), required=False, default=dict,
        help_text="Mechanism options by name, e.g. {\"cost\": \"linear\"}; unknown names are refused as options.<name>",
    )


class RunStartSerializer(_StartSerializer):
    """Start a mechanism on a year's current preferences."""

    mechanism = serializers.ChoiceField(choices=MECHANISM_CHOICES, help_text="Strategy name from the registry")


class GameTheoryRunSerializer(_StartSerializer):
    """Run the endpoint's mechanism on a year's current preferences."""

    wait = serializers.BooleanField(
        required=False, default=True,
        help_text=(
            "true: wait a few seconds for a queued run to finish and answer with the result; "
            "false: answer at once (202 with the run to poll, unless the run already finished)."
        ),
    )


# --- schedules and assignments ---------------------------------------------------------------------


class ScheduleCountsSerializer(serializers.Serializer):
    assignments = serializers.IntegerField(help_text="Assignments in the schedule")
    faculty = serializers.IntegerField(help_text="Faculty with at least one assignment")
    weeks = serializers.IntegerField(help_text="Weeks with at least one assignment")
    by_rotation = serializers.DictField(child=serializers.IntegerField(), help_text="Assignments per rotation name")
    mine = serializers.IntegerField(help_text="The caller's own assignments")


def attach_schedule_counts(schedules: list[Schedule], *, faculty_id: int | None) -> None:
    """Counts for a page of schedules in two queries, kept on each schedule for the serializer."""
    ids = [schedule.pk for schedule in schedules]
    rows = Assignment.objects.filter(schedule_id__in=ids).order_by()
    totals = {
        row.pop("schedule_id"): row
        for row in rows.values("schedule_id").annotate(
            assignments=Count("pk"), faculty=Count("faculty", distinct=True), weeks=Count("week", distinct=True),
            mine=Count("pk", filter=Q(faculty_id=faculty_id)),
        )
    }
    by_rotation: dict[int, dict[str, int]] = {}
    for schedule_id, rotation, count in (
        rows.values_list("schedule_id", "rotation__name").annotate(Count("pk")).order_by("rotation__name")
    ):
        by_rotation.setdefault(schedule_id, {})[rotation] = count
    empty = {"assignments": 0, "faculty": 0, "weeks": 0, "mine": 0}
    for schedule in schedules:
        schedule._api_counts = {**totals.get(schedule.pk, empty), "by_rotation": by_rotation.get(schedule.pk, {})}


class ScheduleListSerializer(serializers.ListSerializer):
    def to_representation(self, data: Any) -> list[dict[str, Any]]:
        schedules = list(data.all() if hasattr(data, "all") else data)
        attach_schedule_counts(schedules, faculty_id=self.context.get("faculty_id"))
        return super().to_representation(schedules)


class ScheduleSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="schedule-detail")
    year = serializers.SlugRelatedField(slug_field="label", read_only=True, help_text="Academic year label")
    run = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True, help_text="The run that produced it")
    counts = serializers.SerializerMethodField(help_text="Counted over the whole schedule; `mine` is the caller's own")
    assignments_url = serializers.SerializerMethodField(help_text="The assignments you may see, filtered to this schedule")

    class Meta:
        model = Schedule
        list_serializer_class = ScheduleListSerializer
        fields = [
            "id", "url", "year", "name", "status", "source", "run", "created_at", "published_at", "counts",
            "assignments_url",
        ]
        read_only_fields = fields

    @extend_schema_field(ScheduleCountsSerializer)
    def get_counts(self, schedule: Schedule) -> dict[str, Any]:
        if not hasattr(schedule, "_api_counts"):
            attach_schedule_counts([schedule], faculty_id=self.context.get("faculty_id"))
        return schedule._api_counts

    @extend_schema_field(serializers.URLField())
    def get_assignments_url(self, schedule: Schedule) -> str:
        base = reverse("assignment-list", request=self.context.get("request"))
        return f"{base}?schedule={schedule.pk}"


class ScheduleFilterSerializer(serializers.Serializer):
    year = serializers.IntegerField(required=False, help_text="Only this academic year (label)")
    status = serializers.ChoiceField(choices=Schedule.Status.choices, required=False)


class AssignmentFilterSerializer(serializers.Serializer):
    schedule = serializers.IntegerField(required=False, min_value=1, max_value=ID_MAX, help_text="Only this schedule (id)")
    faculty = serializers.CharField(required=False, help_text="Only this faculty member (external_id)")
    week = serializers.CharField(required=False, help_text="Only this week: its start date (YYYY-MM-DD) or its id")

    def validate_week(self, value: str) -> dict[str, Any]:
        if value.isdigit() and int(value) <= ID_MAX:
            return {"week_id": int(value)}
        try:
            return {"week__start_date": dt.date.fromisoformat(value)}
        except ValueError:
            raise serializers.ValidationError("Give the week's start date as YYYY-MM-DD or its id.") from None


# Ranks, utilities and mechanism data reveal someone's preferences: only the assignee and coordinators see them.
PRIVATE_ASSIGNMENT_FIELDS = ("rank", "utility", "lottery_position", "mechanism_data", "why_url")


class AssignmentSerializer(serializers.ModelSerializer):
    """One (faculty, week, rotation) of a schedule. rank, utility and mechanism data are private to the assignee
    and coordinators: on a colleague's row of a published schedule they are null."""

    url = serializers.HyperlinkedIdentityField(view_name="assignment-detail")
    schedule = serializers.PrimaryKeyRelatedField(read_only=True)
    year = serializers.SerializerMethodField(help_text="Academic year label")
    faculty = serializers.SlugRelatedField(slug_field="external_id", read_only=True, help_text="Faculty external_id")
    faculty_name = serializers.CharField(source="faculty.display_name", read_only=True)
    week = serializers.DateField(source="week.start_date", read_only=True, help_text="Start date (Monday) of the week")
    week_index = serializers.IntegerField(source="week.index", read_only=True, help_text="0-based week of the year")
    rotation = serializers.SlugRelatedField(slug_field="name", read_only=True)
    rank = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="Position of the week in the assignee's strict order (1 = first)"
    )
    utility = serializers.FloatField(read_only=True, allow_null=True, help_text="u[i,w] of the assignee, 0–1")
    lottery_position = serializers.SerializerMethodField(help_text="RSD: the assignee's 1-based place in the draw")
    mechanism_data = MechanismDataField(
        read_only=True, allow_null=True, help_text="What the mechanism recorded for this assignment"
    )
    why_url = serializers.SerializerMethodField(help_text="\"Why did I get this?\" — for the assignee and coordinators")

    class Meta:
        model = Assignment
        fields = [
            "id", "url", "schedule", "year", "faculty", "faculty_name", "week", "week_index", "rotation",
            "rank", "utility", "lottery_position", "mechanism_data", "why_url",
        ]
        read_only_fields = fields

    def may_see_private(self, assignment: Assignment) -> bool:
        return bool(self.context.get("is_coordinator")) or assignment.faculty_id == self.context.get("faculty_id")

    def to_representation(self, assignment: Assignment) -> dict[str, Any]:
        data = super().to_representation(assignment)
        if not self.may_see_private(assignment):
            data.update(dict.fromkeys(PRIVATE_ASSIGNMENT_FIELDS))
        return data

    def get_year(self, assignment: Assignment) -> int:
        return assignment.schedule.year.label

    def get_lottery_position(self, assignment: Assignment) -> int | None:
        return (assignment.mechanism_data or {}).get("lottery_position")

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_why_url(self, assignment: Assignment) -> str | None:
        return reverse("assignment-why", args=[assignment.pk], request=self.context.get("request"))


class ExplanationSerializer(serializers.Serializer):
    assignment = serializers.IntegerField(help_text="The assignment explained (id)")
    summary = serializers.CharField(help_text="One sentence: why this week")
    points = serializers.ListField(child=serializers.CharField(), help_text="The reasons, one per line")


# --- the operation answers (names integrations expect) ---------------------------------------------


class AllocationRowSerializer(serializers.Serializer):
    faculty = serializers.CharField(help_text="Faculty external_id")
    week = serializers.DateField(help_text="Start date (Monday) of the week")
    rotation = serializers.CharField(help_text="Rotation name")
    rank = serializers.IntegerField(allow_null=True, help_text="Position of the week in the faculty's strict order (1 = first)")
    utility = serializers.FloatField(allow_null=True, help_text="u[i,w], 0–1")


class RsdAllocationRowSerializer(AllocationRowSerializer):
    lottery_position = serializers.IntegerField(allow_null=True, help_text="1-based place of the faculty in the draw")


class PaymentSerializer(serializers.Serializer):
    faculty = serializers.CharField(help_text="Faculty external_id")
    allocated_weeks = serializers.ListField(child=serializers.DateField(), help_text="Start dates of the weeks won")
    reported_value = serializers.FloatField(help_text="Σ reported value of the weeks won, 0–100 scale")
    vcg_payment = serializers.FloatField(
        min_value=0, help_text="Clarke payment = others_welfare_without − others_welfare_with, ≥ 0"
    )
    others_welfare_with = serializers.FloatField(help_text="Others' reported welfare in the chosen assignment")
    others_welfare_without = serializers.FloatField(help_text="Others' best reported welfare without this faculty")


class RsdAllocationSerializer(serializers.Serializer):
    run = RunSerializer()
    allocation = RsdAllocationRowSerializer(many=True)
    lottery_order = serializers.ListField(
        child=serializers.CharField(), help_text="Faculty external_ids in draw order (first picks first)"
    )
    is_strategyproof = serializers.BooleanField(help_text="RSD: truthful ranking is a dominant strategy. Always true.")
    is_ex_post_efficient = serializers.BooleanField(help_text="RSD: every outcome is Pareto efficient. Always true.")
    stats = RunStatsSerializer()


class VcgAuctionSerializer(serializers.Serializer):
    run = RunSerializer()
    allocation = AllocationRowSerializer(many=True)
    payments = PaymentSerializer(many=True)
    total_social_welfare = serializers.FloatField(help_text="Σ reported values of the allocated weeks, 0–100 scale each")
    is_strategyproof = serializers.BooleanField(
        help_text="VCG with Clarke payments: reporting true values is dominant. Always true."
    )
    stats = RunStatsSerializer()


class RunAcceptedSerializer(serializers.Serializer):
    """202: the run is queued or running; poll run.url (also in the Location header) until is_active is false."""

    detail = serializers.CharField()
    run = RunSerializer()


class RunUnfinishedSerializer(serializers.Serializer):
    """422: the run ended without a schedule (failed or cancelled)."""

    detail = serializers.CharField()
    run = RunSerializer()
