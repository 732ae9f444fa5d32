"""A realistic, seeded demo year: weeks with US holidays, three rotations, 40 faculty with logins, submitted preferences.

Every preference goes through :func:`preferences.services.preferences_submit`, so the demo exercises the same
validation and versioning as the web form and the API. All randomness comes from one seeded numpy Generator.
"""

from __future__ import annotations

import calendar
import datetime as dt
import unicodedata
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import Count, ProtectedError, Sum
from django.utils import timezone

from gtsched_site.signals import send_on_commit
from preferences.demo_time_off import TimeOffPlan, demo_time_off
from preferences.models import AcademicYear, CoverageDemand, Faculty, PreferenceSubmission, Rotation, Week
from preferences.services import ENTRY_FIELDS, preferences_submit, submissions_current
from preferences.signals import demo_year_created
from preferences.time_off import time_off_create

DEMO_EMAIL_DOMAIN = "demo.gtsched.org"
FACULTY_PASSWORD = "demo-faculty"
COORDINATOR_USERNAME = "coordinator"
COORDINATOR_PASSWORD = "demo-coordinator"
LOGIN_PATH = "/accounts/login/"
ADMIN_PATH = "/admin/"
NUM_WEEKS = 52
MAX_FACULTY = 400

# Faculty needed per week. Clinics close on holiday weeks; the wards and the consult service never do.
ROTATIONS = (
    ("inpatient", "Inpatient ward service (attending of record)", 2, True),
    ("consult", "Inpatient consult service", 1, True),
    ("clinic", "Continuity clinic supervision (closed on holiday weeks)", 1, False),
)

# Curated so that usernames (first initial + surname) are distinct.
NAMES = (
    ("Amara", "Okafor"), ("Daniel", "Reyes"), ("Priya", "Raman"), ("Jonathan", "Whitaker"),
    ("Mei-Ling", "Chen"), ("Samuel", "Adeyemi"), ("Elena", "Petrova"), ("Marcus", "Johnson"),
    ("Fatima", "Al-Sayed"), ("Hiroshi", "Tanaka"), ("Grace", "O'Connor"), ("Rafael", "Moreno"),
    ("Aisha", "Bello"), ("Thomas", "Lindqvist"), ("Sofia", "Rossi"), ("Kwame", "Mensah"),
    ("Rachel", "Goldberg"), ("Arjun", "Mehta"), ("Laura", "Fischer"), ("Diego", "Hernández"),
    ("Nadia", "Haddad"), ("Benjamin", "Carter"), ("Yuki", "Nakamura"), ("Olivia", "Brennan"),
    ("Chinedu", "Eze"), ("Hannah", "Schultz"), ("Luis", "Castillo"), ("Ingrid", "Johansson"),
    ("Omar", "Farouk"), ("Catherine", "Dubois"), ("Ravi", "Krishnan"), ("Emily", "Nguyen"),
    ("Tomasz", "Kowalski"), ("Zainab", "Yusuf"), ("Michael", "O'Brien"), ("Ana Lucía", "Vargas"),
    ("Kenji", "Watanabe"), ("Leah", "Abramson"), ("Victor", "Nwosu"), ("Isabel", "Costa"),
)

WEB_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
)
API_AGENT = "residency-portal-sync/2.3 (python-httpx/0.27)"


# --- calendar -------------------------------------------------------------------------------------------------


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th given weekday (Monday=0) of a month; n=-1 is the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year, month, calendar.monthrange(year, month)[1])
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def first_monday_of_july(label: int) -> dt.date:
    return nth_weekday(label, 7, calendar.MONDAY, 1)


def default_label(today: dt.date) -> int:
    """The academic year that starts next July, so a fresh demo is always in the future."""
    return today.year if first_monday_of_july(today.year) > today else today.year + 1


def us_holidays(calendar_year: int) -> list[tuple[dt.date, str]]:
    """US major holidays of one calendar year, by the federal rules (fixed dates and n-th weekdays)."""
    return [
        (dt.date(calendar_year, 1, 1), "New Year's Day"),
        (nth_weekday(calendar_year, 1, calendar.MONDAY, 3), "Martin Luther King Jr. Day"),
        (nth_weekday(calendar_year, 5, calendar.MONDAY, -1), "Memorial Day"),
        (dt.date(calendar_year, 7, 4), "Independence Day"),
        (nth_weekday(calendar_year, 9, calendar.MONDAY, 1), "Labor Day"),
        (nth_weekday(calendar_year, 11, calendar.THURSDAY, 4), "Thanksgiving"),
        (dt.date(calendar_year, 12, 25), "Christmas"),
    ]


def holiday_weeks(first_monday: dt.date, num_weeks: int) -> dict[int, str]:
    """Week index -> holiday name for every holiday falling inside the year (both calendar years it spans)."""
    last_day = first_monday + dt.timedelta(weeks=num_weeks, days=-1)
    names: dict[int, list[str]] = {}
    for calendar_year in (first_monday.year, first_monday.year + 1):
        for day, name in us_holidays(calendar_year):
            if first_monday <= day <= last_day:
                names.setdefault((day - first_monday).days // 7, []).append(name)
    return {index: " / ".join(week_names) for index, week_names in sorted(names.items())}


def username_for(first: str, last: str) -> str:
    ascii_only = unicodedata.normalize("NFKD", f"{first[0]}{last}").encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_only.lower() if ch.isalpha())


def faculty_names(count: int) -> list[tuple[str, str, str]]:
    """(first, last, username) for `count` faculty: the curated cast, then recombined names with unique usernames."""
    people, seen = [], set()
    for i in range(count):
        round_ = i // len(NAMES)
        first = NAMES[i % len(NAMES)][0]
        last = NAMES[(i + 11 * round_) % len(NAMES)][1]
        username = username_for(first, last)
        suffix = 2
        while username in seen or username == COORDINATOR_USERNAME:
            username, suffix = f"{username_for(first, last)}{suffix}", suffix + 1
        seen.add(username)
        people.append((first, last, username))
    return people


# --- the synthetic population (pure: arrays and a Generator in, plans out) -----------------------------------


@dataclass(frozen=True)
class SubmissionPlan:
    preference_type: str
    entries: list[dict[str, Any]]  # {"week": week index, <rank|value|accept>: ...}
    blocked: list[int]
    method: str
    offset_seconds: int  # collected this long after the window opened
    user_agent: str
    ip_address: str


@dataclass(frozen=True)
class FacultyPlan:
    rotations: tuple[str, ...]
    target_load: int
    submissions: list[SubmissionPlan] = field(default_factory=list)
    time_off: list[TimeOffPlan] = field(default_factory=list)


def _target_loads(n: int, total: int, rng: np.random.Generator) -> np.ndarray:
    """Loads of 2–6 weeks (part-timers to clinical-heavy), nudged one week at a time until they sum to the demand.

    Four seats a week (less clinic on holidays) over 40 people is about five weeks each, so 5 is the usual load.
    """
    loads = rng.choice(np.arange(2, 7), size=n, p=[0.04, 0.08, 0.18, 0.40, 0.30])
    while loads.sum() != total:
        movable = np.flatnonzero(loads < 6) if loads.sum() < total else np.flatnonzero(loads > 2)
        if movable.size == 0:
            break
        loads[rng.choice(movable)] += 1 if loads.sum() < total else -1
    return loads


def _qualifications(n: int, rng: np.random.Generator) -> list[tuple[str, ...]]:
    """Everyone covers the wards; 60% also consult, 50% also run clinic, 10% do inpatient only."""
    cuts = np.cumsum(np.round(np.array([0.10, 0.40, 0.30]) * n).astype(int))
    profile = np.searchsorted(cuts, rng.permutation(n), side="right")
    options = (("inpatient",), ("inpatient", "consult"), ("inpatient", "clinic"), ("inpatient", "consult", "clinic"))
    return [options[k] for k in profile]


def _week_features(starts: list[dt.date], holidays: dict[int, str]) -> dict[str, np.ndarray]:
    month = np.array([(s + dt.timedelta(days=2)).month for s in starts])
    holiday = np.zeros(len(starts), dtype=bool)
    holiday[list(holidays)] = True
    adjacent = (np.roll(holiday, 1) | np.roll(holiday, -1)) & ~holiday
    adjacent[0] &= ~holiday[-1]  # np.roll wraps the year around; the first and last weeks are not neighbours
    adjacent[-1] &= ~holiday[0]
    return {
        "summer": np.isin(month, (7, 8)),
        "june": month == 6,
        "autumn": np.isin(month, (9, 10, 11)),
        "spring": np.isin(month, (3, 4, 5)),
        "holiday": holiday,
        "adjacent": adjacent,
    }


def _conference_weeks(first_monday: dt.date, num_weeks: int) -> list[int]:
    """The specialty society meets in mid-October and again in April: the same two weeks for everyone who goes."""
    label = first_monday.year
    days = (dt.date(label, 10, 15), nth_weekday(label + 1, 4, calendar.WEDNESDAY, 3))
    return [(d - first_monday).days // 7 for d in days if 0 <= (d - first_monday).days // 7 < num_weeks]


def demo_population(
    *, starts: list[dt.date], holidays: dict[int, str], total_demand: int, n_faculty: int,
    window_seconds: int, rng: np.random.Generator,
) -> list[FacultyPlan]:
    """Who covers what and what each person asks for.

    Scores are a common popularity curve (autumn and spring liked, summer and holidays avoided, a few weeks
    everyone wants) plus personal traits (children → summer matters more; a minority without children prefers
    holidays) and individual noise. Each faculty member then reports in one of the three formats.
    """
    n, w = n_faculty, len(starts)
    f = _week_features(starts, holidays)
    conferences = _conference_weeks(starts[0], w)
    common = (
        -0.5 * f["summer"] - 0.3 * f["june"] + 0.4 * f["autumn"] + 0.4 * f["spring"]
        - 1.6 * f["holiday"] - 0.5 * f["adjacent"] + rng.normal(0.0, 0.15, w)
    )
    quiet = np.flatnonzero((f["autumn"] | f["spring"]) & ~f["holiday"] & ~f["adjacent"] & ~np.isin(np.arange(w), conferences))
    popular = rng.choice(quiet, size=min(4, quiet.size), replace=False)
    common[popular] += 1.3

    order = rng.permutation(n)
    kids = np.zeros(n, dtype=bool)
    kids[order[: round(0.55 * n)]] = True
    lovers = np.zeros(n, dtype=bool)
    lovers[order[round(0.55 * n): round(0.55 * n) + max(1, round(0.15 * n))]] = True
    tilt = rng.normal(0.0, 0.3, n)  # some prefer autumn, some spring
    score = (
        common[None, :]
        - kids[:, None] * (0.9 * f["summer"] + 0.5 * f["june"])[None, :]
        + lovers[:, None] * (2.6 * f["holiday"] + 0.6 * f["adjacent"])[None, :]
        + tilt[:, None] * (f["autumn"].astype(float) - f["spring"])[None, :]
        + rng.normal(0.0, 0.5, (n, w))
    )

    loads = _target_loads(n, total_demand, rng)
    qualified = _qualifications(n, rng)
    holiday_index = {name: k for k, name in holidays.items()}
    big_holidays = [holiday_index[h] for h in ("Thanksgiving", "Christmas", "New Year's Day") if h in holiday_index]
    other_holidays = [k for k in holidays if k not in big_holidays]
    summer = np.flatnonzero(f["summer"])

    blocked = np.zeros((n, w), dtype=bool)
    goers = rng.permutation(n)[: round(0.25 * n)]
    for i in goers:
        picks = [conferences[int(rng.integers(len(conferences)))]] if rng.random() < 0.6 else conferences
        blocked[i, picks] = True
    for i in range(n):
        if kids[i] and summer.size > 1 and rng.random() < 0.65:
            start = int(rng.integers(summer.size - 1))
            blocked[i, summer[start: start + int(rng.integers(1, 3))]] = True
        if not lovers[i]:
            blocked[i, [k for k in big_holidays if rng.random() < 0.3]] = True
            blocked[i, [k for k in other_holidays if rng.random() < 0.08]] = True

    # Formats: ~5% never submit, ~15% binary, ~30% cardinal, the rest rank weeks.
    kinds = np.empty(n, dtype=object)
    shuffled = rng.permutation(n)
    counts = np.cumsum([round(0.05 * n), round(0.15 * n), round(0.30 * n)])
    kinds[shuffled[: counts[0]]] = None
    kinds[shuffled[counts[0]: counts[1]]] = PreferenceSubmission.Type.BINARY
    kinds[shuffled[counts[1]: counts[2]]] = PreferenceSubmission.Type.CARDINAL
    kinds[shuffled[counts[2]:]] = PreferenceSubmission.Type.ORDINAL
    respondents = [i for i in range(n) if kinds[i] is not None]
    via_api = set(rng.permutation(respondents)[: round(0.2 * len(respondents))].tolist())
    resubmit = set(rng.permutation(respondents)[: max(1, round(0.1 * len(respondents)))].tolist()) if respondents else set()

    plans = []
    for i in range(n):
        submissions = []
        if kinds[i] is not None:
            entries, extra = _report(str(kinds[i]), score[i], blocked[i], rng)
            method = PreferenceSubmission.Method.API if i in via_api else PreferenceSubmission.Method.WEB_FORM
            agent = API_AGENT if i in via_api else WEB_AGENTS[int(rng.integers(len(WEB_AGENTS)))]
            ip = "10.40.0.12" if i in via_api else f"10.20.{int(rng.integers(1, 255))}.{int(rng.integers(1, 255))}"
            first_at = int(rng.integers(1800, window_seconds // 2))
            v1 = SubmissionPlan(str(kinds[i]), entries, sorted(np.flatnonzero(blocked[i]).tolist()), method, first_at, agent, ip)
            submissions.append(v1)
            if i in resubmit:
                submissions.append(_revised(v1, score[i], extra, first_at + int(rng.integers(3600, window_seconds // 2 - 1800))))
        plans.append(FacultyPlan(rotations=qualified[i], target_load=int(loads[i]), submissions=submissions))
    time_off = demo_time_off(blocked=blocked, goers=goers, conferences=conferences, summer=summer, kids=kids, rng=rng)
    return [replace(plan, time_off=time_off.get(i, [])) for i, plan in enumerate(plans)]


def _report(kind: str, score: np.ndarray, blocked: np.ndarray, rng: np.random.Generator) -> tuple[list[dict[str, Any]], int]:
    """Entries of one report, plus the week (unlisted, unblocked, least liked) a later revision will block."""
    open_weeks = np.flatnonzero(~blocked)
    ranked = open_weeks[np.argsort(-score[open_weeks], kind="stable")]
    if kind == PreferenceSubmission.Type.ORDINAL:
        listed = ranked[: int(rng.integers(6, 16))]
        entries = [{"week": int(k), "rank": r} for r, k in enumerate(listed, start=1)]
    elif kind == PreferenceSubmission.Type.CARDINAL:
        count = int(rng.integers(10, 31))
        high = round(count * rng.uniform(0.45, 0.7))
        listed = np.concatenate([ranked[:high], ranked[len(ranked) - (count - high):]])
        z = (score - score.mean()) / score.std()
        values = np.clip(50 + 22 * z[listed], 0, 100)
        step = 5 if rng.random() < 0.5 else 1  # half the faculty think in round numbers
        entries = [{"week": int(k), "value": int(step * round(v / step))} for k, v in zip(listed, values, strict=True)]
    else:
        accept, reject = int(rng.integers(5, 11)), int(rng.integers(3, 9))
        listed = np.concatenate([ranked[:accept], ranked[len(ranked) - reject:]])
        entries = [{"week": int(k), "accept": bool(j < accept)} for j, k in enumerate(listed)]
    unlisted = np.setdiff1d(ranked, listed, assume_unique=True)
    extra = int(unlisted[np.argmin(score[unlisted])])
    return sorted(entries, key=lambda e: e["week"]), extra


def _revised(first: SubmissionPlan, score: np.ndarray, extra: int, offset: int) -> SubmissionPlan:
    """A second version: a newly known commitment blocks one more week; rankers also swap their top two."""
    entries = [dict(e) for e in first.entries]
    if first.preference_type == PreferenceSubmission.Type.ORDINAL and len(entries) > 1:
        for e in entries:
            e["rank"] = {1: 2, 2: 1}.get(e["rank"], e["rank"])
    return SubmissionPlan(
        first.preference_type, entries, sorted([*first.blocked, extra]), first.method, offset,
        first.user_agent, first.ip_address,
    )


# --- services -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoResult:
    created: bool
    summary: dict[str, Any]


def _demo_users():
    return get_user_model().objects.filter(email__iendswith=f"@{DEMO_EMAIL_DOMAIN}")


@transaction.atomic
def demo_year_reset(*, label: int) -> None:
    """Delete the demo year, its past year (label − 1, when only demo logins serve in it) and every demo login."""
    for past in AcademicYear.objects.filter(label=label - 1, roster__user__in=_demo_users()).distinct():
        if not past.roster.exclude(user__in=_demo_users()).exists():
            past.schedules.all().delete()
            past.delete()
    year = AcademicYear.objects.filter(label=label).first()
    if year is not None:
        try:
            year.schedules.all().delete()
            year.delete()
        except ProtectedError as exc:
            kinds = sorted({obj._meta.verbose_name_plural for obj in exc.protected_objects})
            raise ValueError(
                f"Academic year {label} has records kept for audit ({', '.join(kinds)}), so it cannot be reset; "
                "create the demo under another label (--label)."
            ) from None
    try:
        _demo_users().delete()
    except ProtectedError as exc:
        years = sorted({str(obj.schedule.year) for obj in exc.protected_objects if hasattr(obj, "schedule")})
        raise ValueError(
            "Demo faculty are assigned in schedules of other academic years "
            f"({', '.join(years) or 'unknown'}); reset those years first."
        ) from None


@transaction.atomic
def demo_year_create(
    *, label: int | None = None, seed: int = 7, faculty_count: int = 40, reset: bool = False, now: dt.datetime | None = None,
) -> DemoResult:
    """Create the demo year (idempotent: an existing year is left alone unless reset) and return its summary."""
    if not 1 <= faculty_count <= MAX_FACULTY:
        raise ValueError(f"--faculty must be between 1 and {MAX_FACULTY}, got {faculty_count}.")
    now = (now or timezone.now()).replace(microsecond=0)
    label = label if label is not None else default_label(timezone.localdate(now))
    if reset:
        demo_year_reset(label=label)
    existing = AcademicYear.objects.filter(label=label).first()
    if existing is not None:
        return DemoResult(created=False, summary=demo_year_summary(year=existing, seed=None))

    rng = np.random.default_rng(seed)
    first_monday = first_monday_of_july(label)
    year = AcademicYear.objects.create(
        label=label, first_monday=first_monday, num_weeks=NUM_WEEKS,
        preference_opens=now - dt.timedelta(days=7), preference_closes=now + dt.timedelta(days=21),
        status=AcademicYear.Status.COLLECTING,
    )
    holidays = holiday_weeks(first_monday, NUM_WEEKS)
    weeks = Week.objects.bulk_create(
        Week(year=year, index=k, start_date=first_monday + dt.timedelta(weeks=k),
             is_holiday=k in holidays, holiday_name=holidays.get(k, ""))
        for k in range(NUM_WEEKS)
    )
    rotations = {}
    for name, description, _, _ in ROTATIONS:
        rotations[name], _ = Rotation.objects.get_or_create(name=name, defaults={"description": description})
    demand = [
        CoverageDemand(week=wk, rotation=rotations[name], count=per_week if open_on_holidays or not wk.is_holiday else 0)
        for wk in weeks for name, _, per_week, open_on_holidays in ROTATIONS
    ]
    CoverageDemand.objects.bulk_create(demand)

    window_seconds = int((now - year.preference_opens).total_seconds())
    plans = demo_population(
        starts=[wk.start_date for wk in weeks], holidays=holidays, total_demand=sum(d.count for d in demand),
        n_faculty=faculty_count, window_seconds=window_seconds, rng=rng,
    )
    faculty = _demo_faculty(plans=plans, rotations=rotations)
    year.roster.set(faculty)
    for member, plan in zip(faculty, plans, strict=True):
        for away in plan.time_off:
            time_off_create(faculty=member, year=year, start=first_monday + dt.timedelta(days=away.start),
                            end=first_monday + dt.timedelta(days=away.end), kind=away.kind, note=away.note)
        for sub in plan.submissions:
            _, key = ENTRY_FIELDS[sub.preference_type]
            preferences_submit(
                faculty=member, year=year, preference_type=sub.preference_type,
                entries=[{"week": weeks[e["week"]], key: e[key]} for e in sub.entries],
                blocked_weeks=[weeks[k] for k in sub.blocked], method=sub.method, actor=member.user,
                ip_address=sub.ip_address, user_agent=sub.user_agent,
                now=year.preference_opens + dt.timedelta(seconds=sub.offset_seconds),
            )
    send_on_commit(demo_year_created, sender=AcademicYear, year_id=year.pk, seed=seed)
    return DemoResult(created=True, summary=demo_year_summary(year=year, seed=seed))


def _demo_faculty(*, plans: list[FacultyPlan], rotations: dict[str, Rotation]) -> list[Faculty]:
    """Logins and faculty rows for the cast, in bulk; people left by another demo year are reused as they are."""
    User = get_user_model()
    people = faculty_names(len(plans))
    usernames = [username for _, _, username in people]
    users = {u.username: u for u in User.objects.filter(username__in=[*usernames, COORDINATOR_USERNAME])}
    password = make_password(FACULTY_PASSWORD)  # one hash (the slow part) shared by every faculty login
    new_users = [
        User(username=username, first_name=first, last_name=last, email=f"{username}@{DEMO_EMAIL_DOMAIN}", password=password)
        for first, last, username in people if username not in users
    ]
    if COORDINATOR_USERNAME not in users:
        new_users.append(User(
            username=COORDINATOR_USERNAME, first_name="Programme", last_name="Coordinator",
            email=f"{COORDINATOR_USERNAME}@{DEMO_EMAIL_DOMAIN}", password=make_password(COORDINATOR_PASSWORD),
            is_staff=True, is_superuser=True,
        ))
    for user in User.objects.bulk_create(new_users):
        users[user.username] = user

    existing = {f.user_id: f for f in Faculty.objects.filter(user__in=[users[u] for u in usernames]).select_related("user")}
    missing = [(k, first, last, username) for k, (first, last, username) in enumerate(people) if users[username].pk not in existing]
    created = Faculty.objects.bulk_create(
        Faculty(user=users[username], external_id=f"DEMO-F{k + 1:03d}", display_name=f"Dr. {first} {last}",
                target_load=plans[k].target_load)
        for k, first, last, username in missing
    )
    Faculty.rotations.through.objects.bulk_create(
        Faculty.rotations.through(faculty_id=member.pk, rotation_id=rotations[name].pk)
        for member, (k, *_) in zip(created, missing, strict=True) for name in plans[k].rotations
    )
    by_user = {**existing, **{f.user_id: f for f in created}}
    return [by_user[users[username].pk] for username in usernames]


def demo_year_summary(*, year: AcademicYear, seed: int | None) -> dict[str, Any]:
    """Counts a coordinator would check after seeding, plus how to log in."""
    demo_faculty = Faculty.objects.filter(user__email__iendswith=f"@{DEMO_EMAIL_DOMAIN}").select_related("user").order_by("external_id")
    current = submissions_current(year=year)
    types = {t: sum(1 for sub in current.values() if sub.preference_type == t) for t in PreferenceSubmission.Type.values}
    demand = (
        CoverageDemand.objects.filter(week__year=year).values("rotation__name")
        .annotate(total=Sum("count"), weeks=Count("id")).order_by("rotation__name")
    )
    respondents = [f for f in demo_faculty if f.pk in current]
    return {
        "academic_year": year.label,
        "name": str(year),
        "seed": seed,
        "first_monday": year.first_monday.isoformat(),
        "weeks": year.weeks.count(),
        "status": year.status,
        "preference_window": {"opens": year.preference_opens.isoformat(), "closes": year.preference_closes.isoformat()},
        "holidays": [
            {"week": wk.index, "start": wk.start_date.isoformat(), "name": wk.holiday_name}
            for wk in year.weeks.filter(is_holiday=True).order_by("index")
        ],
        "rotations": [{"name": row["rotation__name"], "total_demand": row["total"]} for row in demand],
        "total_demand": sum(row["total"] for row in demand),
        "faculty": len(demo_faculty),
        "total_target_load": sum(f.target_load for f in demo_faculty),
        "submissions": {
            "respondents": len(respondents),
            "non_respondents": len(demo_faculty) - len(respondents),
            "by_type": types,
            "resubmitted": sum(1 for sub in current.values() if sub.version > 1),
            "stored_versions": PreferenceSubmission.objects.filter(year=year).count(),
        },
        "login_url": LOGIN_PATH,
        "admin_url": ADMIN_PATH,
        "logins": [
            {"role": "coordinator", "username": COORDINATOR_USERNAME, "password": COORDINATOR_PASSWORD},
            *({"role": "faculty", "username": f.user.username, "password": FACULTY_PASSWORD, "name": f.display_name}
              for f in respondents[:2]),
        ],
    }
