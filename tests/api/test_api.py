"""The JSON API: tokens, error bodies, the OpenAPI document, organizations."""

import re

from erp_crm.api import OPERATIONS
from erp_crm.api.openapi import build_document
from tests.fixtures.organizations import VALID


def test_token_then_bearer_request(client, make_user, api_token):
    make_user("accountant", username="apiuser")
    headers = api_token("apiuser")
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 200
    assert response.get_json()["role"] == "accountant"


def test_requests_without_or_with_a_bad_token_get_401_json(client):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/organizations", headers=headers)
        assert response.status_code == 401
        assert "message" in response.get_json()["error"]


def test_session_cookie_does_not_authenticate_the_api(client, make_user):
    make_user("admin", username="cookieonly")
    client.login("cookieonly")
    response = client.post("/api/v1/organizations", json=VALID)
    assert response.status_code == 401


def test_tokens_of_a_deactivated_user_stop_working(client, make_user, api_token, db_session):
    from erp_crm.auth import services

    user = make_user("analyst", username="apigone")
    headers = api_token("apigone")
    services.set_active(db_session, user, False, actor=make_user("admin"))
    db_session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_create_organization_via_api_with_field_errors(client, make_user, api_token, count_rows):
    make_user("admin", username="apiadmin")
    headers = api_token("apiadmin")
    response = client.post(
        "/api/v1/organizations", json={**VALID, "inn": "1234567890"}, headers=headers
    )
    assert response.status_code == 422
    body = response.get_json()["error"]
    assert "Неверный ИНН" in body["fields"]["inn"]
    assert count_rows("organizations") == 0

    response = client.post("/api/v1/organizations", json=VALID, headers=headers)
    assert response.status_code == 201
    created = response.get_json()
    assert created["inn"] == "7707083893" and created["is_active"] is True

    listed = client.get("/api/v1/organizations", headers=headers).get_json()["items"]
    assert [o["id"] for o in listed] == [created["id"]]

    response = client.patch(
        f"/api/v1/organizations/{created['id']}", json={"kpp": "773601002"}, headers=headers
    )
    assert response.status_code == 200 and response.get_json()["kpp"] == "773601002"


def test_non_json_body_is_a_400(client, make_user, api_token):
    make_user("admin", username="apiadmin2")
    headers = api_token("apiadmin2")
    response = client.post("/api/v1/organizations", data="inn=1", headers=headers)
    assert response.status_code == 400
    assert "JSON" in response.get_json()["error"]["message"]


def test_duplicate_inn_is_reported_as_a_field_error(client, make_user, api_token):
    make_user("admin", username="apiadmin3")
    headers = api_token("apiadmin3")
    assert client.post("/api/v1/organizations", json=VALID, headers=headers).status_code == 201
    response = client.post("/api/v1/organizations", json=VALID, headers=headers)
    assert response.status_code == 422
    assert "уже есть" in response.get_json()["error"]["fields"]["inn"]


def test_unknown_api_path_and_missing_record_answer_json_404(client, make_user, api_token):
    make_user("admin", username="apiadmin4")
    headers = api_token("apiadmin4")
    for path in ("/api/v1/nothing-here", "/api/v1/organizations/999999"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404
        assert response.get_json()["error"]["message"]


def test_forbidden_is_a_403_json(client, make_user, api_token):
    make_user("sales_manager", username="apiseller")
    response = client.post("/api/v1/organizations", json=VALID, headers=api_token("apiseller"))
    assert response.status_code == 403
    assert response.get_json()["error"]["message"] == "Недостаточно прав для этого действия."


def test_openapi_document_lists_every_api_route(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        # <int:id>, <any(a, b):action>, <name> → {id}, {action}, {name}
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} missing from OpenAPI"
    assert len(documented) == len(OPERATIONS)


def test_openapi_document_marks_public_operations_and_error_schema():
    document = build_document()
    token_op = document["paths"]["/api/v1/auth/token"]["post"]
    assert token_op["security"] == []
    assert "422" in document["paths"]["/api/v1/organizations"]["post"]["responses"]
