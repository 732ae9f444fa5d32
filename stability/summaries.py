"""Analytics of a schedule as JSON-able dictionaries: regret, stability, publication (DESIGN §9, §10); what the
analytics serializer and the comparison pages show."""

from __future__ import annotations

from collections import Counter
from typing import Any

from allocation.models import Schedule
from stability.models import NashStabilityReport, PublicationRecord
from stability.reports import stability_report_for


def regret_summary(*, schedule: Schedule) -> dict[str, Any]:
    """Total/average/max regret (rank − 1) and how many assignments got each choice, from the stored ranks."""
    ranks = list(schedule.assignments.values_list("rank", flat=True))
    known = [int(r) for r in ranks if r is not None]
    regrets = [r - 1 for r in known]
    distribution = Counter(known)
    welfare = sum(u for u in schedule.assignments.values_list("utility", flat=True) if u is not None)
    return {
        "assignments": len(ranks),
        "ranked": len(known),
        "total_regret": sum(regrets),
        "average_regret": round(sum(regrets) / len(regrets), 6) if regrets else 0.0,
        "max_regret": max(regrets, default=0),
        "rank_distribution": {str(r): distribution[r] for r in sorted(distribution)},
        "welfare": round(float(welfare), 6),
    }


# The report's own numbers in its summary, in order (after its id and time); the serializer takes its fields from here.
STABILITY_SUMMARY_FIELDS = (
    "is_nash_equilibrium", "nash_distance", "stability_level", "num_blocking_swaps", "num_beneficial_deviations",
    "predicted_swap_requests", "current_welfare", "optimal_welfare", "efficiency_ratio", "price_of_anarchy",
    "price_of_stability", "restarts", "forecast",
)
# The publication record's plain values in its summary, in order (after when and by whom, before warnings and report).
PUBLICATION_SUMMARY_FIELDS = (
    "channel", "nash_distance", "stability_level", "predicted_swap_requests", "forced", "override_reason",
)


def stability_summary(report: NashStabilityReport) -> dict[str, Any]:
    return {
        "report": report.pk,
        "created_at": report.created_at.isoformat(),
        **{name: getattr(report, name) for name in STABILITY_SUMMARY_FIELDS},
    }


FAIRNESS_PENDING = (
    "Not yet computed: Shapley workload fairness (DESIGN §7) arrives with the fairness app; until then this "
    "field is null."
)


def schedule_analytics(*, schedule: Schedule, actor=None) -> dict[str, Any]:
    """Stability, regret and (placeholder) fairness of one schedule, for the API and the comparison pages."""
    report = stability_report_for(schedule=schedule, actor=actor)
    publication = PublicationRecord.objects.filter(schedule=schedule).first()
    return {
        "schedule": schedule.pk,
        "academic_year": schedule.year.label,
        "status": schedule.status,
        "stability": stability_summary(report),
        "regret": regret_summary(schedule=schedule),
        "fairness": None,
        "fairness_status": FAIRNESS_PENDING,
        "publication": publication_summary(publication) if publication else None,
    }


def publication_summary(record: PublicationRecord) -> dict[str, Any]:
    return {
        "published_at": record.published_at.isoformat(),
        "published_by": record.published_by.get_username() if record.published_by else None,
        **{name: getattr(record, name) for name in PUBLICATION_SUMMARY_FIELDS},
        "warnings": list(record.warnings or []),
        "report": record.report_id,
    }
