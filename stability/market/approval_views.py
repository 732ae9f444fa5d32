"""Coordinator pages of swap approval (DESIGN §14): the queue of confirmed swaps waiting for approval, with the
stability change each makes, approve / refuse with a reason; and the per-year setting, on the swap market page.
Coordinators only; HTMX posts swap the queue in place, plain posts redirect back."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from allocation.models import Schedule
from gtsched_site.pages import render_page
from gtsched_site.permissions import coordinator_required
from stability.market.approval import (
    swap_approval_setting_update,
    swap_approvals_pending,
    swap_request_approve,
    swap_request_refuse,
)
from stability.models import SwapRequest

TEMPLATE = "stability/market/approvals.html"


def _percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def _queue_context(errors: dict[int, str] | None = None, reasons: dict[int, str] | None = None) -> dict[str, Any]:
    items = []
    for item in swap_approvals_pending():
        change = item.change
        items.append({
            "item": item, "first": item.first, "members": item.members, "problem": item.problem,
            "change": change,
            "distance_before": _percent(change.distance_before) if change else None,
            "distance_after": _percent(change.distance_after) if change else None,
            "better": change is not None and change.distance_delta < 0,
            "worse": change is not None and change.distance_delta > 0,
            "error": (errors or {}).get(item.first.pk), "reason": (reasons or {}).get(item.first.pk, ""),
        })
    return {"items": items}


@coordinator_required
@require_GET
def swap_approvals(request: HttpRequest) -> HttpResponse:
    return render_page(request, TEMPLATE, _queue_context(), partial="approval_queue", section="approvals")


def _decided(request: HttpRequest, flash: tuple[str, str] | None, context: dict[str, Any] | None = None,
             status: int = 200) -> HttpResponse:
    if request.htmx:  # htmx swaps only 2xx answers: a refusal of the form shows in the queue with 200
        return render(request, f"{TEMPLATE}#approval_queue", {**(context or _queue_context()), "flash": flash})
    if status != 200:
        return render(request, TEMPLATE, {**(context or _queue_context()), "flash": flash, "section": "approvals"},
                      status=status)
    messages.add_message(request, messages.SUCCESS if flash[0] == "success" else messages.ERROR, flash[1])
    return redirect("swap_approvals")


@coordinator_required
@require_POST
def swap_approval_approve(request: HttpRequest, pk: int) -> HttpResponse:
    swap = get_object_or_404(SwapRequest, pk=pk)
    try:
        swap = swap_request_approve(swap=swap, actor=request.user)
    except ValidationError as exc:
        return _decided(request, ("error", " ".join(exc.messages)))
    if swap.status == SwapRequest.Status.EXECUTED:
        flash = ("success", f"Approved: swap #{swap.pk} is now part of the published schedule (change #{swap.change_id}).")
    else:
        flash = ("error", f"Approved, but swap #{swap.pk} could not be carried out: {swap.outcome}")
    return _decided(request, flash)


@coordinator_required
@require_POST
def swap_approval_refuse(request: HttpRequest, pk: int) -> HttpResponse:
    swap = get_object_or_404(SwapRequest, pk=pk)
    reason = request.POST.get("reason", "")
    try:
        swap = swap_request_refuse(swap=swap, actor=request.user, reason=reason)
    except ValidationError as exc:
        message = " ".join(exc.messages)
        if "reason" not in getattr(exc, "message_dict", {}):  # no longer waiting: the queue says so at its top
            return _decided(request, ("error", message))
        context = _queue_context(errors={swap.pk: message}, reasons={swap.pk: reason})
        return _decided(request, None, context, status=400)  # the message shows at the reason field
    return _decided(request, ("success", f"Refused swap #{swap.pk}; both faculty members are told why. "
                                         "The schedule is unchanged."))


@coordinator_required
@require_POST
def swap_approval_setting(request: HttpRequest, pk: int) -> HttpResponse:
    """The year's "swaps need approval" switch, from the swap market page of one of its schedules."""
    schedule = get_object_or_404(Schedule.objects.select_related("year"), pk=pk)
    required = request.POST.get("swaps_need_approval") in ("on", "true", "1")
    swap_approval_setting_update(year=schedule.year, required=required, actor=request.user)
    messages.success(request, f"Swaps of {schedule.year} now {'wait for a coordinator' if required else 'execute as soon as both parties confirm'}.")
    return redirect("swap_market", pk=schedule.pk)
