"""A Hypothesis stateful test of auctions and ledger together against a simple in-memory model (DESIGN §8): random
grants (with replayed and conflicting idempotency keys), auctions opened, bids placed, raised, lowered and withdrawn,
closes, settlements and repeated settlements. After every step each account's balance and held points, every
auction's status and outcome match the model, and reconcile_points finds nothing."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from auctions.algorithms.vickrey import reverse_vickrey, vickrey
from auctions.auction_models import Bid, VickreyAuction
from auctions.ledger import KeyConflict, points_grant
from auctions.reconcile import points_reconcile
from auctions.services import auction_close, auction_settle, bid_change, bid_place, bid_withdraw
from tests.auctions.auction_helpers import figures, open_auction

pytestmark = pytest.mark.django_db

PEOPLE = ("alice", "bob", "carol")
SEED = 5


@dataclass
class Person:
    balance: int = 0
    grants: dict[str, int] = field(default_factory=dict)


@dataclass
class Auction:
    pk: int
    desirable: bool
    reserve: int
    status: str = "open"
    bids: dict[str, int] = field(default_factory=dict)  # active bids by person
    outcome: tuple | None = None


class AuctionsAndLedger(RuleBasedStateMachine):
    def __init__(self, year, cast, coordinator):
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()  # each example runs in a savepoint rolled back at teardown
        self.year, self.cast, self.coordinator = year, cast, coordinator
        self.people = {name: Person() for name in PEOPLE}
        self.auctions: list[Auction] = []
        self.free_weeks = list(range(8))

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def held(self, name: str) -> int:
        return sum(a.bids.get(name, 0) for a in self.auctions if a.desirable and a.status == "open")

    def held_in_closed(self, name: str) -> int:
        return sum(a.bids.get(name, 0) for a in self.auctions if a.desirable and a.status == "closed")

    # --- rules ----------------------------------------------------------------------------------------------------

    @rule(name=st.sampled_from(PEOPLE), amount=st.integers(1, 30), key=st.sampled_from(["k1", "k2", "k3", None]))
    def grant(self, name, amount, key):
        person = self.people[name]
        try:
            points_grant(faculty=self.cast[name], year=self.year, amount=amount, reason="grant",
                         processed_by=self.coordinator, idempotency_key=key)
        except KeyConflict:
            assert key in person.grants and person.grants[key] != amount
            return
        if key is not None and key in person.grants:
            assert person.grants[key] == amount  # a replay: nothing new
            return
        if key is not None:
            person.grants[key] = amount
        person.balance += amount

    @rule(desirable=st.booleans(), reserve=st.integers(0, 12))
    def open(self, desirable, reserve):
        if not self.free_weeks:
            return
        week = self.free_weeks.pop(0)
        auction = open_auction(self.year, week=week, kind="desirable" if desirable else "reverse", reserve=reserve,
                               actor=self.coordinator)
        self.auctions.append(Auction(auction.pk, desirable, reserve))

    def _pick(self, index: int) -> Auction | None:
        return self.auctions[index % len(self.auctions)] if self.auctions else None

    @rule(name=st.sampled_from(PEOPLE), index=st.integers(0, 20), amount=st.integers(0, 40))
    def bid(self, name, index, amount):
        model = self._pick(index)
        if model is None:
            return
        auction = VickreyAuction.objects.get(pk=model.pk)
        available = self.people[name].balance - self.held(name) - self.held_in_closed(name)
        current = model.bids.get(name)
        try:
            if current is None:
                bid_place(auction=auction, faculty=self.cast[name], amount=amount)
            else:
                bid = Bid.objects.get(auction=auction, faculty=self.cast[name], status="active")
                bid_change(bid=bid, amount=amount)
        except ValidationError as exc:
            limit = available + (current or 0)
            assert model.status != "open" or (model.desirable and amount > limit), exc.message_dict
            assert set(exc.message_dict) == ({"auction"} if model.status != "open" else {"amount"})
            return
        assert model.status == "open"
        assert not model.desirable or amount <= available + (current or 0)
        model.bids[name] = amount

    @rule(name=st.sampled_from(PEOPLE), index=st.integers(0, 20))
    def withdraw(self, name, index):
        model = self._pick(index)
        if model is None or name not in model.bids:
            return
        bid = Bid.objects.get(auction_id=model.pk, faculty=self.cast[name], status="active")
        try:
            bid_withdraw(bid=bid)
        except ValidationError:
            assert model.status != "open"
            return
        del model.bids[name]

    @rule(index=st.integers(0, 20))
    def close(self, index):
        model = self._pick(index)
        if model is None:
            return
        auction_close(auction=VickreyAuction.objects.get(pk=model.pk), actor=self.coordinator)
        if model.status == "open":
            model.status = "closed"

    @rule(index=st.integers(0, 20))
    def settle(self, index):
        model = self._pick(index)
        if model is None or model.status == "open":
            return
        auction = auction_settle(auction=VickreyAuction.objects.get(pk=model.pk), actor=self.coordinator, seed=SEED)
        if model.status == "settled":  # a repeat: the first outcome, nothing moves
            assert (auction.winner.user.username if auction.winner else None, auction.price) == model.outcome
            return
        rule_of = vickrey if model.desirable else reverse_vickrey
        outcome = rule_of(model.bids, reserve=model.reserve, seed=SEED)
        if outcome.winner is not None:
            if model.desirable:
                self.people[outcome.winner].balance -= outcome.price
            else:
                self.people[outcome.winner].balance += outcome.price
        model.status = "settled"
        model.outcome = (outcome.winner, outcome.price if outcome.winner else None)
        model.bids = {}
        assert (auction.winner.user.username if auction.winner else None, auction.price) == model.outcome

    # --- invariants -----------------------------------------------------------------------------------------------

    @invariant()
    def ledger_matches_the_model(self):
        for name, person in self.people.items():
            held = self.held(name) + self.held_in_closed(name)
            assert figures(self.cast[name], self.year) == (person.balance, held, person.balance - held), name

    @invariant()
    def auctions_match_the_model(self):
        for model in self.auctions:
            stored = VickreyAuction.objects.get(pk=model.pk)
            assert stored.status == model.status
            active = dict(Bid.objects.filter(auction_id=model.pk, status="active")
                          .values_list("faculty__user__username", "amount"))
            assert active == model.bids

    @invariant()
    def reconciles(self):
        result = points_reconcile()
        assert result.ok, result.as_dict()


def test_auctions_and_ledger_match_an_in_memory_model(year, faculty, other_faculty, carol, coordinator):
    cast = {"alice": faculty, "bob": other_faculty, "carol": carol}
    run_state_machine_as_test(
        lambda: AuctionsAndLedger(year, cast, coordinator),
        settings=settings(max_examples=40, stateful_step_count=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]),
    )
