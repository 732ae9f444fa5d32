"""Allocation API: the permission matrix over every endpoint, the game-theory operations answering with the names
integrations expect and values that match the stored schedule, 202 + polling for queued runs, one run per repeated
request, validation that names the field and stores nothing, and who sees which schedules and assignments."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from allocation import api, tasks
from allocation.models import AllocationRun, Assignment, Schedule
from allocation.services import allocation_run_execute, allocation_run_start
from preferences.services import preferences_submit
from tests.factories import FacultyFactory, UserFactory

pytestmark = pytest.mark.django_db

CAST = ["anonymous", "faculty", "other_faculty", "coordinator"]
RSD = reverse("rsd-allocation")
VCG = reverse("vcg-auction")
RUNS = reverse("run-list")
MONDAY = dt.date(2026, 7, 6)  # week 0 of the 2026 fixture year
LOAD = 2

# Reported values (0–100) of weeks 0..7, all distinct, so every faculty member's strict order is known.
VALUES = {
    "F001": [90, 80, 70, 10, 60, 50, 40, 30],
    "F002": [85, 95, 20, 15, 75, 65, 55, 5],
    "F003": [88, 12, 82, 22, 72, 32, 62, 42],
    "F004": [50, 60, 70, 80, 90, 100, 40, 30],
}


def week(k: int) -> str:
    return str(MONDAY + dt.timedelta(weeks=k))


def week_index(start: str) -> int:
    return (dt.date.fromisoformat(start) - MONDAY).days // 7


def expected_rank(external_id: str, start: str) -> int:
    values = VALUES[external_id]
    return 1 + sum(v > values[week_index(start)] for v in values)


# --- the cast and the year -----------------------------------------------------------------------

@pytest.fixture(autouse=True)
def answer_at_once(settings):
    """Operation endpoints do not wait for queued runs unless a test asks them to."""
    settings.GTSCHED_API_INLINE_WAIT_SECONDS = 0


@pytest.fixture
def programme(year, rotations, faculty, other_faculty):
    """The 2026 year (8 weeks, inpatient + clinic, one seat per slot) with four faculty serving 2 weeks each,
    every one of whom valued every week."""
    people = [
        faculty, other_faculty,
        FacultyFactory(user=UserFactory(username="carol"), external_id="F003", display_name="Dr. Carol",
                       rotations=[rotations[1]]),
        FacultyFactory(user=UserFactory(username="dave"), external_id="F004", display_name="Dr. Dave",
                       rotations=rotations),
    ]
    for person in people:
        person.target_load = LOAD
        person.save()
        preferences_submit(
            faculty=person, year=year, preference_type="cardinal",
            entries=[{"week": week(k), "value": v} for k, v in enumerate(VALUES[person.external_id])],
            blocked_weeks=[], method="web_form", actor=person.user,
        )
    return year




@pytest.fixture
def keep_pending(monkeypatch) -> list[int]:
    """Runs stay pending, as with a busy worker: the task is never sent."""
    sent: list[int] = []
    task = tasks.allocation_run_execute_task
    monkeypatch.setattr(task, "delay", lambda run_id, *a, **k: sent.append(run_id))
    monkeypatch.setattr(task, "apply_async", lambda args=(), *a, **k: sent.append(args[0]))
    return sent


@pytest.fixture
def completed(programme, coordinator, django_capture_on_commit_callbacks):
    """completed(mechanism) runs a mechanism through the service to the end (eager task) and returns the run."""

    def run(mechanism: str = "rsd", seed: int = 7) -> AllocationRun:
        with django_capture_on_commit_callbacks(execute=True):
            started, _ = allocation_run_start(
                year=programme, mechanism=mechanism, options={}, seed=seed, actor=coordinator
            )
        started.refresh_from_db()
        assert started.status == AllocationRun.Status.COMPLETED, started.error
        return started

    return run


@pytest.fixture
def draft(completed) -> Schedule:
    return completed("rsd").schedule


@pytest.fixture
def published(draft) -> Schedule:
    Schedule.objects.filter(pk=draft.pk).update(status=Schedule.Status.PUBLISHED, published_at=timezone.now())
    draft.refresh_from_db()
    return draft


def post(client: APIClient, url: str, payload: dict[str, Any]):
    return client.post(url, payload, format="json")


def results(response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _assignment_of(schedule: Schedule, external_id: str) -> Assignment:
    return schedule.assignments.filter(faculty__external_id=external_id).order_by("week__index").first()


# --- permission matrix: starting and reading runs ------------------------------------------------

START = {
    "rsd-allocation": (RSD, {"academic_year": 2026, "seed": 1}),
    "vcg-auction": (VCG, {"academic_year": 2026}),
    "runs": (RUNS, {"academic_year": 2026, "mechanism": "least_regret", "seed": 1}),
}


@pytest.mark.parametrize("endpoint", list(START))
@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("faculty", 403), ("other_faculty", 403),
                                               ("coordinator", 202)])
def test_only_coordinators_start_runs(endpoint, who, expected, as_, programme, keep_pending):
    url, payload = START[endpoint]
    response = post(as_(who), url, payload)
    assert response.status_code == expected, response.content
    assert AllocationRun.objects.count() == (1 if expected == 202 else 0)
    if who in {"faculty", "other_faculty"}:
        assert response.json() == {"detail": [api.COORDINATORS_ONLY]}


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("faculty", 403), ("other_faculty", 403),
                                               ("coordinator", 200)])
def test_runs_are_read_and_cancelled_by_coordinators_only(who, expected, as_, programme, coordinator, keep_pending):
    run, _ = allocation_run_start(year=programme, mechanism="rsd", options={}, seed=3, actor=coordinator)
    client = as_(who)
    assert client.get(RUNS).status_code == expected
    assert client.get(reverse("run-detail", args=[run.pk])).status_code == expected
    assert client.post(reverse("run-cancel", args=[run.pk])).status_code == expected
    run.refresh_from_db()
    assert run.status == (AllocationRun.Status.CANCELLED if who == "coordinator" else AllocationRun.Status.PENDING)


def test_a_user_without_a_faculty_profile_sees_no_schedules_and_starts_nothing(api_client, draft):
    api_client.force_login(UserFactory(username="visitor"))
    assert results(api_client.get(reverse("schedule-list"))) == []
    assert results(api_client.get(reverse("assignment-list"))) == []
    assert post(api_client, RSD, {"academic_year": 2026}).status_code == 403


def test_token_authentication_starts_and_reads_runs(api_client, programme, coordinator, keep_pending):
    token = Token.objects.create(user=coordinator)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = post(api_client, RUNS, {"academic_year": 2026, "mechanism": "rsd"})
    assert response.status_code == 202
    assert [row["id"] for row in results(api_client.get(RUNS))] == [response.json()["id"]]


# --- the RSD operation ----------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_rsd_allocation_answers_with_the_names_integrations_expect(as_, programme, coordinator):
    response = post(as_("coordinator"), RSD, {"academic_year": 2026, "seed": 11})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"run", "allocation", "lottery_order", "is_strategyproof", "is_ex_post_efficient", "stats"}
    assert body["is_strategyproof"] is True and body["is_ex_post_efficient"] is True

    run = AllocationRun.objects.get()
    assert (body["run"]["id"], body["run"]["status"], body["run"]["seed"]) == (run.pk, "completed", 11)
    assert response["Location"] == body["run"]["url"]
    assert body["run"]["url"].endswith(reverse("run-detail", args=[run.pk]))
    assert body["run"]["schedule"] == run.schedule.pk
    assert body["stats"] == run.stats
    assert body["lottery_order"] == run.details["lottery_order"]
    assert sorted(body["lottery_order"]) == sorted(VALUES)
    assert set(body["allocation"][0]) == {"faculty", "week", "rotation", "rank", "utility", "lottery_position"}


@pytest.mark.django_db(transaction=True)
def test_rsd_allocation_is_the_stored_schedule_and_follows_the_lottery(as_, programme, coordinator):
    body = post(as_("coordinator"), RSD, {"academic_year": 2026, "seed": 5}).json()
    schedule = AllocationRun.objects.get().schedule
    stored = sorted(
        (a.faculty.external_id, str(a.week.start_date), a.rotation.name, a.rank, a.utility,
         a.mechanism_data["lottery_position"])
        for a in schedule.assignments.select_related("faculty", "week", "rotation")
    )
    rows = body["allocation"]
    assert sorted(tuple(row.values()) for row in rows) == stored
    assert len(rows) == LOAD * len(VALUES)
    for row in rows:
        assert row["rank"] == expected_rank(row["faculty"], row["week"])
        assert row["lottery_position"] == body["lottery_order"].index(row["faculty"]) + 1
    # The first faculty member drawn picks before anyone else: their two favourite weeks.
    first = body["lottery_order"][0]
    assert sorted(row["rank"] for row in rows if row["faculty"] == first) == [1, 2]
    # Nobody serves twice in a week, and no seat holds two people.
    assert len({(r["faculty"], r["week"]) for r in rows}) == len(rows)
    assert len({(r["week"], r["rotation"]) for r in rows}) == len(rows)


@pytest.mark.django_db(transaction=True)
def test_the_same_seed_draws_the_same_allocation_again(as_, programme, coordinator):
    client = as_("coordinator")
    first = post(client, RSD, {"academic_year": 2026, "seed": 99}).json()
    second = post(client, RSD, {"academic_year": 2026, "seed": 99}).json()
    assert first["run"]["id"] != second["run"]["id"]  # the first had finished: a new run, not a duplicate
    assert (first["allocation"], first["lottery_order"]) == (second["allocation"], second["lottery_order"])


# --- the VCG operation ----------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_vcg_auction_answers_with_allocation_payments_and_welfare(as_, programme, coordinator):
    response = post(as_("coordinator"), VCG, {"academic_year": 2026})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"run", "allocation", "payments", "total_social_welfare", "is_strategyproof", "stats"}
    assert body["is_strategyproof"] is True
    run = AllocationRun.objects.get()
    assert (body["run"]["status"], run.mechanism) == ("completed", "vcg")
    stored = sorted(
        (a.faculty.external_id, str(a.week.start_date), a.rotation.name, a.rank, a.utility)
        for a in run.schedule.assignments.select_related("faculty", "week", "rotation")
    )
    rows = body["allocation"]
    assert sorted(tuple(row.values()) for row in rows) == stored

    # Welfare on the 0–100 scale: Σ reported values of the allocated weeks.
    welfare = sum(VALUES[row["faculty"]][week_index(row["week"])] for row in rows)
    assert body["total_social_welfare"] == pytest.approx(welfare)

    payments = {p["faculty"]: p for p in body["payments"]}
    assert set(payments) == set(VALUES)
    for external_id, p in payments.items():
        assert set(p) == {"faculty", "allocated_weeks", "reported_value", "vcg_payment", "others_welfare_with",
                          "others_welfare_without"}
        mine = sorted(row["week"] for row in rows if row["faculty"] == external_id)
        assert sorted(p["allocated_weeks"]) == mine
        assert p["reported_value"] == pytest.approx(sum(VALUES[external_id][week_index(w)] for w in mine))
        assert p["vcg_payment"] >= 0
        assert p["vcg_payment"] == pytest.approx(p["others_welfare_without"] - p["others_welfare_with"], abs=1e-6)
        assert p["others_welfare_with"] == pytest.approx(welfare - p["reported_value"], abs=1e-6)


# --- queued runs: 202 and polling -----------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("url", "payload"), [
    (RSD, {"academic_year": 2026, "seed": 4}),
    (VCG, {"academic_year": 2026, "seed": 4}),
    (RUNS, {"academic_year": 2026, "mechanism": "min_cost_flow", "seed": 4}),
])
def test_a_queued_run_answers_202_and_is_polled_to_completion(url, payload, as_, programme, keep_pending):
    client = as_("coordinator")
    response = post(client, url, payload)
    assert response.status_code == 202, response.content
    run = AllocationRun.objects.get()
    assert keep_pending == [run.pk]
    location = response["Location"]
    assert location.endswith(reverse("run-detail", args=[run.pk]))

    pending = client.get(location)
    assert pending.status_code == 200
    assert (pending.json()["status"], pending.json()["is_active"], pending.json()["schedule"]) == ("pending", True, None)
    assert pending.json()["cancel_url"].endswith(reverse("run-cancel", args=[run.pk]))

    allocation_run_execute(run_id=run.pk)  # what the worker does when it picks the task up

    done = client.get(location).json()
    assert (done["status"], done["is_active"], done["progress"], done["cancel_url"]) == ("completed", False, 100, None)
    assert done["schedule"] == Schedule.objects.get(run=run).pk
    assert done["stats"]["assignments"] == LOAD * len(VALUES)
    assert client.get(done["schedule_url"]).json()["counts"]["assignments"] == LOAD * len(VALUES)


def test_the_202_body_names_the_run_to_poll(as_, programme, keep_pending):
    body = post(as_("coordinator"), RSD, {"academic_year": 2026}).json()
    run = AllocationRun.objects.get()
    assert body["run"]["id"] == run.pk and body["run"]["status"] == "pending"
    assert str(run.pk) in body["detail"] and "poll" in body["detail"]


def test_a_run_that_finishes_while_the_request_waits_is_answered_inline(as_, programme, keep_pending, settings,
                                                                        monkeypatch):
    settings.GTSCHED_API_INLINE_WAIT_SECONDS = 30
    monkeypatch.setattr(api, "_pause", lambda seconds: allocation_run_execute(run_id=AllocationRun.objects.get().pk))
    response = post(as_("coordinator"), RSD, {"academic_year": 2026, "seed": 8})
    assert response.status_code == 201, response.content
    assert response.json()["run"]["status"] == "completed"
    assert len(response.json()["allocation"]) == LOAD * len(VALUES)


def test_wait_false_answers_at_once(as_, programme, keep_pending, settings, monkeypatch):
    settings.GTSCHED_API_INLINE_WAIT_SECONDS = 30

    def never(seconds: float) -> None:
        raise AssertionError("wait=false must not wait")

    monkeypatch.setattr(api, "_pause", never)
    response = post(as_("coordinator"), RSD, {"academic_year": 2026, "wait": False})
    assert response.status_code == 202


@pytest.mark.django_db(transaction=True)
def test_a_failed_run_is_422_with_the_reason(as_, programme, monkeypatch):
    from allocation.algorithms import rsd

    def broken(problem, *, rng, **options):
        raise ValueError("the lottery drum is jammed")

    monkeypatch.setattr(rsd, "rsd", broken)
    response = post(as_("coordinator"), RSD, {"academic_year": 2026})
    assert response.status_code == 422, response.content
    body = response.json()
    assert "the lottery drum is jammed" in body["detail"]
    assert (body["run"]["status"], body["run"]["schedule"]) == ("failed", None)
    assert response["Location"] == body["run"]["url"]


# --- the runs resource ----------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_creating_a_run_that_finishes_in_the_request_is_201(as_, programme):
    response = post(as_("coordinator"), RUNS, {"academic_year": 2026, "mechanism": "least_regret",
                                               "options": {"cost": "linear"}, "seed": 2})
    assert response.status_code == 201, response.content
    body = response.json()
    run = AllocationRun.objects.get()
    assert response["Location"] == body["url"]
    assert (body["id"], body["status"], body["mechanism"], body["year"]) == (run.pk, "completed", "least_regret", 2026)
    assert body["parameters"] == {"cost": "linear"}
    assert body["stats"] == run.stats and body["details"] == run.details
    assert body["schedule"] == run.schedule.pk


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("url", "payload"), [
    (RUNS, {"academic_year": 2026, "mechanism": "rsd", "seed": 5}),
    (RUNS, {"academic_year": 2026, "mechanism": "rsd"}),
    (RSD, {"academic_year": 2026}),
    (VCG, {"academic_year": 2026, "options": {"method": "resolve"}}),
])
def test_a_repeated_request_returns_the_same_run(url, payload, as_, programme, keep_pending):
    client = as_("coordinator")
    first, second = post(client, url, payload), post(client, url, payload)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first["Location"] == second["Location"]
    assert AllocationRun.objects.count() == 1
    assert keep_pending == [AllocationRun.objects.get().pk]


def test_cancelling_a_finished_run_is_refused(as_, completed):
    run = completed("rsd")
    response = as_("coordinator").post(reverse("run-cancel", args=[run.pk]))
    assert response.status_code == 400
    assert "already completed" in response.json()["status"][0]


def test_cancelled_runs_report_it(as_, programme, coordinator, keep_pending):
    run, _ = allocation_run_start(year=programme, mechanism="rsd", options={}, seed=3, actor=coordinator)
    body = as_("coordinator").post(reverse("run-cancel", args=[run.pk])).json()
    assert (body["status"], body["is_active"], body["cancel_url"]) == ("cancelled", False, None)


def test_runs_filter_by_year_mechanism_and_status(request, as_, completed, programme, coordinator):
    done = completed("rsd")
    request.getfixturevalue("keep_pending")
    queued, _ = allocation_run_start(year=programme, mechanism="least_regret", options={}, seed=1, actor=coordinator)
    client = as_("coordinator")

    def ids(**query: Any) -> list[int]:
        return [row["id"] for row in results(client.get(RUNS, query))]

    assert ids() == [queued.pk, done.pk]
    assert ids(mechanism="rsd") == [done.pk]
    assert ids(status="pending") == [queued.pk]
    assert ids(year=2026, status="completed") == [done.pk]
    assert ids(year=2025) == []
    bad = client.get(RUNS, {"status": "finished", "mechanism": "coin_toss"})
    assert bad.status_code == 400 and {"status", "mechanism"} <= bad.json().keys()


# --- validation: 400 naming the field, no run stored ----------------------------------------------

INVALID = {
    "unknown year": (RSD, {"academic_year": 2031}, "academic_year", "2031"),
    "unknown year on runs": (RUNS, {"academic_year": 2031, "mechanism": "rsd"}, "academic_year", "2031"),
    "year missing": (VCG, {}, "academic_year", "required"),
    "year not a number": (RSD, {"academic_year": "next"}, "academic_year", "integer"),
    "unknown mechanism": (RUNS, {"academic_year": 2026, "mechanism": "coin_toss"}, "mechanism", "coin_toss"),
    "mechanism missing": (RUNS, {"academic_year": 2026}, "mechanism", "required"),
    "negative seed": (RSD, {"academic_year": 2026, "seed": -1}, "seed", "whole number from 0"),
    "seed too large": (RSD, {"academic_year": 2026, "seed": 2**63}, "seed", "whole number from 0"),
    "seed not a number": (RUNS, {"academic_year": 2026, "mechanism": "rsd", "seed": "lucky"}, "seed", "whole number"),
    "options not an object": (RSD, {"academic_year": 2026, "options": ["fast"]}, "options", "dictionary"),
    "wait not a boolean": (RSD, {"academic_year": 2026, "wait": "soon"}, "wait", "boolean"),
    "bad non-respondent policy": (
        RSD, {"academic_year": 2026, "options": {"non_respondents": "ignore"}}, "options.non_respondents", "exclude",
    ),
    "seed given as an option": (RSD, {"academic_year": 2026, "options": {"seed": 3}}, "options.seed", "seed"),
    "unknown RSD option": (RSD, {"academic_year": 2026, "options": {"speed": "fast"}}, "options.speed", "speed"),
    "unknown VCG method": (VCG, {"academic_year": 2026, "options": {"method": "guess"}}, "options.method", "guess"),
    "bad least-regret cost": (
        RUNS, {"academic_year": 2026, "mechanism": "least_regret", "options": {"cost": "cubic"}}, "options.cost",
        "cubic",
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_requests_are_refused_naming_the_field_and_store_nothing(case, as_, programme, keep_pending):
    url, payload, field, fragment = INVALID[case]
    response = post(as_("coordinator"), url, payload)
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert any(fragment in message for message in errors[field]), errors[field]
    assert not AllocationRun.objects.exists()


def test_malformed_and_form_encoded_bodies_are_refused(as_, programme):
    client = as_("coordinator")
    assert client.post(RSD, "{not json", content_type="application/json").status_code == 400
    assert client.post(RSD, {"academic_year": 2026}).status_code == 415
    assert not AllocationRun.objects.exists()


# --- schedules ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "expected"), [("anonymous", 401), ("faculty", 200), ("other_faculty", 200),
                                               ("coordinator", 200)])
def test_every_programme_member_sees_the_schedules_of_their_year(who, expected, as_, draft):
    client = as_(who)
    listing = client.get(reverse("schedule-list"))
    detail = client.get(reverse("schedule-detail", args=[draft.pk]))
    assert (listing.status_code, detail.status_code) == (expected, expected)
    if expected == 200:
        assert [row["id"] for row in listing.json()["results"]] == [draft.pk]


def test_a_schedule_shows_its_counts(as_, draft):
    body = as_("faculty").get(reverse("schedule-detail", args=[draft.pk])).json()
    assert (body["year"], body["status"], body["source"], body["run"]) == (2026, "draft", "run", draft.run_id)
    by_rotation = {
        name: draft.assignments.filter(rotation__name=name).count() for name in ("clinic", "inpatient")
    }
    assert body["counts"] == {
        "assignments": LOAD * len(VALUES), "faculty": len(VALUES),
        "weeks": draft.assignments.values("week").distinct().count(),
        "by_rotation": {name: n for name, n in by_rotation.items() if n}, "mine": LOAD,
    }
    assert body["assignments_url"].endswith(f"{reverse('assignment-list')}?schedule={draft.pk}")
    assert as_("coordinator").get(reverse("schedule-detail", args=[draft.pk])).json()["counts"]["mine"] == 0


def test_faculty_off_the_year_roster_do_not_see_its_schedules(as_, programme, faculty, other_faculty, completed):
    carol_and_dave = list(programme.faculty_queryset().exclude(pk__in=[faculty.pk, other_faculty.pk]))
    programme.roster.set([faculty, *carol_and_dave])
    draft = completed("rsd").schedule
    assert not draft.assignments.filter(faculty=other_faculty).exists()
    client = as_("other_faculty")
    assert results(client.get(reverse("schedule-list"))) == []
    assert client.get(reverse("schedule-detail", args=[draft.pk])).status_code == 404
    assert results(client.get(reverse("assignment-list"))) == []


def test_schedules_filter_by_year_and_status(as_, draft, completed):
    other = completed("least_regret").schedule
    Schedule.objects.filter(pk=other.pk).update(status=Schedule.Status.PUBLISHED)
    client = as_("coordinator")

    def ids(**query: Any) -> list[int]:
        return [row["id"] for row in results(client.get(reverse("schedule-list"), query))]

    assert ids() == [other.pk, draft.pk]
    assert ids(status="draft") == [draft.pk]
    assert ids(year=2026, status="published") == [other.pk]
    assert ids(year=2025) == []
    assert client.get(reverse("schedule-list"), {"status": "final"}).status_code == 400


# --- assignments: own rows in a draft, the whole published roster ----------------------------------

@pytest.mark.parametrize(("who", "visible"), [
    ("faculty", {"F001"}), ("other_faculty", {"F002"}), ("coordinator", set(VALUES)),
])
def test_in_a_draft_faculty_see_only_their_own_assignments(who, visible, as_, draft):
    client = as_(who)
    rows = results(client.get(reverse("assignment-list"), {"schedule": draft.pk}))
    assert {row["faculty"] for row in rows} == visible
    assert len(rows) == LOAD * len(visible)
    alices = _assignment_of(draft, "F001")
    detail = client.get(reverse("assignment-detail", args=[alices.pk]))
    assert detail.status_code == (200 if "F001" in visible else 404)


def test_anonymous_gets_401_on_assignments(api_client, draft):
    assignment = _assignment_of(draft, "F001")
    for url in (reverse("assignment-list"), reverse("assignment-detail", args=[assignment.pk]),
                reverse("assignment-why", args=[assignment.pk])):
        assert api_client.get(url).status_code == 401, url


def test_an_assignment_shows_its_rank_utility_and_lottery_position_to_its_owner(as_, draft):
    mine = _assignment_of(draft, "F001")
    body = as_("faculty").get(reverse("assignment-detail", args=[mine.pk])).json()
    assert body == {
        "id": mine.pk, "url": body["url"], "schedule": draft.pk, "year": 2026, "faculty": "F001",
        "faculty_name": "Dr. Alice Owner", "week": str(mine.week.start_date), "week_index": mine.week.index,
        "rotation": mine.rotation.name, "rank": mine.rank, "utility": mine.utility,
        "lottery_position": mine.mechanism_data["lottery_position"], "mechanism_data": mine.mechanism_data,
        "why_url": body["why_url"],
    }
    assert body["rank"] == expected_rank("F001", body["week"])
    assert body["why_url"].endswith(reverse("assignment-why", args=[mine.pk]))


@pytest.mark.parametrize("who", ["faculty", "other_faculty"])
def test_a_published_schedule_is_visible_whole_but_colleagues_preferences_stay_private(who, as_, published):
    rows = results(as_(who).get(reverse("assignment-list"), {"schedule": published.pk}))
    assert len(rows) == LOAD * len(VALUES)
    own = "F001" if who == "faculty" else "F002"
    for row in rows:
        private = [row[name] for name in ("rank", "utility", "lottery_position", "mechanism_data", "why_url")]
        if row["faculty"] == own:
            assert None not in private
        else:
            assert private == [None] * 5


def test_assignments_filter_by_schedule_faculty_and_week(as_, draft, completed):
    other = completed("least_regret").schedule
    client = as_("coordinator")
    listing = reverse("assignment-list")
    assert {r["schedule"] for r in results(client.get(listing))} == {draft.pk, other.pk}
    rows = results(client.get(listing, {"schedule": draft.pk, "faculty": "F002"}))
    assert [r["faculty"] for r in rows] == ["F002"] * LOAD
    some = _assignment_of(draft, "F003")
    by_date = results(client.get(listing, {"schedule": draft.pk, "week": str(some.week.start_date)}))
    by_id = results(client.get(listing, {"schedule": draft.pk, "week": some.week_id}))
    assert by_date == by_id and some.pk in {r["id"] for r in by_date}
    assert {r["week"] for r in by_date} == {str(some.week.start_date)}
    bad = client.get(listing, {"week": "next monday", "schedule": "latest"})
    assert bad.status_code == 400 and {"week", "schedule"} <= bad.json().keys()
    huge = client.get(listing, {"week": str(10**30), "schedule": 10**30})
    assert huge.status_code == 400 and {"week", "schedule"} <= huge.json().keys()


def test_listing_assignments_takes_a_fixed_number_of_queries(as_, draft, django_assert_max_num_queries):
    client = as_("faculty")
    with django_assert_max_num_queries(6):  # session, user, own faculty, count, rows (+ savepoint slack)
        assert len(results(client.get(reverse("assignment-list")))) == LOAD


# --- "why did I get this?" ------------------------------------------------------------------------

@pytest.mark.parametrize(("who", "expected"), [("faculty", 200), ("other_faculty", 404), ("coordinator", 200)])
def test_why_is_answered_for_the_assignee_and_coordinators_in_a_draft(who, expected, as_, draft):
    mine = _assignment_of(draft, "F001")
    response = as_(who).get(reverse("assignment-why", args=[mine.pk]))
    assert response.status_code == expected
    if expected == 200:
        body = response.json()
        assert body["assignment"] == mine.pk
        assert body["summary"] and isinstance(body["points"], list)
        assert all(isinstance(point, str) for point in body["points"])


def test_why_of_a_colleagues_published_assignment_is_refused(as_, published):
    theirs = _assignment_of(published, "F002")
    response = as_("faculty").get(reverse("assignment-why", args=[theirs.pk]))
    assert response.status_code == 403
    assert response.json() == {"detail": ["You can only ask why for your own assignments."]}
    assert as_("other_faculty").get(reverse("assignment-why", args=[theirs.pk])).status_code == 200


# --- the OpenAPI schema ---------------------------------------------------------------------------

def _component(schema: dict, content: dict) -> dict:
    return schema["components"]["schemas"][content["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]]


def test_the_schema_documents_every_endpoint_with_its_answers(client):
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    paths = schema["paths"]
    expected = {
        ("/api/v1/game-theory/rsd-allocation", "post"): {"200", "201", "202", "400", "401", "403", "415", "422"},
        ("/api/v1/game-theory/vcg-auction", "post"): {"200", "201", "202", "400", "401", "403", "415", "422"},
        ("/api/v1/runs/", "get"): {"200", "400", "401", "403"},
        ("/api/v1/runs/", "post"): {"200", "201", "202", "400", "401", "403", "415"},
        ("/api/v1/runs/{id}/", "get"): {"200", "401", "403", "404"},
        ("/api/v1/runs/{id}/cancel", "post"): {"200", "400", "401", "403", "404"},
        ("/api/v1/schedules/", "get"): {"200", "400", "401"},
        ("/api/v1/schedules/{id}/", "get"): {"200", "401", "404"},
        ("/api/v1/assignments/", "get"): {"200", "400", "401"},
        ("/api/v1/assignments/{id}/", "get"): {"200", "401", "404"},
        ("/api/v1/assignments/{id}/why", "get"): {"200", "401", "403", "404"},
    }
    for (path, method), codes in expected.items():
        assert codes == set(paths[path][method]["responses"]), (path, method)

    rsd = paths["/api/v1/game-theory/rsd-allocation"]["post"]
    answer = _component(schema, rsd["responses"]["201"]["content"])
    assert {"run", "allocation", "lottery_order", "is_strategyproof", "is_ex_post_efficient", "stats"} == set(
        answer["required"]
    )
    request = _component(schema, rsd["requestBody"]["content"])
    assert set(request["properties"]) == {"academic_year", "seed", "options", "wait"}
    assert request["required"] == ["academic_year"]
    vcg = _component(schema, paths["/api/v1/game-theory/vcg-auction"]["post"]["responses"]["201"]["content"])
    assert {"allocation", "payments", "total_social_welfare", "is_strategyproof"} <= set(vcg["required"])
    payment = schema["components"]["schemas"]["Payment"]
    assert payment["properties"]["vcg_payment"]["minimum"] == 0
    filters = {p["name"] for p in paths["/api/v1/assignments/"]["get"]["parameters"]}
    assert {"schedule", "faculty", "week"} <= filters
