"""The OpenAPI schema is generated, valid and warning-free, and the docs pages load nothing from the internet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse
from drf_spectacular.validation import validate_schema

STRATEGYPROOF = "/api/v1/game-theory/preferences/strategyproof"


@pytest.fixture
def schema(client) -> dict:
    response = client.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    return response.json()


def _component(schema: dict, ref: str) -> dict:
    return schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


@pytest.mark.django_db
def test_schema_endpoint_serves_valid_openapi(schema):
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    for path in ["/api/v1/years/", "/api/v1/years/{label}/", "/api/v1/weeks/", "/api/v1/rotations/",
                 "/api/v1/faculty/", "/api/v1/submissions/", "/api/v1/submissions/{id}/",
                 "/api/v1/game-theory/preferences/validate"]:
        assert path in schema["paths"], path


@pytest.mark.django_db
def test_schema_documents_the_strategyproof_payload_and_answer(schema):
    operation = schema["paths"][STRATEGYPROOF]["post"]
    assert list(operation["requestBody"]["content"]) == ["application/json"]
    request = _component(schema, operation["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    assert {"academic_year", "faculty", "preference_type", "ordinal_rankings", "cardinal_valuations",
            "binary_accepts", "blocked_weeks"} <= request["properties"].keys()
    assert set(request["required"]) == {"academic_year", "preference_type"}
    rank_entry = _component(schema, request["properties"]["ordinal_rankings"]["items"]["$ref"])
    assert (rank_entry["properties"]["rank"]["type"], rank_entry["properties"]["rank"]["minimum"]) == ("integer", 1)
    assert {option["type"] for option in rank_entry["properties"]["week"]["oneOf"]} == {"string", "integer"}
    value_entry = _component(schema, request["properties"]["cardinal_valuations"]["items"]["$ref"])
    assert (value_entry["properties"]["value"]["minimum"], value_entry["properties"]["value"]["maximum"]) == (0, 100)

    assert {"201", "400", "401", "403"} <= operation["responses"].keys()
    answer = _component(schema, operation["responses"]["201"]["content"]["application/json"]["schema"]["$ref"])
    assert {"is_strategyproof", "mechanism_note", "version", "is_current", "ordinal_rankings"} <= answer["properties"].keys()
    assert any(scheme in {"tokenAuth", "cookieAuth"} for entry in operation["security"] for scheme in entry)


@pytest.mark.django_db
def test_spectacular_command_validates_without_warnings(tmp_path: Path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert STRATEGYPROOF in out.read_text()


def _local_assets(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)


@pytest.mark.parametrize(
    "page",
    ["api-docs", "api-redoc"],
)
def test_docs_page_loads_only_local_static_assets(client, page):
    response = client.get(reverse(page))
    assert response.status_code == 200
    html = response.content.decode()
    for marker in ("cdn", "jsdelivr", "unpkg", "googleapis", "http://", "https://"):
        assert marker not in html.lower(), marker
    assets = _local_assets(html)
    assert assets, "the page references no assets at all"
    for url in assets:
        assert url.startswith(settings.STATIC_URL), f"{url} is not served from {settings.STATIC_URL}"
        assert finders.find(url.split("?", 1)[0].removeprefix(settings.STATIC_URL)) is not None, f"{url} is not a local file"


@pytest.mark.django_db
def test_request_bodies_that_refuse_unknown_fields_say_so(schema):
    """Unknown fields are a 400 (StrictFieldsMixin); without additionalProperties: false the schema allowed them, and
    schemathesis counted each refusal as a valid request rejected."""
    components = schema["components"]["schemas"]
    for name in ("PreferencesInRequest", "RankInRequest", "RunStartRequest", "SwapRequestCreateRequest", "PublishRequest"):
        assert components[name]["additionalProperties"] is False, name
