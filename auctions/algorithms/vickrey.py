"""Sealed-bid second-price auctions in priority points (DESIGN §8): the rules alone, no ledger, no database.

- **Vickrey** (a desirable slot): the highest bid at or above the reserve wins and pays max(second-highest bid,
  reserve) — never more than they bid. Bidding one's true value is a dominant strategy.
- **Reverse Vickrey** (an undesirable slot): each bidder asks the points they want for taking it; the lowest ask at
  or below the reserve (the most the programme will pay) wins and is credited min(second-lowest ask, reserve) —
  never less than they asked.

Ties at the winning amount are broken by a seeded draw among the tied bidders (taken in sorted order, then
shuffled by ``numpy.random.default_rng(seed)``), and the draw is part of the outcome so it can be recorded and
replayed. No bid meeting the reserve: no winner, price 0.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np

WON, NO_WINNER = "won", "no_winner"
MAX_POINTS = 10**9


class BidError(ValueError):
    """A bid or reserve that is not a whole number of points ≥ 0; `field` names it (``bids.F002``, ``reserve``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Outcome:
    """status: WON or NO_WINNER; winner: the winning bidder or None; winning_bid: their bid (ask); price: what they
    pay (Vickrey) or are credited (reverse); bidders: how many bid; tied: the bidders tied at the winning amount in
    the order the draw put them (the winner first; empty when no tie); seed: the draw's seed."""

    status: str
    winner: Hashable | None
    winning_bid: int | None
    price: int
    bidders: int
    tied: tuple = ()
    seed: int | None = None
    reverse: bool = False


def points(field: str, value) -> int:
    """A whole, non-negative number of points (bools, fractions, text and NaN refused, naming the field)."""
    if isinstance(value, bool) or value is None:
        raise BidError(field, "must be a whole number of points.")
    if isinstance(value, float | np.floating):
        if not np.isfinite(value) or value != int(value):
            raise BidError(field, "must be a whole number of points.")
        value = int(value)
    if not isinstance(value, int | np.integer):
        raise BidError(field, "must be a whole number of points.")
    if value < 0:
        raise BidError(field, "must not be negative.")
    if value > MAX_POINTS:
        raise BidError(field, f"must be at most {MAX_POINTS:,}.")
    return int(value)


def vickrey(bids: Mapping[Hashable, int], *, reserve: int = 0, seed: int = 0) -> Outcome:
    """The second-price auction of a desirable slot (see the module docstring)."""
    return _auction(bids, reserve=reserve, seed=seed, reverse=False)


def reverse_vickrey(asks: Mapping[Hashable, int], *, reserve: int, seed: int = 0) -> Outcome:
    """The second-price reverse auction of an undesirable slot: `reserve` is the most the programme will pay."""
    return _auction(asks, reserve=reserve, seed=seed, reverse=True)


def _auction(bids: Mapping[Hashable, int], *, reserve: int, seed: int, reverse: bool) -> Outcome:
    reserve = points("reserve", reserve)
    clean = {bidder: points(f"bids.{bidder}", amount) for bidder, amount in bids.items()}
    sign = -1 if reverse else 1  # a reverse auction is a Vickrey auction on the negated asks
    valid = {b: a for b, a in clean.items() if sign * a >= sign * reserve}
    if not valid:
        return Outcome(NO_WINNER, None, None, 0, len(clean), seed=seed, reverse=reverse)
    best = max(sign * a for a in valid.values()) * sign
    tied = sorted((b for b, a in valid.items() if a == best), key=_sort_key)
    if len(tied) > 1:
        tied = [tied[k] for k in np.random.default_rng(seed).permutation(len(tied))]
    winner = tied[0]
    others = [a for b, a in clean.items() if b != winner]
    # the runner-up's amount bounded by the reserve: a floor for a bid, a ceiling for an ask
    price = min(min(others, default=reserve), reserve) if reverse else max(max(others, default=reserve), reserve)
    return Outcome(WON, winner, best, int(price), len(clean), tuple(tied) if len(tied) > 1 else (), seed, reverse)


def _sort_key(bidder):
    return (type(bidder).__name__, bidder)
