"""Reading a year's stored chances (DESIGN §6) the way the chances pages and the probabilities API show them: which
matrices exist, whether the one asked for is current, whether a recomputation is under way, and one faculty
member's row in people's words. Reads only; the computing lives in allocation.services.chances."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Sum

from allocation.algorithms.registry import CHANCE_MECHANISMS, MECHANISM_LABELS
from allocation.models import ChanceMatrix, ChanceRecomputation
from allocation.services.chances import chances_current
from preferences.models import AcademicYear, CoverageDemand, Week

Z95 = 1.96  # a 95 % interval is ± 1.96 standard errors
EXACT_MECHANISMS = ("probabilistic_serial",)  # computed exactly; rsd and rsd_trading come from Monte Carlo draws
# One sentence each, said honestly: only RSD is strategyproof.
MECHANISM_NOTES = {
    "rsd": "Random serial dictatorship: a random order of everyone, and each person in turn takes their best "
           "weeks still open.",
    "probabilistic_serial": "Probabilistic serial: everyone “eats” probability of their favourite open weeks at "
                            "the same speed; computed exactly, no lotteries drawn.",
    "rsd_trading": "RSD, then pairs of people trade probability of weeks when both gain.",
}


@dataclass
class YearChances:
    """A year's chances under one mechanism as a page or the API shows them."""

    year: AcademicYear
    mechanism: str
    matrix: ChanceMatrix | None
    fresh: bool
    recomputation: ChanceRecomputation | None
    available: list[str] = field(default_factory=list)  # mechanisms with a stored matrix, in CHANCE_MECHANISMS order

    @property
    def label(self) -> str:
        return MECHANISM_LABELS[self.mechanism]

    @property
    def state(self) -> str:
        return self.recomputation.state if self.recomputation else ChanceRecomputation.State.IDLE

    @property
    def updating(self) -> bool:
        """A recomputation is pending (waiting out the debounce) or running."""
        return self.state != ChanceRecomputation.State.IDLE

    @property
    def stale(self) -> bool:
        return self.matrix is not None and not self.fresh

    @property
    def error(self) -> str:
        return self.recomputation.error if self.recomputation else ""

    @property
    def exact(self) -> bool:
        return self.matrix is not None and self.matrix.draws == 0


def chances_read(*, year: AcademicYear, mechanism: str = "rsd") -> YearChances:
    """The stored matrix of `mechanism` for the year (None when there is none yet), whether it is current, and the
    state of the year's recomputation."""
    if mechanism not in CHANCE_MECHANISMS:
        raise ValueError(f"{mechanism!r} has no chances; choose one of {', '.join(CHANCE_MECHANISMS)}.")
    matrix, fresh = chances_current(year=year, mechanism=mechanism)
    stored = set(ChanceMatrix.objects.filter(year=year).values_list("mechanism", flat=True))
    return YearChances(
        year=year, mechanism=mechanism, matrix=matrix, fresh=fresh,
        recomputation=ChanceRecomputation.objects.filter(year=year).first(),
        available=[m for m in CHANCE_MECHANISMS if m in stored],
    )


def matrix_weeks(matrix: ChanceMatrix) -> list[Week]:
    """The matrix's weeks in its column order (a year's weeks are fixed once it exists)."""
    weeks = Week.objects.in_bulk(matrix.week_ids)
    return [weeks[pk] for pk in matrix.week_ids if pk in weeks]


def faculty_row(matrix: ChanceMatrix, faculty_id: int) -> int | None:
    """The matrix row of a faculty member, or None when the year's problem did not include them."""
    try:
        return matrix.faculty_ids.index(faculty_id)
    except ValueError:
        return None


def interval(p: float, stderr: float) -> tuple[float, float]:
    """The 95 % interval p ± 1.96·stderr, clipped to [0, 1]."""
    return max(0.0, p - Z95 * stderr), min(1.0, p + Z95 * stderr)


def listed_chances(matrix: ChanceMatrix, row: int, weeks: list[Week]) -> list[dict[str, Any]]:
    """One faculty member's chance of each week they ranked or valued, in their own order (1 = their first choice):
    {rank, week, probability, stderr, low, high} and, in percent for display, percent ± margin and the bar's
    whisker (low_percent, range_percent)."""
    listed = matrix.summary[row].get("listed") or []
    out = []
    for rank, k in enumerate(listed, start=1):
        p, se = float(matrix.probabilities[row][k]), float(matrix.stderr[row][k])
        low, high = interval(p, se)
        out.append({
            "rank": rank, "week": weeks[k], "probability": p, "stderr": se, "low": low, "high": high,
            "percent": round(100 * p, 1), "margin": round(100 * Z95 * se, 1),
            "low_percent": round(100 * low, 2), "range_percent": round(100 * (high - low), 2),
        })
    return out


def week_seats(year: AcademicYear, matrix: ChanceMatrix | None = None) -> dict[int, int]:
    """Week id -> seats to fill that week: as the matrix was computed (its problem's capacities, which spread the
    total load over the slots when the year gives no per-slot demand), else the coverage demand summed."""
    seats = (matrix.details or {}).get("seats") if matrix is not None else None
    if seats is not None and len(seats) == len(matrix.week_ids):
        return {int(pk): int(n) for pk, n in zip(matrix.week_ids, seats, strict=True)}
    rows = CoverageDemand.objects.filter(week__year=year).values("week_id").annotate(seats=Sum("count"))
    return {row["week_id"]: int(row["seats"] or 0) for row in rows}


def contested_weeks(matrix: ChanceMatrix, weeks: list[Week], seats: dict[int, int], *, limit: int = 8) -> list[dict]:
    """The weeks most asked for: how many people put the week in their top three, per seat that week (ties: the
    lower best chance among those who ranked it first). Also who ranked it first and their best and worst chance."""
    top3 = [0] * len(weeks)
    firsts: list[list[float]] = [[] for _ in weeks]
    for i, summary in enumerate(matrix.summary):
        listed = summary.get("listed") or []
        for k in listed[:3]:
            top3[k] += 1
        if listed:
            firsts[listed[0]].append(float(matrix.probabilities[i][listed[0]]))
    rows = []
    for k, week in enumerate(weeks):
        if not top3[k]:
            continue
        n_seats = seats.get(week.pk, 0)
        rows.append({
            "week": week, "top3": top3[k], "seats": n_seats, "firsts": len(firsts[k]),
            "pressure": top3[k] / n_seats if n_seats else float("inf"),
            "first_best": max(firsts[k]) if firsts[k] else None, "first_worst": min(firsts[k]) if firsts[k] else None,
        })
        if firsts[k]:
            low, high = min(firsts[k]), max(firsts[k])
            rows[-1]["first_range"] = f"{100 * low:.0f} %" if round(100 * low) == round(100 * high) else (
                f"{100 * low:.0f}–{100 * high:.0f} %")
    rows.sort(key=lambda r: (-r["pressure"], r["first_worst"] if r["first_worst"] is not None else 1.0))
    return rows[:limit]
