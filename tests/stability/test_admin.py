"""Stability in the admin: read-only reports, publication records and audit trail; a published schedule is read-only;
the "Publish through the stability gate" action confirms with the report, refuses CRITICAL without force and a reason,
and publishes through the same gate (channel admin)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from allocation.models import Schedule
from stability.gate import schedule_publish
from stability.models import NashStabilityReport, PublicationRecord, ScheduleChange
from stability.reports import stability_report_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("few_restarts")]

ACTION = "publish_through_stability_gate"
CHANGELIST = reverse("admin:allocation_schedule_changelist")
REASON = "Approved by the programme director."


@pytest.fixture
def admin_client_(client, coordinator):
    coordinator.is_superuser = True
    coordinator.save()
    client.force_login(coordinator)
    return client


def _action(client, schedules, **extra):
    data = {"action": ACTION, "_selected_action": [s.pk for s in schedules], **extra}
    return client.post(CHANGELIST, data)


def test_the_action_is_offered_on_schedules(admin_client_, critical_draft):
    html = admin_client_.get(CHANGELIST).content.decode()
    assert ACTION in html and "Publish through the stability gate" in html


def test_the_action_shows_a_confirmation_page_with_the_report(admin_client_, critical_draft):
    response = _action(admin_client_, [critical_draft])
    html = response.content.decode()
    assert response.status_code == 200
    assert "level-critical" in html and "Nash distance" in html and "0.667" in html
    assert 'name="force"' in html and 'name="reason"' in html and "refuses a CRITICAL schedule" in html
    assert Schedule.objects.get(pk=critical_draft.pk).status == Schedule.Status.DRAFT


def test_confirming_critical_without_force_is_refused_and_changes_nothing(admin_client_, critical_draft):
    response = _action(admin_client_, [critical_draft], post="yes", reason=REASON)
    assert response.status_code == 409 and "Not published: the stability gate refused." in response.content.decode()
    assert Schedule.objects.get(pk=critical_draft.pk).status == Schedule.Status.DRAFT
    assert not PublicationRecord.objects.exists()


def test_confirming_critical_with_force_but_no_reason_is_refused(admin_client_, critical_draft):
    response = _action(admin_client_, [critical_draft], post="yes", force="on", reason="")
    assert response.status_code == 400 and "needs a written reason" in response.content.decode()
    assert not PublicationRecord.objects.exists()


def test_confirming_with_force_and_a_reason_publishes_through_the_gate(admin_client_, critical_draft, coordinator):
    response = _action(admin_client_, [critical_draft], post="yes", force="on", reason=REASON)
    assert response.status_code == 302
    record = PublicationRecord.objects.get()
    assert record.channel == "admin" and record.forced and record.override_reason == REASON
    assert record.published_by == coordinator
    assert Schedule.objects.get(pk=critical_draft.pk).status == Schedule.Status.PUBLISHED
    assert "is published for" in admin_client_.get(CHANGELIST).content.decode()


def test_a_stable_draft_publishes_on_confirmation(admin_client_, stable_draft):
    html = _action(admin_client_, [stable_draft]).content.decode()
    assert 'name="force"' not in html and "Yes, publish" in html
    assert _action(admin_client_, [stable_draft], post="yes").status_code == 302
    assert PublicationRecord.objects.get().channel == "admin"


def test_the_action_takes_exactly_one_draft(admin_client_, critical_draft, stable_draft, coordinator):
    response = _action(admin_client_, [critical_draft, stable_draft])
    assert response.status_code == 302
    assert "Select exactly one draft" in admin_client_.get(CHANGELIST).content.decode()
    schedule_publish(schedule=stable_draft, actor=coordinator, channel="api")
    _action(admin_client_, [stable_draft])
    assert "only a draft can be published" in admin_client_.get(CHANGELIST).content.decode()
    assert PublicationRecord.objects.count() == 1


def test_a_published_schedule_is_read_only_in_the_admin(admin_client_, stable_draft, coordinator):
    schedule_publish(schedule=stable_draft, actor=coordinator, channel="api")
    html = admin_client_.get(reverse("admin:allocation_schedule_change", args=[stable_draft.pk])).content.decode()
    assert 'name="_save"' not in html and 'name="name"' not in html
    row = stable_draft.assignments.first()
    html = admin_client_.get(reverse("admin:allocation_assignment_change", args=[row.pk])).content.decode()
    assert 'name="_save"' not in html


def test_a_drafts_status_cannot_be_edited_around_the_gate(admin_client_, stable_draft):
    html = admin_client_.get(reverse("admin:allocation_schedule_change", args=[stable_draft.pk])).content.decode()
    assert 'name="status"' not in html and 'name="_save"' in html


def test_stability_records_are_listed_read_only(admin_client_, critical_draft, coordinator):
    report = stability_report_for(schedule=critical_draft)
    result = schedule_publish(schedule=critical_draft, actor=coordinator, force=True, reason=REASON, channel="api")
    [swap] = result.report.payload["recommended_swaps"]
    from stability.gate import schedule_recommended_swap_apply

    change = schedule_recommended_swap_apply(schedule=critical_draft, assignment_a=swap["assignment_a"],
                                             assignment_b=swap["assignment_b"], actor=coordinator)
    for model, obj in ((NashStabilityReport, report), (PublicationRecord, result.record), (ScheduleChange, change)):
        name = f"{model._meta.app_label}_{model._meta.model_name}"  # the audit trail lives with the schedule
        listing = admin_client_.get(reverse(f"admin:{name}_changelist"))
        assert listing.status_code == 200, name
        detail = admin_client_.get(reverse(f"admin:{name}_change", args=[obj.pk])).content.decode()
        assert 'name="_save"' not in detail, name
        assert admin_client_.get(reverse(f"admin:{name}_add")).status_code == 403, name
    assert admin_client_.get(reverse("admin:stability_publicationrecord_changelist"), {"forced__exact": "1"}).status_code == 200
    assert admin_client_.get(reverse("admin:stability_nashstabilityreport_changelist"), {"q": "Critical"}).status_code == 200


def test_the_admin_cannot_add_an_assignment_to_a_published_schedule(admin_client_, critical_draft, coordinator):
    schedule_publish(schedule=critical_draft, actor=coordinator, force=True, reason=REASON, channel="api")
    existing = critical_draft.assignments.first()
    before = critical_draft.assignments.count()
    other_week = critical_draft.year.weeks.exclude(assignments__faculty=existing.faculty).first()
    response = admin_client_.post(reverse("admin:allocation_assignment_add"), {
        "schedule": critical_draft.pk, "faculty": existing.faculty_id, "week": other_week.pk,
        "rotation": existing.rotation_id, "mechanism_data": "{}",
    })
    assert response.status_code == 200
    assert "change only through an audited swap" in response.content.decode()
    assert critical_draft.assignments.count() == before
