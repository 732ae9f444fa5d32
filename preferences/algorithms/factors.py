"""The three non-preference factors of the utility model (DESIGN §4), from data, as (n, W) arrays in [0, 1].

Pure numpy. Every factor scores exactly 0.5 (NEUTRAL) where it has no data, so a year without time off, swap
history or a schedule gives the same utilities as a model without the factors.
"""

from __future__ import annotations

import numpy as np

NEUTRAL = 0.5
NEAR_DAYS, NEAR_SCORE = 7, 0.2
FAIRLY_NEAR_DAYS, FAIRLY_NEAR_SCORE = 14, 0.5
FAR_SCORE = 0.8
WORKLOAD_SCALE = 10.0  # weeks of deviation from the mean load at which the workload factor reaches 0
WEEK_DAYS = 7


def time_off_distance(
    week_start: np.ndarray, *, owner: np.ndarray, start: np.ndarray, end: np.ndarray, n: int
) -> np.ndarray:
    """Days between each week's start and the nearest day of the faculty member's nearest time-off period.

    week_start: (W,) week start dates as day numbers (e.g. date.toordinal()); a week covers start .. start + 6.
    owner, start, end: (K,) the faculty index and the first and last day (inclusive, day numbers) of each period.
    Returns (n, W) floats: for a period [a, b] and a week starting s, the distance is a − s when s < a, s − b when
    s > b, and 0 when s lies inside the period; the minimum over that faculty member's periods; +inf for a faculty
    member without time off. A week that overlaps a period but starts before it (a − 6 ≤ s < a) gets a − s ≤ 6.
    """
    week_start = np.asarray(week_start, dtype=np.int64)
    owner, start, end = (np.asarray(a, dtype=np.int64).reshape(-1) for a in (owner, start, end))
    distance = np.full((n, week_start.size), np.inf)
    if owner.size == 0:
        return distance
    s = week_start[None, :]
    per_period = np.maximum(np.maximum(start[:, None] - s, s - end[:, None]), 0).astype(float)
    np.minimum.at(distance, owner, per_period)
    return distance


def time_off_overlap(
    week_start: np.ndarray, *, owner: np.ndarray, start: np.ndarray, end: np.ndarray, n: int
) -> np.ndarray:
    """(n, W) bool: the week (start .. start + 6) shares at least one day with one of the faculty member's periods."""
    week_start = np.asarray(week_start, dtype=np.int64)
    owner, start, end = (np.asarray(a, dtype=np.int64).reshape(-1) for a in (owner, start, end))
    overlap = np.zeros((n, week_start.size), dtype=bool)
    if owner.size == 0:
        return overlap
    hits = (start[:, None] <= week_start[None, :] + WEEK_DAYS - 1) & (end[:, None] >= week_start[None, :])
    np.logical_or.at(overlap, owner, hits)
    return overlap


def time_off_proximity(distance: np.ndarray) -> np.ndarray:
    """DESIGN §4's time-off proximity from `time_off_distance`: within 7 days of a period 0.2, within 14 days 0.5,
    otherwise 0.8; a faculty member with no time off at all (every distance infinite) scores 0.5 everywhere.

    "Within N days" means distance ≤ N, the distance being whole days between the week's start date and the
    nearest day of the period (see `time_off_distance`). Weeks overlapping time off are blocked by the caller; they
    score 0.2 here (distance ≤ 6).
    """
    distance = np.asarray(distance, dtype=float)
    factor = np.where(distance <= NEAR_DAYS, NEAR_SCORE, np.where(distance <= FAIRLY_NEAR_DAYS, FAIRLY_NEAR_SCORE, FAR_SCORE))
    has_time_off = np.isfinite(distance).any(axis=1, keepdims=True)
    return np.where(has_time_off, factor, NEUTRAL)


def swap_out_rate(held: np.ndarray, swapped_out: np.ndarray) -> np.ndarray:
    """DESIGN §4's historical swap factor per faculty and week: 1 − (swaps out of that ISO week number) / (times held
    + 1), from earlier years. held counts every time the faculty member held a week of that ISO number (including
    the times they then swapped it away), so swapped_out ≤ held and the factor lies in (0, 1]. A (faculty, week)
    with no history — never held that ISO week number — has no data and scores 0.5.
    """
    held = np.asarray(held, dtype=float)
    swapped_out = np.asarray(swapped_out, dtype=float)
    if held.shape != swapped_out.shape:
        raise ValueError(f"held has shape {held.shape} but swapped_out {swapped_out.shape}.")
    if (held < 0).any() or (swapped_out < 0).any() or (swapped_out > held).any():
        raise ValueError("Swap counts must be non-negative and no more than the times a week was held.")
    return np.where(held > 0, 1.0 - swapped_out / (held + 1.0), NEUTRAL)


def workload_balance(load: np.ndarray) -> np.ndarray:
    """DESIGN §4's workload balance of a schedule's holders: 1 − min(1, |load_i − mean load| / 10) per faculty,
    the mean taken over everyone in `load` (faculty without an assignment count with load 0); (n,) in [0, 1]."""
    load = np.asarray(load, dtype=float)
    if load.size == 0:
        return load
    return 1.0 - np.minimum(1.0, np.abs(load - load.mean()) / WORKLOAD_SCALE)


def iso_week_numbers(week_start: np.ndarray) -> np.ndarray:
    """ISO 8601 week number (1..53) of each day number (date.toordinal()): week 1 holds the year's first Thursday."""
    day = np.asarray(week_start, dtype=np.int64)
    weekday = (day - 1) % 7  # 0 = Monday for proleptic ordinals (0001-01-01 was a Monday)
    thursday = day - weekday + 3
    # The ISO year is the calendar year of that Thursday; its week 1 is the week of its 4 January.
    year_start = _ordinal_of_jan_1(thursday)
    return (thursday - year_start) // 7 + 1


def _ordinal_of_jan_1(day: np.ndarray) -> np.ndarray:
    """date(year(day), 1, 1).toordinal() for day numbers, vectorised through numpy's datetime64."""
    epoch = 719163  # date(1970, 1, 1).toordinal()
    as_date = (day - epoch).astype("datetime64[D]")
    jan_1 = as_date.astype("datetime64[Y]").astype("datetime64[D]")
    return jan_1.astype(np.int64) + epoch
