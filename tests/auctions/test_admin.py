"""The ledger in the admin is read-only: lists and detail pages open, nothing can be added, changed or deleted, and
no bulk action (not even "delete selected") is offered."""

from __future__ import annotations

import pytest
from django.urls import reverse

from auctions import ledger
from auctions.ledger import EntryType
from auctions.models import PriorityPointTransaction

pytestmark = pytest.mark.django_db

MODELS = ["prioritypointaccount", "prioritypointtransaction", "prioritypointhold", "idempotentrequest"]


@pytest.fixture
def entry(account):
    ledger.hold_place(account=ledger.ledger_post(account=account, amount=5, type=EntryType.GRANT).entry.account,
                      amount=2)
    return PriorityPointTransaction.objects.get()


@pytest.mark.parametrize("model", MODELS)
def test_every_ledger_list_opens_without_actions_or_add(admin_console, entry, model):
    response = admin_console.get(reverse(f"admin:auctions_{model}_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="action"' not in html and "delete_selected" not in html
    assert reverse(f"admin:auctions_{model}_add") not in html


def test_an_entry_cannot_be_changed_or_deleted_in_the_admin(admin_console, entry):
    change = reverse("admin:auctions_prioritypointtransaction_change", args=[entry.pk])
    page = admin_console.get(change)
    assert page.status_code == 200 and 'type="submit"' not in page.content.decode().split('id="content-main"')[1]
    admin_console.post(change, {"amount": 500})
    delete = admin_console.post(reverse("admin:auctions_prioritypointtransaction_delete", args=[entry.pk]),
                                {"post": "yes"})
    assert delete.status_code == 403
    assert PriorityPointTransaction.objects.get().amount == 5
