"""Login, lockout, CSRF, sessions that end, and the passwords at rest."""

import re

import pytest
from sqlalchemy import select

from erp_crm.auth import services
from erp_crm.auth.models import LoginAttempt, User
from erp_crm.config import Config, ConfigError
from tests.conftest import PASSWORD


def _login(client, username, password):
    token = client.csrf_token()
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )


def test_wrong_password_is_refused_with_a_russian_message(client, make_user):
    make_user("sales_manager", username="ivanova")
    response = _login(client, "ivanova", "not-the-password")
    assert response.status_code == 200
    assert "Неверное имя пользователя или пароль" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still anonymous


def test_unknown_user_gets_the_same_message(client):
    response = _login(client, "nobody", "whatever-123")
    assert "Неверное имя пользователя или пароль" in response.get_data(as_text=True)


def test_five_failures_lock_the_account_even_for_the_right_password(client, make_user, db_session):
    make_user("sales_manager", username="petrov")
    for _ in range(5):
        _login(client, "petrov", "wrong-password")
    response = _login(client, "petrov", PASSWORD)
    assert response.status_code == 200
    assert "Слишком много неудачных попыток" in response.get_data(as_text=True)
    failures = db_session.scalars(
        select(LoginAttempt).where(
            LoginAttempt.username == "petrov", LoginAttempt.success.is_(False)
        )
    ).all()
    assert len(failures) == 5


def test_a_successful_login_resets_the_failure_count(client, make_user):
    make_user("sales_manager", username="sidorov")
    for _ in range(4):
        _login(client, "sidorov", "wrong-password")
    assert _login(client, "sidorov", PASSWORD).status_code == 302
    client.submit("/logout")
    for _ in range(4):
        _login(client, "sidorov", "wrong-password")
    assert _login(client, "sidorov", PASSWORD).status_code == 302


def test_api_token_endpoint_shares_the_lockout(client, make_user):
    make_user("accountant", username="buh")
    for _ in range(5):
        r = client.post("/api/v1/auth/token", json={"username": "buh", "password": "bad-password"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json={"username": "buh", "password": PASSWORD})
    assert r.status_code == 401
    assert "Слишком много" in r.get_json()["error"]["message"]


def test_post_without_csrf_token_is_rejected(client, make_user, count_rows):
    make_user("admin", username="root1")
    client.login("root1")
    before = count_rows("users")
    response = client.post(
        "/admin/users/new",
        data={
            "username": "intruder",
            "full_name": "X",
            "role": "admin",
            "password": "long-password-1",
        },
    )
    assert response.status_code == 400
    assert "Форма устарела" in response.get_data(as_text=True)
    assert count_rows("users") == before


def test_login_form_without_csrf_token_is_rejected(client, make_user):
    make_user("admin", username="root2")
    response = client.post("/login", data={"username": "root2", "password": PASSWORD})
    assert response.status_code == 400


def test_deactivated_users_live_session_stops_working(app, client, make_user, db_session):
    admin = make_user("admin", username="chief")
    victim = make_user("sales_manager", username="leaver")
    other = app.test_client()
    other.login("leaver")
    assert other.get("/").status_code == 200

    client.login("chief")
    response = client.submit(f"/admin/users/{victim.id}/deactivate")
    assert response.status_code == 302

    response = other.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert admin.is_active


def test_deactivated_user_cannot_log_in_again(client, make_user, db_session):
    user = make_user("sales_manager", username="gone")
    services.set_active(db_session, user, False, actor=make_user("admin"))
    db_session.commit()
    page = _login(client, "gone", PASSWORD).get_data(as_text=True)
    assert "Учётная запись отключена, обратитесь к администратору" in page
    assert "Неверное имя" not in page
    assert client.get("/").status_code == 302  # still anonymous
    r = client.post("/api/v1/auth/token", json={"username": "gone", "password": PASSWORD})
    assert r.status_code == 401
    assert "Учётная запись отключена" in r.get_json()["error"]["message"]


def test_a_deactivated_account_is_not_told_without_its_password(client, make_user, db_session):
    user = make_user("sales_manager", username="gone2")
    services.set_active(db_session, user, False, actor=make_user("admin"))
    db_session.commit()
    page = _login(client, "gone2", "not-the-password").get_data(as_text=True)
    assert "Неверное имя пользователя или пароль" in page
    assert "отключена" not in page


def test_password_change_ends_other_sessions(app, client, make_user):
    make_user("analyst", username="olga")
    first, second = app.test_client(), app.test_client()
    first.login("olga")
    second.login("olga")
    response = first.submit(
        "/account/password", {"current_password": PASSWORD, "new_password": "brand-new-pass-1"}
    )
    assert response.status_code == 302
    assert first.get("/").status_code == 200
    assert second.get("/").status_code == 302


def test_session_is_cleared_on_login(client, make_user):
    make_user("sales_manager", username="fixation")
    client.get("/login")
    with client.session_transaction() as sess:
        sess["planted"] = "attacker value"
    _login(client, "fixation", PASSWORD)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess.get("_user_id")


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/steal",
        "/%09/evil.example/x",  # the browser drops the tab: //evil.example/x
        "/%0a/evil.example/x",
        "/%0d/evil.example/x",
        "/%00/evil.example/x",
        "/%5c/evil.example/x",  # a backslash reads as a slash
        "/%5cevil.example",
        "%5c%5cevil.example",
        "https://evil.example/x",
        "https:/evil.example",
        "javascript:alert(1)",
        "%09//evil.example",
        "/%e2%80%8b/evil.example",  # a zero-width space
        "///evil.example",
        "evil.example",
        "",
    ],
)
def test_login_redirects_only_to_local_paths(client, make_user, target):
    make_user("sales_manager", username="redir")
    token = client.csrf_token()
    response = client.post(
        f"/login?next={target}",
        data={"username": "redir", "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_login_follows_a_path_of_this_site(client, make_user):
    make_user("sales_manager", username="redir2")
    token = client.csrf_token()
    response = client.post(
        "/login?next=/clients/%3Fq%3D%D0%90%D0%B1%20%D0%B2",
        data={"username": "redir2", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/clients/?q=%D0%90%D0%B1%20%D0%B2"


def test_passwords_are_stored_as_argon2id(make_user, db_session):
    user = make_user("sales_manager", username="hashcheck")
    stored = db_session.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    params = dict(re.findall(r"([mtp])=(\d+)", stored))
    assert int(params["m"]) >= 19456 and int(params["t"]) >= 2  # OWASP's argon2id minimum


def test_session_cookie_is_httponly_and_samesite(client, make_user):
    make_user("sales_manager", username="cookie")
    response = _login(client, "cookie", PASSWORD)
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_refuses_to_start_without_a_real_secret_key(monkeypatch, tmp_path):
    monkeypatch.setenv("ERP_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        Config(INSTANCE_PATH=tmp_path)
    monkeypatch.setenv("SECRET_KEY", "change-me")
    with pytest.raises(ConfigError):
        Config(INSTANCE_PATH=tmp_path)
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    config = Config(INSTANCE_PATH=tmp_path)
    assert config.SESSION_COOKIE_SECURE is True


def test_logout_needs_post_and_ends_the_session(client, make_user):
    make_user("sales_manager", username="bye")
    client.login("bye")
    assert client.get("/logout").status_code == 405
    client.submit("/logout")
    assert client.get("/").status_code == 302
