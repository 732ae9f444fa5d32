"""Ledger fixtures: alice's and bob's accounts for 2026, and a check that every account reconciles."""

from __future__ import annotations

import pytest

from auctions.ledger import points_account_get_or_create
from auctions.reconcile import points_reconcile


@pytest.fixture
def account(year, faculty):
    return points_account_get_or_create(faculty=faculty, year=year)


@pytest.fixture
def other_account(year, other_faculty):
    return points_account_get_or_create(faculty=other_faculty, year=year)


def assert_reconciles() -> None:
    result = points_reconcile()
    assert result.ok, result.as_dict()
