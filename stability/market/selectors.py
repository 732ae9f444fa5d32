"""Permission-scoped reads of the swap market, shared by its pages, API and admin.

Faculty see the requests they posted and the proposals addressed to them (they are the counterparty);
coordinators see every request. Nothing here reveals a colleague's preferences beyond their name and week.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from allocation.models import Schedule
from preferences.models import Faculty
from preferences.querysets import is_coordinator, own_faculty
from stability.models import SwapRequest


def swap_requests_for_user(user) -> QuerySet[SwapRequest]:
    qs = SwapRequest.objects.select_related(
        "schedule__year", "requester", "counterparty", "give__week", "give__rotation", "take__week", "take__rotation",
        "give_week", "take_week", "change",
    ).prefetch_related("wanted_weeks")
    if is_coordinator(user):
        return qs
    faculty = own_faculty(user)
    if faculty is None:
        return qs.none()
    return qs.filter(Q(requester=faculty) | Q(counterparty=faculty))


def access_swap_request(user, pk: int) -> SwapRequest:
    request = swap_requests_for_user(user).filter(pk=pk).first()
    if request is None:
        raise Http404("No such swap request, or it is not yours.")
    return request


def published_schedules_for_faculty(faculty: Faculty) -> list[Schedule]:
    """Published schedules the faculty member serves in, newest year first."""
    return list(
        Schedule.objects.filter(status=Schedule.Status.PUBLISHED, assignments__faculty=faculty)
        .select_related("year").distinct().order_by("-year__label")
    )


def published_schedules() -> QuerySet[Schedule]:
    return Schedule.objects.filter(status=Schedule.Status.PUBLISHED).select_related("year").order_by("-year__label")


def swap_request_role(request: SwapRequest, faculty: Faculty | None) -> str | None:
    """"requester" or "counterparty" for the two parties of a request, None for anyone else."""
    if faculty is None:
        return None
    if request.requester_id == faculty.pk:
        return "requester"
    if request.counterparty_id == faculty.pk:
        return "counterparty"
    return None


def awaits_confirmation_from(request: SwapRequest, faculty: Faculty | None) -> bool:
    """The faculty member still has to confirm their side of this proposal."""
    if request.status != SwapRequest.Status.MATCHED or faculty is None:
        return False
    role = swap_request_role(request, faculty)
    if request.cycle is not None:
        return role == "requester" and not request.requester_confirmed
    return (role == "requester" and not request.requester_confirmed) or (
        role == "counterparty" and not request.counterparty_confirmed
    )
