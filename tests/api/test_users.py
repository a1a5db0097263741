"""Users in the API (admin): create, read, change the role and the activity, reset a password —
the /admin/users services; never a password hash in an answer; a Russian 422 for a bad field;
403 for anyone but the admin."""

from __future__ import annotations

import pytest

from tests.fixtures.app import PASSWORD


@pytest.fixture
def admin(make_user, api_token):
    make_user("admin", username="usersadmin")
    return api_token("usersadmin")


def _create(client, admin, **body):
    body = {"username": "Anna.Petrova", "full_name": "Петрова Анна", "role": "sales_manager",
            "email": "Anna@Expo.ru", "password": "s3cret-pass", **body}  # fmt: skip
    return client.post("/api/v1/users", json=body, headers=admin)


def test_a_user_is_created_and_read_without_a_password_hash(client, admin):
    response = _create(client, admin)
    assert response.status_code == 201, response.get_json()
    user = response.get_json()
    assert user["username"] == "anna.petrova" and user["email"] == "anna@expo.ru"
    assert user["role"] == "sales_manager" and user["is_active"] is True
    assert not {"password", "password_hash"} & set(user)
    shown = client.get(f"/api/v1/users/{user['id']}", headers=admin).get_json()
    assert shown == user
    listed = client.get("/api/v1/users?role=sales_manager", headers=admin).get_json()["items"]
    assert [u["username"] for u in listed] == ["anna.petrova"]
    assert all("password_hash" not in u for u in listed)
    # the new user can log in with the password set
    token = client.post(
        "/api/v1/auth/token", json={"username": "anna.petrova", "password": "s3cret-pass"}
    )
    assert token.status_code == 200


def test_bad_fields_are_named_in_russian_and_nothing_is_created(client, admin, count_rows):
    before = count_rows("users")
    response = _create(client, admin, email="anna@expo", role="boss", password="short")
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert fields["email"] == "Неверный адрес электронной почты (пример: anna@expo.ru)."
    assert fields["role"] == "Выберите роль из списка."
    assert fields["password"].startswith("Пароль должен быть не короче")
    assert count_rows("users") == before


def test_a_role_change_or_deactivation_ends_the_users_tokens(client, admin, api_token):
    user = _create(client, admin, password=PASSWORD).get_json()
    own = api_token("anna.petrova")
    assert client.get("/api/v1/me", headers=own).status_code == 200
    response = client.patch(
        f"/api/v1/users/{user['id']}", json={"role": "head_of_sales"}, headers=admin
    )
    assert response.status_code == 200
    assert response.get_json()["role"] == "head_of_sales"
    assert response.get_json()["full_name"] == "Петрова Анна"
    assert client.get("/api/v1/me", headers=own).status_code == 401
    response = client.patch(f"/api/v1/users/{user['id']}", json={"is_active": False}, headers=admin)
    assert response.status_code == 200 and response.get_json()["is_active"] is False


def test_the_admin_cannot_switch_themselves_off(client, admin):
    me = client.get("/api/v1/me", headers=admin).get_json()
    response = client.patch(f"/api/v1/users/{me['id']}", json={"is_active": False}, headers=admin)
    assert response.status_code == 422
    assert "Нельзя снять с себя роль" in response.get_json()["error"]["fields"]["role"]
    assert client.get(f"/api/v1/users/{me['id']}", headers=admin).get_json()["is_active"] is True


def test_a_password_reset_lets_the_new_one_in_and_refuses_an_empty_one(client, admin):
    user = _create(client, admin).get_json()
    url = f"/api/v1/users/{user['id']}/password"
    response = client.post(url, json={"password": ""}, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["password"] == "Укажите новый пароль."
    response = client.post(url, json={"password": "new-pass-2027"}, headers=admin)
    assert response.status_code == 200 and "password_hash" not in response.get_json()
    old = client.post(
        "/api/v1/auth/token", json={"username": "anna.petrova", "password": "s3cret-pass"}
    )
    assert old.status_code == 401
    new = client.post(
        "/api/v1/auth/token", json={"username": "anna.petrova", "password": "new-pass-2027"}
    )
    assert new.status_code == 200


@pytest.mark.parametrize("role", ["head_of_sales", "accountant", "project_manager"])
def test_only_the_admin_manages_users(client, make_user, api_token, role):
    make_user(role, username=f"not{role}")
    headers = api_token(f"not{role}")
    assert client.get("/api/v1/users", headers=headers).status_code == 403
    assert _create(client, headers).status_code == 403
