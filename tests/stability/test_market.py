"""The swap market's services: posting requests refuses every bad input with the field named and stores nothing;
suggestions list blocking swaps best first; the matcher picks the counterparty with the largest mutual gain; Top
Trading Cycles clears a 3-cycle and a 2-cycle; a confirmed swap is an audited change that refreshes the stability
report; a stale proposal expires cleanly; strategy performance follows the replicator formula."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from allocation.changes import schedule_swaps_apply
from allocation.models import PublishedScheduleIsImmutable, Schedule
from stability.market.matching import swap_request_match, swap_requests_clear_cycles, swap_suggestions
from stability.market.requests import (
    swap_request_cancel,
    swap_request_confirm,
    swap_request_create,
    swap_request_decline,
    swap_request_from_suggestion,
)
from stability.market.strategy import strategy_performance_update
from stability.models import NashStabilityReport, ScheduleChange, StrategyPerformance, SwapRequest
from tests.factories import SwapRequestFactory, make_year
from tests.stability.helpers import slot, weeks_of

pytestmark = pytest.mark.django_db

Status = SwapRequest.Status


def _week(schedule, index):
    return schedule.year.weeks.get(index=index)


def _post(schedule, person, give_week: int, wanted: list[int], strategy="flexible", actor=None):
    return swap_request_create(
        actor=actor or person.user, give=slot(schedule, person, give_week),
        wanted_weeks=[_week(schedule, k) for k in wanted], strategy=strategy, note="",
    )


def _refused(field: str, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        swap_request_create(**{"strategy": "flexible", "note": "", **kwargs})
    assert field in caught.value.message_dict, caught.value.message_dict
    assert not SwapRequest.objects.exists(), "a refused request stores nothing"
    return caught.value


# --- posting a request ------------------------------------------------------------------------------------------


def test_a_faculty_member_posts_a_request_for_their_own_published_week(market, faculty):
    request = _post(market, faculty, 0, [1, 2])
    assert request.status == Status.OPEN and request.requester == faculty
    assert request.give_week.index == 0 and request.created_by == faculty.user
    assert sorted(request.wanted_weeks.values_list("index", flat=True)) == [1, 2]


def test_a_coordinator_may_post_on_a_faculty_members_behalf(market, faculty, coordinator):
    request = _post(market, faculty, 0, [1], actor=coordinator)
    assert request.requester == faculty and request.created_by == coordinator


def test_offering_someone_elses_week_is_refused_on_give(market, faculty, other_faculty):
    error = _refused("give", actor=faculty.user, give=slot(market, other_faculty, 1), wanted_weeks=[_week(market, 0)])
    assert "not one of yours" in error.message_dict["give"][0]


def test_a_week_of_another_year_is_refused_on_wanted_weeks(market, faculty, rotations):
    other_year = make_year(label=2030, num_weeks=4, rotations=rotations)
    error = _refused("wanted_weeks", actor=faculty.user, give=slot(market, faculty, 0),
                     wanted_weeks=[other_year.weeks.get(index=1)])
    assert "academic year 2030" in error.message_dict["wanted_weeks"][0]


def test_wanting_the_week_given_is_refused(market, faculty):
    error = _refused("wanted_weeks", actor=faculty.user, give=slot(market, faculty, 0), wanted_weeks=[_week(market, 0)])
    assert "the week you are giving" in error.message_dict["wanted_weeks"][0]


def test_wanting_a_week_already_served_is_refused(market, faculty):
    error = _refused("wanted_weeks", actor=faculty.user, give=slot(market, faculty, 0), wanted_weeks=[_week(market, 4)])
    assert "already serve week 5" in error.message_dict["wanted_weeks"][0]


def test_wanting_a_blocked_week_is_refused(market, faculty):
    error = _refused("wanted_weeks", actor=faculty.user, give=slot(market, faculty, 0),
                     wanted_weeks=[_week(market, 1), _week(market, 7)])
    assert error.message_dict["wanted_weeks"] == [
        "You blocked week 8 (24 Aug 2026) in your preferences, so you cannot take it; untick it."
    ]


def test_a_second_active_request_for_the_same_week_is_refused(market, faculty):
    first = _post(market, faculty, 0, [1])
    with pytest.raises(ValidationError) as caught:
        _post(market, faculty, 0, [2])
    assert f"request #{first.pk}" in caught.value.message_dict["give"][0]
    assert SwapRequest.objects.count() == 1


def test_after_cancelling_the_week_can_be_offered_again(market, faculty):
    swap_request_cancel(swap=_post(market, faculty, 0, [1]), actor=faculty.user)
    assert _post(market, faculty, 0, [2]).status == Status.OPEN


def test_a_draft_schedule_takes_no_requests(market, faculty):
    Schedule.objects.filter(pk=market.pk).update(status=Schedule.Status.DRAFT)
    error = _refused("give", actor=faculty.user, give=slot(market, faculty, 0), wanted_weeks=[_week(market, 1)])
    assert "published schedule" in error.message_dict["give"][0]


def test_nothing_wanted_unknown_strategy_and_long_note_are_each_named(market, faculty):
    _refused("wanted_weeks", actor=faculty.user, give=slot(market, faculty, 0), wanted_weeks=[])
    _refused("strategy", actor=faculty.user, give=slot(market, faculty, 0), wanted_weeks=[_week(market, 1)],
             strategy="bribery")
    _refused("note", actor=faculty.user, give=slot(market, faculty, 0), wanted_weeks=[_week(market, 1)], note="x" * 301)
    _refused("wanted_weeks", actor=faculty.user, give=slot(market, faculty, 0),
             wanted_weeks=[_week(market, 1), _week(market, 2)], strategy="targeted")


def test_any_better_with_no_weeks_wants_every_week_valued_above_the_one_given(market, faculty):
    request = swap_request_create(actor=faculty.user, give=slot(market, faculty, 0), wanted_weeks=[],
                                  strategy="any_better", note="")
    # u(w0) = .1; better: w1 .9, w2 .4, and the unlisted weeks at .5 — except w4 (held) and w7 (blocked).
    assert sorted(request.wanted_weeks.values_list("index", flat=True)) == [1, 2, 3, 5, 6]


def test_anonymous_cannot_post(market, faculty):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        swap_request_create(actor=AnonymousUser(), give=slot(market, faculty, 0), wanted_weeks=[_week(market, 1)],
                            strategy="flexible", note="")


# --- suggestions and the matcher ---------------------------------------------------------------------------------


def test_suggestions_are_the_blocking_swaps_ranked_by_mutual_gain(market, faculty, other_faculty, carol):
    suggestions = swap_suggestions(faculty=faculty, schedule=market)
    assert [(s.give_week.index, s.take_week.index, s.partner_name) for s in suggestions] == [
        (0, 1, other_faculty.display_name), (0, 1, carol.display_name), (4, 1, carol.display_name),
    ]
    assert [s.mutual_gain for s in suggestions] == pytest.approx([1.6, 1.4, 0.7])
    assert [(s.gain, s.partner_gain) for s in suggestions] == [
        pytest.approx((0.8, 0.8)), pytest.approx((0.8, 0.6)), pytest.approx((0.4, 0.3)),
    ]
    # Either swap of week 0 leaves no blocking swap (0.8 → 0); giving week 4 to carol leaves alice's week 0 and
    # carol's new week 4 blocking each other (0.8 → 0.4).
    assert [s.distance_after for s in suggestions] == pytest.approx([0.0, 0.0, 0.4])
    assert [s.distance_reduction for s in suggestions] == pytest.approx([0.8, 0.8, 0.4])
    assert (suggestions[0].utility_give, suggestions[0].utility_take) == pytest.approx((0.1, 0.9))


def test_a_faculty_member_with_nothing_to_gain_gets_no_suggestions(market, dave):
    assert swap_suggestions(faculty=dave, schedule=market) == []


def test_the_matcher_picks_the_counterparty_with_the_largest_mutual_gain(market, faculty, other_faculty):
    request = swap_request_match(swap=_post(market, faculty, 0, [1]))
    assert request.status == Status.MATCHED
    assert request.counterparty == other_faculty and request.take == slot(market, other_faculty, 1)
    assert request.take_week.index == 1 and request.matched_at is not None
    assert request.mutual_gain == pytest.approx(1.6)  # carol's week 1 would give 1.4
    assert request.requester_gain == pytest.approx(0.8) and request.counterparty_gain == pytest.approx(0.8)
    assert request.distance_reduction == pytest.approx(0.8)
    assert not request.requester_confirmed and not request.counterparty_confirmed


def test_the_matcher_skips_a_counterparty_already_promised_elsewhere(market, faculty, carol, other_faculty):
    first = swap_request_match(swap=_post(market, faculty, 0, [1]))
    assert first.counterparty == other_faculty
    second = swap_request_match(swap=_post(market, faculty, 4, [1]))
    assert second.counterparty == carol  # bob's week 1 is promised to the first proposal


def test_the_requester_need_not_gain_but_the_counterparty_must_not_lose(market, faculty, other_faculty, dave):
    # Dave (no preferences, .5 everywhere) asks for week 1: bob would gain .4 (.1 → .5), carol .3 (.2 → .5).
    request = swap_request_match(swap=_post(market, dave, 2, [1]))
    assert request.status == Status.MATCHED and request.counterparty == other_faculty
    assert (request.requester_gain, request.counterparty_gain) == pytest.approx((0.0, 0.4))
    swap_request_cancel(swap=request, actor=dave.user)
    # Alice's week 4 (.5) for dave's week 2 (.4) would cost her .1: no proposal.
    refused = swap_request_match(swap=_post(market, dave, 2, [4]))
    assert refused.status == Status.OPEN and refused.counterparty is None and "stays open" in refused.outcome


def test_an_open_request_nobody_can_take_stays_open_and_says_why(market, dave):
    request = swap_request_match(swap=_post(market, dave, 2, [5]))  # nobody holds week 6
    assert request.status == Status.OPEN and "stays open" in request.outcome


def test_requesting_a_suggestion_proposes_exactly_that_swap_confirmed_by_the_requester(market, faculty, carol):
    request = swap_request_from_suggestion(actor=faculty.user, give=slot(market, faculty, 0), take=slot(market, carol, 1))
    assert request.strategy == SwapRequest.Strategy.SUGGESTED
    assert request.status == Status.MATCHED and request.counterparty == carol
    assert request.requester_confirmed and not request.counterparty_confirmed


def test_a_suggestion_no_longer_open_is_refused_on_take_and_nothing_stays(market, faculty, other_faculty, dave):
    promised = swap_request_match(swap=_post(market, dave, 2, [1]))
    assert promised.take == slot(market, other_faculty, 1)  # bob's week 1 is now promised to dave
    with pytest.raises(ValidationError) as caught:
        swap_request_from_suggestion(actor=faculty.user, give=slot(market, faculty, 0),
                                     take=slot(market, other_faculty, 1))
    assert "take" in caught.value.message_dict
    assert list(SwapRequest.objects.all()) == [promised]


# --- confirming and executing ------------------------------------------------------------------------------------


def test_a_confirmed_swap_is_an_audited_change_of_the_published_schedule(market, faculty, other_faculty,
                                                                         django_capture_on_commit_callbacks):
    request = swap_request_match(swap=_post(market, faculty, 0, [1]))
    reports_before = NashStabilityReport.objects.filter(schedule=market).count()
    request = swap_request_confirm(swap=request, actor=faculty.user)
    assert request.status == Status.MATCHED and request.requester_confirmed
    assert not ScheduleChange.objects.exists(), "nothing happens until both sides confirm"

    with django_capture_on_commit_callbacks(execute=True):  # the report is refreshed once the swap is committed
        request = swap_request_confirm(swap=request, actor=other_faculty.user)
    assert request.status == Status.EXECUTED and request.closed_at is not None
    assert weeks_of(market, faculty) == [1, 4] and weeks_of(market, other_faculty) == [0]
    change = request.change
    assert change.kind == ScheduleChange.Kind.SWAP and change.actor == other_faculty.user
    give, take = slot(market, faculty, 1), slot(market, other_faculty, 0)
    week = {w.index: w.pk for w in market.year.weeks.all()}
    assert {(r["assignment"], r["week"]) for r in change.before} == {(give.pk, week[0]), (take.pk, week[1])}
    assert {(r["assignment"], r["week"]) for r in change.after} == {(give.pk, week[1]), (take.pk, week[0])}
    assert change.nash_distance_before == pytest.approx(0.8)
    assert change.nash_distance_after < change.nash_distance_before
    assert f"#{request.pk}" in change.reason
    assert give.utility == pytest.approx(0.9) and take.utility == pytest.approx(0.9)
    assert NashStabilityReport.objects.filter(schedule=market).count() == reports_before + 1
    report = NashStabilityReport.objects.filter(schedule=market).latest()
    assert report.nash_distance == pytest.approx(change.nash_distance_after) and report.created_by == other_faculty.user
    # The published schedule still refuses a direct edit.
    give.week = market.year.weeks.get(index=5)
    with pytest.raises(PublishedScheduleIsImmutable):
        give.save()
    # Strategy performance saw the success.
    flexible = StrategyPerformance.objects.get(year=market.year, strategy="flexible")
    assert (flexible.attempts, flexible.successes) == (1, 1)


def test_a_failing_report_refresh_leaves_the_executed_swap_alone(market, faculty, other_faculty, monkeypatch,
                                                                 django_capture_on_commit_callbacks, caplog):
    import stability.reports

    def broken(**kwargs):
        raise RuntimeError("analysis exploded")

    monkeypatch.setattr(stability.reports, "stability_report_create", broken)
    request = swap_request_from_suggestion(actor=faculty.user, give=slot(market, faculty, 0),
                                           take=slot(market, other_faculty, 1))
    with django_capture_on_commit_callbacks(execute=True):
        request = swap_request_confirm(swap=request, actor=other_faculty.user)
    assert request.status == Status.EXECUTED and weeks_of(market, faculty) == [1, 4]
    assert "Refreshing the stability report" in caplog.text


def test_only_the_two_parties_confirm(market, faculty, carol, coordinator):
    request = swap_request_match(swap=_post(market, faculty, 0, [1]))
    for outsider in (carol.user, coordinator):
        with pytest.raises(PermissionDenied):
            swap_request_confirm(swap=request, actor=outsider)
    assert SwapRequest.objects.get(pk=request.pk).status == Status.MATCHED


def test_a_proposal_whose_counterparty_week_moved_expires_cleanly(market, faculty, other_faculty, dave):
    request = swap_request_match(swap=_post(market, faculty, 0, [1]))
    bob, dave_slot = slot(market, other_faculty, 1), slot(market, dave, 2)
    moved = schedule_swaps_apply(schedule=market, pairs=[(bob.pk, dave_slot.pk)], actor=None, reason="elsewhere")
    swap_request_confirm(swap=request, actor=faculty.user)
    request = swap_request_confirm(swap=request, actor=other_faculty.user)
    assert request.status == Status.EXPIRED and "changed hands" in request.outcome
    assert request.change is None and list(ScheduleChange.objects.all()) == [moved]
    assert weeks_of(market, faculty) == [0, 4] and weeks_of(market, other_faculty) == [2]


def test_executing_a_swap_closes_other_requests_on_the_moved_weeks(market, faculty, other_faculty, carol):
    bobs = swap_request_create(actor=other_faculty.user, give=slot(market, other_faculty, 1),
                               wanted_weeks=[_week(market, 0)], strategy="targeted", note="")
    carols = _post(market, carol, 1, [0])  # wants alice's week 0 too: it will be gone
    request = swap_request_from_suggestion(actor=faculty.user, give=slot(market, faculty, 0),
                                           take=slot(market, other_faculty, 1))
    swap_request_confirm(swap=request, actor=other_faculty.user)
    bobs.refresh_from_db()
    carols.refresh_from_db()
    assert bobs.status == Status.EXECUTED and "Fulfilled" in bobs.outcome  # he got week 0, the week he asked for
    assert carols.status == Status.OPEN, "carol's own week did not move; her request waits for another match"


def test_only_the_requester_cancels_and_a_declined_request_is_final(market, faculty, other_faculty):
    request = swap_request_match(swap=_post(market, faculty, 0, [1]))
    with pytest.raises(PermissionDenied):
        swap_request_cancel(swap=request, actor=other_faculty.user)
    request = swap_request_decline(swap=request, actor=other_faculty.user)
    assert request.status == Status.DECLINED and other_faculty.display_name in request.outcome
    with pytest.raises(ValidationError) as caught:
        swap_request_confirm(swap=request, actor=faculty.user)
    assert "status" in caught.value.message_dict
    with pytest.raises(ValidationError):
        swap_request_cancel(swap=request, actor=faculty.user)
    assert weeks_of(market, faculty) == [0, 4]


# --- trading cycles ----------------------------------------------------------------------------------------------


def test_trading_cycles_clear_a_three_cycle_and_a_two_cycle(cycle_market, faculty, other_faculty, carol, dave, erin,
                                                            coordinator):
    schedule = cycle_market
    alice_r = _post(schedule, faculty, 1, [2])
    bob_r = _post(schedule, other_faculty, 2, [3])
    carol_r = _post(schedule, carol, 3, [1])
    dave_r = _post(schedule, dave, 5, [6])
    erin_r = _post(schedule, erin, 6, [5])
    cycles = swap_requests_clear_cycles(schedule=schedule, actor=coordinator)
    assert sorted(sorted(r.pk for r in c) for c in cycles) == sorted(
        [sorted([alice_r.pk, bob_r.pk, carol_r.pk]), sorted([dave_r.pk, erin_r.pk])]
    )
    for r in (alice_r, bob_r, carol_r, dave_r, erin_r):
        r.refresh_from_db()
        assert r.status == Status.MATCHED and r.cycle is not None
    assert alice_r.cycle == bob_r.cycle == carol_r.cycle != dave_r.cycle == erin_r.cycle
    assert (alice_r.take_week.index, bob_r.take_week.index, carol_r.take_week.index) == (2, 3, 1)
    assert (alice_r.counterparty, bob_r.counterparty, carol_r.counterparty) == (other_faculty, carol, faculty)
    assert alice_r.requester_gain == pytest.approx(0.6)

    # Every member confirms; the last confirmation executes the cycle as one audited change.
    swap_request_confirm(swap=alice_r, actor=faculty.user)
    swap_request_confirm(swap=bob_r, actor=other_faculty.user)
    assert not ScheduleChange.objects.exists()
    done = swap_request_confirm(swap=carol_r, actor=carol.user)
    assert done.status == Status.EXECUTED
    change = done.change
    assert change.kind == ScheduleChange.Kind.TRADING_CYCLE and len(change.after) == 3
    assert SwapRequest.objects.filter(change=change).count() == 3
    assert (weeks_of(schedule, faculty), weeks_of(schedule, other_faculty), weeks_of(schedule, carol)) == ([2], [3], [1])

    # The 2-cycle is a mutual swap.
    swap_request_confirm(swap=dave_r, actor=dave.user)
    erin_done = swap_request_confirm(swap=erin_r, actor=erin.user)
    assert erin_done.status == Status.EXECUTED and erin_done.change.kind == ScheduleChange.Kind.TRADING_CYCLE
    assert (weeks_of(schedule, dave), weeks_of(schedule, erin)) == ([6], [5])


def test_declining_a_cycle_reopens_the_other_members(cycle_market, faculty, other_faculty, carol, coordinator):
    requests = [_post(cycle_market, faculty, 1, [2]), _post(cycle_market, other_faculty, 2, [3]),
                _post(cycle_market, carol, 3, [1])]
    swap_requests_clear_cycles(schedule=cycle_market, actor=coordinator)
    swap_request_decline(swap=requests[1], actor=other_faculty.user)
    states = {r.pk: (r.status, r.cycle) for r in SwapRequest.objects.all()}
    assert states[requests[1].pk][0] == Status.DECLINED
    assert states[requests[0].pk] == (Status.OPEN, None) and states[requests[2].pk] == (Status.OPEN, None)


def test_only_coordinators_clear_cycles_and_requests_nobody_wants_stay_open(cycle_market, faculty, other_faculty,
                                                                         coordinator):
    a = _post(cycle_market, faculty, 1, [2])
    b = _post(cycle_market, other_faculty, 2, [4])  # nobody offers week 4
    with pytest.raises(PermissionDenied):
        swap_requests_clear_cycles(schedule=cycle_market, actor=faculty.user)
    assert swap_requests_clear_cycles(schedule=cycle_market, actor=coordinator) == []
    assert set(SwapRequest.objects.filter(pk__in=[a.pk, b.pk]).values_list("status", flat=True)) == {Status.OPEN}


# --- strategy performance ---------------------------------------------------------------------------------------


def test_strategy_performance_follows_the_replicator_formula(market, faculty, other_faculty, carol, dave):
    """targeted 2 of 4 closed succeed; flexible 1 of 4 (plus 2 open); suggested 2 of 2; any_better unused.
    Shares of all 12 requests: 4/12, 6/12, 0, 2/12. Mean success f̄ = 1/3·.5 + 1/2·.25 + 1/6·1 = 11/24."""
    gives = [slot(market, faculty, 0), slot(market, faculty, 4), slot(market, other_faculty, 1), slot(market, carol, 1)]
    plan = [("targeted", "executed")] * 2 + [("targeted", "expired")] * 2 + [("flexible", "executed")] + \
        [("flexible", "cancelled")] * 3 + [("flexible", "open")] * 2 + [("suggested", "executed")] * 2
    open_gives = iter(gives)
    for strategy, status in plan:
        give = next(open_gives) if status == "open" else gives[0]
        SwapRequestFactory(give=give, strategy=strategy, status=status)
    rows = {p.strategy: p for p in strategy_performance_update(year=market.year)}
    mean = 11 / 24
    expected = {  # strategy: (attempts, successes, share, success rate)
        "targeted": (4, 2, 4 / 12, 0.5), "flexible": (4, 1, 6 / 12, 0.25), "any_better": (0, 0, 0.0, 0.0),
        "suggested": (2, 2, 2 / 12, 1.0),
    }
    for strategy, (attempts, successes, share, rate) in expected.items():
        row = rows[strategy]
        assert (row.attempts, row.successes) == (attempts, successes), strategy
        assert row.share == pytest.approx(share)
        assert row.fitness == pytest.approx(rate - mean), strategy
        assert row.growth == pytest.approx(share * (rate - mean)), strategy
        assert row.frequency == pytest.approx(share + share * (rate - mean)), strategy
    assert rows["targeted"].fitness == pytest.approx(1 / 24) and rows["suggested"].growth == pytest.approx(13 / 144)
    assert sum(r.frequency for r in rows.values()) == pytest.approx(1.0)
    assert StrategyPerformance.objects.filter(year=market.year).count() == 4


# --- changes made outside the market ------------------------------------------------------------------------------


def test_a_coordinators_recommended_swap_fulfils_the_request_it_answers(market, faculty, other_faculty, coordinator):
    from stability.gate import schedule_recommended_swap_apply

    request = _post(market, other_faculty, 1, [0])
    change = schedule_recommended_swap_apply(
        schedule=market, assignment_a=slot(market, faculty, 0).pk, assignment_b=slot(market, other_faculty, 1).pk,
        actor=coordinator,
    )
    request.refresh_from_db()
    assert weeks_of(market, other_faculty) == [0]
    assert request.status == Status.EXECUTED and request.change == change
    assert "Fulfilled" in request.outcome


def test_a_coordinators_swap_expires_requests_whose_week_moved_elsewhere(market, faculty, other_faculty, coordinator):
    from stability.gate import schedule_recommended_swap_apply

    request = _post(market, faculty, 0, [2])  # alice offers week 0 for week 2; the coordinator moves her to week 1
    schedule_recommended_swap_apply(
        schedule=market, assignment_a=slot(market, faculty, 0).pk, assignment_b=slot(market, other_faculty, 1).pk,
        actor=coordinator,
    )
    request.refresh_from_db()
    assert request.status == Status.EXPIRED and "moved" in request.outcome


def test_publishing_a_new_schedule_closes_the_requests_on_the_archived_one(market, faculty, other_faculty, coordinator):
    from stability.gate import schedule_publish

    request = _post(market, faculty, 0, [1])
    draft = Schedule.objects.create(year=market.year, name="Second thoughts", source=Schedule.Source.MANUAL)
    for a in market.assignments.all():
        draft.assignments.create(faculty=a.faculty, week=a.week, rotation=a.rotation)
    result = schedule_publish(schedule=draft, actor=coordinator, force=True, reason="Re-issued after review", channel="api")
    request.refresh_from_db()
    market.refresh_from_db()
    assert market.status == Schedule.Status.ARCHIVED
    assert request.status == Status.EXPIRED and "new schedule was published" in request.outcome
    assert any("Closed 1 open swap request" in w for w in result.warnings)


def test_an_open_request_on_an_archived_schedule_is_not_matched(market, faculty):
    request = _post(market, faculty, 0, [1])
    Schedule.objects.filter(pk=market.pk).update(status=Schedule.Status.ARCHIVED)
    matched = swap_request_match(swap=request)
    assert matched.status == Status.EXPIRED and matched.counterparty is None


def test_a_week_id_too_large_for_the_database_is_refused_by_name(market, faculty):
    _refused("wanted_weeks", actor=faculty.user, give=slot(market, faculty, 0), wanted_weeks=[2**70])
