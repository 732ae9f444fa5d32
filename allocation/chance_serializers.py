"""Serializers of the probabilities API (DESIGN §6, §10): the query, the stored chances, the recompute request."""

from __future__ import annotations

from rest_framework import serializers

from allocation.algorithms.registry import CHANCE_MECHANISMS, MECHANISM_LABELS
from allocation.models import ChanceRecomputation
from gtsched_site.api import StrictFieldsMixin

MECHANISM_CHOICES = [(m, MECHANISM_LABELS[m]) for m in CHANCE_MECHANISMS]
YEAR_HELP = "Academic year label, e.g. 2026 (default: the year open for preferences, else the newest)"


class ChanceQuerySerializer(serializers.Serializer):
    academic_year = serializers.IntegerField(required=False, min_value=0, help_text=YEAR_HELP)
    mechanism = serializers.ChoiceField(choices=MECHANISM_CHOICES, required=False, default="rsd",
                                        help_text="Lottery mechanism (default rsd)")


class ChanceWeekSerializer(serializers.Serializer):
    week = serializers.DateField(help_text="Monday the week starts")
    probability = serializers.FloatField(help_text="Chance of getting this week, 0–1")
    stderr = serializers.FloatField(help_text="Monte Carlo standard error; 0 when exact (or not estimated after trading)")


class ChanceRowSerializer(serializers.Serializer):
    faculty = serializers.CharField(help_text="The programme's external id")
    faculty_id = serializers.IntegerField()
    name = serializers.CharField()
    top1 = serializers.FloatField(help_text="Chance of the week ranked first")
    top3 = serializers.FloatField(help_text="Chance of at least one week ranked 1st–3rd")
    expected_rank = serializers.FloatField(allow_null=True,
                                           help_text="Average rank, in their own order, of the weeks they can expect")
    weeks = ChanceWeekSerializer(many=True, help_text="Every week of the year, in the year's order")


class RecomputationSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=ChanceRecomputation.State.choices,
                                    help_text="idle: nothing to do; pending: waiting out the debounce; running")
    due_at = serializers.DateTimeField(allow_null=True, help_text="When a pending recomputation starts")


class ChancesSerializer(serializers.Serializer):
    academic_year = serializers.IntegerField()
    mechanism = serializers.ChoiceField(choices=MECHANISM_CHOICES)
    draws = serializers.IntegerField(help_text="Lotteries drawn; 0 for an exact mechanism")
    seed = serializers.IntegerField()
    computed_at = serializers.DateTimeField()
    stale = serializers.BooleanField(help_text="Computed before the year's inputs last changed")
    recomputation = RecomputationSerializer()
    faculty = ChanceRowSerializer(many=True, help_text="Coordinators: every faculty member; faculty: their own row")


class RecomputeRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    academic_year = serializers.IntegerField(required=False, min_value=0, help_text=YEAR_HELP)


class RecomputeAcceptedSerializer(serializers.Serializer):
    academic_year = serializers.IntegerField()
    state = serializers.ChoiceField(choices=ChanceRecomputation.State.choices)
    due_at = serializers.DateTimeField(allow_null=True)
    requested_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    poll = serializers.URLField(help_text="GET this for the chances once state is idle")
