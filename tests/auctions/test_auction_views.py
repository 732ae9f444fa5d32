"""The auction pages (DESIGN §8, §11): each works as a plain POST and as HTMX, refuses with the field named, and
walks the permission matrix."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from auctions.auction_models import Bid, VickreyAuction
from tests.auctions.auction_helpers import figures, grant, open_auction

pytestmark = pytest.mark.django_db


@pytest.fixture
def funded(year, faculty, other_faculty, coordinator):
    grant(faculty, year, 20, coordinator)
    grant(other_faculty, year, 15, coordinator)


def test_my_points_shows_balance_held_available_and_the_ledger(client_as, year, funded, faculty, coordinator):
    auction = open_auction(year, actor=coordinator)
    client = client_as(faculty.user)
    client.post(reverse("bid_submit", args=[auction.pk]), {"amount": "6"})
    page = client.get(reverse("my_points"))
    assert page.status_code == 200 and "no-cache" in page["Cache-Control"]
    text = page.content.decode()
    assert "test grant" in text and "+20" in text
    assert figures(faculty, year) == (20, 6, 14)
    assert page.context["account"].available == 14


def test_a_faculty_member_places_changes_and_withdraws_a_bid_by_plain_post(client_as, year, funded, faculty,
                                                                            coordinator):
    auction = open_auction(year, actor=coordinator)
    client = client_as(faculty.user)
    page = client.get(reverse("auctions_page"))
    assert "the highest bid" in page.content.decode().lower()
    assert client.post(reverse("bid_submit", args=[auction.pk]), {"amount": "5"}).status_code == 302
    assert client.post(reverse("bid_submit", args=[auction.pk]), {"amount": "9"}).status_code == 302
    assert Bid.objects.get(status="active").amount == 9 and figures(faculty, year) == (20, 9, 11)
    assert client.post(reverse("bid_withdraw", args=[auction.pk])).status_code == 302
    assert figures(faculty, year) == (20, 0, 20)


def test_an_htmx_bid_also_refreshes_the_points_summary(client_as, year, funded, faculty, coordinator):
    """The card is the answer, and the summary at the top of the page comes along out of band: the bid's points
    now show as held, not available."""
    auction = open_auction(year, actor=coordinator)
    before = figures(faculty, year)
    answer = client_as(faculty.user).post(reverse("bid_submit", args=[auction.pk]), {"amount": "7"},
                                          HTTP_HX_REQUEST="true")
    html = answer.content.decode()
    assert answer.status_code == 200 and f'id="auction-{auction.pk}"' in html
    assert 'id="points-summary"' in html and 'hx-swap-oob="true"' in html
    assert f"{before[2] - 7} points available" in html and "7 held by bids" in html


@pytest.mark.parametrize(("amount", "message"), [("-1", "negative"), ("2.5", "whole"), ("abc", "whole"),
                                                 ("21", "available")])
def test_a_bad_bid_is_refused_beside_the_field_with_nothing_stored(client_as, year, funded, faculty, coordinator,
                                                                   amount, message):
    auction = open_auction(year, actor=coordinator)
    client = client_as(faculty.user)
    page = client.post(reverse("bid_submit", args=[auction.pk]), {"amount": amount})
    assert page.status_code == 400
    assert message in " ".join(page.context["cards"][0]["form"].errors["amount"])
    partial = client.post(reverse("bid_submit", args=[auction.pk]), {"amount": amount}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "field-error" in partial.content.decode()
    assert Bid.objects.count() == 0


def test_the_coordinator_creates_closes_and_settles_from_the_page(client_as, year, funded, faculty, coordinator):
    client = client_as(coordinator)
    closes = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    week = year.weeks.get(index=2)
    from preferences.models import Rotation
    inpatient = Rotation.objects.get(name="inpatient")
    created = client.post(reverse("coordinator_auction_create", args=[2026]), {
        "week": week.pk, "rotation": inpatient.pk, "kind": "desirable", "reserve_price": "1", "closes_at": closes})
    assert created.status_code == 302, created.context["form"].errors if created.context else created
    auction = VickreyAuction.objects.get()
    client.logout()
    client_as(faculty.user).post(reverse("bid_submit", args=[auction.pk]), {"amount": "7"})
    client.logout()
    client = client_as(coordinator)
    client.post(reverse("coordinator_auction_close", args=[auction.pk]))
    answer = client.post(reverse("coordinator_auction_settle", args=[auction.pk]), HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and "settled" in answer.content.decode()
    assert VickreyAuction.objects.get().price == 1
    assert figures(faculty, year) == (19, 0, 19)


def test_the_create_form_names_the_field_it_refuses(client_as, year, coordinator):
    client = client_as(coordinator)
    past = (timezone.localtime() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    from preferences.models import Rotation
    page = client.post(reverse("coordinator_auction_create", args=[2026]), {
        "week": year.weeks.get(index=2).pk, "rotation": Rotation.objects.get(name="inpatient").pk, "kind": "desirable",
        "reserve_price": "0", "closes_at": past})
    assert page.status_code == 400 and "closes_at" in page.context["form"].errors
    assert VickreyAuction.objects.count() == 0


@pytest.mark.parametrize(("who", "code"), [("anonymous", 302), ("faculty", 403), ("coordinator", 200)])
def test_the_coordinator_page_is_for_coordinators(client_as, request, year, who, code):
    user = None if who == "anonymous" else getattr(request.getfixturevalue(who), "user", request.getfixturevalue(who))
    assert client_as(user).get(reverse("coordinator_auctions", args=[2026])).status_code == code


def test_faculty_pages_need_a_login_and_a_faculty_profile(client_as, year, coordinator):
    assert client_as(None).get(reverse("auctions_page")).status_code == 302
    assert client_as(coordinator).get(reverse("my_points")).status_code == 403
