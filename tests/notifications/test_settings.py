"""The faculty member's notification settings, on their page and in the API: each kind can be turned off and on
again, only by its owner; a bad kind or value is refused naming it, and nothing changes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from preferences.models import NotificationOptOut
from preferences.notifications import Kind, notification_settings

pytestmark = pytest.mark.django_db
URL = "/settings/notifications/"
API = "/api/v1/notification-settings"


def test_the_page_lists_every_kind_ticked_and_is_linked_from_the_nav(client_as, faculty):
    page = client_as(faculty.user).get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'href="{URL}"' in html and 'aria-current="page"' in html
    for kind in Kind.values:
        assert f'name="{kind}"' in html
    assert html.count("checked") == len(Kind.values)


def test_unticking_a_kind_turns_it_off_and_ticking_it_turns_it_back_on(client_as, faculty, other_faculty):
    client = client_as(faculty.user)
    ticked = {k: "on" for k in Kind.values if k != Kind.AUCTION_SETTLED}
    answer = client.post(URL, ticked)
    assert answer.status_code == 302 and answer.url == URL
    assert list(NotificationOptOut.objects.values_list("faculty_id", "kind")) == [(faculty.pk, "auction_settled")]
    assert notification_settings(faculty=other_faculty)[Kind.AUCTION_SETTLED], "only the owner's settings change"
    client.post(URL, {k: "on" for k in Kind.values}, HTTP_HX_REQUEST="true")
    assert not NotificationOptOut.objects.exists()


def test_the_htmx_post_answers_with_the_form_alone(client_as, faculty):
    answer = client_as(faculty.user).post(URL, {}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    assert 'id="notification-settings"' in answer.content.decode() and "<html" not in answer.content.decode()
    assert NotificationOptOut.objects.count() == len(Kind.values)


def test_anonymous_is_sent_to_log_in_and_a_coordinator_without_a_profile_is_refused(client, coordinator):
    answer = client.get(URL)
    assert answer.status_code == 302 and answer.url.startswith(reverse("login"))
    client.force_login(coordinator)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {}).status_code == 403
    assert not NotificationOptOut.objects.exists()


def test_the_api_reads_and_patches_only_the_callers_own_settings(as_, faculty, other_faculty):
    client = as_("faculty")
    assert client.get(API).json() == {k: True for k in Kind.values}
    answer = client.patch(API, {"swap_proposed": False}, format="json")
    assert answer.status_code == 200 and answer.json()["swap_proposed"] is False
    assert answer.json()["window_opened"] is True, "kinds not named keep their setting"
    assert notification_settings(faculty=other_faculty)["swap_proposed"] is True


@pytest.mark.parametrize(("body", "field"), [
    ({"swap_proposd": False}, "swap_proposd"),
    ({"swap_proposed": "no"}, "swap_proposed"),
    ({"swap_proposed": False, "auction_settled": 0}, "auction_settled"),
])
def test_the_api_refuses_an_unknown_kind_or_a_non_boolean_naming_it_and_changes_nothing(as_, faculty, body, field):
    answer = as_("faculty").patch(API, body, format="json")
    assert answer.status_code == 400 and field in answer.json()
    assert not NotificationOptOut.objects.exists()


def test_the_api_refuses_anonymous_and_a_coordinator_without_a_profile(api_client, as_, coordinator):
    assert api_client.get(API).status_code in (401, 403)
    assert api_client.patch(API, {"swap_proposed": False}, format="json").status_code in (401, 403)
    assert as_("coordinator").get(API).status_code == 403
