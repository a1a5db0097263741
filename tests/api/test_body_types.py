"""Every field of every JSON POST/PATCH/PUT body of the OpenAPI document, sent with a wrong type:
a 4xx answer, never a 500 (the generic check of api/validation.py)."""

from __future__ import annotations

import re

import pytest

from erp_crm import create_app
from erp_crm.api.openapi import build_document
from erp_crm.config import Config

_WRONG = {
    "string": [5, ["x"], {"a": 1}, True],
    "integer": ["5", 2.5, [5], True, {"a": 1}],
    "number": [[1], {"a": 1}, True],
    "boolean": ["true", 1, [True]],
    "array": [5, "x", {"a": 1}, True],
    "object": [5, "x", [1], True],
}


def _cases() -> list:
    app = create_app(Config(DATABASE_URL="sqlite://", SECRET_KEY="k" * 48, TESTING=True))
    with app.app_context():
        document = build_document()
    cases = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if method not in ("post", "patch", "put") or not schema:
                continue
            for name, field in schema.get("properties", {}).items():
                kinds = field.get("type", [])
                kinds = kinds if isinstance(kinds, list) else [kinds]
                wrong = {repr(v): v for k in kinds for v in _WRONG.get(k, [])}
                for value in wrong.values():
                    if any(_fits(value, k) for k in kinds):
                        continue
                    cases.append(
                        pytest.param(
                            method, path, name, value, id=f"{method} {path} {name}={value!r}"
                        )
                    )
                if "null" not in kinds:
                    cases.append(
                        pytest.param(method, path, name, None, id=f"{method} {path} {name}=None")
                    )
    return cases


def _fits(value, kind: str) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    return kind == "object" and isinstance(value, dict)


CASES = _cases()

# Each case logs a new admin in: the password's argon2 hash and its check are computed once.
pytestmark = pytest.mark.usefixtures("memo_password_hashing")


def test_the_document_has_bodies_to_check():
    assert len(CASES) > 200


@pytest.fixture
def admin_headers(make_user, api_token):
    make_user("admin", username="typesadmin")
    return api_token("typesadmin")


@pytest.mark.parametrize(("method", "path", "name", "value"), CASES)
def test_a_wrong_type_is_a_4xx_never_a_500(client, admin_headers, method, path, name, value):
    url = re.sub(r"\{\w+\}", "1", path)
    response = client.open(url, method=method.upper(), json={name: value}, headers=admin_headers)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["error"]["message"]
    if response.status_code == 422:
        assert name in (body["error"].get("fields") or {}), body


def test_member_ids_of_a_wrong_type_is_a_russian_422_naming_the_field(client, admin_headers):
    body = {
        "name": "Выставка",
        "code": "EXPO",
        "opening_date": "2027-03-16",
        "closing_date": "2027-03-18",
        "member_ids": 5,
    }
    response = client.post("/api/v1/projects", json=body, headers=admin_headers)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert "member_ids" in error["message"]
    assert error["fields"]["member_ids"] == "«member_ids»: ожидается список целых чисел."
