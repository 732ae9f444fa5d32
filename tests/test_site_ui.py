"""The site's shared UI: one stylesheet on colour tokens, the stat-card include, navigation from `section`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
CSS = ROOT / "static" / "css"
TEMPLATES = ROOT / "templates"


def test_hex_colours_appear_only_in_colour_token_definitions():
    for path in CSS.glob("*.css"):
        css = re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S)
        for line in css.splitlines():
            without_tokens = re.sub(r"--[\w-]+:\s*#[0-9a-fA-F]{3,6}\b", "", line)
            assert not re.search(r"#[0-9a-fA-F]{3,6}\b", without_tokens), f"{path.name}: {line.strip()}"


def _outside_at_rules(css: str) -> str:
    """The stylesheet without its @media / @supports blocks, however deeply nested."""
    kept, depth = [], 0
    for token in re.split(r"(@(?:media|supports)[^{]*\{|[{}])", css):
        if token.startswith("@") or (depth and token == "{"):
            depth += 1
        elif depth and token == "}":
            depth -= 1
        elif not depth:
            kept.append(token)
    return "".join(kept)


def _selectors(path: Path) -> list[str]:
    """Every selector of a stylesheet outside @media and @supports blocks (responsive overrides repeat selectors)."""
    css = _outside_at_rules(re.sub(r"/\*.*?\*/", "", path.read_text(), flags=re.S))
    return [" ".join(part.split()) for group in re.findall(r"([^{}]+)\{", css) for part in group.split(",")]


def test_no_rule_is_defined_twice():
    everywhere = [s for path in sorted(CSS.glob("*.css")) for s in _selectors(path)]
    assert len(everywhere) > 100
    repeated = {s for s in everywhere if everywhere.count(s) > 1}
    # token scopes, and select's narrower default width after the shared input rule
    assert repeated <= {":root", ".gate", "select"}


def test_only_the_base_page_and_the_admin_confirmation_link_stylesheets():
    linking = {p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html") if 'rel="stylesheet"' in p.read_text()}
    assert linking == {"base.html", "admin/stability/publish_confirmation.html"}


def test_a_stat_card_shows_value_label_and_its_options():
    html = render_to_string("_stat_card.html", {"label": "faculty submitted", "value": 3, "out_of": 8, "bar_percent": 38,
                                                "hint": "so far", "tone": "warn"})
    assert '<div class="stat stat-warn"><span class="value">3/8</span><span class="label">faculty submitted</span>' in html
    assert '<span class="hint">so far</span>' in html
    assert 'aria-valuenow="38"' in html
    plain = render_to_string("_stat_card.html", {"label": "still missing", "value": 0})
    assert plain.strip().endswith('<div class="stat"><span class="value">0</span><span class="label">still missing</span></div>')


def _current(html: str) -> list[str]:
    return re.findall(r'<a href="[^"]*" aria-current="page">([^<]+)</a>', html)


@pytest.mark.django_db
@pytest.mark.parametrize(("url_name", "link"), [
    ("coordinator_year", "Year overview"), ("allocation_home", "Allocation"), ("stability_year", "Stability"),
])
def test_a_coordinator_page_highlights_its_section(client_as, coordinator, year, url_name, link):
    html = client_as(coordinator).get(reverse(url_name, args=[year.label])).content.decode()
    assert _current(html) == [link]


@pytest.mark.django_db
def test_my_preferences_highlights_its_section(client_as, faculty, year):
    assert _current(client_as(faculty.user).get(reverse("my_preferences")).content.decode()) == ["My preferences"]


@pytest.mark.django_db
def test_a_page_without_a_section_highlights_nothing(client_as, coordinator):
    response = client_as(coordinator).get("/no-such-page/")
    assert response.status_code == 404
    assert "<nav>" in response.content.decode() and _current(response.content.decode()) == []
