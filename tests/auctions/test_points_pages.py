"""The coordinator's points pages (DESIGN §8, §11): every account of a year with sealed held points while bids are
open, grants and corrections with a reason (a form sent twice posts once), one person's ledger, and the ledger
check — each refused to faculty and to the anonymous."""

from __future__ import annotations

import pytest
from django.urls import reverse

from auctions.models import PriorityPointAccount, PriorityPointTransaction
from tests.auctions.auction_helpers import figures, grant, open_auction

pytestmark = pytest.mark.django_db


def _form(client, year) -> dict:
    page = client.get(reverse("coordinator_points", args=[year.label]))
    assert page.status_code == 200
    return {"key": page.context["form"].initial["key"]}


def test_the_page_lists_every_account_and_says_the_ledger_reconciles(client_as, year, faculty, other_faculty,
                                                                       coordinator):
    grant(faculty, year, 12, coordinator)
    page = client_as(coordinator).get(reverse("coordinator_points", args=[year.label]))
    assert page.status_code == 200 and "no-cache" in page["Cache-Control"]
    rows = {r["faculty"]: r for r in page.context["rows"]}
    assert rows[faculty.external_id]["balance"] == 12 and rows[faculty.external_id]["available"] == 12
    assert rows[other_faculty.external_id]["balance"] == 0 and not rows[other_faculty.external_id]["has_account"]
    assert page.context["reconciliation"].ok
    assert "All 1 account reconcile" in page.content.decode()


def test_held_and_available_are_sealed_while_a_bid_is_open(client_as, year, faculty, coordinator):
    grant(faculty, year, 20, coordinator)
    auction = open_auction(year, actor=coordinator)
    client_as(faculty.user).post(reverse("bid_submit", args=[auction.pk]), {"amount": "13"})
    assert figures(faculty, year) == (20, 13, 7)
    coordinator_client = client_as(coordinator)
    for url in (reverse("coordinator_points", args=[year.label]),
                reverse("coordinator_points_account", args=[year.label, faculty.external_id])):
        html = coordinator_client.get(url).content.decode()
        assert "sealed" in html and ">13<" not in html and ">7<" not in html


def test_a_grant_posts_once_even_when_the_form_is_sent_twice(client_as, year, faculty, coordinator):
    client = client_as(coordinator)
    data = {**_form(client, year), "faculty": faculty.pk, "amount": "5", "reason": "Covered Christmas"}
    url = reverse("coordinator_points_grant", args=[year.label])
    assert client.post(url, data).status_code == 302
    again = client.post(url, data, follow=True)
    assert "already posted" in again.content.decode()
    assert figures(faculty, year) == (5, 0, 5)
    entry = PriorityPointTransaction.objects.get()
    assert entry.type == "grant" and entry.description == "Covered Christmas" and entry.processed_by == coordinator


def test_the_same_form_sent_again_with_other_figures_is_refused(client_as, year, faculty, coordinator):
    client = client_as(coordinator)
    data = {**_form(client, year), "faculty": faculty.pk, "amount": "5", "reason": "Covered Christmas"}
    url = reverse("coordinator_points_grant", args=[year.label])
    client.post(url, data)
    answer = client.post(url, {**data, "amount": "50"})
    assert answer.status_code == 400 and "already sent with other figures" in answer.content.decode()
    assert figures(faculty, year) == (5, 0, 5)


def test_a_correction_may_not_go_below_the_held_points(client_as, year, faculty, coordinator):
    grant(faculty, year, 10, coordinator)
    auction = open_auction(year, actor=coordinator)
    client_as(faculty.user).post(reverse("bid_submit", args=[auction.pk]), {"amount": "8"})
    client = client_as(coordinator)
    data = {**_form(client, year), "faculty": faculty.pk, "amount": "-5", "reason": "Double award"}
    answer = client.post(reverse("coordinator_points_grant", args=[year.label]), data)
    assert answer.status_code == 400
    assert answer.context["form"].errors  # named on the form, and the page says why
    assert figures(faculty, year) == (10, 8, 2)
    data["amount"] = "-2"
    assert client.post(reverse("coordinator_points_grant", args=[year.label]), data).status_code == 302
    assert figures(faculty, year) == (8, 8, 0)
    assert PriorityPointTransaction.objects.filter(type="reversal", amount=-2).count() == 1


@pytest.mark.parametrize("field, value, message", [
    ("amount", "", "whole number"),
    ("amount", "2.5", "whole number"),
    ("amount", "abc", "whole number"),
    ("amount", "0", "changes nothing"),
    ("reason", "", "Write the reason"),
    ("reason", "x" * 301, "under 300"),
    ("faculty", "999999", "faculty member of this year"),
    ("key", "", "reload the page"),
    ("key", "short", "reload the page"),
])
def test_bad_grants_are_refused_naming_the_field_and_store_nothing(client_as, year, faculty, coordinator, field,
                                                                    value, message):
    client = client_as(coordinator)
    data = {**_form(client, year), "faculty": faculty.pk, "amount": "5", "reason": "Fine", field: value}
    answer = client.post(reverse("coordinator_points_grant", args=[year.label]), data)
    assert answer.status_code == 400
    assert any(message in e for e in answer.context["form"].errors.get(field, [])), answer.context["form"].errors
    assert not PriorityPointAccount.objects.exists() and not PriorityPointTransaction.objects.exists()


def test_one_persons_ledger_lists_their_entries(client_as, year, faculty, other_faculty, coordinator):
    grant(faculty, year, 4, coordinator)
    grant(other_faculty, year, 9, coordinator)
    page = client_as(coordinator).get(reverse("coordinator_points_account", args=[year.label, faculty.external_id]))
    assert page.status_code == 200 and [e.amount for e in page.context["entries"]] == [4]
    assert page.context["figures"]["balance"] == 4
    missing = client_as(coordinator).get(reverse("coordinator_points_account", args=[year.label, "NOPE"]))
    assert missing.status_code == 404


def test_a_broken_account_is_named_on_the_page(client_as, year, faculty, coordinator):
    grant(faculty, year, 6, coordinator)
    PriorityPointAccount.objects.filter(faculty=faculty).update(balance=9, lifetime_earned=9)
    page = client_as(coordinator).get(reverse("coordinator_points", args=[year.label]), HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert page.status_code == 200 and 'id="reconciliation"' in html and "<h1" not in html  # the partial alone
    assert "1 account does not reconcile" in html and faculty.external_id in html and "balance 9" in html


def test_faculty_and_the_anonymous_are_refused_everything(client, client_as, year, faculty, coordinator):
    grant(faculty, year, 3, coordinator)
    urls = [reverse("coordinator_points_overview"), reverse("coordinator_points", args=[year.label]),
            reverse("coordinator_points_account", args=[year.label, faculty.external_id])]
    post = reverse("coordinator_points_grant", args=[year.label])
    for who in (client, client_as(faculty.user)):
        for url in urls:
            assert who.get(url).status_code in (302, 403), url
        assert who.post(post, {"faculty": faculty.pk, "amount": "50", "reason": "me", "key": "k" * 20}).status_code \
            in (302, 403)
    assert figures(faculty, year) == (3, 0, 3)
