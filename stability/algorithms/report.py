"""The stability report of a schedule (DESIGN §9): swap stability, welfare, price of anarchy, advice in plain words.

Every sentence is built from the numbers and names assignments, faculty, weeks and rotations by index only; the
service maps indices to people and dates.
"""

from __future__ import annotations

import math
import time

import numpy as np

from stability.algorithms import _state, _validate, advice, swaps, welfare
from stability.algorithms.types import (
    EPSILON,
    FORECASTS,
    LEVELS,
    PARTIAL,
    STEP_LIMIT,
    THRESHOLDS,
    Advice,
    Instability,
    PriceOfAnarchy,
    RecommendedSwap,
    StabilityReport,
    SwapProblem,
)

MINOR_ADJUSTMENTS = 10   # fewer blocking swaps than this: "minor_adjustments"


def stability_level(distance: float, thresholds: tuple[float, float, float] = THRESHOLDS) -> str:
    """STABLE < t1 ≤ MARGINAL < t2 ≤ UNSTABLE < t3 ≤ CRITICAL (defaults 0.05, 0.15, 0.30)."""
    t = _validate.thresholds(thresholds)
    d = _validate.number("distance", distance, low=0.0, high=1.0)
    return LEVELS[sum(d >= x for x in t)]


def predicted_swap_requests(total: int, distance: float, base: float = 0.10, pressure: float = 0.50) -> int:
    """round(A × (base + pressure × distance)), halves rounded up, never below 0."""
    total = _validate.whole("total", total, minimum=0)
    d = _validate.number("distance", distance, low=0.0, high=1.0)
    expected = total * (_validate.number("base", base) + _validate.number("pressure", pressure) * d)
    return max(0, math.floor(expected + 0.5))


def forecast(num_blocking_swaps: int) -> str:
    if num_blocking_swaps == 0:
        return FORECASTS[0]
    return FORECASTS[1] if num_blocking_swaps < MINOR_ADJUSTMENTS else FORECASTS[2]


def stability_report(
    problem: SwapProblem, *, rng: np.random.Generator | None, restarts: int = 20,
    thresholds: tuple[float, float, float] = THRESHOLDS, base: float = 0.10, pressure: float = 0.50, top: int = 10,
    epsilon: float = EPSILON, with_price_of_anarchy: bool = True, max_steps: int | None = None,
    price: PriceOfAnarchy | None = None,
) -> StabilityReport:
    """Swap-stability report: Nash distance and level, blocking swaps, welfare against the exact optimum, price of
    anarchy/stability from `restarts` random starts (skipped, with rng unused, when with_price_of_anarchy is False),
    the `top` instabilities, a conflict-free set of recommended swaps, forecast, warnings and recommendations.

    `price` reuses a price_of_anarchy result whose key is this problem's (welfare.problem_key with the same ε and
    max_steps): its optimum and stable welfares hold for every problem with that key, so neither the optimum nor
    the dynamics run again; one computed for another problem is refused.
    """
    started = time.perf_counter()
    p = _validate.swap_problem(problem)
    eps = _validate.epsilon(epsilon)
    t = _validate.thresholds(thresholds)
    base = _validate.number("base", base)
    pressure = _validate.number("pressure", pressure)
    top = _validate.whole("top", top, minimum=0)
    asked = None if max_steps is None else _validate.whole("max_steps", max_steps, minimum=0)
    if price is not None:
        if not isinstance(price, PriceOfAnarchy) or price.key != welfare._key(p, eps, asked):
            raise ValueError("price: this price of anarchy was computed for another problem (its key differs).")
    elif with_price_of_anarchy:
        rng = _validate.rng(rng)
        restarts = _validate.whole("restarts", restarts, minimum=1)
    m = len(p.assignments)
    state = _state.SwapState(p, eps)
    scan = _state.scan(state) if m else None
    analysis = swaps.analyse(state, scan)
    current = state.welfare()
    if price is not None:
        optimal, poa = price.optimal_welfare, price
    else:
        optimum = welfare._optimal(p)
        optimal = optimum.welfare
        poa = welfare.price_of_anarchy(p, rng=rng, restarts=restarts, max_steps=asked, epsilon=eps,
                                       optimum=optimum) if with_price_of_anarchy else None
    efficiency = 1.0 if optimal == 0 else min(1.0, current / optimal)
    instabilities = _top_instabilities(state, analysis, top)
    recommended = _recommend(state, scan) if scan is not None and analysis.num_blocking_swaps else ()
    after_state = state.copy()
    for swap in recommended:
        after_state.swap(swap.a, swap.b)
    distance_after = swaps.distance_with(after_state, None) if recommended else analysis.nash_distance
    welfare_after = after_state.welfare()
    d = analysis.nash_distance
    level = stability_level(d, t)
    predicted = predicted_swap_requests(m, d, base, pressure)
    outlook = forecast(analysis.num_blocking_swaps)
    report = dict(
        is_nash_equilibrium=analysis.is_nash_equilibrium, nash_distance=d, stability_level=level,
        num_blocking_swaps=analysis.num_blocking_swaps, num_beneficial_deviations=analysis.num_beneficial_deviations,
        total_assignments=m, predicted_swap_requests=predicted, current_welfare=current,
        optimal_welfare=optimal, efficiency_ratio=efficiency,
        price_of_anarchy=None if poa is None else poa.price_of_anarchy,
        price_of_stability=None if poa is None else poa.price_of_stability,
        restarts=None if poa is None else poa.restarts, max_gain=analysis.max_gain, avg_gain=analysis.avg_gain,
        top_instabilities=instabilities, recommended_swaps=recommended, forecast=outlook,
    )
    warnings = _warnings(p, report, t, poa)
    rows = _recommendations(report, base, pressure, distance_after, welfare_after, poa)
    return StabilityReport(
        **report, warnings=warnings, recommendations=tuple(advice.advice_text(a.kind, a.values) for a in rows),
        advice=rows, compute_ms=(time.perf_counter() - started) * 1000,
        distance_after_recommended=distance_after, welfare_after_recommended=welfare_after, thresholds=t,
        base=base, pressure=pressure, epsilon=eps, price_of_anarchy_detail=poa,
    )


def _top_instabilities(state: _state.SwapState, analysis, top: int) -> tuple[Instability, ...]:
    """The best blocking swap of each unstable assignment, largest total gain first (ties: lower index)."""
    unstable = np.flatnonzero(analysis.in_blocking)
    total = analysis.best_gain_self[unstable] + analysis.best_gain_partner[unstable]
    order = unstable[np.lexsort((unstable, -total))][:top]
    out = []
    for a in order:
        b = int(analysis.best_partner[a])
        out.append(Instability(
            assignment=int(a), faculty=int(state.fac[a]), week=int(state.slot[a] // state.n_rot),
            rotation=int(state.slot[a] % state.n_rot), wanted_week=int(state.slot[b] // state.n_rot),
            wanted_rotation=int(state.slot[b] % state.n_rot), partner=b, partner_faculty=int(state.fac[b]),
            gain_self=float(analysis.best_gain_self[a]), gain_partner=float(analysis.best_gain_partner[a]),
            total_gain=float(analysis.best_gain_self[a] + analysis.best_gain_partner[a]),
        ))
    return tuple(out)


def recommended_swaps(problem: SwapProblem, *, epsilon: float = EPSILON) -> tuple[RecommendedSwap, ...]:
    """Greedy conflict-free set of blocking swaps: repeatedly the largest gain_a + gain_b among faculty not yet in
    the set. Faculty-disjoint swaps touch disjoint rows, so each stays blocking when the set is applied in order."""
    p = _validate.swap_problem(problem)
    state = _state.SwapState(p, _validate.epsilon(epsilon))
    return _recommend(state, _state.scan(state)) if state.m else ()


def _recommend(state: _state.SwapState, scan: _state.Scan) -> tuple[RecommendedSwap, ...]:
    """The greedy on the scan's slot-pair tables (see SlotTable.greedy)."""
    out = []
    for a, b, total in _state.SlotTable(state.copy(), scan.tables).greedy():
        i, j = int(state.fac[a]), int(state.fac[b])
        sa, sb = int(state.slot[a]), int(state.slot[b])
        out.append(RecommendedSwap(
            a=a, b=b, faculty_a=i, faculty_b=j, week_a=sa // state.n_rot, rotation_a=sa % state.n_rot,
            week_b=sb // state.n_rot, rotation_b=sb % state.n_rot,
            gain_a=float(state.u_slot[i, sb] - state.base[a]), gain_b=float(state.u_slot[j, sa] - state.base[b]),
            total_gain=float(total),
        ))
    return tuple(out)


def _plural(k: int, one: str, many: str | None = None) -> str:
    return f"{k} {one if k == 1 else (many or one + 's')}"


def _warnings(p: SwapProblem, r: dict, t: tuple[float, float, float], poa: PriceOfAnarchy | None) -> tuple[str, ...]:
    out = []
    m, d = r["total_assignments"], r["nash_distance"]
    unstable = int(round(d * m))
    if unstable:
        out.append(f"{unstable} of {m} assignments ({d:.1%}) are in at least one blocking swap.")
    level = r["stability_level"]
    if level == "CRITICAL":
        out.append(f"The Nash distance {d:.3f} is at or above the critical threshold {t[2]:.2f}: publishing needs "
                   "a coordinator override with a written reason.")
    elif level == "UNSTABLE":
        out.append(f"The Nash distance {d:.3f} is in the unstable band ({t[1]:.2f} to {t[2]:.2f}): the schedule "
                   "publishes with a warning and many swap requests are likely.")
    elif level == "MARGINAL":
        out.append(f"The Nash distance {d:.3f} is in the marginal band ({t[0]:.2f} to {t[1]:.2f}): the schedule "
                   "publishes with a warning.")
    if r["num_blocking_swaps"] >= MINOR_ADJUSTMENTS:
        out.append(f"There are {r['num_blocking_swaps']} blocking swaps: this needs a major revision, not a few "
                   "adjustments.")
    if r["efficiency_ratio"] < 0.9:
        out.append(f"The schedule reaches {r['efficiency_ratio']:.1%} of the optimal welfare "
                   f"({r['current_welfare']:.3f} of {r['optimal_welfare']:.3f}).")
    if poa is not None:
        if poa.status in (PARTIAL, STEP_LIMIT):
            out.append(f"{poa.restarts - poa.converged} of {poa.restarts} blocking-swap dynamics runs hit the step "
                       f"limit; the price of anarchy uses the {poa.converged} that converged.")
        if poa.price_of_anarchy is not None and not poa.is_acceptable:
            out.append(f"The price of anarchy is {poa.price_of_anarchy:.2f} (1.5 or more): free swapping from a "
                       "random schedule can end far below the optimal welfare.")
    rows = p.assignments
    ineligible = int((~p.eligible[rows[:, 0], rows[:, 1], rows[:, 2]]).sum())
    if ineligible:
        out.append(f"{_plural(ineligible, 'assignment')} {'is' if ineligible == 1 else 'are'} in a slot the "
                   "faculty member is not eligible for (a blocked week or an unqualified rotation).")
    occupancy = np.zeros(p.capacity.shape, dtype=np.int64)
    np.add.at(occupancy, (rows[:, 1], rows[:, 2]), 1)
    over = int((occupancy > p.capacity).sum())
    if over:
        out.append(f"{_plural(over, 'slot')} {'holds' if over == 1 else 'hold'} more faculty than {'its' if over == 1 else 'their'} capacity.")
    return tuple(out)


def _recommendations(
    r: dict, base: float, pressure: float, distance_after: float, welfare_after: float, poa: PriceOfAnarchy | None,
) -> tuple[Advice, ...]:
    out = []
    m, d = r["total_assignments"], r["nash_distance"]
    if r["is_nash_equilibrium"]:
        out.append(Advice(advice.STABLE, {}))
    recommended = r["recommended_swaps"]
    if recommended:
        out.append(Advice(advice.EXECUTE_RECOMMENDED, {
            "swaps": len(recommended), "welfare_gain": welfare_after - r["current_welfare"], "distance": d,
            "distance_after": distance_after,
        }))
    if r["top_instabilities"]:
        x = r["top_instabilities"][0]
        out.append(Advice(advice.LARGEST_INSTABILITY, {
            "assignment": x.assignment, "faculty": x.faculty, "week": x.week, "rotation": x.rotation,
            "partner": x.partner, "partner_faculty": x.partner_faculty, "wanted_week": x.wanted_week,
            "wanted_rotation": x.wanted_rotation, "gain_self": x.gain_self, "gain_partner": x.gain_partner,
        }))
    if r["forecast"] == "major_revision" or r["stability_level"] == "CRITICAL":
        out.append(Advice(advice.RERUN, {}))
    eff = r["efficiency_ratio"]
    if eff < 0.95 and r["optimal_welfare"] > 0:
        out.append(Advice(advice.REALLOCATE, {
            "optimal_welfare": r["optimal_welfare"], "current_welfare": r["current_welfare"],
        }))
    if m:
        out.append(Advice(advice.EXPECTED_REQUESTS, {
            "predicted": r["predicted_swap_requests"], "assignments": m, "base": base, "pressure": pressure,
            "distance": d,
        }))
    if poa is not None and poa.price_of_anarchy is not None and poa.is_acceptable:
        out.append(Advice(advice.POA_ACCEPTABLE, {"price_of_anarchy": poa.price_of_anarchy, "restarts": poa.restarts}))
    return tuple(out)
