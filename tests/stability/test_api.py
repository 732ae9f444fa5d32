"""Stability API: the permission matrix over every endpoint, the field names integrations expect, the publish gate's
409/400 refusals with field-level errors (changing nothing), a faculty member's own-rows view of a published
report, and JSON 404s for bad ids."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token

from allocation.models import Schedule
from stability.gate import schedule_publish
from stability.models import NashStabilityReport, PublicationRecord
from stability.reports import stability_report_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("few_restarts")]

CAST = ["anonymous", "faculty", "other_faculty", "coordinator"]
REASON = "Approved by the programme director."
REPORT_FIELDS = {
    "is_nash_equilibrium", "nash_distance", "stability_level", "num_beneficial_swaps", "num_blocking_swaps",
    "beneficial_swaps", "total_assignments", "predicted_swap_requests", "current_welfare", "optimal_welfare",
    "price_of_anarchy", "price_of_stability", "efficiency_ratio", "stability_forecast", "recommended_swaps",
    "top_instabilities", "warnings", "recommendations", "is_acceptable", "restarts", "compute_ms",
}




@pytest.fixture
def published(critical_draft, coordinator) -> Schedule:
    schedule_publish(schedule=critical_draft, actor=coordinator, force=True, reason=REASON, channel="api")
    critical_draft.refresh_from_db()
    return critical_draft


def stability_url(schedule) -> str:
    return reverse("schedule-stability", args=[schedule.pk])


def publish_url(schedule) -> str:
    return reverse("schedule-publish", args=[schedule.pk])


def analytics_url(schedule) -> str:
    return reverse("schedule-analytics", args=[schedule.pk])


# --- routes -------------------------------------------------------------------------------------------------


def test_the_operation_paths_are_the_ones_integrations_expect(critical_draft):
    pk = critical_draft.pk
    assert stability_url(critical_draft) == f"/api/v1/schedules/{pk}/stability"
    assert publish_url(critical_draft) == f"/api/v1/schedules/{pk}/publish"
    assert analytics_url(critical_draft) == f"/api/v1/schedules/{pk}/analytics"
    assert reverse("nash-stable-schedule") == "/api/v1/game-theory/nash-stable-schedule"
    assert reverse("price-of-anarchy", args=[2031]) == "/api/v1/game-theory/price-of-anarchy/2031"
    assert reverse("stability-report-list") == "/api/v1/stability-reports/"
    # allocation's schedule routes still resolve
    assert reverse("schedule-detail", args=[pk]) == f"/api/v1/schedules/{pk}/"


# --- the permission matrix ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("faculty", 403), ("other_faculty", 403),
                                                ("coordinator", 200)])
def test_only_coordinators_read_a_drafts_stability(as_, critical_draft, who, expected):
    assert as_(who).get(stability_url(critical_draft)).status_code == expected


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("faculty", 200), ("other_faculty", 200),
                                                ("coordinator", 200)])
def test_everyone_logged_in_reads_a_published_schedules_stability(as_, published, who, expected):
    assert as_(who).get(stability_url(published)).status_code == expected


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("faculty", 403), ("other_faculty", 403),
                                                ("coordinator", 200)])
def test_only_coordinators_publish_a_draft_through_the_api(as_, stable_draft, who, expected):
    response = as_(who).post(publish_url(stable_draft), {}, format="json")
    assert response.status_code == expected
    stable_draft.refresh_from_db()
    assert (stable_draft.status == Schedule.Status.PUBLISHED) == (expected == 200)


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("faculty", 403), ("other_faculty", 403),
                                                ("coordinator", 200)])
def test_only_coordinators_read_a_schedules_analytics(as_, critical_draft, who, expected):
    assert as_(who).get(analytics_url(critical_draft)).status_code == expected


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("faculty", 403), ("other_faculty", 403),
                                                ("coordinator", 200)])
def test_only_coordinators_compute_a_nash_stable_schedule(as_, critical_draft, who, expected):
    response = as_(who).post(reverse("nash-stable-schedule"), {"schedule": critical_draft.pk}, format="json")
    assert response.status_code == expected


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("faculty", 403), ("other_faculty", 403),
                                                ("coordinator", 200)])
def test_only_coordinators_read_the_price_of_anarchy(as_, critical_draft, who, expected):
    assert as_(who).get(reverse("price-of-anarchy", args=[2031])).status_code == expected


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("faculty", 403), ("other_faculty", 403),
                                                ("coordinator", 200)])
def test_only_coordinators_list_and_read_stability_reports(as_, critical_draft, who, expected):
    report = stability_report_for(schedule=critical_draft)
    client = as_(who)
    assert client.get(reverse("stability-report-list")).status_code == expected
    assert client.get(reverse("stability-report-detail", args=[report.pk])).status_code == expected


def test_a_token_authenticates_integrations(api_client, critical_draft, coordinator):
    token = Token.objects.create(user=coordinator)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api_client.get(stability_url(critical_draft)).status_code == 200


def test_a_user_without_a_faculty_profile_cannot_see_schedules(api_client, published):
    from tests.factories import UserFactory

    api_client.force_login(UserFactory(username="stranger"))
    assert api_client.get(stability_url(published)).status_code == 404


# --- what the report says ---------------------------------------------------------------------------------------


def test_the_report_has_the_field_names_integrations_expect(as_, critical_draft, people):
    body = as_("coordinator").get(stability_url(critical_draft)).json()
    assert body.keys() >= REPORT_FIELDS
    assert body["scope"] == "full" and body["schedule"] == critical_draft.pk and body["academic_year"] == 2031
    assert body["stability_level"] == "CRITICAL" and body["nash_distance"] == pytest.approx(2 / 3)
    assert (body["num_blocking_swaps"], body["num_beneficial_swaps"], body["total_assignments"]) == (1, 3, 3)
    assert body["beneficial_swaps"] == body["top_instabilities"] and len(body["top_instabilities"]) == 2
    assert body["current_welfare"] == pytest.approx(1.5) and body["optimal_welfare"] == pytest.approx(3.0)
    assert body["efficiency_ratio"] == pytest.approx(0.5) and body["restarts"] == 5
    assert body["is_acceptable"] == (body["price_of_anarchy"] < 1.5)
    assert body["stability_forecast"] in {"stable", "minor_adjustments", "major_revision"}
    [swap] = body["recommended_swaps"]
    assert {swap["a_faculty"], swap["b_faculty"]} == {"F001", "F002"}


def test_the_report_is_reused_until_the_schedule_changes(as_, critical_draft):
    client = as_("coordinator")
    first = client.get(stability_url(critical_draft)).json()["id"]
    assert client.get(stability_url(critical_draft)).json()["id"] == first
    assert NashStabilityReport.objects.count() == 1


def test_faculty_see_only_their_own_instabilities_of_a_published_report(as_, published, people):
    body = as_("faculty").get(stability_url(published)).json()
    assert body["scope"] == "own" and body["url"] is None and body["parameters"] == {}
    assert body["nash_distance"] == pytest.approx(2 / 3)
    [mine] = body["top_instabilities"]
    assert mine["faculty"] == "F001" and mine["gain_self"] == pytest.approx(1.0)
    assert all(mine[key] is None for key in ("partner_faculty", "partner_faculty_name", "partner_faculty_id",
                                             "gain_partner", "partner_assignment"))
    [swap] = body["recommended_swaps"]
    side = "a" if swap["a_faculty"] == "F001" else "b"
    other = "b" if side == "a" else "a"
    assert swap[f"{other}_faculty"] is None and swap[f"{other}_faculty_name"] is None and swap[f"gain_{other}"] is None
    text = str(body)
    assert "Bob" not in text and "F002" not in text


def test_a_colleague_outside_the_blocking_swap_sees_no_rows(as_, published, example_carol, api_client):
    api_client.force_login(example_carol.user)
    body = api_client.get(stability_url(published)).json()
    assert body["scope"] == "own" and body["top_instabilities"] == [] and body["recommended_swaps"] == []
    assert "Alice" not in str(body) and "Bob" not in str(body)


# --- the publish gate through the API -------------------------------------------------------------------------


def test_publishing_a_critical_draft_without_force_is_409_with_a_force_error(as_, critical_draft):
    response = as_("coordinator").post(publish_url(critical_draft), {"reason": REASON}, format="json")
    assert response.status_code == 409 and set(response.json()) == {"force"}
    assert "CRITICAL" in response.json()["force"][0]
    assert Schedule.objects.get(pk=critical_draft.pk).status == Schedule.Status.DRAFT
    assert not PublicationRecord.objects.exists()


def test_force_without_a_reason_is_400_with_a_reason_error(as_, critical_draft):
    response = as_("coordinator").post(publish_url(critical_draft), {"force": True, "reason": "  "}, format="json")
    assert response.status_code == 400 and set(response.json()) == {"reason"}
    assert Schedule.objects.get(pk=critical_draft.pk).status == Schedule.Status.DRAFT
    assert not PublicationRecord.objects.exists()


def test_a_forced_publication_answers_with_the_record(as_, critical_draft, coordinator):
    response = as_("coordinator").post(publish_url(critical_draft), {"force": True, "reason": REASON}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["forced"] is True and body["override_reason"] == REASON and body["channel"] == "api"
    assert body["stability_level"] == "CRITICAL" and body["schedule_status"] == "published"
    assert body["published_by"] == coordinator.username and body["archived"] == []
    assert PublicationRecord.objects.get().schedule_id == critical_draft.pk


def test_publishing_twice_is_409_on_status(as_, stable_draft):
    client = as_("coordinator")
    assert client.post(publish_url(stable_draft), {}, format="json").status_code == 200
    response = client.post(publish_url(stable_draft), {}, format="json")
    assert response.status_code == 409 and "status" in response.json()


def test_a_bad_publish_payload_is_400_by_field(as_, stable_draft):
    response = as_("coordinator").post(publish_url(stable_draft), {"force": "perhaps"}, format="json")
    assert response.status_code == 400 and "force" in response.json()
    assert Schedule.objects.get(pk=stable_draft.pk).status == Schedule.Status.DRAFT


# --- operations ------------------------------------------------------------------------------------------------


def test_nash_stable_schedule_by_year_takes_the_published_schedule_else_the_newest_draft(as_, critical_draft, stable_draft):
    client = as_("coordinator")
    body = client.post(reverse("nash-stable-schedule"), {"academic_year": 2031}, format="json").json()
    assert body["schedule"] == stable_draft.pk  # the newest draft
    schedule_publish(schedule=critical_draft, actor=None, force=True, reason=REASON, channel="api")
    body = client.post(reverse("nash-stable-schedule"), {"academic_year": 2031}, format="json").json()
    assert body["schedule"] == critical_draft.pk and body.keys() >= REPORT_FIELDS


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "schedule"), ({"schedule": 1, "academic_year": 2031}, "schedule"), ({"academic_year": 1999}, "academic_year"),
    ({"schedule": "x"}, "schedule"), ({"schedule": 1, "restarts": 0}, "restarts"),
])
def test_nash_stable_schedule_refuses_bad_payloads_by_field(as_, critical_draft, payload, field):
    response = as_("coordinator").post(reverse("nash-stable-schedule"), payload, format="json")
    assert response.status_code == 400 and field in response.json()


def test_nash_stable_schedule_with_restarts_and_refresh(as_, critical_draft):
    client = as_("coordinator")
    first = client.post(reverse("nash-stable-schedule"), {"schedule": critical_draft.pk}, format="json").json()
    again = client.post(reverse("nash-stable-schedule"), {"schedule": critical_draft.pk, "refresh": True}, format="json").json()
    assert again["id"] != first["id"]
    other_k = client.post(reverse("nash-stable-schedule"), {"schedule": critical_draft.pk, "restarts": 3}, format="json").json()
    assert other_k["restarts"] == 3 and other_k["id"] != again["id"]


def test_price_of_anarchy_reports_poa_pos_and_k(as_, critical_draft):
    response = as_("coordinator").get(reverse("price-of-anarchy", args=[2031]), {"restarts": 4})
    body = response.json()
    assert response.status_code == 200 and body["restarts"] == 4 and body["schedule"] == critical_draft.pk
    assert body["optimal_welfare"] == pytest.approx(3.0) and body["efficiency_ratio"] == pytest.approx(0.5)
    assert body["price_of_stability"] == pytest.approx(1.0)  # the optimum is stable and reachable
    assert body["price_of_anarchy"] >= body["price_of_stability"]
    assert body["is_acceptable"] == (body["price_of_anarchy"] < 1.5)
    assert body["converged"] == 4 and body["estimated_at"] is not None


def test_the_price_of_anarchy_estimate_survives_a_swap_and_is_reused(as_, critical_draft, coordinator):
    from stability.gate import schedule_recommended_swap_apply
    from stability.reports import stability_report_for

    url = reverse("price-of-anarchy", args=[2031])
    first = as_("coordinator").get(url, {"restarts": 4}).json()
    [swap] = stability_report_for(schedule=critical_draft, restarts=4).payload["recommended_swaps"]
    schedule_recommended_swap_apply(schedule=critical_draft, assignment_a=swap["assignment_a"],
                                    assignment_b=swap["assignment_b"], actor=coordinator)
    after = as_("coordinator").get(url, {"restarts": 4}).json()
    assert after["report"] != first["report"] and after["efficiency_ratio"] == pytest.approx(1.0)
    assert after["estimated_at"] == first["estimated_at"] and after["price_of_anarchy"] == first["price_of_anarchy"]


def test_price_of_anarchy_of_a_year_without_schedules_or_a_bad_label_is_404(as_, example_year):
    client = as_("coordinator")
    for label in ("2031", "1999", "next"):
        response = client.get(f"/api/v1/game-theory/price-of-anarchy/{label}")
        assert response.status_code == 404 and "detail" in response.json(), label
    response = client.get("/api/v1/game-theory/price-of-anarchy/2031", {"restarts": "many"})
    assert response.status_code == 400 and "restarts" in response.json()


def test_analytics_carry_stability_regret_and_a_labelled_fairness_placeholder(as_, published):
    body = as_("coordinator").get(analytics_url(published)).json()
    assert body["stability"]["stability_level"] == "CRITICAL" and body["regret"]["assignments"] == 3
    assert body["fairness"] is None and "not yet computed" in body["fairness_status"].lower()
    assert body["publication"]["forced"] is True and body["publication"]["override_reason"] == REASON


def test_the_report_resource_filters(as_, critical_draft, stable_draft):
    stability_report_for(schedule=critical_draft)
    stability_report_for(schedule=stable_draft)
    client = as_("coordinator")
    listing = client.get(reverse("stability-report-list"), {"stability_level": "CRITICAL"}).json()
    assert [r["schedule"] for r in listing["results"]] == [critical_draft.pk]
    listing = client.get(reverse("stability-report-list"), {"schedule": stable_draft.pk}).json()
    assert [r["stability_level"] for r in listing["results"]] == ["STABLE"]
    assert client.get(reverse("stability-report-list"), {"schedule": "x"}).status_code == 400


# --- bad ids are JSON 404s ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/api/v1/schedules/abc/stability", "/api/v1/schedules/999999/stability", "/api/v1/schedules/99999999999999999999/stability",
    "/api/v1/schedules/abc/analytics", "/api/v1/schedules/999999/analytics", "/api/v1/stability-reports/999999/",
    "/api/v1/stability-reports/abc/",
])
def test_bad_ids_are_json_404s(as_, critical_draft, path):
    response = as_("coordinator").get(path)
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()


def test_publishing_an_unknown_schedule_is_a_json_404(as_, critical_draft):
    response = as_("coordinator").post("/api/v1/schedules/999999/publish", {}, format="json")
    assert response.status_code == 404 and "detail" in response.json()


def test_the_schema_documents_the_stability_operations(client):
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    operations = {
        ("/api/v1/schedules/{id}/stability", "get"): {"200", "401", "403", "404"},
        ("/api/v1/schedules/{id}/publish", "post"): {"200", "400", "401", "403", "404", "409"},
        ("/api/v1/schedules/{id}/analytics", "get"): {"200", "401", "403", "404"},
        ("/api/v1/game-theory/nash-stable-schedule", "post"): {"200", "400", "401", "403", "404"},
        ("/api/v1/game-theory/price-of-anarchy/{academic_year}", "get"): {"200", "400", "401", "403", "404"},
        ("/api/v1/stability-reports/", "get"): {"200", "400", "401", "403"},
    }
    for (path, method), codes in operations.items():
        assert path in schema["paths"], path
        assert codes <= schema["paths"][path][method]["responses"].keys(), path


def test_a_large_schedules_report_skips_the_dynamics_and_the_price_of_anarchy_runs_them_as_a_job(
    as_, critical_draft, settings, django_capture_on_commit_callbacks, monkeypatch,
):
    settings.GTSCHED_STABILITY = {**settings.GTSCHED_STABILITY, "poa_inline_max_assignments": 2}
    body = as_("coordinator").get(stability_url(critical_draft)).json()
    assert body["price_of_anarchy"] is None and body["restarts"] is None
    assert body["stability_level"] == "CRITICAL"  # the gate's numbers do not depend on the dynamics

    from stability import tasks

    enqueued = []
    monkeypatch.setattr(tasks.stability_report_task, "delay", lambda *args: enqueued.append(args))
    url = reverse("price-of-anarchy", args=[2031])
    with django_capture_on_commit_callbacks(execute=True):
        first = as_("coordinator").get(url)
        again = as_("coordinator").get(url)
    assert first.status_code == again.status_code == 202
    assert first.json()["status"] == "pending" and first.json()["poll"].endswith(url)
    assert len(enqueued) == 1, "a repeated request while the job runs enqueues nothing"

    tasks.stability_report_task.run(*enqueued[0])  # what the worker does
    done = as_("coordinator").get(url)
    assert done.status_code == 200
    poa = done.json()
    assert poa["restarts"] == 5 and poa["price_of_anarchy"] >= poa["price_of_stability"] >= 1.0
    # From now on every report of this feasible set carries the stored estimate, without a job.
    from stability.reports import stability_report_for

    refreshed = stability_report_for(schedule=critical_draft, refresh=True)
    assert refreshed.price_of_anarchy == poa["price_of_anarchy"] and refreshed.restarts == 5
