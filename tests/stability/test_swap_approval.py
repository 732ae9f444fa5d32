"""Swap approval (DESIGN §14): with the year's setting on, a swap both parties confirmed changes nothing until a
coordinator approves it; the coordinator sees its stability change; a refusal leaves the schedule as it is and says
why; the queue (page and API) is for coordinators only."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from allocation.models import ScheduleChange
from preferences.models import AcademicYear
from stability.algorithms.swaps import swap_analysis
from stability.market.approval import (
    swap_approval_setting_update,
    swap_approvals_pending,
    swap_request_approve,
    swap_request_refuse,
)
from stability.market.matching import swap_requests_clear_cycles
from stability.market.requests import swap_request_confirm, swap_request_create, swap_request_post
from stability.market.state import Market, schedule_nash_distance
from stability.models import StrategyPerformance, SwapRequest
from tests.stability.helpers import slot, weeks_of

pytestmark = pytest.mark.django_db
Status = SwapRequest.Status
QUEUE = "/coordinator/swaps/approvals/"
API = "/api/v1/swap-approvals"


def _require_approval(schedule, coordinator, on=True):
    swap_approval_setting_update(year=schedule.year, required=on, actor=coordinator)


def _confirmed_swap(market, faculty, other_faculty) -> SwapRequest:
    """Alice asks for bob's week 1 (a suggestion, so her side is confirmed); bob confirms."""
    swap = swap_request_post(actor=faculty.user, give=slot(market, faculty, 0), take=slot(market, other_faculty, 1))
    return swap_request_confirm(swap=swap, actor=other_faculty.user)


@pytest.fixture
def waiting(market, faculty, other_faculty, coordinator):
    _require_approval(market, coordinator)
    return _confirmed_swap(market, faculty, other_faculty)


def test_without_the_setting_a_confirmed_swap_executes_at_once(market, faculty, other_faculty):
    swap = _confirmed_swap(market, faculty, other_faculty)
    assert swap.status == Status.EXECUTED and weeks_of(market, faculty) == [1, 4]


def test_with_the_setting_on_a_confirmed_swap_waits_and_nothing_changes_the_schedule(
    market, waiting, faculty, other_faculty,
):
    assert waiting.status == Status.AWAITING_APPROVAL and waiting.confirmed_at is not None
    assert weeks_of(market, faculty) == [0, 4] and weeks_of(market, other_faculty) == [1]
    assert not ScheduleChange.objects.exists()
    assert "waiting for a coordinator" in waiting.outcome


def test_a_waiting_swap_holds_its_weeks_no_second_request_and_no_second_proposal(market, waiting, faculty):
    with pytest.raises(ValidationError) as caught:
        swap_request_create(actor=faculty.user, give=slot(market, faculty, 0), wanted_weeks=[market.year.weeks.get(index=2)])
    assert "give" in caught.value.message_dict


def test_the_coordinator_sees_the_stability_change_the_swap_makes(market, waiting):
    (item,) = swap_approvals_pending()
    assert item.members == [waiting] and item.problem is None
    before = Market.of(market)
    assert item.change.distance_before == pytest.approx(0.8)
    assert item.change.blocking_before == swap_analysis(before.problem).num_blocking_swaps
    assert item.change.distance_after < item.change.distance_before


def test_approval_executes_the_audited_change_and_the_preview_was_exact(market, waiting, coordinator, faculty):
    (item,) = swap_approvals_pending()
    swap = swap_request_approve(swap=waiting, actor=coordinator)
    assert swap.status == Status.EXECUTED and swap.reviewed_by == coordinator and swap.reviewed_at is not None
    assert weeks_of(market, faculty) == [1, 4]
    change = ScheduleChange.objects.get(pk=swap.change_id)
    assert change.kind == ScheduleChange.Kind.SWAP and change.actor == coordinator
    assert schedule_nash_distance(schedule=market) == pytest.approx(item.change.distance_after)
    assert swap_approvals_pending() == []


def test_a_refusal_leaves_the_schedule_unchanged_and_says_why(market, waiting, coordinator, faculty, other_faculty):
    swap = swap_request_refuse(swap=waiting, actor=coordinator, reason="  Leaves nights thin in December. ")
    assert swap.status == Status.REFUSED and swap.review_reason == "Leaves nights thin in December."
    assert "Leaves nights thin in December." in swap.outcome and "coordinator" in swap.outcome
    assert weeks_of(market, faculty) == [0, 4] and weeks_of(market, other_faculty) == [1]
    assert not ScheduleChange.objects.exists()
    assert StrategyPerformance.objects.get(year=market.year, strategy="suggested").attempts == 1


@pytest.mark.parametrize("reason", ["", "   ", "x" * 301, None])
def test_a_refusal_needs_a_reason_and_a_bad_one_changes_nothing(waiting, coordinator, reason):
    with pytest.raises(ValidationError) as caught:
        swap_request_refuse(swap=waiting, actor=coordinator, reason=reason)
    assert "reason" in caught.value.message_dict
    assert SwapRequest.objects.get(pk=waiting.pk).status == Status.AWAITING_APPROVAL


def test_a_faculty_member_can_neither_approve_nor_refuse_nor_change_the_setting(market, waiting, faculty, other_faculty):
    for person in (faculty, other_faculty):
        with pytest.raises(PermissionDenied):
            swap_request_approve(swap=waiting, actor=person.user)
        with pytest.raises(PermissionDenied):
            swap_request_refuse(swap=waiting, actor=person.user, reason="no")
    with pytest.raises(PermissionDenied):
        swap_approval_setting_update(year=market.year, required=False, actor=faculty.user)
    assert SwapRequest.objects.get(pk=waiting.pk).status == Status.AWAITING_APPROVAL
    assert AcademicYear.objects.get(pk=market.year_id).swaps_need_approval


def test_only_a_waiting_swap_can_be_approved_and_only_once(market, waiting, coordinator):
    swap_request_approve(swap=waiting, actor=coordinator)
    with pytest.raises(ValidationError) as caught:
        swap_request_approve(swap=waiting, actor=coordinator)
    assert "status" in caught.value.message_dict
    with pytest.raises(ValidationError):
        swap_request_refuse(swap=waiting, actor=coordinator, reason="late")
    assert ScheduleChange.objects.count() == 1


def test_turning_the_setting_off_does_not_execute_what_waits(market, waiting, coordinator, faculty):
    _require_approval(market, coordinator, on=False)
    assert SwapRequest.objects.get(pk=waiting.pk).status == Status.AWAITING_APPROVAL
    assert weeks_of(market, faculty) == [0, 4]


def test_a_waiting_swap_whose_week_moved_meanwhile_expires_on_approval(market, waiting, coordinator, faculty, carol):
    from allocation.changes import schedule_swaps_apply

    # a coordinator's recommended swap moves alice's week 0 to carol; the change's receiver runs on commit, which
    # this test's transaction never reaches, so it is the approval that finds the request stale
    schedule_swaps_apply(schedule=market, pairs=[(slot(market, faculty, 0).pk, slot(market, carol, 1).pk)],
                         actor=coordinator, kind=ScheduleChange.Kind.RECOMMENDED, reason="test")
    swap = swap_request_approve(swap=SwapRequest.objects.get(pk=waiting.pk), actor=coordinator)
    assert swap.status == Status.EXPIRED and "changed hands" in swap.outcome
    assert ScheduleChange.objects.count() == 1 and weeks_of(market, faculty) == [1, 4]


def test_a_trading_cycle_waits_as_one_and_is_approved_as_one(cycle_market, coordinator, faculty, other_faculty, carol):
    _require_approval(cycle_market, coordinator)
    weeks = {w.index: w for w in cycle_market.year.weeks.all()}
    for person, give, want in ((faculty, 1, 2), (other_faculty, 2, 3), (carol, 3, 1)):
        swap_request_create(actor=person.user, give=slot(cycle_market, person, give), wanted_weeks=[weeks[want]],
                            strategy="targeted", note="")
    (cycle,) = swap_requests_clear_cycles(schedule=cycle_market, actor=coordinator)
    for member in cycle:
        swap_request_confirm(swap=member, actor=member.requester.user)
    assert set(SwapRequest.objects.values_list("status", flat=True)) == {Status.AWAITING_APPROVAL}
    (item,) = swap_approvals_pending()
    assert len(item.members) == 3 and item.change.blocking_before >= item.change.blocking_after
    swap_request_approve(swap=cycle[1], actor=coordinator)
    assert set(SwapRequest.objects.values_list("status", flat=True)) == {Status.EXECUTED}
    assert weeks_of(cycle_market, faculty) == [2] and weeks_of(cycle_market, carol) == [1]


# --- the queue page ----------------------------------------------------------------------------------------


def test_the_queue_page_shows_the_swap_with_its_stability_change(client_as, waiting, coordinator):
    page = client_as(coordinator).get(QUEUE)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Dr. Alice Owner" in html and "Dr. Bob Outsider" in html
    assert "Nash distance" in html and "80% →" in html and "Blocking swaps" in html
    assert 'aria-current="page"' in html


def test_approve_and_refuse_as_plain_posts(client_as, market, coordinator, faculty, other_faculty):
    _require_approval(market, coordinator)
    client = client_as(coordinator)
    swap = _confirmed_swap(market, faculty, other_faculty)
    answer = client.post(f"{QUEUE}{swap.pk}/refuse/", {"reason": ""})
    assert answer.status_code == 400 and "Say why" in answer.content.decode()
    assert SwapRequest.objects.get(pk=swap.pk).status == Status.AWAITING_APPROVAL
    answer = client.post(f"{QUEUE}{swap.pk}/approve/")
    assert answer.status_code == 302 and answer.url == QUEUE
    assert SwapRequest.objects.get(pk=swap.pk).status == Status.EXECUTED


def test_refuse_by_htmx_answers_with_the_queue(client_as, waiting, coordinator):
    answer = client_as(coordinator).post(f"{QUEUE}{waiting.pk}/refuse/", {"reason": "Coverage"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and 'id="approval-queue"' in answer.content.decode()
    assert "No swaps are waiting" in answer.content.decode()
    assert SwapRequest.objects.get(pk=waiting.pk).status == Status.REFUSED


@pytest.mark.parametrize("who", ["faculty", "other_faculty"])
def test_faculty_are_refused_the_queue_and_its_actions(request, client_as, waiting, who):
    client = client_as(request.getfixturevalue(who).user)
    assert client.get(QUEUE).status_code == 403
    assert client.post(f"{QUEUE}{waiting.pk}/approve/").status_code == 403
    assert client.post(f"{QUEUE}{waiting.pk}/refuse/", {"reason": "x"}).status_code == 403
    assert SwapRequest.objects.get(pk=waiting.pk).status == Status.AWAITING_APPROVAL


def test_anonymous_is_sent_to_log_in(client, waiting):
    assert client.get(QUEUE).status_code == 302
    assert client.post(f"{QUEUE}{waiting.pk}/approve/").status_code == 302
    assert SwapRequest.objects.get(pk=waiting.pk).status == Status.AWAITING_APPROVAL


def test_the_setting_is_switched_on_the_swap_market_page(client_as, market, coordinator, faculty):
    client = client_as(coordinator)
    page = client.get(f"/coordinator/schedules/{market.pk}/swaps/")
    assert 'name="swaps_need_approval"' in page.content.decode()
    client.post(f"/coordinator/schedules/{market.pk}/swaps/approval-setting/", {"swaps_need_approval": "on"})
    assert AcademicYear.objects.get(pk=market.year_id).swaps_need_approval
    client.post(f"/coordinator/schedules/{market.pk}/swaps/approval-setting/", {})
    assert not AcademicYear.objects.get(pk=market.year_id).swaps_need_approval
    client_as(faculty.user)
    assert client.post(f"/coordinator/schedules/{market.pk}/swaps/approval-setting/",
                       {"swaps_need_approval": "on"}).status_code == 403
    assert not AcademicYear.objects.get(pk=market.year_id).swaps_need_approval


def test_the_setting_is_in_the_admin(admin_console, market):
    page = admin_console.get(f"/admin/preferences/academicyear/{market.year_id}/change/")
    assert 'name="swaps_need_approval"' in page.content.decode()


# --- the API -------------------------------------------------------------------------------------------------


def test_the_api_lists_approves_and_refuses_for_coordinators(as_, market, coordinator, faculty, other_faculty):
    _require_approval(market, coordinator)
    swap = _confirmed_swap(market, faculty, other_faculty)
    client = as_("coordinator")
    (row,) = client.get(API).json()
    assert row["id"] == swap.pk and row["academic_year"] == 2026
    assert row["stability_change"]["nash_distance_before"] == pytest.approx(0.8)
    assert {"blocking_swaps_before", "blocking_swaps_after", "nash_distance_after"} <= set(row["stability_change"])
    assert [r["status"] for r in row["requests"]] == ["awaiting_approval"]
    answer = client.post(f"{API}/{swap.pk}/refuse", {"reason": ""}, format="json")
    assert answer.status_code == 400 and "reason" in answer.json()
    answer = client.post(f"{API}/{swap.pk}/refuse", {"reason": "Coverage"}, format="json")
    assert answer.status_code == 200 and answer.json()["status"] == "refused"
    assert weeks_of(market, faculty) == [0, 4]
    assert client.post(f"{API}/{swap.pk}/approve").status_code == 400, "a refused swap cannot be approved"
    assert client.post(f"{API}/999999/approve").status_code == 404


def test_the_api_approves(as_, waiting, market, faculty):
    answer = as_("coordinator").post(f"{API}/{waiting.pk}/approve")
    assert answer.status_code == 200 and answer.json()["status"] == "executed"
    assert weeks_of(market, faculty) == [1, 4]


@pytest.mark.parametrize("who", ["anonymous", "faculty", "other_faculty"])
def test_the_api_refuses_everyone_but_coordinators(as_, waiting, who):
    client = as_(who)
    expected = (401, 403) if who == "anonymous" else (403,)
    assert client.get(API).status_code in expected
    assert client.post(f"{API}/{waiting.pk}/approve").status_code in expected
    assert client.post(f"{API}/{waiting.pk}/refuse", {"reason": "x"}, format="json").status_code in expected
    assert SwapRequest.objects.get(pk=waiting.pk).status == Status.AWAITING_APPROVAL


def test_the_parties_see_the_swap_waiting_and_then_the_refusal_with_its_reason(client_as, waiting, coordinator, faculty,
                                                                               other_faculty):
    for person in (faculty, other_faculty):
        html = client_as(person.user).get("/swaps/requests/").content.decode()
        assert "Confirmed, awaiting coordinator approval" in html and "waiting for a coordinator" in html
    swap_request_refuse(swap=waiting, actor=coordinator, reason="Nights would be short.")
    for person in (faculty, other_faculty):
        html = client_as(person.user).get("/swaps/requests/").content.decode()
        assert "Refused by a coordinator" in html and "Nights would be short." in html


def test_the_requester_may_withdraw_a_swap_waiting_for_approval(client_as, waiting, faculty, market):
    answer = client_as(faculty.user).post(f"/swaps/requests/{waiting.pk}/cancel/")
    assert answer.status_code == 302
    assert SwapRequest.objects.get(pk=waiting.pk).status == Status.CANCELLED and swap_approvals_pending() == []
    assert weeks_of(market, faculty) == [0, 4]


def test_a_coordinator_who_is_a_party_cannot_decide_their_own_swap(market, waiting, faculty, coordinator):
    """A coordinator with a faculty profile in the swap leaves the decision to another coordinator."""
    party = faculty.user
    party.is_staff = True
    party.save(update_fields=["is_staff"])
    for decide in (lambda: swap_request_approve(swap=waiting, actor=party),
                   lambda: swap_request_refuse(swap=waiting, actor=party, reason="mine")):
        with pytest.raises(ValidationError) as caught:
            decide()
        assert "another coordinator" in caught.value.message_dict["reviewer"][0]
    assert SwapRequest.objects.get(pk=waiting.pk).status == Status.AWAITING_APPROVAL
    assert ScheduleChange.objects.count() == 0
    swap_request_approve(swap=waiting, actor=coordinator)
    assert SwapRequest.objects.get(pk=waiting.pk).status == Status.EXECUTED
