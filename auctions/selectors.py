"""What each person may read of the auctions (DESIGN §8: sealed bids). Everyone in the programme reads every auction
and, once settled, its outcome: the winner and the price. A bid's amount is shown only to its bidder — to nobody
else, coordinators included, before settlement; after it, the winner's amount to coordinators and the winner, a
losing amount to its bidder alone. Every page and endpoint reads through here."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from auctions.auction_models import Bid, VickreyAuction
from auctions.models import PriorityPointAccount
from gtsched_site.permissions import is_coordinator
from preferences.models import AcademicYear, Faculty
from preferences.querysets import own_faculty

RULES = {
    VickreyAuction.Kind.DESIRABLE: ("The highest bid at or above the reserve wins and pays the second-highest bid or "
                                    "the reserve, whichever is more; bids are sealed."),
    VickreyAuction.Kind.REVERSE: ("The lowest ask at or below the reserve wins and is credited the second-lowest ask "
                                  "or the reserve, whichever is less; asks are sealed."),
}


def auctions_for_user(user) -> QuerySet[VickreyAuction]:
    qs = VickreyAuction.objects.select_related("year", "week", "rotation", "holder", "winner")
    return qs if user and user.is_authenticated else qs.none()


def bids_for_user(user) -> QuerySet[Bid]:
    """The caller's own bids, and nobody else's — a coordinator's too."""
    if not (user and user.is_authenticated):
        return Bid.objects.none()
    return Bid.objects.filter(faculty__user=user).select_related("auction__week", "auction__rotation", "auction__year",
                                                                 "hold")


def own_bids_by_auction(user, auctions: list[VickreyAuction]) -> dict[int, Bid]:
    """The caller's current bid in each auction: the active one, else the latest."""
    mine: dict[int, Bid] = {}
    for bid in bids_for_user(user).filter(auction__in=auctions).order_by("pk"):
        if bid.auction_id not in mine or mine[bid.auction_id].status != Bid.Status.ACTIVE:
            mine[bid.auction_id] = bid
    return mine


def auction_summary(auction: VickreyAuction, *, user, my_bid: Bid | None = None,
                    faculty: Faculty | None = None) -> dict[str, Any]:
    """The auction as this viewer may see it (the API's AuctionSerializer shape)."""
    faculty = faculty if faculty is not None else own_faculty(user)
    outcome = None
    if auction.status == VickreyAuction.Status.SETTLED:
        shows_winning_bid = is_coordinator(user) or (faculty is not None and faculty.pk == auction.winner_id)
        outcome = {
            "winner": auction.winner.external_id if auction.winner_id else None,
            "winner_name": auction.winner.display_name if auction.winner_id else None,
            "price": auction.price,
            "winning_bid": auction.winning_bid if shows_winning_bid else None,
            "num_bidders": auction.num_bidders,
            "settled_at": auction.settled_at,
            "note": auction.note,
        }
    mine = None
    if my_bid is not None:
        mine = {"id": my_bid.pk, "amount": my_bid.amount, "status": my_bid.status}
    return {
        "id": auction.pk, "academic_year": auction.year.label, "week": auction.week.start_date,
        "week_number": auction.week.index + 1, "rotation": auction.rotation.name, "kind": auction.kind,
        "is_desirable": auction.is_desirable, "reserve_price": auction.reserve_price,
        "holder": auction.holder.external_id if auction.holder_id else None, "closes_at": auction.closes_at,
        "status": auction.status, "rule": RULES[auction.kind], "outcome": outcome, "my_bid": mine,
    }


def account_figures(
    faculty: Faculty, year: AcademicYear, account: PriorityPointAccount | None, *, reader=None,
) -> dict[str, Any]:
    """The account's figures as `reader` may see them (all 0 before its first entry: a read creates no account).

    Bids are sealed: while the account holds points for open bids, `held` and `available` (which would give the
    bids away) are None for anyone but the account's owner, coordinators included."""
    account = account or PriorityPointAccount(faculty=faculty, year=year)
    sealed = account.held > 0 and (reader is None or faculty.user_id != getattr(reader, "pk", None))
    return {
        "faculty": faculty.external_id, "academic_year": year.label, "balance": account.balance,
        "held": None if sealed else account.held, "available": None if sealed else account.available,
        "lifetime_earned": account.lifetime_earned, "lifetime_spent": account.lifetime_spent,
    }


def year_points(year: AcademicYear, *, reader) -> list[dict[str, Any]]:
    """Every faculty member of the year (and anyone else with an account for it) with their account's figures as `reader` may see them (sealed while they
    hold points for open bids), by name; the row's `name` and `faculty_pk` name the person."""
    accounts = {a.faculty_id: a for a in PriorityPointAccount.objects.filter(year=year)}
    people = (Faculty.objects.filter(Q(pk__in=year.faculty_queryset()) | Q(pk__in=accounts))
              .order_by("display_name", "external_id"))
    return [{**account_figures(person, year, accounts.get(person.pk), reader=reader), "name": person.display_name,
             "faculty_pk": person.pk, "has_account": person.pk in accounts} for person in people]
