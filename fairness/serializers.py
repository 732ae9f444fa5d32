"""Serializers of the Shapley fairness API (DESIGN §7, §10): the request, the values with the seed's field names, the
computation's state, the per-year resource query."""

from __future__ import annotations

from rest_framework import serializers

from fairness.algorithms.shapley import MAX_SAMPLES, MIN_SAMPLES
from fairness.models import ShapleyComputation
from gtsched_site.api import StrictFieldsMixin
from gtsched_site.limits import SEED_MAX

YEAR_HELP = "Academic year label, e.g. 2026"
METHOD_CHOICES = [
    ("auto", "auto: exact for at most 15 faculty, else Monte Carlo"),
    ("exact", "exact: every coalition (at most 15 faculty)"),
    ("monte_carlo", "monte_carlo: antithetic permutation sampling with 95 % intervals"),
]

COMPUTED_METHOD_CHOICES = ShapleyComputation.Method.choices


class ShapleyRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    academic_year = serializers.IntegerField(min_value=0, help_text=YEAR_HELP)
    method = serializers.ChoiceField(choices=METHOD_CHOICES, required=False, default="auto",
                                     help_text="How to compute φ (default auto)")
    samples = serializers.IntegerField(
        required=False, min_value=MIN_SAMPLES, max_value=MAX_SAMPLES,
        help_text=f"Permutations for Monte Carlo, {MIN_SAMPLES:,}–{MAX_SAMPLES:,} (default 5,000; ignored when exact)")
    seed = serializers.IntegerField(required=False, min_value=0, max_value=SEED_MAX,
                                    help_text="Seed of the permutations (default: the site's; ignored when exact)")


class ShapleyQuerySerializer(serializers.Serializer):
    academic_year = serializers.IntegerField(
        required=False, min_value=0,
        help_text=f"{YEAR_HELP} (default: the year open for preferences, else the newest)")


class MoveSlotSerializer(serializers.Serializer):
    week = serializers.DateField(help_text="Monday the week starts")
    rotation = serializers.CharField()


class RebalancingSerializer(serializers.Serializer):
    from_faculty_id = serializers.IntegerField(help_text="Overloaded: gives the slots")
    from_faculty_name = serializers.CharField()
    to_faculty_id = serializers.IntegerField(help_text="Underloaded, qualified and free those weeks: takes them")
    to_faculty_name = serializers.CharField()
    amount = serializers.IntegerField(help_text="Slots to move")
    slots = MoveSlotSerializer(many=True)


class ShapleyValueSerializer(serializers.Serializer):
    faculty_id = serializers.IntegerField()
    external_id = serializers.CharField(help_text="The programme's id")
    faculty_name = serializers.CharField()
    shapley_value = serializers.FloatField(help_text="φ: average marginal contribution to coverage, in slots")
    ci_low = serializers.FloatField(help_text="95 % interval of φ (equal to φ when exact)")
    ci_high = serializers.FloatField()
    expected_workload = serializers.FloatField(help_text="Fair share: φ / v(N) × total demand, in weeks")
    expected_weeks = serializers.IntegerField(help_text="The fair share in whole weeks (largest remainders)")
    actual_workload = serializers.IntegerField(
        allow_null=True, help_text="Weeks in the compared schedule (null for faculty while only a draft exists)")
    fairness_deviation = serializers.FloatField(allow_null=True, help_text="actual − expected")
    is_overloaded = serializers.BooleanField(allow_null=True, help_text="actual > 110 % of expected")
    is_underloaded = serializers.BooleanField(allow_null=True, help_text="actual < 90 % of expected")
    rotation_qualifications = serializers.ListField(child=serializers.CharField())
    coverage_capacity = serializers.IntegerField(help_text="Slots with a seat this faculty member may serve")
    target_load = serializers.IntegerField(help_text="The load the game capped them at")
    marginal_by_size = serializers.ListField(
        child=serializers.FloatField(allow_null=True),
        help_text="Average marginal contribution by the size of the coalition joined (null: never sampled)")


class ComparedScheduleSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.CharField()


class ShapleyAllocationSerializer(serializers.Serializer):
    academic_year = serializers.IntegerField()
    computation_id = serializers.IntegerField()
    stale = serializers.BooleanField(help_text="The year's inputs changed since these values were computed")
    computed_at = serializers.DateTimeField(allow_null=True)
    calculation_method = serializers.ChoiceField(choices=COMPUTED_METHOD_CHOICES)
    samples = serializers.IntegerField(help_text="Permutations sampled; 0 when exact")
    seed = serializers.IntegerField()
    grand_coalition_value = serializers.IntegerField(help_text="v(N): slots all faculty together can cover")
    total_demand = serializers.IntegerField(help_text="Slots the year's demand asks for")
    total_workload = serializers.IntegerField(help_text="Weeks assigned in the compared schedule")
    fairness_score = serializers.FloatField(
        allow_null=True, help_text="1 − total-variation distance between actual and fair shares; null without a "
                                   "schedule")
    compared_schedule = ComparedScheduleSerializer(
        allow_null=True, help_text="Published schedule, else the newest draft; null when there is none")
    shapley_values = ShapleyValueSerializer(many=True)
    overloaded_faculty = serializers.ListField(child=serializers.IntegerField(), help_text="faculty_id of each")
    underloaded_faculty = serializers.ListField(child=serializers.IntegerField(), help_text="faculty_id of each")
    rebalancing_recommendations = RebalancingSerializer(many=True)


class ShapleyComputationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="GET this until status is completed: it then answers 200 with the values")
    academic_year = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ShapleyComputation.Status.choices)
    progress = serializers.IntegerField(help_text="0–100")
    progress_message = serializers.CharField(allow_blank=True)
    method = serializers.ChoiceField(choices=COMPUTED_METHOD_CHOICES)
    samples = serializers.IntegerField()
    seed = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class ShapleyAcceptedSerializer(serializers.Serializer):
    detail = serializers.CharField()
    computation = ShapleyComputationSerializer()


class ShapleyValuesSerializer(serializers.Serializer):
    academic_year = serializers.IntegerField()
    computation_id = serializers.IntegerField()
    stale = serializers.BooleanField()
    computed_at = serializers.DateTimeField(allow_null=True)
    calculation_method = serializers.ChoiceField(choices=COMPUTED_METHOD_CHOICES)
    shapley_values = ShapleyValueSerializer(many=True, help_text="Coordinators: every faculty member; faculty: "
                                                                 "their own row")
