"""The chances pages: a faculty member sees their own weeks only, the live region polls while a recomputation is
pending or running and stops once current, stale chances say so, coordinators see the whole year and can
recompute; and the heatmap draws what it is given."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from allocation.chance_charts import chances_heatmap_svg, shade
from allocation.models import ChanceMatrix, ChanceRecomputation
from allocation.services.chances import chances_request
from tests.allocation.helpers import submit
from tests.factories import CoordinatorFactory, FacultyFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
BEING_RECOMPUTED = "Your chances are being recomputed after recent changes"


@pytest.fixture(autouse=True)
def few_draws(few_chance_draws):
    """500 lotteries in two chunks, seed 7 (tests/allocation/conftest.py)."""


def _page(client, user, url=None, **extra):
    client.force_login(user)
    return client.get(url or reverse("my_chances"), **extra)


def _percents(html: str) -> list[str]:
    return re.findall(r'aria-valuenow="([0-9.]+)"', html)


# --- faculty ---------------------------------------------------------------------------------------------------


def test_a_faculty_member_sees_their_own_ranked_weeks_in_their_order(client, computed):
    year, people = computed
    response = _page(client, people["T1"].user)
    assert response.status_code == 200
    html = response.content.decode()
    matrix = ChanceMatrix.objects.get(year=year, mechanism="rsd")
    row = matrix.faculty_ids.index(people["T1"].pk)
    # T1 ranks weeks 0, 2, 1, 3: the bars follow that order with T1's own probabilities
    expected = [str(round(100 * matrix.probabilities[row][k], 1)) for k in (0, 2, 1, 3)]
    assert _percents(html) == expected
    assert "from 500 lotteries" in html
    assert "Telling the truth is your best strategy" in html and "not fully" in html
    assert "Dr. T0" not in html and "Dr. T2" not in html  # no colleague appears
    assert BEING_RECOMPUTED not in html and "hx-trigger" not in html


def test_an_exact_mechanism_says_exact_and_draws_no_whiskers(client, computed):
    _, people = computed
    html = _page(client, people["T0"].user, reverse("my_chances") + "?mechanism=probabilistic_serial").content.decode()
    assert "exact, no lotteries drawn" in html
    assert 'class="whisker"' not in html
    assert "Probabilistic serial" in html and "RSD + probability trading" in html  # the mechanism tabs


def test_rsd_bars_carry_their_95_percent_whisker(client, computed):
    _, people = computed
    html = _page(client, people["T0"].user).content.decode()
    assert html.count('class="whisker"') >= 1
    assert "± 1.96 standard errors" in html


def test_a_pending_recomputation_is_said_in_words_and_polled(client, computed):
    year, people = computed
    chances_request(year_id=year.pk)  # debounce 60 s: not due within the test
    page = _page(client, people["T0"].user)
    assert BEING_RECOMPUTED in page.content.decode()
    assert 'hx-trigger="every 3s"' in page.content.decode()
    partial = client.get(reverse("my_chances"), **HTMX)
    assert partial.status_code == 200
    assert BEING_RECOMPUTED in partial.content.decode() and "<html" not in partial.content.decode()


def test_the_polled_partial_runs_a_due_recomputation_and_stops_polling_when_current(client, computed, settings):
    year, people = computed
    settings.GTSCHED_CHANCES = {**settings.GTSCHED_CHANCES, "debounce_s": 0}
    before = ChanceMatrix.objects.get(year=year, mechanism="rsd").computed_at
    chances_request(year_id=year.pk)
    response = _page(client, people["T0"].user, **HTMX)
    assert response.status_code == 286  # htmx stops an `every` trigger on 286
    html = response.content.decode()
    assert "hx-trigger" not in html and BEING_RECOMPUTED not in html
    assert ChanceRecomputation.objects.get(year=year).state == ChanceRecomputation.State.IDLE
    assert ChanceMatrix.objects.get(year=year, mechanism="rsd").computed_at > before


def test_chances_computed_before_a_change_are_shown_as_out_of_date(client, computed):
    year, people = computed
    submit(people["T2"], year, [3, 2, 1, 0])  # in a test transaction the signal does not fire: nothing pending
    coordinator = CoordinatorFactory()
    html = _page(client, coordinator, reverse("year_chances", args=[year.label])).content.decode()
    assert 'badge warn">stale' in html
    assert "computed before the latest changes" in html
    # the faculty page asks for the recomputation nobody asked for, and says it is coming
    html = _page(client, people["T0"].user).content.decode()
    assert BEING_RECOMPUTED in html
    assert ChanceRecomputation.objects.get(year=year).state == ChanceRecomputation.State.PENDING


def test_a_failed_recomputation_leaves_stale_chances_marked_and_stops_polling(client, computed):
    year, people = computed
    submit(people["T2"], year, [3, 2, 1, 0])
    ChanceRecomputation.objects.filter(year=year).update(error="ValueError: boom")
    response = _page(client, people["T0"].user, **HTMX)
    assert response.status_code == 286
    html = response.content.decode()
    assert "These chances are out of date" in html and "The last recomputation failed" in html


def test_a_faculty_member_without_a_submission_is_sent_to_their_preferences(client, computed):
    year, _ = computed
    newcomer = FacultyFactory(display_name="Dr. Newcomer")
    year.roster.add(newcomer)
    response = _page(client, newcomer.user)
    assert response.status_code == 200
    html = response.content.decode()
    assert "You have not stated your preferences" in html
    assert f'href="{reverse("my_preferences")}"' in html


def test_a_login_without_a_faculty_profile_is_refused(client, computed, django_user_model):
    stranger = django_user_model.objects.create_user("stranger", password="x")
    assert _page(client, stranger).status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, computed):
    year, _ = computed
    for url in (reverse("my_chances"), reverse("year_chances", args=[year.label])):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_chances_page_is_in_the_faculty_navigation_and_linked_after_submitting(client, computed):
    _, people = computed
    client.force_login(people["T0"].user)
    html = client.get(reverse("my_preferences")).content.decode()
    assert html.count(f'href="{reverse("my_chances")}"') == 2  # the nav and the saved versions card


# --- coordinators --------------------------------------------------------------------------------------------


def test_faculty_cannot_open_the_coordinator_page_or_recompute(client, computed):
    year, people = computed
    client.force_login(people["T0"].user)
    assert client.get(reverse("year_chances", args=[year.label])).status_code == 403
    assert client.post(reverse("year_chances_recompute", args=[year.label])).status_code == 403


def test_the_coordinator_page_shows_the_whole_year_and_the_three_mechanisms(client, computed):
    year, _ = computed
    html = _page(client, CoordinatorFactory(), reverse("year_chances", args=[year.label])).content.decode()
    assert '<svg' in html and 'role="img"' in html and "<desc>" in html and "Chance of the week" in html
    for name in ("Dr. T0", "Dr. T1", "Dr. T2"):
        assert name in html
    for label in ("Random serial dictatorship", "Probabilistic serial", "RSD + probability trading"):
        assert label in html
    assert html.count('badge ok">current') >= 3
    assert "The most contested weeks" in html
    assert "hx-trigger" not in html


def test_recompute_now_computes_at_once_without_a_worker(client, tiny):
    year, _ = tiny
    client.force_login(CoordinatorFactory())
    response = client.post(reverse("year_chances_recompute", args=[year.label]), {"mechanism": "rsd_trading"})
    assert response.status_code == 302
    assert response["Location"].endswith("?mechanism=rsd_trading")
    assert set(ChanceMatrix.objects.filter(year=year).values_list("mechanism", flat=True)) == {
        "rsd", "probabilistic_serial", "rsd_trading"}
    assert ChanceRecomputation.objects.get(year=year).state == ChanceRecomputation.State.IDLE
    assert client.get(reverse("year_chances", args=[year.label])).status_code == 200


def test_recompute_needs_a_post(client, tiny):
    year, _ = tiny
    client.force_login(CoordinatorFactory())
    assert client.get(reverse("year_chances_recompute", args=[year.label])).status_code == 405


# --- the heatmap ------------------------------------------------------------------------------------------------


def test_the_heatmap_draws_one_cell_per_nonzero_probability_darker_when_likelier():
    weeks = [dt.date(2026, 7, 6) + dt.timedelta(weeks=k) for k in range(4)]
    svg = chances_heatmap_svg([[0.5, 0, 0.25, 1], [0, 0, 0, 0.1]], names=["A & B", "C"], weeks=weeks,
                              holidays=[False, True, False, False], title="Chances <test>")
    cells = re.findall(r'class="cell"[^>]*data-p="([0-9.]+)"', svg)
    assert cells == ["0.5", "0.25", "1", "0.1"]
    assert "A &amp; B" in svg and "Chances &lt;test&gt;" in svg and "<desc>" in svg
    assert shade(0) == "#f7fbff" and shade(1) == "#08306b"
    assert sum(int(shade(0.3)[k:k + 2], 16) for k in (1, 3, 5)) > sum(int(shade(0.6)[k:k + 2], 16) for k in (1, 3, 5))
    with pytest.raises(ValueError):
        chances_heatmap_svg([[0.5]], names=["A", "B"], weeks=weeks[:1], title="x")
