"""Swap market pages: faculty suggestions and requests, the coordinator's market per schedule (DESIGN §9, §11).

Function-based; HTMX requests get the page's partial, plain POSTs redirect back. Permission checks happen here:
faculty only ever fetch their own requests and proposals addressed to them (market.selectors); the coordinator
pages are for staff only.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from allocation.models import Assignment, Schedule
from gtsched_site.forms import add_service_errors
from gtsched_site.pages import render_page
from gtsched_site.permissions import coordinator_required
from preferences.models import Faculty
from preferences.querysets import is_coordinator, own_faculty
from stability.market.forms import STRATEGY_HELP, ScheduleYearForm, SwapRequestForm
from stability.market.matching import swap_request_match, swap_requests_clear_cycles, swap_suggestions
from stability.market.requests import (
    swap_request_cancel,
    swap_request_confirm,
    swap_request_decline,
    swap_request_post,
)
from stability.market.selectors import (
    access_swap_request,
    awaits_confirmation_from,
    published_schedules,
    published_schedules_for_faculty,
    swap_request_role,
)
from stability.market.state import blocked_week_ids, faculty_fit, schedule_nash_distance
from stability.models import StrategyPerformance, SwapRequest

ACTIVE = SwapRequest.ACTIVE


def _faculty_schedule(request: HttpRequest) -> tuple[Faculty | None, list[Schedule], Schedule | None, str | None]:
    """The user's faculty profile, their published schedules, the one asked for by `year` (the latest when blank),
    and the error when `year` names no year of theirs (the page then shows the latest, with the error)."""
    faculty = own_faculty(request.user)
    if faculty is None:
        return None, [], None, None
    schedules = published_schedules_for_faculty(faculty)
    year = ScheduleYearForm({"year": request.GET.get("year") or request.POST.get("year") or ""}, schedules=schedules)
    error = year.error()
    schedule = (year.cleaned_data["year"] if error is None else None) or (schedules[0] if schedules else None)
    return faculty, schedules, schedule, error


def _no_faculty(request: HttpRequest) -> HttpResponse:
    if is_coordinator(request.user):
        return redirect("swap_market_overview")
    return render(request, "preferences/no_profile.html", status=403)


def _without_schedule(request: HttpRequest, faculty: Faculty | None, schedule: Schedule | None) -> HttpResponse | None:
    """What a faculty page shows instead when the user is no faculty member or has no published schedule."""
    if faculty is None:
        return _no_faculty(request)
    if schedule is None:
        return render(request, "stability/market/no_schedule.html", {"faculty": faculty, "section": "swaps"})
    return None


def _back(name: str, schedule: Schedule | None) -> str:
    url = reverse(name)
    return f"{url}?year={schedule.year.label}" if schedule is not None else url


# --- faculty: suggestions ------------------------------------------------------------------------------------


def _suggestion_context(faculty: Faculty, schedules: list[Schedule], schedule: Schedule) -> dict[str, Any]:
    suggestions = swap_suggestions(faculty=faculty, schedule=schedule)
    offered = {
        r.give_id: r for r in SwapRequest.objects.filter(schedule=schedule, requester=faculty, status__in=ACTIVE)
    }
    rows = [
        {
            "s": s,
            "fit_now": round(100 * s.utility_give), "fit_after": round(100 * s.utility_take),
            "distance_now": round(100 * (s.distance_after + s.distance_reduction)),
            "distance_after": round(100 * s.distance_after),
            "offered": offered.get(s.give_id),
        }
        for s in suggestions
    ]
    return {
        "faculty": faculty, "schedules": schedules, "schedule": schedule, "year": schedule.year, "rows": rows,
        "weeks_held": schedule.assignments.filter(faculty=faculty).count(),
    }


@login_required
@require_GET
def swap_suggestions_page(request: HttpRequest) -> HttpResponse:
    faculty, schedules, schedule, year_error = _faculty_schedule(request)
    if (instead := _without_schedule(request, faculty, schedule)) is not None:
        return instead
    return render(request, "stability/market/suggestions.html",
                  {**_suggestion_context(faculty, schedules, schedule), "section": "swaps", "year_error": year_error},
                  status=400 if year_error else 200)


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None


@login_required
@require_POST
def swap_suggestion_request(request: HttpRequest) -> HttpResponse:
    """"Request this swap": a suggested request for that partner's week, proposed to them at once."""
    faculty, _, _, year_error = _faculty_schedule(request)
    if faculty is None:
        raise PermissionDenied("Only faculty members request swaps.")
    give = get_object_or_404(Assignment.objects.select_related("schedule__year", "week"), pk=_int(request.POST.get("give")),
                             faculty=faculty)
    take = get_object_or_404(Assignment.objects.select_related("week", "faculty"), pk=_int(request.POST.get("take")),
                             schedule_id=give.schedule_id)
    error, swap = year_error, None
    if error is None:
        try:
            swap = swap_request_post(actor=request.user, give=give, take=take)
        except ValidationError as exc:
            error = " ".join(exc.messages)
    if request.htmx:
        context = {"give": give, "take": take, "swap": swap, "error": error}
        # htmx swaps only 2xx answers: a refusal is shown in the row, with 200.
        return render(request, "stability/market/suggestions.html#suggestion_result", context)
    if error:
        messages.error(request, error)
        return redirect(_back("swap_suggestions", give.schedule))
    if swap.status == SwapRequest.Status.MATCHED:
        messages.success(request, f"Request sent: {take.faculty} is asked to swap their week {take.week.index + 1} for "
                                  f"your week {give.week.index + 1}. It happens once they confirm.")
    else:
        messages.info(request, f"Request #{swap.pk} posted. {swap.outcome}")
    return redirect(_back("my_swap_requests", give.schedule))


# --- faculty: my requests ------------------------------------------------------------------------------------


def _percent(fit: dict[int, float], week_id: int | None) -> int | None:
    return round(100 * fit[week_id]) if week_id in fit else None


def _request_rows(requests: list[SwapRequest], faculty: Faculty, fit: dict[int, float]) -> list[dict[str, Any]]:
    """Display rows; `fit_now` → `fit_after` is the viewer's own match of the week they give and would get."""
    rows = []
    for r in requests:
        role = swap_request_role(r, faculty)
        give_week, take_week = r.give_week_id or r.give.week_id, r.take_week_id
        mine, theirs = (give_week, take_week) if role == "requester" else (take_week, give_week)
        rows.append({
            "r": r,
            "role": role,
            "awaiting_me": awaits_confirmation_from(r, faculty),
            "fit_now": _percent(fit, mine),
            "fit_after": _percent(fit, theirs),
            "wanted": list(r.wanted_weeks.all()),
        })
    return rows


def _requests_context(faculty: Faculty, schedules: list[Schedule], schedule: Schedule,
                      form: SwapRequestForm | None = None) -> dict[str, Any]:
    excluded = set(schedule.assignments.filter(faculty=faculty).values_list("week_id", flat=True))
    excluded |= blocked_week_ids(faculty=faculty, year=schedule.year)
    form = form or SwapRequestForm(faculty=faculty, schedule=schedule, excluded_week_ids=excluded)
    base = (SwapRequest.objects.filter(schedule=schedule)
            .select_related("requester", "counterparty", "give__week", "take__week", "give__rotation", "take__rotation")
            .prefetch_related("wanted_weeks"))
    mine = list(base.filter(requester=faculty).order_by("-created_at", "-pk"))
    fit = faculty_fit(faculty=faculty, schedule=schedule)
    incoming = list(
        base.filter(counterparty=faculty, cycle__isnull=True).filter(
            Q(status__in=[SwapRequest.Status.MATCHED, SwapRequest.Status.AWAITING_APPROVAL])
            | Q(status__in=[SwapRequest.Status.EXECUTED, SwapRequest.Status.DECLINED, SwapRequest.Status.REFUSED])
        ).order_by("-matched_at", "-pk")[:20]
    )
    return {
        "faculty": faculty, "schedules": schedules, "schedule": schedule, "year": schedule.year, "form": form,
        "strategy_help": STRATEGY_HELP,
        "mine": _request_rows(mine, faculty, fit), "incoming": _request_rows(incoming, faculty, fit),
        "waiting_on_me": sum(1 for r in mine + incoming if awaits_confirmation_from(r, faculty)),
    }


@login_required
@require_http_methods(["GET", "POST"])
def my_swap_requests(request: HttpRequest) -> HttpResponse:
    faculty, schedules, schedule, year_error = _faculty_schedule(request)
    if (instead := _without_schedule(request, faculty, schedule)) is not None:
        return instead
    if request.method == "POST":
        excluded = set(schedule.assignments.filter(faculty=faculty).values_list("week_id", flat=True))
        form = SwapRequestForm(request.POST, faculty=faculty, schedule=schedule,
                               excluded_week_ids=excluded | blocked_week_ids(faculty=faculty, year=schedule.year))
        if year_error is not None:
            form.add_error(None, year_error)  # never posted on the latest schedule instead
        if form.is_valid():
            data = form.cleaned_data
            try:
                swap = swap_request_post(
                    actor=request.user, give=data["give"], wanted_weeks=list(data["wanted_weeks"]),
                    strategy=data["strategy"], note=data["note"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                if swap.status == SwapRequest.Status.MATCHED:
                    messages.success(request, f"Request #{swap.pk} posted and proposed to {swap.counterparty}: "
                                              f"their week {swap.take_week.index + 1}. Confirm it below.")
                else:
                    messages.info(request, f"Request #{swap.pk} posted. {swap.outcome}")
                return redirect(_back("my_swap_requests", schedule))
        return render(request, "stability/market/my_requests.html",
                      {**_requests_context(faculty, schedules, schedule, form), "section": "swaps"}, status=400)
    context = _requests_context(faculty, schedules, schedule)
    status = 400 if year_error else 200
    if request.htmx and request.htmx.target == "request-lists":
        return render(request, "stability/market/my_requests.html#request_lists", context, status=status)
    return render(request, "stability/market/my_requests.html",
                  {**context, "section": "swaps", "year_error": year_error}, status=status)


ACTIONS = {
    "confirm": (swap_request_confirm, "Confirmed."),
    "decline": (swap_request_decline, "Declined."),
    "cancel": (swap_request_cancel, "Cancelled."),
}


@login_required
@require_POST
def swap_request_act(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Confirm, decline or cancel (`action`, from the URL conf) a request the user is party to."""
    swap = access_swap_request(request.user, pk)  # 404 unless it is theirs or addressed to them
    service, done = ACTIONS[action]
    try:
        swap = service(swap=swap, actor=request.user)
    except ValidationError as exc:
        flash = ("error", " ".join(exc.messages))
    else:
        if swap.status == SwapRequest.Status.EXECUTED:
            flash = ("success", "Swap done: the published schedule now shows your new week.")
        elif swap.status == SwapRequest.Status.AWAITING_APPROVAL:
            flash = ("success", "Confirmed by everyone. The swap now waits for a coordinator's approval; "
                                "your schedule changes once it is approved.")
        elif swap.status == SwapRequest.Status.EXPIRED:
            flash = ("error", swap.outcome)
        elif action == "confirm":
            flash = ("success", "Confirmed. The swap happens as soon as everyone involved has confirmed.")
        else:
            flash = ("success", done)
    faculty = own_faculty(request.user)
    if request.htmx and faculty is not None:
        schedules = published_schedules_for_faculty(faculty)
        schedule = next((s for s in schedules if s.pk == swap.schedule_id), None)
        if schedule is not None:  # the message goes into the swapped region, not onto the next page load
            context = {**_requests_context(faculty, schedules, schedule), "flash": flash}
            return render(request, "stability/market/my_requests.html#request_lists", context)
    messages.add_message(request, messages.SUCCESS if flash[0] == "success" else messages.ERROR, flash[1])
    if is_coordinator(request.user) and faculty is None:
        return redirect("swap_market", pk=swap.schedule_id)
    return redirect(_back("my_swap_requests", swap.schedule))


@login_required
@require_POST
def swap_request_match_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Look for a counterparty again (an open request whose earlier search found nobody)."""
    swap = access_swap_request(request.user, pk)
    faculty = own_faculty(request.user)
    if not is_coordinator(request.user) and swap_request_role(swap, faculty) != "requester":
        raise PermissionDenied("Only the requester can look for a match again.")
    try:
        swap = swap_request_match(swap=swap)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        (messages.success if swap.status == SwapRequest.Status.MATCHED else messages.info)(request, swap.outcome)
    if is_coordinator(request.user) and swap_request_role(swap, faculty) is None:
        return redirect("swap_market", pk=swap.schedule_id)
    return redirect(_back("my_swap_requests", swap.schedule))


# --- coordinators: the market of one schedule -------------------------------------------------------------------


@coordinator_required
@require_GET
def swap_market_overview(request: HttpRequest) -> HttpResponse:
    schedule = published_schedules().first()
    if schedule is None:
        return render(request, "stability/market/no_schedule.html", {"coordinator": True, "section": "market"})
    return redirect("swap_market", pk=schedule.pk)


def _market_context(schedule: Schedule) -> dict[str, Any]:
    requests = (SwapRequest.objects.filter(schedule=schedule)
                .select_related("requester", "counterparty", "give__week", "take__week", "give__rotation", "take__rotation",
                                "change", "created_by")
                .prefetch_related("wanted_weeks"))
    active = list(requests.filter(status__in=ACTIVE).order_by("status", "cycle", "created_at", "pk"))
    closed = list(requests.exclude(status__in=ACTIVE).order_by("-closed_at", "-pk")[:30])
    performance = list(StrategyPerformance.objects.filter(year=schedule.year).order_by("strategy"))
    labels = dict(SwapRequest.Strategy.choices)
    for p in performance:
        p.label = labels.get(p.strategy, p.strategy)
    distance = schedule_nash_distance(schedule=schedule) if schedule.status == Schedule.Status.PUBLISHED else None
    return {
        "schedule": schedule, "year": schedule.year, "active": active, "closed": closed, "performance": performance,
        "open_count": sum(1 for r in active if r.status == SwapRequest.Status.OPEN),
        "matched_count": sum(1 for r in active if r.status == SwapRequest.Status.MATCHED),
        "awaiting_count": sum(1 for r in active if r.status == SwapRequest.Status.AWAITING_APPROVAL),
        "schedules": list(published_schedules()),
        "distance_percent": None if distance is None else f"{100 * distance:.0f}",
        "distance_calm": distance is not None and distance < 0.05,
    }


@coordinator_required
@require_GET
def swap_market(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(Schedule.objects.select_related("year"), pk=pk)
    context = _market_context(schedule)
    return render_page(request, "stability/market/coordinator.html", context,
                       partial="market_requests", section="market")


@coordinator_required
@require_POST
def swap_market_clear_cycles(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(Schedule.objects.select_related("year"), pk=pk)
    try:
        cleared = swap_requests_clear_cycles(schedule=schedule, actor=request.user)
    except ValidationError as exc:
        flash = ("error", " ".join(exc.messages))
    else:
        if cleared:
            sizes = ", ".join(str(len(c)) for c in cleared)
            flash = ("success", f"Proposed {len(cleared)} trading cycle{'s' if len(cleared) != 1 else ''} "
                                f"(size {sizes}); each member is asked to confirm.")
        else:
            flash = ("success", "No trading cycle among the open requests: nobody's wanted weeks close a loop.")
    if request.htmx:
        return render(request, "stability/market/coordinator.html#market_requests",
                      {**_market_context(schedule), "flash": flash})
    messages.add_message(request, messages.SUCCESS if flash[0] == "success" else messages.ERROR, flash[1])
    return redirect("swap_market", pk=schedule.pk)
