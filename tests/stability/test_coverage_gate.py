"""The publish gate's coverage check (DESIGN §9) on the worked example's year (three weeks, one inpatient seat each):
an empty seat, an assignment in a blocked week and one in an unqualified rotation are refused like CRITICAL unless
forced with a written reason, and recorded; a load above target only warns. Listed on the report page, the admin
confirmation and the API's 409 body."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocation.models import Schedule
from preferences.models import AcademicYear
from stability.gate import PublishRefused, schedule_publish
from stability.models import PublicationRecord, StabilityLevel
from tests.factories import ScheduleFactory
from tests.stability.helpers import submit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("few_restarts")]

REASON = "Locum booked for the empty week; the director approved."


def week_words(year, index: int) -> str:
    start = year.weeks.get(index=index).start_date
    return f"the week of {start.day} {start:%b %Y}"


@pytest.fixture
def uncovered_draft(example_year, people):
    """A W2, B W1 and nobody in W3: no blocking swap (both hold their favourite), STABLE, one empty seat."""
    rows = [(people["A"], 1, "inpatient"), (people["B"], 0, "inpatient")]
    return ScheduleFactory(year=example_year, name="Uncovered draft", rows=rows)


@pytest.fixture
def unqualified_draft(stable_draft, people):
    """The stable draft after Bob lost his inpatient qualification: his W1 inpatient is in a slot he may not serve."""
    people["B"].rotations.clear()
    return stable_draft


def _unpublished(schedule) -> None:
    schedule.refresh_from_db()
    assert schedule.status == Schedule.Status.DRAFT and not PublicationRecord.objects.exists()


# --- the gate ----------------------------------------------------------------------------------------------------


def test_a_stable_draft_with_an_empty_seat_is_refused_without_force(uncovered_draft, example_year, coordinator):
    with pytest.raises(PublishRefused) as exc:
        schedule_publish(schedule=uncovered_draft, actor=coordinator, channel="api")
    body = exc.value.message_dict
    assert exc.value.conflict and set(body) == {"force", "uncovered_seats"}
    assert "coverage check refuses" in body["force"][0] and "1 empty seat in 1 week" in body["force"][0]
    assert body["uncovered_seats"] == [f"{week_words(example_year, 2).capitalize()}, inpatient: 1 of 1 seat empty."]
    _unpublished(uncovered_draft)


def test_forcing_past_an_empty_seat_needs_a_written_reason(uncovered_draft, coordinator):
    with pytest.raises(PublishRefused) as exc:
        schedule_publish(schedule=uncovered_draft, actor=coordinator, force=True, reason="  ", channel="api")
    assert not exc.value.conflict and set(exc.value.message_dict) == {"reason"}
    assert "failed coverage check" in exc.value.message_dict["reason"][0]
    _unpublished(uncovered_draft)


def test_an_empty_seat_publishes_with_force_and_reason_and_the_findings_are_recorded(uncovered_draft, example_year,
                                                                                     coordinator):
    result = schedule_publish(schedule=uncovered_draft, actor=coordinator, force=True, reason=REASON, channel="page")
    record = PublicationRecord.objects.get(schedule=uncovered_draft)
    assert result.report.stability_level == StabilityLevel.STABLE
    assert record.forced and record.override_reason == REASON and result.forced
    assert record.coverage["refused"] is True and record.coverage["missing_seats"] == 1
    [seat] = record.coverage["uncovered_seats"]
    assert seat["week"] == example_year.weeks.get(index=2).start_date.isoformat() and seat["rotation"] == "inpatient"
    assert any("coverage check" in w and REASON in w for w in record.warnings)
    assert AcademicYear.objects.get(pk=example_year.pk).status == AcademicYear.Status.PUBLISHED


def test_an_assignment_in_an_unqualified_rotation_is_refused_likewise(unqualified_draft, example_year, coordinator):
    with pytest.raises(PublishRefused) as exc:
        schedule_publish(schedule=unqualified_draft, actor=coordinator, channel="api")
    assert exc.value.conflict and set(exc.value.message_dict) == {"force", "ineligible_assignments"}
    assert exc.value.message_dict["ineligible_assignments"] == [
        f"Dr. Bob Outsider is assigned inpatient in {week_words(example_year, 0)} but is not qualified for inpatient."
    ]
    _unpublished(unqualified_draft)
    schedule_publish(schedule=unqualified_draft, actor=coordinator, force=True, reason=REASON, channel="api")
    [finding] = PublicationRecord.objects.get().coverage["ineligible_assignments"]
    assert finding["faculty"] == "Dr. Bob Outsider" and finding["rotation"] == "inpatient"


def test_an_assignment_in_a_blocked_week_is_refused(stable_draft, example_year, people, coordinator):
    submit(people["B"], example_year, {1: 50, 2: 50}, blocked=(0,))  # Bob now blocks W1, which the draft gives him
    with pytest.raises(PublishRefused) as exc:
        schedule_publish(schedule=stable_draft, actor=coordinator, channel="api")
    assert exc.value.message_dict["blocked_assignments"] == [
        f"Dr. Bob Outsider is assigned inpatient in {week_words(example_year, 0)}, a week they blocked."
    ]
    _unpublished(stable_draft)


def test_a_blocked_week_only_warns_when_the_year_relaxes_blocking(stable_draft, example_year, people, coordinator):
    AcademicYear.objects.filter(pk=example_year.pk).update(blocked_is_hard=False)
    submit(people["B"], example_year, {1: 50, 2: 50}, blocked=(0,))
    stable_draft.year.refresh_from_db()
    result = schedule_publish(schedule=stable_draft, actor=coordinator, channel="api")
    assert not result.forced and result.coverage.blocked and not result.coverage.refused
    assert any("a week the faculty member blocked" in w for w in result.record.warnings)


def test_a_load_above_target_is_only_a_warning(stable_draft, people, coordinator):
    people["A"].target_load = 0
    people["A"].save(update_fields=["target_load"])
    result = schedule_publish(schedule=stable_draft, actor=coordinator, channel="api")
    assert not result.forced and result.schedule.status == Schedule.Status.PUBLISHED
    assert any("above their target load" in w for w in result.warnings)
    [over] = result.record.coverage["over_target"]
    assert over == {"faculty": "Dr. Alice Owner", "load": 1, "target": 0,
                    "text": "Dr. Alice Owner serves 1 week, 1 above their target of 0."}


def test_critical_and_an_empty_seat_are_refused_together(critical_draft, coordinator):
    critical_draft.assignments.filter(week__index=2).delete()
    with pytest.raises(PublishRefused) as exc:
        schedule_publish(schedule=critical_draft, actor=coordinator, channel="api")
    force = exc.value.message_dict["force"]
    assert len(force) == 2 and "CRITICAL" in force[0] and "coverage check" in force[1]


def test_a_fully_covered_stable_draft_still_publishes_quietly(stable_draft, coordinator):
    result = schedule_publish(schedule=stable_draft, actor=coordinator, channel="api")
    assert result.warnings == [] and not result.forced and result.record.coverage["refused"] is False


# --- the pages and the API ---------------------------------------------------------------------------------------


def test_the_report_page_lists_the_findings_and_never_calls_it_safe(client_as, coordinator, uncovered_draft,
                                                                    example_year, people):
    people["A"].target_load = 0
    people["A"].save(update_fields=["target_load"])
    html = client_as(coordinator).get(reverse("stability_report", args=[uncovered_draft.pk])).content.decode()
    assert 'id="coverage"' in html and "coverage-uncovered" in html
    assert f"{week_words(example_year, 2).capitalize()}, inpatient: 1 of 1 seat empty." in html
    assert "Dr. Alice Owner serves 1 week, 1 above their target of 0." in html
    assert "Safe to publish" not in html and "Not safe to publish" in html
    assert "The gate will refuse this schedule." in html and "Publish anyway, over the coverage check" in html


def test_publishing_on_the_page_without_force_is_refused_with_the_findings(client_as, coordinator, uncovered_draft):
    response = client_as(coordinator).post(reverse("stability_publish", args=[uncovered_draft.pk]), {})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Not published: the gate refused." in html and "1 of 1 seat empty" in html
    _unpublished(uncovered_draft)
    response = client_as(coordinator).post(reverse("stability_publish", args=[uncovered_draft.pk]),
                                           {"force": "on", "reason": REASON})
    assert response.status_code == 302
    html = client_as(coordinator).get(response["Location"]).content.decode()
    assert "Published over the coverage check (override)" in html and REASON in html


def test_the_admin_confirmation_lists_the_findings(client, coordinator, unqualified_draft):
    coordinator.is_superuser = True
    coordinator.save()
    client.force_login(coordinator)
    changelist = reverse("admin:allocation_schedule_changelist")
    data = {"action": "publish_through_stability_gate", "_selected_action": [unqualified_draft.pk]}
    html = client.post(changelist, data).content.decode()
    assert "coverage-ineligible" in html and "Dr. Bob Outsider is assigned inpatient" in html
    assert 'name="force"' in html and "Publish over the gate" in html
    assert client.post(changelist, {**data, "post": "yes"}).status_code == 409
    _unpublished(unqualified_draft)


def test_the_api_409_body_lists_the_findings(as_, uncovered_draft, example_year):
    url = reverse("schedule-publish", args=[uncovered_draft.pk])
    response = as_("coordinator").post(url, {}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert set(body) == {"force", "uncovered_seats"}
    assert body["uncovered_seats"] == [f"{week_words(example_year, 2).capitalize()}, inpatient: 1 of 1 seat empty."]
    _unpublished(uncovered_draft)
    response = as_("coordinator").post(url, {"force": True, "reason": REASON}, format="json")
    assert response.status_code == 200
    assert response.json()["forced"] is True and response.json()["coverage"]["missing_seats"] == 1
