"""The auction pages (DESIGN §8, §11): a faculty member's "My points" (balance, held, available, the ledger) and
"Auctions" (open auctions with the bid form, their own bid, settled outcomes with the price); the coordinator's
auctions of a year (create, close, settle, cancel, outcomes).

Function-based; permissions checked in every view (HTMX requests too). Every form is a plain POST that redirects
back, or answers its page region when sent by HTMX. Bids are sealed: the pages read through auctions.selectors and
never show another person's amount. The points and auction pages are never cached."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from auctions import services
from auctions.auction_forms import AuctionCreateForm, BidForm, GrantForm
from auctions.auction_models import Bid, VickreyAuction
from auctions.ledger import KeyConflict, points_grant
from auctions.models import PriorityPointAccount
from auctions.reconcile import points_reconcile
from auctions.selectors import (
    RULES,
    account_figures,
    auction_summary,
    auctions_for_user,
    own_bids_by_auction,
    year_points,
)
from auctions.services.slots import bidder_refusal
from gtsched_site.forms import add_service_errors
from gtsched_site.pages import render_page
from gtsched_site.permissions import coordinator_required
from preferences.models import AcademicYear, Faculty
from preferences.querysets import access_year, own_faculty, year_open_for_preferences

FACULTY_PAGE = "auctions/auctions.html"
COORDINATOR_PAGE = "auctions/coordinator_auctions.html"
POINTS_PAGE = "auctions/coordinator_points.html"


def _year(request: HttpRequest, faculty: Faculty | None = None) -> AcademicYear | None:
    """The ?year= asked for; else the newest year with an open auction, else (for a faculty member) the newest year
    of their points, else the year open for preferences."""
    label = request.GET.get("year", "")
    if label.isdigit():
        return access_year(int(label))
    live = AcademicYear.objects.filter(auctions__status=VickreyAuction.Status.OPEN).order_by("-label").first()
    mine = faculty and AcademicYear.objects.filter(point_accounts__faculty=faculty).order_by("-label").first()
    return live or mine or year_open_for_preferences()


def _faculty_or_403(request: HttpRequest) -> Faculty | HttpResponse:
    faculty = own_faculty(request.user)
    if faculty is None:
        return render(request, "preferences/no_profile.html", status=403)
    return faculty


def _ledger(account: PriorityPointAccount | None) -> list:
    """The account's entries, newest first, each with the week it concerns as `shown_week`."""
    entries = list(account.entries.select_related("week").order_by("-pk")) if account else []
    auction_weeks = dict(VickreyAuction.objects.filter(pk__in={e.auction_id for e in entries if e.auction_id})
                         .values_list("pk", "week__start_date"))
    for entry in entries:  # a payment posted from a hold names its auction; its week is the auction's
        entry.shown_week = entry.week.start_date if entry.week_id else auction_weeks.get(entry.auction_id)
    return entries


# --- my points ---------------------------------------------------------------------------------------------------

@never_cache
@login_required
@require_GET
def my_points(request: HttpRequest) -> HttpResponse:
    faculty = _faculty_or_403(request)
    if isinstance(faculty, HttpResponse):
        return faculty
    year = _year(request, faculty)
    account = PriorityPointAccount.objects.filter(faculty=faculty, year=year).first() if year else None
    entries = _ledger(account)
    holds = list(account.holds.filter(status="pending").order_by("pk")) if account else []
    years = list(AcademicYear.objects.filter(point_accounts__faculty=faculty).order_by("-label"))
    context = {"faculty": faculty, "year": year, "account": account, "entries": entries, "holds": holds,
               "years": years, "section": "points"}
    return render(request, "auctions/my_points.html", context)


# --- faculty: auctions ----------------------------------------------------------------------------------------------

def _card(request: HttpRequest, auction: VickreyAuction, faculty: Faculty, form: BidForm | None = None,
          notice: str = "") -> dict[str, Any]:
    mine = own_bids_by_auction(request.user, [auction]).get(auction.pk)
    active = mine if mine is not None and mine.status == Bid.Status.ACTIVE else None
    account = PriorityPointAccount.objects.filter(faculty=faculty, year=auction.year).first()
    return {
        "a": auction_summary(auction, user=request.user, my_bid=mine, faculty=faculty), "auction": auction,
        "active_bid": active, "form": form or BidForm(initial={"amount": active.amount} if active else None),
        "refusal": None if active else bidder_refusal(auction=auction, faculty=faculty),
        "available": account.available if account else 0, "notice": notice,
        "max_bid": (account.available if account else 0) + (active.amount if active and auction.is_desirable else 0),
    }


def _faculty_context(request: HttpRequest, faculty: Faculty, year: AcademicYear | None,
                     errors: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    auctions = list(auctions_for_user(request.user).filter(year=year).order_by("closes_at", "pk")) if year else []
    live = [a for a in auctions if a.status == VickreyAuction.Status.OPEN]
    done = [a for a in auctions if a.status in (VickreyAuction.Status.CLOSED, VickreyAuction.Status.SETTLED)]
    mine = own_bids_by_auction(request.user, done)
    account = PriorityPointAccount.objects.filter(faculty=faculty, year=year).first() if year else None
    return {
        "faculty": faculty, "year": year, "account": account, "rules": RULES,
        "cards": [(errors or {}).get(a.pk) or _card(request, a, faculty) for a in live],
        "outcomes": [auction_summary(a, user=request.user, my_bid=mine.get(a.pk), faculty=faculty)
                     for a in sorted(done, key=lambda a: a.settled_at or a.closes_at, reverse=True)],
    }


@never_cache
@login_required
@require_GET
def auctions_page(request: HttpRequest) -> HttpResponse:
    faculty = _faculty_or_403(request)
    if isinstance(faculty, HttpResponse):
        return faculty
    context = _faculty_context(request, faculty, _year(request, faculty))
    context["years"] = list(AcademicYear.objects.filter(auctions__isnull=False).distinct().order_by("-label"))
    return render(request, FACULTY_PAGE, {**context, "section": "auctions"})


def _bid_answer(request: HttpRequest, auction: VickreyAuction, faculty: Faculty, *, form: BidForm | None,
                notice: str, failed: bool) -> HttpResponse:
    if request.htmx:  # htmx swaps only 2xx answers: the card with its errors is the answer
        card = render_to_string(f"{FACULTY_PAGE}#auction_card", _card(request, auction, faculty, form, notice),
                                request=request)
        # and the points summary at the top of the page, swapped out of band: a bid moves points to "held"
        account = PriorityPointAccount.objects.filter(faculty=faculty, year=auction.year).first()
        summary = render_to_string(f"{FACULTY_PAGE}#points_summary",
                                   {"account": account, "year": auction.year, "oob": True}, request=request)
        return HttpResponse(card + summary)
    if not failed:
        messages.success(request, notice)
        return redirect(f"{reverse('auctions_page')}?year={auction.year.label}#auction-{auction.pk}")
    context = _faculty_context(request, faculty, auction.year, {auction.pk: _card(request, auction, faculty, form)})
    return render(request, FACULTY_PAGE, {**context, "section": "auctions"}, status=400)


@never_cache
@login_required
@require_POST
def bid_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Place a bid, or change the one the faculty member has in this auction."""
    faculty = _faculty_or_403(request)
    if isinstance(faculty, HttpResponse):
        return faculty
    auction = get_object_or_404(auctions_for_user(request.user), pk=pk)
    form = BidForm(request.POST)
    if form.is_valid():
        amount = form.cleaned_data["amount"]
        current = own_bids_by_auction(request.user, [auction]).get(auction.pk)
        try:
            if current is not None and current.status == Bid.Status.ACTIVE:
                services.bid_change(bid=current, amount=amount)
                notice = f"Your bid is now {amount} points. It stays sealed until the auction is settled."
            else:
                services.bid_place(auction=auction, faculty=faculty, amount=amount)
                notice = f"Your sealed bid of {amount} points is in."
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            auction.refresh_from_db()
            return _bid_answer(request, auction, faculty, form=None, notice=notice, failed=False)
    return _bid_answer(request, auction, faculty, form=form, notice="", failed=True)


@never_cache
@login_required
@require_POST
def bid_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    faculty = _faculty_or_403(request)
    if isinstance(faculty, HttpResponse):
        return faculty
    auction = get_object_or_404(auctions_for_user(request.user), pk=pk)
    current = own_bids_by_auction(request.user, [auction]).get(auction.pk)
    form = BidForm()
    if current is None or current.status != Bid.Status.ACTIVE:
        form.add_error(None, "You have no bid in this auction to withdraw.")
    else:
        try:
            services.bid_withdraw(bid=current)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _bid_answer(request, auction, faculty, form=None, notice="Your bid is withdrawn; its points are "
                               "free again.", failed=False)
    return _bid_answer(request, auction, faculty, form=form, notice="", failed=True)


# --- coordinator --------------------------------------------------------------------------------------------------

def _coordinator_context(request: HttpRequest, year: AcademicYear, form: AuctionCreateForm | None = None,
                         notice: str = "", error: str = "") -> dict[str, Any]:
    auctions = list(auctions_for_user(request.user).filter(year=year).order_by("-closes_at", "-pk"))
    return {
        "year": year, "years": list(AcademicYear.objects.order_by("-label")), "rules": RULES,
        "form": form or AuctionCreateForm(year=year),
        "rows": [auction_summary(a, user=request.user) for a in auctions], "notice": notice, "error": error,
    }


def _to_year(request: HttpRequest, page: str) -> HttpResponse:
    """Redirect a coordinator to `page` of the year _year picks, or say there is no year yet."""
    year = _year(request)
    if year is None:
        return render(request, "preferences/no_year.html", {"section": "run_auctions"})
    return redirect(page, label=year.label)


@coordinator_required
@require_GET
def coordinator_auctions_overview(request: HttpRequest) -> HttpResponse:
    return _to_year(request, "coordinator_auctions")


@never_cache
@coordinator_required
@require_GET
def coordinator_auctions(request: HttpRequest, label: int) -> HttpResponse:
    year = access_year(label)
    return render_page(request, COORDINATOR_PAGE, _coordinator_context(request, year), partial="auction_list",
                       section="run_auctions")


@coordinator_required
@require_POST
def coordinator_auction_create(request: HttpRequest, label: int) -> HttpResponse:
    year = access_year(label)
    form = AuctionCreateForm(request.POST, year=year)
    if form.is_valid():
        try:
            auction = services.auction_create(year=year, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Auction #{auction.pk} is open until "
                                      f"{auction.closes_at:%d %b %Y %H:%M}.")
            return redirect("coordinator_auctions", label=year.label)
    return render(request, COORDINATOR_PAGE, {**_coordinator_context(request, year, form), "section": "run_auctions"},
                  status=400)


ACTIONS = {
    "close": (services.auction_close, "Auction #{pk} is closed to bids."),
    "settle": (services.auction_settle, "Auction #{pk} is settled."),
    "cancel": (services.auction_cancel, "Auction #{pk} is cancelled; every hold was released."),
}


@coordinator_required
@require_POST
def coordinator_auction_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    auction = get_object_or_404(VickreyAuction.objects.select_related("year"), pk=pk)
    service, done = ACTIONS[action]
    try:
        service(auction=auction, actor=request.user)
    except ValidationError as exc:
        notice, error = "", " ".join(exc.messages)
    else:
        notice, error = done.format(pk=auction.pk), ""
    if request.htmx:
        context = _coordinator_context(request, auction.year, notice=notice, error=error)
        return render(request, f"{COORDINATOR_PAGE}#auction_list", context)
    (messages.error if error else messages.success)(request, error or notice)
    return redirect("coordinator_auctions", label=auction.year.label)


# --- coordinator: points ------------------------------------------------------------------------------------------

def _points_context(request: HttpRequest, year: AcademicYear, form: GrantForm | None = None) -> dict[str, Any]:
    rows = year_points(year, reader=request.user)
    return {
        "year": year, "years": list(AcademicYear.objects.order_by("-label")), "rows": rows,
        "form": form or GrantForm(year=year), "reconciliation": points_reconcile(year=year),
        "total_balance": sum(r["balance"] for r in rows), "sealed": any(r["held"] is None for r in rows),
    }


@coordinator_required
@require_GET
def coordinator_points_overview(request: HttpRequest) -> HttpResponse:
    return _to_year(request, "coordinator_points")


@never_cache
@coordinator_required
@require_GET
def coordinator_points(request: HttpRequest, label: int) -> HttpResponse:
    """Every account of the year (held points sealed while bids are open), grants, and the reconciliation of the
    year's ledger; "Check again" reloads the reconciliation alone."""
    year = access_year(label)
    return render_page(request, POINTS_PAGE, _points_context(request, year), partial="reconciliation",
                       section="run_auctions")


@never_cache
@coordinator_required
@require_POST
def coordinator_points_grant(request: HttpRequest, label: int) -> HttpResponse:
    year = access_year(label)
    form = GrantForm(request.POST, year=year)
    if form.is_valid():
        data = form.cleaned_data
        try:
            posted = points_grant(faculty=data["faculty"], year=year, amount=data["amount"], reason=data["reason"],
                                  processed_by=request.user, idempotency_key=f"page:{request.user.pk}:{data['key']}")
        except KeyConflict:
            form.add_error(None, "This form was already sent with other figures. Reload the page to post a new grant.")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            person, amount = data["faculty"], posted.entry.amount
            if posted.replayed:
                messages.info(request, f"That grant was already posted (entry #{posted.entry.pk}); nothing was added.")
            else:
                what = f"{amount:+d} points to {person.display_name}" if amount > 0 else \
                    f"A correction of {amount} points for {person.display_name}"
                messages.success(request, f"{what} posted (entry #{posted.entry.pk}).")
            return redirect("coordinator_points", label=year.label)
    context = _points_context(request, year, form)
    return render(request, POINTS_PAGE, {**context, "section": "run_auctions"}, status=400)


@never_cache
@coordinator_required
@require_GET
def coordinator_points_account(request: HttpRequest, label: int, faculty_id: str) -> HttpResponse:
    """One faculty member's ledger for the year, as a coordinator may read it: the posted entries (an auction's
    payment appears once it is settled), with held and available sealed while their bids are open."""
    year = access_year(label)
    person = get_object_or_404(Faculty, external_id=faculty_id)
    account = PriorityPointAccount.objects.filter(faculty=person, year=year).first()
    context = {"year": year, "person": person, "figures": account_figures(person, year, account, reader=request.user),
               "entries": _ledger(account), "section": "run_auctions"}
    return render(request, "auctions/coordinator_points_account.html", context)
