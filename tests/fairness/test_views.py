"""The fairness pages: who may open them (coordinator, faculty, another faculty member, anonymous), the compute form
(bad input named, nothing stored; progress polled until 286), the stale state, the fair targets preview and
confirmation, the faculty's own fair share and nothing of anyone else's, and the chart."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from fairness.charts import WorkloadRow, workload_chart_svg
from fairness.models import FairTargetChange, ShapleyComputation
from fairness.services import shapley_execute, shapley_request
from preferences.models import Faculty
from tests.factories import CoordinatorFactory, FacultyFactory, ScheduleFactory, UserFactory, make_year
from tests.fairness.conftest import compute

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


def _page(year) -> str:
    return f"/coordinator/years/{year.label}/fairness/"


@pytest.fixture
def unfair(pair):
    """Year 2051 with P serving all four weeks in a published schedule, Q none; the values computed."""
    year, people, inpatient = pair
    ScheduleFactory(year=year, status="published", rows=[(people["P"], k, "inpatient") for k in range(4)])
    compute(year)
    return year, people


# --- who may open what ---------------------------------------------------------------------------------------------


def test_anonymous_are_sent_to_log_in_and_faculty_are_refused_the_coordinator_pages(client, unfair):
    year, people = unfair
    urls = [_page(year), f"{_page(year)}targets/"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.post(f"{_page(year)}compute/").status_code == 302
    assert client.get("/fairness/").status_code == 302
    client.force_login(people["Q"].user)
    for url in urls:
        assert client.get(url).status_code == 403
    assert client.post(f"{_page(year)}compute/", {"method": "exact"}).status_code == 403
    assert client.post(f"{_page(year)}targets/", {"reason": "mine"}).status_code == 403
    assert client.get(_page(year), HTTP_HX_REQUEST="true").status_code == 403  # the partial is guarded too
    assert ShapleyComputation.objects.count() == 1 and not FairTargetChange.objects.exists()


def test_the_coordinator_sees_chart_table_score_and_recommendations(client, unfair):
    year, people = unfair
    client.force_login(CoordinatorFactory())
    response = client.get(_page(year))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="chart"' in html and 'class="fair-row over"' in html and 'class="fair-row under"' in html
    assert "Dr. P" in html and "Dr. Q" in html and "overloaded" in html and "underloaded" in html
    assert "one minus the total-variation distance" in html
    assert "0.50" in html  # the fairness score: half the work sits with the wrong person
    assert "<strong>Dr. P</strong> → <strong>Dr. Q</strong>: 2 weeks" in html
    assert "These values are stale" not in html and "Use as target loads" in html
    assert 'hx-trigger="every 2s"' not in html  # nothing running: no polling


def test_the_year_pages_link_to_the_fairness_page(client, unfair):
    year, _ = unfair
    client.force_login(CoordinatorFactory())
    for url in (f"/coordinator/years/{year.label}/", f"/coordinator/years/{year.label}/allocation/"):
        assert f'href="{_page(year)}"' in client.get(url).content.decode(), url


# --- computing -------------------------------------------------------------------------------------------------


def test_the_compute_form_runs_the_computation_and_goes_back_to_the_page(client, pair,
                                                                         django_capture_on_commit_callbacks):
    year, _, _ = pair
    client.force_login(CoordinatorFactory())
    with django_capture_on_commit_callbacks(execute=True):  # the eager task runs when the request commits
        response = client.post(f"{_page(year)}compute/", {"method": "auto", "samples": "", "seed": ""})
    assert response.status_code == 302 and response["Location"] == _page(year)
    computation = ShapleyComputation.objects.get()
    assert computation.status == "completed" and computation.method == "exact"
    page = client.get(_page(year)).content.decode()
    assert "Computing the Shapley values of 2051" in page  # the message, written before the task ran
    assert 'class="chart"' in page and "hx-trigger" not in page


@pytest.mark.parametrize(("data", "field", "words"), [
    ({"method": "guess"}, "method", "Select a valid choice"),
    ({"method": "monte_carlo", "samples": "10"}, "samples", "greater than or equal to 1000"),
    ({"method": "monte_carlo", "samples": "lots"}, "samples", "Enter a whole number"),
    ({"method": "monte_carlo", "seed": "-3"}, "seed", "greater than or equal to 0"),
])
def test_bad_compute_input_is_named_on_its_field_and_nothing_is_stored(client, pair, data, field, words):
    year, _, _ = pair
    client.force_login(CoordinatorFactory())
    response = client.post(f"{_page(year)}compute/", data)
    assert response.status_code == 400
    form = response.context["form"]
    assert field in form.errors and words in form.errors[field][0]
    assert not ShapleyComputation.objects.exists()


def test_exact_refused_by_the_service_shows_on_the_method_field(client, db, rotations):
    year = make_year(label=2053, num_weeks=4, rotations=rotations, demand=2)
    year.roster.set([FacultyFactory(rotations=rotations, target_load=1) for _ in range(16)])
    client.force_login(CoordinatorFactory())
    response = client.post(f"{_page(year)}compute/", {"method": "exact"})
    assert response.status_code == 400 and "at most 15" in response.context["form"].errors["method"][0]
    assert not ShapleyComputation.objects.exists()


def test_a_running_computation_is_polled_until_done_then_286(client, pair):
    year, _, _ = pair
    computation, _ = shapley_request(year=year, enqueue=False)  # waiting for a worker
    client.force_login(CoordinatorFactory())
    page = client.get(_page(year)).content.decode()
    assert "Computing the Shapley values…" in page and 'hx-trigger="every 2s"' in page
    polled = client.get(_page(year), HTTP_HX_REQUEST="true")
    assert polled.status_code == 200 and 'id="fairness-live"' in polled.content.decode()
    assert "<html" not in polled.content.decode()  # the partial only
    shapley_execute(computation_id=computation.pk, inline=True)
    done = client.get(_page(year), HTTP_HX_REQUEST="true")
    assert done.status_code == 286
    html = done.content.decode()
    assert "hx-trigger" not in html and 'class="chart"' in html


def test_a_failed_computation_says_why(client, pair):
    year, _, _ = pair
    computation, _ = shapley_request(year=year, enqueue=False)
    ShapleyComputation.objects.filter(pk=computation.pk).update(status="failed", error="The worker was lost.")
    client.force_login(CoordinatorFactory())
    assert "The last computation failed" in client.get(_page(year)).content.decode()


def test_changed_inputs_show_the_stale_state_and_hide_the_targets_action(client, unfair):
    year, people = unfair
    Faculty.objects.filter(pk=people["Q"].pk).update(target_load=1)
    client.force_login(CoordinatorFactory())
    html = client.get(_page(year)).content.decode()
    assert "These values are stale" in html and "changed since they were computed" in html
    assert "Use as target loads" not in html
    response = client.get(f"{_page(year)}targets/", follow=True)
    assert "are stale" in response.content.decode()  # refused with the reason, back on the page
    assert not FairTargetChange.objects.exists()


# --- fair targets ------------------------------------------------------------------------------------------------


def test_the_targets_preview_then_confirmation_with_a_reason(client, ward):
    year, people, _ = ward
    compute(year)
    client.force_login(CoordinatorFactory())
    preview = client.get(f"{_page(year)}targets/")
    assert preview.status_code == 200
    rows = preview.context["rows"]
    assert [r["p"].external_id for r in rows] == list("ABCD") and [r["p"].current for r in rows] == [3, 2, 2, 1]
    assert Faculty.objects.get(pk=people["A"].pk).target_load == 3  # a preview changes nothing

    refused = client.post(f"{_page(year)}targets/", {"reason": "   "})
    assert refused.status_code == 400 and "reason" in refused.context["form"].errors
    assert not FairTargetChange.objects.exists()

    applied = client.post(f"{_page(year)}targets/", {"reason": "Fair shares for 2050"}, follow=True)
    assert applied.redirect_chain[-1][0] == _page(year)
    change = FairTargetChange.objects.get()
    assert change.reason == "Fair shares for 2050"
    proposed = {r["p"].external_id: r["p"].proposed for r in rows}
    assert {ext: Faculty.objects.get(pk=p.pk).target_load for ext, p in people.items()} == proposed
    assert "Applied the fair target loads" in applied.content.decode()


# --- faculty: my fair share ----------------------------------------------------------------------------------------


def test_a_faculty_member_sees_their_share_and_nobody_elses(client, unfair):
    year, people = unfair
    client.force_login(people["Q"].user)
    response = client.get("/fairness/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "My fair share" in html and "Your fair share is 2 of the year&#x27;s 4 service weeks" in html
    assert "you are scheduled for 0, 2.0 fewer than your share" in html
    assert "Dr. P" not in html  # nothing about anyone else
    assert response.context["row"].faculty_id == people["Q"].pk


def test_a_draft_is_not_shown_to_faculty_as_their_load(client, pair):
    year, people, _ = pair
    ScheduleFactory(year=year, rows=[(people["P"], k, "inpatient") for k in range(4)])  # a draft
    compute(year)
    client.force_login(people["P"].user)
    html = client.get("/fairness/").content.decode()
    assert "no schedule has been published yet" in html and "4.0 more" not in html


def test_my_fair_share_before_anything_is_computed_and_when_stale(client, pair):
    year, people, _ = pair
    client.force_login(people["P"].user)
    assert "has not been computed yet" in client.get("/fairness/").content.decode()
    compute(year)
    Faculty.objects.filter(pk=people["Q"].pk).update(target_load=1)
    assert "Out of date" in client.get("/fairness/").content.decode()


def test_the_faculty_navigation_links_my_fair_share(client, unfair):
    _, people = unfair
    client.force_login(people["P"].user)
    html = client.get("/fairness/").content.decode()
    assert 'href="/fairness/" aria-current="page">My fair share</a>' in html


def test_a_login_without_a_profile_gets_403_and_a_coordinator_the_year_page(client, unfair):
    year, _ = unfair
    client.force_login(UserFactory(username="stranger"))
    assert client.get("/fairness/").status_code == 403
    client.force_login(CoordinatorFactory())
    response = client.get("/fairness/")
    assert response.status_code == 302 and response["Location"] == _page(year)


# --- the chart ------------------------------------------------------------------------------------------------


def test_the_chart_draws_bars_to_scale_with_ticks_intervals_and_a_legend():
    rows = [WorkloadRow("Dr. <A>", actual=4, expected=2, low=1.5, high=2.5, over=True, under=False),
            WorkloadRow("Dr. B", actual=0, expected=2, low=2, high=2, over=False, under=True)]
    svg = workload_chart_svg(rows, title="t")
    assert svg.startswith("<svg") and svg.count('class="chart-bar"') == 2
    assert "Dr. &lt;A&gt;" in svg and "<A>" not in svg  # escaped
    assert svg.count('class="interval"') == 1  # an exact value has no interval line
    assert "Overloaded (&gt; 110 % of fair share)" in svg and "Underloaded (&lt; 90 %)" in svg
    assert 'width="0"' in svg  # Dr. B serves nothing: a bar of width zero, on the same scale
    with pytest.raises(ValueError):
        workload_chart_svg([WorkloadRow("x", actual=-1, expected=0, low=0, high=0, over=False, under=False)],
                           title="t")
