"""Preference services against the database: refusals store nothing, versions are immutable, a year loads into arrays."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import given
from hypothesis import strategies as st

from allocation.models import Assignment, PublishedScheduleIsImmutable, Schedule
from preferences.models import AcademicYear, PreferenceSubmission, Week
from preferences.services import (
    preferences_submit,
    preferences_validate,
    spread_demand,
    submissions_current,
    year_preferences,
)
from tests.factories import AssignmentFactory, FacultyFactory, ScheduleFactory, UserFactory, make_year


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# Weeks of the `year` fixture (2026, 8 weeks from Monday 2026-07-06).
W = [str(dt.date(2026, 7, 6) + dt.timedelta(weeks=k)) for k in range(8)]


def submit(faculty, year, *, preference_type="ordinal", entries=(), blocked=(), actor="self", **kwargs):
    actor = faculty.user if actor == "self" else actor
    return preferences_submit(
        faculty=faculty, year=year, preference_type=preference_type, entries=list(entries),
        blocked_weeks=list(blocked), method=kwargs.pop("method", "api"), actor=actor, **kwargs,
    )


def ranks(*pairs):
    return [{"week": week, "rank": rank} for week, rank in pairs]


def stored_state():
    """Everything a refusal must leave alone: every row, its version and its content."""
    return list(PreferenceSubmission.objects.order_by("pk").values_list("pk", "faculty_id", "year_id", "version", "content_hash"))


def latest_version(faculty, year):
    return PreferenceSubmission.objects.filter(faculty=faculty, year=year).order_by("-version").values_list("version", flat=True).first()


@pytest.fixture
def first_version(faculty, year):
    submission, created = submit(faculty, year, entries=ranks((W[0], 1), (W[1], 2)))
    assert created and submission.version == 1
    return submission


def assert_refused_and_nothing_stored(call, *, field, message, faculty, year):
    before, version = stored_state(), latest_version(faculty, year)
    with pytest.raises(ValidationError) as caught:
        call()
    errors = caught.value.message_dict
    assert field in errors, f"expected an error on {field!r}, got {errors}"
    assert any(message in text for text in errors[field]), errors[field]
    assert stored_state() == before
    assert latest_version(faculty, year) == version


# --- bad input is refused, nothing is stored ----------------------------------------------------

def test_duplicate_ranks_are_refused_and_nothing_is_stored(faculty, year, first_version):
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((W[2], 1), (W[3], 1))),
        field="ordinal_rankings", message="Rank 1 is used more than once (Mon 20 Jul and Mon 27 Jul); give each week its own rank.",
        faculty=faculty, year=year,
    )


def test_gapped_ranks_are_refused_and_nothing_is_stored(faculty, year, first_version):
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((W[2], 1), (W[3], 3), (W[4], 4))),
        field="ordinal_rankings", message="Ranks must run 1 to 3 without gaps; missing 2",
        faculty=faculty, year=year,
    )


def test_a_rank_below_one_is_refused_and_nothing_is_stored(faculty, year, first_version):
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((W[2], 0))),
        field="ordinal_rankings[0].rank", message="Rank must be a whole number from 1",
        faculty=faculty, year=year,
    )


@pytest.mark.parametrize("value", [101, -1, 100.5])
def test_values_outside_0_to_100_are_refused_and_nothing_is_stored(faculty, year, first_version, value):
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, preference_type="cardinal",
                       entries=[{"week": W[2], "value": 50}, {"week": W[3], "value": value}]),
        field="cardinal_valuations[1].value", message="is outside 0–100",
        faculty=faculty, year=year,
    )


def test_a_binary_accept_that_is_not_true_or_false_is_refused_and_nothing_is_stored(faculty, year, first_version):
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, preference_type="binary", entries=[{"week": W[2], "accept": "maybe"}]),
        field="binary_accepts[0].accept", message="Accept must be true or false",
        faculty=faculty, year=year,
    )


def test_an_unknown_week_date_is_refused_and_nothing_is_stored(faculty, year, first_version):
    tuesday = str(dt.date(2026, 7, 7))
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((tuesday, 1))),
        field="ordinal_rankings[0].week", message=f"Unknown week {tuesday}",
        faculty=faculty, year=year,
    )


def test_an_unknown_week_id_is_refused_and_nothing_is_stored(faculty, year, first_version):
    missing = (Week.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((missing, 1))),
        field="ordinal_rankings[0].week", message=f"Unknown week id {missing}",
        faculty=faculty, year=year,
    )


def test_text_that_is_not_a_date_is_refused_and_nothing_is_stored(faculty, year, first_version):
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks(("next tuesday", 1))),
        field="ordinal_rankings[0].week", message="is not a date; give the week's start date as YYYY-MM-DD",
        faculty=faculty, year=year,
    )


def test_a_week_id_of_another_year_is_refused_and_nothing_is_stored(faculty, year, first_version, rotations):
    other_year = make_year(label=2027, rotations=rotations)
    foreign = other_year.weeks.get(index=0)
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((foreign.pk, 1))),
        field="ordinal_rankings[0].week", message=f"belongs to academic year {other_year}, not {year}",
        faculty=faculty, year=year,
    )


def test_a_week_start_date_of_another_year_is_refused_naming_that_year(faculty, year, first_version, rotations):
    other_year = make_year(label=2027, rotations=rotations)
    start = str(other_year.weeks.get(index=2).start_date)
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((start, 1))),
        field="ordinal_rankings[0].week", message=f"Week {start} belongs to academic year 2027–28, not 2026–27",
        faculty=faculty, year=year,
    )


def test_a_blocked_week_of_another_year_is_refused_and_nothing_is_stored(faculty, year, first_version, rotations):
    other_year = make_year(label=2027, rotations=rotations)
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((W[0], 1)), blocked=[other_year.weeks.get(index=0)]),
        field="blocked_weeks[0]", message=f"belongs to academic year {other_year}",
        faculty=faculty, year=year,
    )


def test_a_week_both_listed_and_blocked_is_refused_and_nothing_is_stored(faculty, year, first_version):
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((W[2], 1), (W[4], 2)), blocked=[W[4]]),
        field="blocked_weeks", message="Mon 3 Aug is both blocked and ranked; choose one.",
        faculty=faculty, year=year,
    )


def test_a_week_listed_twice_is_refused_and_nothing_is_stored(faculty, year, first_version):
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((W[2], 1), (W[2], 2))),
        field="ordinal_rankings[1].week", message="Mon 20 Jul is listed more than once.",
        faculty=faculty, year=year,
    )


def test_an_unknown_preference_type_is_refused_and_nothing_is_stored(faculty, year, first_version):
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, preference_type="auction", entries=[]),
        field="preference_type", message="use ordinal, cardinal or binary",
        faculty=faculty, year=year,
    )


def test_a_submission_after_the_window_closed_is_refused_and_nothing_is_stored(faculty, year, first_version):
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((W[2], 1)), now=year.preference_closes + dt.timedelta(seconds=1)),
        field="academic_year", message="closed",
        faculty=faculty, year=year,
    )


def test_a_submission_exactly_at_the_closing_time_is_refused(faculty, year, first_version):
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((W[2], 1)), now=year.preference_closes),
        field="academic_year", message="closed",
        faculty=faculty, year=year,
    )


def test_a_submission_to_a_closed_year_is_refused_and_nothing_is_stored(faculty, rotations):
    closed = make_year(label=2027, window_open=False, rotations=rotations)
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, closed, entries=ranks((closed.weeks.get(index=0), 1))),
        field="academic_year", message=f"The preference window for {closed} closed",
        faculty=faculty, year=closed,
    )


def test_a_submission_before_the_window_opens_is_refused_and_nothing_is_stored(faculty, year, first_version):
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((W[2], 1)), now=year.preference_opens - dt.timedelta(minutes=1)),
        field="academic_year", message="opens",
        faculty=faculty, year=year,
    )


@pytest.mark.parametrize("status", [AcademicYear.Status.ALLOCATING, AcademicYear.Status.PUBLISHED])
def test_a_year_that_is_no_longer_collecting_refuses_submissions_and_stores_nothing(faculty, year, first_version, status):
    AcademicYear.objects.filter(pk=year.pk).update(status=status)
    year.refresh_from_db()
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((W[2], 1))),
        field="academic_year", message="is no longer collecting preferences",
        faculty=faculty, year=year,
    )


def test_an_inactive_faculty_member_cannot_submit_and_nothing_is_stored(faculty, year, first_version):
    faculty.active = False
    faculty.save()
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((W[2], 1))),
        field="faculty", message="is not active",
        faculty=faculty, year=year,
    )


def test_faculty_off_the_year_roster_cannot_submit_and_nothing_is_stored(faculty, other_faculty, year, first_version):
    year.roster.set([other_faculty])
    assert_refused_and_nothing_stored(
        lambda: submit(faculty, year, entries=ranks((W[2], 1))),
        field="faculty", message="is not on the roster",
        faculty=faculty, year=year,
    )


def test_faculty_submitting_for_someone_else_is_denied_and_nothing_is_stored(faculty, other_faculty, year, first_version):
    before, version = stored_state(), latest_version(faculty, year)
    with pytest.raises(PermissionDenied, match="only submit your own"):
        submit(faculty, year, entries=ranks((W[2], 1)), actor=other_faculty.user)
    assert stored_state() == before
    assert latest_version(faculty, year) == version


def test_a_user_without_a_faculty_profile_cannot_submit_for_faculty(faculty, year):
    with pytest.raises(PermissionDenied):
        submit(faculty, year, entries=ranks((W[2], 1)), actor=UserFactory(username="visitor"))
    assert not PreferenceSubmission.objects.exists()


def test_every_bad_field_is_reported_at_once(year):
    with pytest.raises(ValidationError) as caught:
        preferences_validate(
            year=year, preference_type="cardinal",
            entries=[{"week": W[0], "value": 120}, {"week": "2026-07-07", "value": 10}, {"week": W[2]}],
            blocked_weeks=["not-a-date"],
        )
    assert set(caught.value.message_dict) == {
        "cardinal_valuations[0].value", "cardinal_valuations[1].week", "cardinal_valuations[2]", "blocked_weeks[0]",
    }


# --- what is stored, and versions ---------------------------------------------------------------

def test_a_coordinator_may_submit_for_a_faculty_member_and_is_recorded(faculty, year, coordinator):
    submission, created = submit(faculty, year, entries=ranks((W[1], 1)), actor=coordinator, method="import")
    assert created
    assert submission.submitted_by == coordinator
    assert submission.collection_method == "import"


def test_a_submission_stores_normalised_entries_and_its_collection_details(faculty, year):
    week5 = year.weeks.get(index=5)
    submission, _ = submit(
        faculty, year, entries=ranks((W[4], 2), (week5.pk, 3), (W[0], 1)), blocked=[W[7], dt.date(2026, 7, 13)],
        ip_address="203.0.113.9", user_agent="x" * 500, method="web_form",
    )
    submission.refresh_from_db()
    assert submission.entries == [{"week": 0, "rank": 1}, {"week": 4, "rank": 2}, {"week": 5, "rank": 3}]
    assert submission.blocked_weeks == [1, 7]
    assert submission.ip_address == "203.0.113.9"
    assert len(submission.user_agent) == 400
    assert submission.collection_method == "web_form"
    assert submission.submitted_by == faculty.user
    assert submission.validation_result["valid"] is True
    assert submission.validation_result["listed"] == 3 and submission.validation_result["blocked"] == 2


def test_a_resubmission_is_version_2_and_version_1_is_kept(faculty, year, first_version):
    second, created = submit(faculty, year, entries=ranks((W[5], 1)), blocked=[W[6]])
    assert created and second.version == 2
    kept = PreferenceSubmission.objects.get(pk=first_version.pk)
    assert kept.version == 1
    assert kept.entries == [{"week": 0, "rank": 1}, {"week": 1, "rank": 2}]
    assert kept.content_hash == first_version.content_hash != second.content_hash
    assert PreferenceSubmission.objects.filter(faculty=faculty, year=year).count() == 2


def test_versions_are_counted_per_faculty_member(faculty, other_faculty, year, first_version):
    other, _ = submit(other_faculty, year, entries=ranks((W[0], 1)))
    assert other.version == 1


def test_skip_if_unchanged_returns_the_same_row_for_an_identical_set(faculty, year, first_version):
    # The same set, spelt differently (week objects, other order), is the same content.
    same, created = submit(
        faculty, year, entries=ranks((year.weeks.get(index=1), 2), (year.weeks.get(index=0), 1)),
        skip_if_unchanged=True, method="import",
    )
    assert not created
    assert same.pk == first_version.pk
    assert PreferenceSubmission.objects.count() == 1


def test_skip_if_unchanged_still_stores_a_changed_set(faculty, year, first_version):
    changed, created = submit(faculty, year, entries=ranks((W[0], 2), (W[1], 1)), skip_if_unchanged=True)
    assert created and changed.version == 2


def test_an_identical_resubmission_without_skip_is_a_new_version(faculty, year, first_version):
    again, created = submit(faculty, year, entries=ranks((W[0], 1), (W[1], 2)))
    assert created and again.version == 2
    assert again.content_hash == first_version.content_hash


def test_a_stored_submission_cannot_be_saved_again(faculty, year, first_version):
    first_version.entries = [{"week": 3, "rank": 1}]
    with pytest.raises(ValidationError, match="immutable"):
        first_version.save()
    assert PreferenceSubmission.objects.get(pk=first_version.pk).entries == [{"week": 0, "rank": 1}, {"week": 1, "rank": 2}]


def test_a_stored_submission_cannot_be_deleted(faculty, year, first_version):
    with pytest.raises(ValidationError, match="cannot be deleted"):
        first_version.delete()
    assert PreferenceSubmission.objects.filter(pk=first_version.pk).exists()


# --- which submission counts ---------------------------------------------------------------------

def late_copy(submission, *, version, after):
    """A row collected after the window closed, e.g. an import made after the deadline."""
    return PreferenceSubmission.objects.create(
        faculty=submission.faculty, year=submission.year, version=version, preference_type="ordinal",
        entries=[{"week": 7, "rank": 1}], blocked_weeks=[], collected_at=after, collection_method="import",
        content_hash="late",
    )


def test_submissions_current_takes_the_latest_version_before_the_window_closes(faculty, other_faculty, year, first_version):
    second, _ = submit(faculty, year, entries=ranks((W[5], 1)))
    other, _ = submit(other_faculty, year, entries=ranks((W[2], 1)))
    assert submissions_current(year=year) == {faculty.pk: second, other_faculty.pk: other}


def test_submissions_current_ignores_submissions_collected_after_the_window_closed(faculty, other_faculty, year, first_version):
    late_copy(first_version, version=2, after=year.preference_closes + dt.timedelta(hours=1))
    late_copy(first_version, version=3, after=year.preference_closes)  # the closing instant is already too late
    only_late, _ = submit(other_faculty, year, entries=ranks((W[2], 1)))
    PreferenceSubmission.objects.filter(pk=only_late.pk).update(collected_at=year.preference_closes + dt.timedelta(days=1))
    current = submissions_current(year=year)
    assert current == {faculty.pk: first_version}


def test_submissions_current_ignores_other_years(faculty, year, first_version, rotations):
    other_year = make_year(label=2027, rotations=rotations)
    submit(faculty, other_year, entries=ranks((other_year.weeks.get(index=0), 1)))
    assert submissions_current(year=year) == {faculty.pk: first_version}


# --- a year as arrays ----------------------------------------------------------------------------

@pytest.fixture
def cast(faculty, other_faculty, rotations):
    """Four faculty, one per preference type plus a non-respondent, with external ids in this order."""
    carol = FacultyFactory(user=UserFactory(username="carol"), external_id="F003", display_name="Dr. Carol", rotations=rotations[1:])
    dave = FacultyFactory(user=UserFactory(username="dave"), external_id="F004", display_name="Dr. Dave", rotations=rotations)
    return [faculty, other_faculty, carol, dave]


@pytest.fixture
def submitted(cast, year):
    alice, bob, carol, _ = cast
    submit(alice, year, entries=ranks((W[0], 1)))  # superseded by version 2
    submit(alice, year, entries=ranks((W[0], 2), (W[2], 1)), blocked=[W[5]])
    submit(bob, year, preference_type="cardinal", entries=[{"week": W[1], "value": 30}, {"week": W[4], "value": 100}])
    submit(carol, year, preference_type="binary", entries=[{"week": W[0], "accept": True}, {"week": W[7], "accept": False}])
    return cast


def test_year_preferences_builds_consistent_shapes_and_index_maps(submitted, year, rotations):
    prefs = year_preferences(year=year, rng=np.random.default_rng(0))
    n, n_weeks, n_rot = 4, 8, 2
    assert list(prefs.faculty_ids) == [f.pk for f in submitted]  # ordered by external id
    assert list(prefs.week_ids) == list(year.weeks.order_by("index").values_list("pk", flat=True))
    clinic, inpatient = sorted(rotations, key=lambda r: r.name)
    assert list(prefs.rotation_ids) == [clinic.pk, inpatient.pk]
    assert prefs.year_id == year.pk
    assert prefs.target_load.shape == (n,) and list(prefs.target_load) == [4, 4, 4, 4]
    assert prefs.capacity.shape == (n_weeks, n_rot) and (prefs.capacity == 1).all()
    assert list(np.flatnonzero(prefs.is_holiday)) == [3]
    model = prefs.model
    assert model.score.shape == model.utility.shape == model.order.shape == model.rank.shape == (n, n_weeks)
    assert model.eligible.shape == (n, n_weeks, n_rot)


def test_year_preferences_scores_match_the_counting_submissions(submitted, year):
    prefs = year_preferences(year=year, rng=np.random.default_rng(0))
    row = {pk: i for i, pk in enumerate(prefs.faculty_ids)}
    alice, bob, carol, dave = (row[f.pk] for f in submitted)
    score = prefs.model.score
    np.testing.assert_allclose(score[alice], [0.75, 0.5, 1.0, 0.5, 0.5, 0.0, 0.5, 0.5])  # v2: two ranks, week 5 blocked
    np.testing.assert_allclose(score[bob], [0.5, 0.3, 0.5, 0.5, 1.0, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(score[carol], [1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0])
    np.testing.assert_allclose(score[dave], 0.5)  # no submission: neutral everywhere
    blocked = prefs.model.blocked
    assert list(np.flatnonzero(blocked[alice])) == [5]
    assert list(np.flatnonzero(blocked[carol])) == [7]  # a binary reject blocks
    assert not blocked[bob].any() and not blocked[dave].any()
    assert list(prefs.model.order[alice, :2]) == [2, 0]


def test_year_preferences_scores_match_stored_entries_through_the_index_maps(submitted, year):
    prefs = year_preferences(year=year, rng=np.random.default_rng(5))
    row = {pk: i for i, pk in enumerate(prefs.faculty_ids)}
    col = {pk: k for k, pk in enumerate(prefs.week_ids)}
    week_pk = dict(year.weeks.values_list("index", "pk"))
    for submission in submissions_current(year=year).values():
        i = row[submission.faculty_id]
        m = len(submission.entries)
        for entry in submission.entries:
            k = col[week_pk[entry["week"]]]
            if submission.preference_type == "ordinal":
                expected = 1 - 0.5 * (entry["rank"] - 1) / m
            elif submission.preference_type == "cardinal":
                expected = entry["value"] / 100
            else:
                expected = float(entry["accept"])
            assert prefs.model.score[i, k] == pytest.approx(expected)
        for index in submission.blocked_weeks:
            assert prefs.model.score[i, col[week_pk[index]]] == 0.0


def test_year_preferences_eligibility_follows_qualifications_and_blocks(submitted, year):
    prefs = year_preferences(year=year, rng=np.random.default_rng(0))
    row = {pk: i for i, pk in enumerate(prefs.faculty_ids)}
    alice, bob, carol, _ = (row[f.pk] for f in submitted)
    clinic, inpatient = 0, 1
    eligible = prefs.model.eligible
    assert not eligible[bob, :, clinic].any() and eligible[bob, :, inpatient].all()  # bob: inpatient only
    assert not eligible[carol, :, inpatient].any()  # carol: clinic only
    assert not eligible[alice, 5].any() and eligible[alice, 4].all()
    assert not eligible[carol, 7].any()


def test_year_preferences_uses_the_years_weights_and_blocking_rule(submitted, year):
    year.utility_weights = {"preference": 1.0, "workload_balance": 0.0, "time_off_proximity": 0.0, "swap_out_rate": 0.0}
    year.blocked_is_hard = False
    year.save()
    prefs = year_preferences(year=year, rng=np.random.default_rng(0))
    np.testing.assert_allclose(prefs.model.utility, prefs.model.score)
    row = {pk: i for i, pk in enumerate(prefs.faculty_ids)}
    assert prefs.model.eligible[row[submitted[0].pk], 5].all()  # relaxed: blocked but eligible at utility 0
    assert prefs.model.utility[row[submitted[0].pk], 5] == 0.0


def test_year_preferences_is_deterministic_for_a_seed(submitted, year):
    first = year_preferences(year=year, rng=np.random.default_rng(11))
    second = year_preferences(year=year, rng=np.random.default_rng(11))
    np.testing.assert_array_equal(first.model.order, second.model.order)


def test_year_preferences_can_leave_out_non_respondents_and_always_leaves_out_inactive_faculty(submitted, year):
    alice, bob, carol, dave = submitted
    assert list(year_preferences(year=year, rng=np.random.default_rng(0), include_non_respondents=False).faculty_ids) == [
        alice.pk, bob.pk, carol.pk,
    ]
    bob.active = False
    bob.save()
    assert bob.pk not in year_preferences(year=year, rng=np.random.default_rng(0)).faculty_ids


def test_year_preferences_ignores_late_submissions(submitted, year):
    alice = submitted[0]
    latest = PreferenceSubmission.objects.filter(faculty=alice, year=year).order_by("-version").first()
    late_copy(latest, version=3, after=year.preference_closes + dt.timedelta(minutes=5))
    prefs = year_preferences(year=year, rng=np.random.default_rng(0))
    row = list(prefs.faculty_ids).index(alice.pk)
    assert prefs.model.score[row, 2] == 1.0 and prefs.model.score[row, 7] == 0.5


def test_a_year_with_no_submissions_loads_as_all_neutral(cast, year):
    prefs = year_preferences(year=year, rng=np.random.default_rng(0))
    assert (prefs.model.score == 0.5).all()
    assert not prefs.model.blocked.any()


def test_a_year_reads_its_per_slot_demand(cast, year, rotations):
    inpatient = next(r for r in rotations if r.name == "inpatient")
    year.weeks.get(index=2).demands.filter(rotation=inpatient).update(count=3)
    prefs = year_preferences(year=year, rng=np.random.default_rng(0))
    assert prefs.capacity[2, 1] == 3 and prefs.capacity[2, 0] == 1
    assert prefs.capacity.sum() == 16 - 1 + 3


def test_without_coverage_demand_the_total_load_is_spread_evenly_in_calendar_order(cast, rotations):
    alice, bob, carol, dave = cast
    for person, load in ((alice, 11), (bob, 5), (carol, 3), (dave, 2)):  # total 21 over 8 weeks x 2 rotations
        person.target_load = load
        person.save()
    no_demand = make_year(label=2028, demand=None, rotations=rotations)
    prefs = year_preferences(year=no_demand, rng=np.random.default_rng(0))
    # base = 21 // 16 = 1, remainder 5 -> one more for slots (w0,clinic) (w0,inpatient) (w1,c) (w1,i) (w2,c)
    expected = np.ones((8, 2), dtype=int)
    expected[0] = expected[1] = 2
    expected[2, 0] = 2
    np.testing.assert_array_equal(prefs.capacity, expected)
    assert prefs.capacity.sum() == 21


# --- spread_demand --------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("total", "n_weeks", "n_rotations", "expected"),
    [
        (12, 3, 2, [[2, 2], [2, 2], [2, 2]]),
        (10, 3, 2, [[2, 2], [2, 2], [1, 1]]),
        (7, 3, 2, [[2, 1], [1, 1], [1, 1]]),
        (2, 3, 2, [[1, 1], [0, 0], [0, 0]]),
        (0, 2, 1, [[0], [0]]),
    ],
)
def test_spread_demand_gives_base_to_every_slot_and_the_remainder_to_the_first_slots(total, n_weeks, n_rotations, expected):
    np.testing.assert_array_equal(spread_demand(total, n_weeks, n_rotations), expected)


@given(st.integers(0, 5000), st.integers(1, 60), st.integers(1, 5))
def test_spread_demand_keeps_the_total_and_is_even_and_front_loaded(total, n_weeks, n_rotations):
    capacity = spread_demand(total, n_weeks, n_rotations)
    assert capacity.shape == (n_weeks, n_rotations)
    assert capacity.sum() == total
    assert capacity.max() - capacity.min() <= 1
    flat = capacity.ravel()  # calendar order: week by week, rotations within a week
    assert (np.diff(flat) <= 0).all()
    assert flat.min() == total // (n_weeks * n_rotations)


# --- published schedules ---------------------------------------------------------------------------

@pytest.fixture
def published_assignment(faculty, year, rotations):
    schedule = ScheduleFactory(year=year, name="Hand-made", rows=[(faculty, 0, rotations[0])],
                               status=Schedule.Status.PUBLISHED)
    return schedule.assignments.get()


def test_a_draft_schedules_assignments_can_be_edited(faculty, year, rotations):
    assignment = AssignmentFactory(schedule__year=year, faculty=faculty, rotation=rotations[0])
    assignment.rank = 2
    assignment.save()
    assert Assignment.objects.get(pk=assignment.pk).rank == 2


def test_saving_an_assignment_of_a_published_schedule_raises(published_assignment):
    published_assignment.rank = 9
    with pytest.raises(PublishedScheduleIsImmutable):
        published_assignment.save()
    assert Assignment.objects.get(pk=published_assignment.pk).rank is None


def test_deleting_an_assignment_of_a_published_schedule_raises(published_assignment):
    with pytest.raises(PublishedScheduleIsImmutable):
        published_assignment.delete()
    assert Assignment.objects.filter(pk=published_assignment.pk).exists()


def test_adding_an_assignment_to_a_published_schedule_raises(published_assignment, other_faculty, year, rotations):
    with pytest.raises(PublishedScheduleIsImmutable):
        Assignment.objects.create(
            schedule=published_assignment.schedule, faculty=other_faculty, week=year.weeks.get(index=1), rotation=rotations[0],
        )
    assert published_assignment.schedule.assignments.count() == 1


def test_an_assignment_loaded_before_publication_cannot_be_saved_after_it(faculty, year, rotations):
    assignment = AssignmentFactory(schedule__year=year, faculty=faculty, rotation=rotations[0])
    held = Assignment.objects.select_related("schedule").get(pk=assignment.pk)  # its schedule is cached as a draft
    Schedule.objects.filter(pk=assignment.schedule_id).update(status=Schedule.Status.PUBLISHED)
    held.rank = 9
    with pytest.raises(PublishedScheduleIsImmutable):
        held.save()
