"""A Hypothesis state machine drives the ledger with random grants, debits, corrections, transfers, holds, posts,
voids and replays of idempotency keys (from a small pool, so keys collide), against a plain in-memory model. After
every step each account's balance and held points match the model, and reconcile_points finds nothing."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from auctions import ledger
from auctions.ledger import EntryType, HoldResolved, InsufficientPoints, KeyConflict
from auctions.models import PriorityPointHold
from auctions.reconcile import points_reconcile
from preferences.models import AcademicYear
from tests.factories import FacultyFactory

ACCOUNTS = 3
KEYS = st.sampled_from([None, "k0", "k1", "k2", "k3"])
AMOUNTS = st.integers(min_value=1, max_value=40)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        year = AcademicYear.objects.get(label=2026)
        self.accounts = [ledger.points_account_get_or_create(faculty=FacultyFactory(), year=year)
                         for _ in range(ACCOUNTS)]
        self.balance = [0] * ACCOUNTS
        self.held = [0] * ACCOUNTS
        self.entry_keys: dict[tuple[int, str], tuple] = {}  # (account, key) -> what was posted under it
        self.hold_keys: dict[tuple[int, str], tuple] = {}  # (account, key) -> (amount, hold id)
        self.holds: dict[int, dict] = {}  # hold id -> {"account", "amount", "status", "posted"}
        self.requests: list[tuple] = []  # every accepted request, to replay

    # --- the model's rule for one posting --------------------------------------------------------------------------

    def _post(self, i: int, amount: int, kind: str, key: str | None, description: str = "") -> None:
        request = (amount, kind, description)
        expected = self._expect_entry(i, request, key)
        try:
            posted = ledger.ledger_post(account=self.accounts[i], amount=amount, type=kind, description=description,
                                        idempotency_key=key)
        except KeyConflict:
            assert expected == "conflict"
            return
        except InsufficientPoints:
            assert expected == "short"
            return
        assert expected == ("replay" if posted.replayed else "new"), (expected, posted)
        if not posted.replayed:
            self.balance[i] += amount
            if key is not None:
                self.entry_keys[(i, key)] = request
            self.requests.append(("post", i, amount, kind, key, description))

    def _expect_entry(self, i: int, request: tuple, key: str | None) -> str:
        if key is not None and (i, key) in self.entry_keys:
            return "replay" if self.entry_keys[(i, key)] == request else "conflict"
        amount = request[0]
        return "short" if amount < 0 and self.balance[i] + amount < self.held[i] else "new"

    # --- rules ------------------------------------------------------------------------------------------------------

    @rule(i=st.integers(0, ACCOUNTS - 1), amount=AMOUNTS, key=KEYS)
    def grant(self, i, amount, key):
        self._post(i, amount, EntryType.GRANT, key)

    @rule(i=st.integers(0, ACCOUNTS - 1), amount=AMOUNTS, key=KEYS)
    def debit(self, i, amount, key):
        self._post(i, -amount, EntryType.AUCTION_PAYMENT, key)

    @rule(i=st.integers(0, ACCOUNTS - 1), amount=AMOUNTS, key=KEYS)
    def correction(self, i, amount, key):
        self._post(i, -amount, EntryType.REVERSAL, key, description="correction")

    @rule(i=st.integers(0, ACCOUNTS - 1), j=st.integers(0, ACCOUNTS - 1), amount=AMOUNTS)
    def transfer(self, i, j, amount):
        if i == j:
            return
        short = self.balance[i] - amount < self.held[i]
        try:
            ledger.ledger_transfer(source=self.accounts[i], target=self.accounts[j], amount=amount,
                                   type=EntryType.GRANT)
        except InsufficientPoints:
            assert short
            return
        assert not short
        self.balance[i] -= amount
        self.balance[j] += amount

    @rule(i=st.integers(0, ACCOUNTS - 1), amount=AMOUNTS, key=KEYS)
    def hold(self, i, amount, key):
        first = self.hold_keys.get((i, key)) if key is not None else None
        try:
            result = ledger.hold_place(account=self.accounts[i], amount=amount, idempotency_key=key)
        except KeyConflict:
            assert first is not None and first[0] != amount
            return
        except InsufficientPoints:
            assert first is None and self.balance[i] - self.held[i] < amount
            return
        if first is not None:
            assert result.replayed and result.hold.pk == first[1]
            return
        assert not result.replayed
        self.held[i] += amount
        self.holds[result.hold.pk] = {"account": i, "amount": amount, "status": "pending", "posted": None}
        if key is not None:
            self.hold_keys[(i, key)] = (amount, result.hold.pk)

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), fraction=st.floats(0, 1.2))
    def post(self, data, fraction):
        hold_id = data.draw(st.sampled_from(sorted(self.holds)))
        model = self.holds[hold_id]
        amount = int(model["amount"] * fraction)
        try:
            result = ledger.hold_post(hold=PriorityPointHold(pk=hold_id), amount=amount)
        except HoldResolved:
            assert model["status"] == "voided" or (model["status"] == "posted" and model["posted"] != amount)
            return
        except ledger.ValidationError:
            assert model["status"] == "pending" and amount > model["amount"]
            return
        if model["status"] == "posted":
            assert result.replayed and model["posted"] == amount
            return
        assert model["status"] == "pending" and amount <= model["amount"]
        i = model["account"]
        self.held[i] -= model["amount"]
        self.balance[i] -= amount
        model.update(status="posted", posted=amount)

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def void(self, data):
        hold_id = data.draw(st.sampled_from(sorted(self.holds)))
        model = self.holds[hold_id]
        try:
            result = ledger.hold_void(hold=PriorityPointHold(pk=hold_id))
        except HoldResolved:
            assert model["status"] == "posted"
            return
        if model["status"] == "voided":
            assert result.replayed
            return
        self.held[model["account"]] -= model["amount"]
        model["status"] = "voided"

    @precondition(lambda self: any(r[4] is not None for r in self.requests))
    @rule(data=st.data())
    def replay(self, data):
        """A request sent again under its key: the first result, nothing changes."""
        _, i, amount, kind, key, description = data.draw(st.sampled_from([r for r in self.requests if r[4]]))
        before = (list(self.balance), list(self.held))
        posted = ledger.ledger_post(account=self.accounts[i], amount=amount, type=kind, description=description,
                                    idempotency_key=key)
        assert posted.replayed
        assert (self.balance, self.held) == before

    # --- invariants ---------------------------------------------------------------------------------------------------

    @invariant()
    def balances_and_holds_match_the_model(self):
        for i, account in enumerate(self.accounts):
            account.refresh_from_db()
            assert (account.balance, account.held) == (self.balance[i], self.held[i])
            assert 0 <= account.held <= account.balance

    @invariant()
    def the_ledger_reconciles(self):
        result = points_reconcile()
        assert result.ok, result.as_dict()


@pytest.mark.django_db
def test_the_ledger_matches_a_simple_model_under_random_operations(year):
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=40, stateful_step_count=30, deadline=None, derandomize=True,
        suppress_health_check=list(HealthCheck),
    ))
