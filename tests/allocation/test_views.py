"""Allocation pages: the permission matrix (pages and their HTMX partials), starting, watching, cancelling and
comparing runs, and each faculty member's schedule with its explanation."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from allocation import tasks
from allocation.models import AllocationRun, Assignment, Comparison, Schedule
from allocation.services import allocation_run_start, comparison_start
from preferences.models import CoverageDemand
from preferences.services import preferences_submit
from tests.conftest import cast_user

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}



def _rank(faculty, year, ranks: dict[int, int]) -> None:
    preferences_submit(
        faculty=faculty, year=year, preference_type="ordinal",
        entries=[{"week": year.weeks.get(index=k), "rank": r} for k, r in ranks.items()],
        blocked_weeks=[], method="web_form", actor=faculty.user,
    )


@pytest.fixture
def submitted(year, faculty, other_faculty):
    """Both faculty have ranked weeks; alice wants weeks 1, 2, 5, 6 (0-based 0, 1, 4, 5) most."""
    _rank(faculty, year, {0: 1, 1: 2, 4: 3, 5: 4})
    _rank(other_faculty, year, {0: 1, 2: 2, 6: 3, 7: 4})
    return year


@pytest.fixture
def keep_pending(monkeypatch):
    """Runs stay pending: queuing the task only records the run id."""
    enqueued: list[int] = []

    def record(args=(), kwargs=None, **options):
        enqueued.append(args[0])

    monkeypatch.setattr(tasks.allocation_run_execute_task, "apply_async", record)
    monkeypatch.setattr(tasks.allocation_run_execute_task, "delay", lambda run_id, *a, **k: enqueued.append(run_id))
    return enqueued


def _start(year, coordinator, django_capture_on_commit_callbacks, *, mechanism="rsd", seed=7, options=None):
    """A run through the real service; the on-commit hook runs the (eager) task."""
    with django_capture_on_commit_callbacks(execute=True):
        run, _ = allocation_run_start(year=year, mechanism=mechanism, options=options or {}, seed=seed, actor=coordinator)
    run.refresh_from_db()
    return run


@pytest.fixture
def completed_run(submitted, coordinator, django_capture_on_commit_callbacks):
    run = _start(submitted, coordinator, django_capture_on_commit_callbacks)
    assert run.status == AllocationRun.Status.COMPLETED, run.error
    return run


@pytest.fixture
def pending_run(submitted, coordinator, keep_pending):
    run, _ = allocation_run_start(year=submitted, mechanism="least_regret", options={}, seed=3, actor=coordinator)
    return run


def _alice_assignment(run, faculty) -> Assignment:
    return Assignment.objects.filter(schedule__run=run, faculty=faculty).order_by("week__index").first()


# --- permission matrix -------------------------------------------------------------------------

COORDINATOR_ONLY = [("anonymous", 302), ("faculty", 403), ("other_faculty", 403), ("coordinator", 200)]


def _coordinator_urls(run, comparison, year):
    return {
        "allocation_overview": reverse("allocation_overview"),
        "allocation_home": reverse("allocation_home", args=[year.label]),
        "run_detail": reverse("run_detail", args=[run.pk]),
        "comparison_detail": reverse("comparison_detail", args=[comparison.pk]),
    }


@pytest.fixture
def comparison(submitted, coordinator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        comparison = comparison_start(year=submitted, mechanisms=["rsd", "least_regret"], seed=5,
                                      options_by_mechanism=None, actor=coordinator)
    return comparison


@pytest.mark.parametrize("page", ["allocation_overview", "allocation_home", "run_detail", "comparison_detail"])
@pytest.mark.parametrize(("who", "expected"), COORDINATOR_ONLY)
def test_coordinator_pages_are_for_coordinators_only(page, who, expected, request, client_as, completed_run, comparison):
    url = _coordinator_urls(completed_run, comparison, completed_run.year)[page]
    response = client_as(cast_user(request, who)).get(url)
    expected = 302 if page == "allocation_overview" and who == "coordinator" else expected
    assert response.status_code == expected
    if who == "anonymous":
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("page", ["allocation_home", "run_detail", "comparison_detail"])
@pytest.mark.parametrize(("who", "expected"), [("anonymous", 302), ("faculty", 403), ("other_faculty", 403)])
def test_htmx_partial_requests_are_guarded_too(page, who, expected, request, client_as, pending_run, comparison):
    url = _coordinator_urls(pending_run, comparison, pending_run.year)[page]
    response = client_as(cast_user(request, who)).get(url, HTTP_HX_TARGET="run-list", **HX)
    assert response.status_code == expected


@pytest.mark.parametrize(("who", "expected"), COORDINATOR_ONLY)
def test_only_coordinators_start_runs_and_comparisons(who, expected, request, client_as, submitted, keep_pending):
    client = client_as(cast_user(request, who))
    response = client.post(reverse("allocation_home", args=[submitted.label]), {"mechanism": "rsd", "non_respondents": "neutral"})
    assert response.status_code == (302 if who == "coordinator" else expected)
    response = client.post(reverse("comparison_create", args=[submitted.label]), {"mechanisms": ["rsd", "vcg"]})
    assert response.status_code == (302 if who == "coordinator" else expected)
    assert AllocationRun.objects.exists() == (who == "coordinator")


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 302), ("faculty", 403), ("other_faculty", 403)])
def test_only_coordinators_cancel(who, expected, request, client_as, pending_run):
    response = client_as(cast_user(request, who)).post(reverse("run_cancel", args=[pending_run.pk]), **HX)
    assert response.status_code == expected
    pending_run.refresh_from_db()
    assert pending_run.status == AllocationRun.Status.PENDING


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 302), ("faculty", 200), ("other_faculty", 200), ("coordinator", 200)])
def test_my_schedule_is_for_anyone_logged_in_with_a_schedule_to_show(who, expected, request, client_as, completed_run):
    response = client_as(cast_user(request, who)).get(reverse("my_schedule"))
    assert response.status_code == expected


@pytest.mark.parametrize("hx", [False, True])
@pytest.mark.parametrize(
    ("who", "expected"), [("anonymous", 302), ("faculty", 200), ("other_faculty", 404), ("coordinator", 200)],
)
def test_an_explanation_is_for_its_owner_and_coordinators(who, expected, hx, request, client_as, completed_run, faculty):
    assignment = _alice_assignment(completed_run, faculty)
    response = client_as(cast_user(request, who)).get(reverse("assignment_why", args=[assignment.pk]), **(HX if hx else {}))
    assert response.status_code == expected


def test_faculty_cannot_look_at_someone_elses_schedule(client_as, completed_run, faculty, other_faculty):
    response = client_as(other_faculty.user).get(reverse("my_schedule"), {"faculty": faculty.pk})
    assert response.status_code == 404


def test_a_login_without_faculty_profile_is_told_so(client_as, django_user_model, completed_run):
    user = django_user_model.objects.create_user("nobody", password="x-long-password")
    response = client_as(user).get(reverse("my_schedule"))
    assert response.status_code == 403
    assert b"No faculty profile" in response.content


# --- starting runs -----------------------------------------------------------------------------

def test_the_start_page_offers_every_mechanism_and_lists_runs(client_as, coordinator, completed_run):
    html = client_as(coordinator).get(reverse("allocation_home", args=[completed_run.year.label])).content.decode()
    for name in ("rsd", "least_regret", "min_cost_flow", "cp_sat", "vcg"):
        assert f'value="{name}"' in html
    assert reverse("run_detail", args=[completed_run.pk]) in html
    assert "Completed" in html
    assert "Compare mechanisms" in html


def test_starting_a_run_creates_one_run_and_redirects_to_it(client_as, coordinator, submitted, keep_pending,
                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(coordinator).post(
            reverse("allocation_home", args=[submitted.label]),
            {"mechanism": "least_regret", "cost": "linear", "non_respondents": "neutral", "seed": "42"},
        )
    run = AllocationRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("run_detail", args=[run.pk])
    assert (run.mechanism, run.seed, run.parameters.get("cost"), run.created_by) == ("least_regret", 42, "linear", coordinator)
    assert keep_pending == [run.pk]


def test_a_second_identical_click_while_pending_does_not_start_a_second_run(client_as, coordinator, submitted, keep_pending):
    client = client_as(coordinator)
    data = {"mechanism": "rsd", "non_respondents": "neutral"}
    first = client.post(reverse("allocation_home", args=[submitted.label]), data)
    second = client.post(reverse("allocation_home", args=[submitted.label]), data, follow=True)
    assert AllocationRun.objects.count() == 1
    assert second.redirect_chain[-1][0] == first["Location"]
    assert "already under way" in second.content.decode()


def test_a_plain_post_runs_eagerly_and_lands_on_the_result(client_as, coordinator, submitted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(coordinator).post(reverse("allocation_home", args=[submitted.label]),
                                               {"mechanism": "min_cost_flow", "fill_unlisted": "on", "non_respondents": "neutral", "seed": "1"})
    run = AllocationRun.objects.get()
    assert run.status == AllocationRun.Status.COMPLETED
    html = client_as(coordinator).get(response["Location"]).content.decode()
    assert "Which choice did people get?" in html and "<svg" in html


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"mechanism": "least_regret", "cost": "cubic"}, "cost", "Select a valid choice"),
        ({"mechanism": "cp_sat", "objective": "regret", "fairness": "greedy", "back_to_back": "off", "max_holidays": "-1"},
         "max_holidays", "greater than or equal to 0"),
        ({"mechanism": "banana"}, "mechanism", "Select a valid choice"),
        ({"mechanism": "rsd", "seed": "-4"}, "seed", "greater than or equal to 0"),
    ],
)
def test_invalid_input_is_refused_with_a_field_message_and_nothing_is_created(client_as, coordinator, submitted, keep_pending,
                                                                             data, field, message):
    response = client_as(coordinator).post(reverse("allocation_home", args=[submitted.label]), {"non_respondents": "neutral", **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["form"].errors[field]
    assert not AllocationRun.objects.exists()


def test_a_service_refusal_lands_on_the_named_field(client_as, coordinator, submitted, keep_pending, monkeypatch):
    """The service has the last word: its ValidationError naming options.<name> shows beside that field."""
    def refuse(**kwargs):
        raise ValidationError({"options.time_limit_s": "The time limit must be at most 60 seconds."})

    monkeypatch.setattr("allocation.views.allocation_run_start", refuse)
    response = client_as(coordinator).post(
        reverse("allocation_home", args=[submitted.label]),
        {"mechanism": "cp_sat", "objective": "regret", "cost": "squared", "fairness": "greedy", "back_to_back": "off", "time_limit_s": "90",
         "non_respondents": "neutral"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["time_limit_s"] == ["The time limit must be at most 60 seconds."]
    assert not AllocationRun.objects.exists()


def test_switching_mechanism_renders_only_its_options(client_as, coordinator, submitted):
    response = client_as(coordinator).get(reverse("allocation_home", args=[submitted.label]), {"mechanism": "cp_sat"},
                                          HTTP_HX_TARGET="run-options", **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="run-options"')
    assert "Fairness reading" in html and "Most major-holiday weeks per person" in html
    assert "Also use weeks people did not list" not in html and "<html" not in html


def test_without_javascript_the_options_follow_the_mechanism_in_the_query(client_as, coordinator, submitted):
    html = client_as(coordinator).get(reverse("allocation_home", args=[submitted.label]), {"mechanism": "min_cost_flow"}).content.decode()
    assert "Also use weeks people did not list" in html and "Fairness reading" not in html
    assert '<option value="min_cost_flow" selected>' in html


# --- watching a run ----------------------------------------------------------------------------

def test_the_progress_partial_keeps_polling_while_the_run_is_pending(client_as, coordinator, pending_run):
    response = client_as(coordinator).get(reverse("run_detail", args=[pending_run.pk]), **HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in html and 'role="progressbar"' in html
    assert "<html" not in html


def test_the_progress_partial_stops_polling_with_286_once_finished(client_as, coordinator, pending_run):
    client = client_as(coordinator)
    AllocationRun.objects.filter(pk=pending_run.pk).update(status=AllocationRun.Status.RUNNING, progress=40, progress_message="Solving")
    running = client.get(reverse("run_detail", args=[pending_run.pk]), **HX)
    assert running.status_code == 200 and "40%" in running.content.decode() and "Solving" in running.content.decode()

    from allocation.services import allocation_run_execute

    AllocationRun.objects.filter(pk=pending_run.pk).update(status=AllocationRun.Status.PENDING, progress=0)
    allocation_run_execute(run_id=pending_run.pk)
    done = client.get(reverse("run_detail", args=[pending_run.pk]), **HX)
    html = done.content.decode()
    assert done.status_code == 286
    assert "every 1s" not in html
    assert "Which choice did people get?" in html


def test_the_result_page_shows_stats_chart_details_and_assignments(client_as, coordinator, completed_run, faculty):
    html = client_as(coordinator).get(reverse("run_detail", args=[completed_run.pk])).content.decode()
    for text in ("Welfare", "Total regret", "Average regret", "Worst regret", "Unassigned", "Uncovered", "Envy", "Compute",
                 completed_run.input_fingerprint[:12], str(completed_run.seed), "Lottery order", faculty.display_name):
        assert text in html
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html and 'role="img"' in html
    assert html.count("<tr") - 1 >= completed_run.stats["assignments"]


def test_vcg_and_cp_sat_show_their_own_details(client_as, coordinator, submitted, django_capture_on_commit_callbacks):
    vcg = _start(submitted, coordinator, django_capture_on_commit_callbacks, mechanism="vcg")
    cp = _start(submitted, coordinator, django_capture_on_commit_callbacks, mechanism="cp_sat", options={"time_limit_s": 5})
    assert "VCG payments" in client_as(coordinator).get(reverse("run_detail", args=[vcg.pk])).content.decode()
    html = client_as(coordinator).get(reverse("run_detail", args=[cp.pk])).content.decode()
    assert "Solver status" in html and "Time limit" in html


def test_a_failed_run_explains_itself_in_plain_words(client_as, coordinator, pending_run):
    AllocationRun.objects.filter(pk=pending_run.pk).update(
        status=AllocationRun.Status.FAILED, error="No faculty member is qualified for the clinic rotation.")
    response = client_as(coordinator).get(reverse("run_detail", args=[pending_run.pk]), **HX)
    assert response.status_code == 286
    assert "No faculty member is qualified for the clinic rotation." in response.content.decode()
    assert "start a new run" in response.content.decode()


def test_cancel_stops_a_pending_run(client_as, coordinator, pending_run):
    response = client_as(coordinator).post(reverse("run_cancel", args=[pending_run.pk]), follow=True)
    pending_run.refresh_from_db()
    assert pending_run.status == AllocationRun.Status.CANCELLED
    assert response.redirect_chain[-1][0] == reverse("run_detail", args=[pending_run.pk])
    assert "cancelled" in response.content.decode()


def test_cancelling_a_finished_run_is_refused_politely(client_as, coordinator, completed_run):
    response = client_as(coordinator).post(reverse("run_cancel", args=[completed_run.pk]), follow=True)
    completed_run.refresh_from_db()
    assert completed_run.status == AllocationRun.Status.COMPLETED
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()


def test_cancel_only_accepts_post(client_as, coordinator, pending_run):
    assert client_as(coordinator).get(reverse("run_cancel", args=[pending_run.pk])).status_code == 405


def test_the_run_list_partial_stops_polling_when_nothing_is_active(client_as, coordinator, pending_run):
    client = client_as(coordinator)
    url = reverse("allocation_home", args=[pending_run.year.label])
    assert client.get(url, HTTP_HX_TARGET="run-list", **HX).status_code == 200
    AllocationRun.objects.filter(pk=pending_run.pk).update(status=AllocationRun.Status.CANCELLED)
    assert client.get(url, HTTP_HX_TARGET="run-list", **HX).status_code == 286


# --- comparisons -------------------------------------------------------------------------------

def test_comparing_starts_one_run_per_mechanism_and_redirects(client_as, coordinator, submitted, keep_pending):
    response = client_as(coordinator).post(reverse("comparison_create", args=[submitted.label]),
                                           {"mechanisms": ["rsd", "least_regret", "vcg"], "seed": "9"})
    comparison = Comparison.objects.get()
    assert response["Location"] == reverse("comparison_detail", args=[comparison.pk])
    assert sorted(comparison.runs.values_list("mechanism", flat=True)) == ["least_regret", "rsd", "vcg"]


def test_a_comparison_needs_two_mechanisms(client_as, coordinator, submitted, keep_pending):
    response = client_as(coordinator).post(reverse("comparison_create", args=[submitted.label]), {"mechanisms": ["rsd"]})
    assert response.status_code == 400
    assert "Choose at least two mechanisms" in response.content.decode()
    assert not Comparison.objects.exists() and not AllocationRun.objects.exists()


def test_the_comparison_page_shows_every_mechanism_side_by_side(client_as, coordinator, submitted, django_capture_on_commit_callbacks):
    mechanisms = ["rsd", "least_regret", "min_cost_flow", "cp_sat", "vcg"]
    with django_capture_on_commit_callbacks(execute=True):
        comparison = comparison_start(year=submitted, mechanisms=mechanisms, seed=11, options_by_mechanism=None, actor=coordinator)
    response = client_as(coordinator).get(reverse("comparison_detail", args=[comparison.pk]))
    html = response.content.decode()
    for label in ("Random serial dictatorship", "Least regret", "Min-cost flow", "CP-SAT", "VCG"):
        assert label in html
    for measure in ("Welfare", "Total regret", "Worst regret", "Rank distribution", "Unassigned", "Uncovered", "Envy"):
        assert measure in html
    assert html.count('data-series="least_regret"') >= 2  # the grouped chart and the small multiples
    partial = client_as(coordinator).get(reverse("comparison_detail", args=[comparison.pk]), **HX)
    assert partial.status_code == 286


def test_the_comparison_partial_polls_while_a_run_is_active(client_as, coordinator, submitted, keep_pending):
    comparison = comparison_start(year=submitted, mechanisms=["rsd", "vcg"], seed=2, options_by_mechanism=None, actor=coordinator)
    response = client_as(coordinator).get(reverse("comparison_detail", args=[comparison.pk]), **HX)
    assert response.status_code == 200
    assert 'hx-trigger="every 1s"' in response.content.decode()


# --- my schedule and why -----------------------------------------------------------------------

def test_my_schedule_shows_my_weeks_with_the_rank_each_had(client_as, completed_run, faculty, other_faculty):
    Schedule.objects.filter(run=completed_run).update(status=Schedule.Status.PUBLISHED, published_at=timezone.now())
    mine = list(Assignment.objects.filter(schedule__run=completed_run, faculty=faculty))
    theirs = list(Assignment.objects.filter(schedule__run=completed_run, faculty=other_faculty))
    html = client_as(faculty.user).get(reverse("my_schedule")).content.decode()
    assert "Published" in html and "Draft" not in html
    assert html.count('class="why-row"') == len(mine)
    for a in mine:
        assert reverse("assignment_why", args=[a.pk]) in html
    for a in theirs:
        assert reverse("assignment_why", args=[a.pk]) not in html
    ranked = [a for a in mine if a.rank]
    assert ranked and all(f"your {a.rank}" in html for a in ranked)
    assert "your 1st choice" in html


def test_the_published_schedule_wins_over_a_newer_draft(client_as, coordinator, submitted, faculty, django_capture_on_commit_callbacks):
    first = _start(submitted, coordinator, django_capture_on_commit_callbacks, seed=1)
    Schedule.objects.filter(run=first).update(status=Schedule.Status.PUBLISHED)
    _start(submitted, coordinator, django_capture_on_commit_callbacks, mechanism="least_regret", seed=2)
    response = client_as(faculty.user).get(reverse("my_schedule"))
    assert response.context["schedule"].run_id == first.pk
    assert "Published" in response.content.decode()


def test_before_any_run_faculty_are_told_there_is_no_schedule_yet(client_as, faculty, submitted):
    response = client_as(faculty.user).get(reverse("my_schedule"))
    assert response.status_code == 200
    assert "No schedule published yet" in response.content.decode()


def test_faculty_never_see_a_draft_but_coordinators_do(client_as, coordinator, completed_run, faculty):
    response = client_as(faculty.user).get(reverse("my_schedule"))
    html = response.content.decode()
    assert response.context["schedule"] is None and 'class="why-row"' not in html
    assert "No schedule published yet" in html and "Draft" not in html
    response = client_as(coordinator).get(reverse("my_schedule"), {"faculty": faculty.pk})
    assert response.context["schedule"] == Schedule.objects.get(run=completed_run)
    assert "Draft" in response.content.decode()


def test_a_coordinator_can_look_at_anyones_schedule(client_as, coordinator, completed_run, faculty):
    response = client_as(coordinator).get(reverse("my_schedule"), {"faculty": faculty.pk})
    assert faculty.display_name in response.content.decode()
    assert len(response.context["rows"]) == Assignment.objects.filter(schedule__run=completed_run, faculty=faculty).count()


def test_why_renders_the_explanation_as_a_partial_and_as_a_page(client_as, completed_run, faculty):
    from allocation.services import assignment_explain

    assignment = _alice_assignment(completed_run, faculty)
    explanation = assignment_explain(assignment=assignment)
    client = client_as(faculty.user)
    partial = client.get(reverse("assignment_why", args=[assignment.pk]), **HX).content.decode()
    assert partial.lstrip().startswith('<div class="why-box"')
    assert "<html" not in partial
    page = client.get(reverse("assignment_why", args=[assignment.pk])).content.decode()
    for html in (partial, page):
        assert _escaped(explanation["summary"]) in html
        for point in explanation["points"]:
            assert _escaped(point) in html
    assert "Why did I get week" in page


def _escaped(text: str) -> str:
    from django.utils.html import escape

    return str(escape(text))


@pytest.mark.parametrize(
    ("status", "shown"),
    [(["OPTIMAL"], "OPTIMAL"), (["OPTIMAL"] * 3, "OPTIMAL at all 3 levels"),
     (["OPTIMAL", "OPTIMAL", "FEASIBLE"], "OPTIMAL ×2 → FEASIBLE"), ([], "not solved"), ("OPTIMAL", "OPTIMAL")],
)
def test_cp_sat_solver_status_reads_as_one_line(status, shown):
    from allocation.views import _solver_status

    assert _solver_status({"solver_status": status}) == shown


def test_a_relaxation_proof_reads_as_such():
    from allocation.views import _solver_status

    shown = _solver_status({"solver_status": ["OPTIMAL"] * 3, "proof": "the flow relaxation's optimum meets every side constraint"})
    assert shown == "optimal at all 3 levels, proven by the flow relaxation (no CP-SAT solve needed)"


def test_weeks_never_ranked_are_not_called_a_numbered_choice(client_as, coordinator, year, faculty, other_faculty,
                                                             django_capture_on_commit_callbacks):
    """Alice ranks one week but serves four: the other three are "a week you did not rank", never "your 5th choice"."""
    _rank(faculty, year, {0: 1})
    _rank(other_faculty, year, {0: 1, 2: 2, 6: 3, 7: 4})
    run = _start(year, coordinator, django_capture_on_commit_callbacks, mechanism="least_regret")
    Schedule.objects.filter(run=run).update(status=Schedule.Status.PUBLISHED, published_at=timezone.now())
    mine = list(Assignment.objects.filter(schedule__run=run, faculty=faculty).select_related("week"))
    unranked = [a for a in mine if a.week.index != 0]
    assert len(unranked) >= 3 and all(a.rank > 1 for a in unranked)  # the strict order numbers them all the same
    response = client_as(faculty.user).get(reverse("my_schedule"))
    html = response.content.decode()
    assert html.count("a week you did not rank") == len(unranked)
    for a in unranked:
        assert f"your {a.rank}" not in html and f'rank-low">{a.rank}<' not in html
    assert response.context["top_choices"] == len(mine) - len(unranked)

    why = client_as(faculty.user).get(reverse("assignment_why", args=[unranked[0].pk])).content.decode()
    assert "a week you did not rank" in why
    assert f"your {unranked[0].rank}" not in why.lower()
    # The only week named as preferred is the one Alice ranked (and holds): none of her unranked weeks.
    assert "choice, the week of" not in why or why.count("choice, the week of") == why.count("Your 1st choice, the week of")


# --- unmet demand on the run page ---------------------------------------------------------------------------------


def test_a_run_that_leaves_seats_empty_says_so_in_red_with_the_weeks_and_the_fill_suggestion(
    client_as, coordinator, completed_run, submitted,
):
    # Sixteen seats (eight weeks × two rotations) and two faculty with a target load of four: eight stay empty.
    html = client_as(coordinator).get(reverse("run_detail", args=[completed_run.pk])).content.decode()
    assert 'class="error-box unmet-demand"' in html and "This run leaves demand unmet: 8 seats empty" in html
    short = [w for w in submitted.weeks.all() if Assignment.objects.filter(schedule__run=completed_run, week=w).count() < 2]
    assert short
    for week in short:
        assert f'<span class="unmet-week">{week.start_date.day} {week.start_date:%b %Y}</span>' in html
    assert "fill_unlisted" in html and 'name="mechanism" value="min_cost_flow"' in html
    assert 'name="fill_unlisted" value="on"' in html and f'name="seed" value="{completed_run.seed}"' in html
    assert 'id="coverage"' in html and "inpatient: 1 of 1 seat empty." in html


def test_the_fill_suggestion_starts_min_cost_flow_with_fill_unlisted(client_as, coordinator, completed_run, submitted,
                                                                     django_capture_on_commit_callbacks):
    data = {"mechanism": "min_cost_flow", "fill_unlisted": "on", "allow_unassigned": "on",
            "seed": completed_run.seed, "non_respondents": "neutral"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as(coordinator).post(reverse("allocation_home", args=[submitted.label]), data)
    assert response.status_code == 302
    rerun = AllocationRun.objects.exclude(pk=completed_run.pk).get()
    assert rerun.mechanism == "min_cost_flow" and rerun.parameters["fill_unlisted"] is True
    # Still short of faculty: the page says what would help instead of suggesting the same run again.
    html = client_as(coordinator).get(response["Location"]).content.decode()
    assert "This run leaves demand unmet" in html and "already used weeks nobody listed" in html
    assert 'class="fill-suggestion"' not in html


def test_a_run_that_meets_every_seat_shows_no_unmet_demand(client_as, coordinator, submitted, faculty,
                                                            django_capture_on_commit_callbacks):
    # Eight inpatient seats and no clinic ones: exactly the two faculty's loads of four.
    CoverageDemand.objects.filter(week__year=submitted, rotation__name="clinic").update(count=0)
    run = _start(submitted, coordinator, django_capture_on_commit_callbacks, mechanism="min_cost_flow",
                 options={"fill_unlisted": True})
    html = client_as(coordinator).get(reverse("run_detail", args=[run.pk])).content.decode()
    assert run.stats["uncovered"] == 0, run.stats
    assert "unmet-demand" not in html and "coverage-ok" in html


def test_load_left_unassigned_with_every_seat_filled_is_a_note_not_a_refusal(
    client_as, coordinator, submitted, faculty, django_capture_on_commit_callbacks,
):
    # Four inpatient seats (weeks 0–3) and no clinic ones, for two faculty with loads of four: every seat filled, four
    # weeks of load unassigned. Nothing for the gate to refuse, so no red box and no "re-run to fill" offer.
    CoverageDemand.objects.filter(week__year=submitted, rotation__name="clinic").update(count=0)
    CoverageDemand.objects.filter(week__year=submitted, rotation__name="inpatient", week__index__gte=4).update(count=0)
    run = _start(submitted, coordinator, django_capture_on_commit_callbacks, mechanism="min_cost_flow",
                 options={"fill_unlisted": True, "allow_unassigned": True})
    html = client_as(coordinator).get(reverse("run_detail", args=[run.pk])).content.decode()
    assert run.stats["uncovered"] == 0 and run.stats["unassigned"] > 0, run.stats
    assert "unmet-demand" not in html and "The publish gate refuses" not in html and "fill-suggestion" not in html
    assert 'class="deadline draft unmet-load"' in html and "Every seat is filled, but" in html
