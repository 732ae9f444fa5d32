"""The auction rules, one test each, plus truthfulness against brute force over deviations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auctions.algorithms.vickrey import NO_WINNER, WON, BidError, points, reverse_vickrey, vickrey


def test_second_price():
    outcome = vickrey({"F001": 10, "F002": 7, "F003": 3})
    assert (outcome.status, outcome.winner, outcome.winning_bid, outcome.price, outcome.bidders) == (WON, "F001", 10, 7, 3)


def test_reserve_is_a_floor():
    assert vickrey({"F001": 10, "F002": 2}, reserve=5).price == 5
    assert vickrey({"F001": 10, "F002": 8}, reserve=5).price == 8
    assert vickrey({"F001": 5}, reserve=5).price == 5  # a bid equal to the reserve meets it


def test_single_bidder_pays_the_reserve():
    outcome = vickrey({"F001": 12}, reserve=3)
    assert (outcome.winner, outcome.price) == ("F001", 3)
    assert vickrey({"F001": 12}).price == 0


def test_no_valid_bid_no_winner():
    outcome = vickrey({"F001": 2, "F002": 4}, reserve=5)
    assert (outcome.status, outcome.winner, outcome.price, outcome.bidders) == (NO_WINNER, None, 0, 2)
    assert vickrey({}).status == NO_WINNER


def test_ties_break_by_a_recorded_seeded_draw():
    bids = {"F003": 9, "F001": 9, "F002": 9, "F004": 1}
    outcomes = {seed: vickrey(bids, seed=seed) for seed in range(20)}
    for seed, outcome in outcomes.items():
        assert outcome.price == 9  # the second-highest bid is the tied amount
        assert set(outcome.tied) == {"F001", "F002", "F003"} and outcome.tied[0] == outcome.winner
        assert outcome.seed == seed and vickrey(bids, seed=seed) == outcome  # replayable
        # the draw does not depend on the order the bids arrived in
        assert vickrey(dict(reversed(list(bids.items()))), seed=seed).winner == outcome.winner
    assert len({o.winner for o in outcomes.values()}) == 3  # every tied bidder can win
    assert vickrey({"F001": 9, "F002": 4}).tied == ()


def test_reverse_auction_with_a_reserve_as_ceiling():
    outcome = reverse_vickrey({"F001": 4, "F002": 6, "F003": 9}, reserve=8)
    assert (outcome.winner, outcome.winning_bid, outcome.price, outcome.reverse) == ("F001", 4, 6, True)
    assert reverse_vickrey({"F001": 4, "F003": 9}, reserve=8).price == 8  # second-lowest above the ceiling
    assert reverse_vickrey({"F001": 4}, reserve=8).price == 8  # a single asker is credited the ceiling
    assert reverse_vickrey({"F001": 9, "F002": 12}, reserve=8).status == NO_WINNER


def test_withdrawal_is_the_auction_without_that_bid():
    """Withdrawing is simply not being in the bids that close the auction: the runner-up's price drops."""
    bids = {"F001": 10, "F002": 7, "F003": 3}
    withdrawn = {k: v for k, v in bids.items() if k != "F002"}
    assert (vickrey(withdrawn).winner, vickrey(withdrawn).price) == ("F001", 3)
    assert vickrey({k: v for k, v in bids.items() if k != "F001"}).winner == "F002"


@pytest.mark.parametrize("bad, message", [
    (-1, "must not be negative"), (2.5, "whole number"), ("7", "whole number"), (True, "whole number"),
    (None, "whole number"), (float("nan"), "whole number"), (10**12, "at most"),
])
def test_bad_bids_are_refused_naming_the_field(bad, message):
    with pytest.raises(BidError, match=message) as caught:
        vickrey({"F001": 5, "F002": bad})
    assert caught.value.field == "bids.F002"
    with pytest.raises(BidError) as caught:
        vickrey({"F001": 5}, reserve=bad)
    assert caught.value.field == "reserve"
    assert points("x", 7.0) == 7 and points("x", np.int64(3)) == 3


def _utility(values, bids, bidder, reverse):
    outcome = reverse_vickrey(bids, reserve=50, seed=1) if reverse else vickrey(bids, reserve=5, seed=1)
    if outcome.winner != bidder:
        return 0
    return outcome.price - values[bidder] if reverse else values[bidder] - outcome.price


@settings(max_examples=150, deadline=None)
@given(values=st.lists(st.integers(0, 40), min_size=1, max_size=5), reverse=st.booleans())
def test_truthful_bidding_is_a_dominant_strategy_against_every_deviation(values, reverse):
    """With the others' bids fixed at their values, no bid 0–60 gives a bidder more than bidding their value
    (a deviation that only changes who wins a tie at their value gains nothing either)."""
    names = [f"F{k:03}" for k in range(len(values))]
    value_of = dict(zip(names, values, strict=True))
    for bidder in names:
        truthful = _utility(value_of, value_of, bidder, reverse)
        for deviation in range(61):
            bids = {**value_of, bidder: deviation}
            assert _utility(value_of, bids, bidder, reverse) <= truthful, (bidder, deviation)
