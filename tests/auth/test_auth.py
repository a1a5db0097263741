"""Login, lockout, CSRF, sessions that end, and the passwords at rest."""

import datetime as dt
import re
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm.auth import services
from erp_crm.auth.models import LoginAttempt, User
from erp_crm.config import Config, ConfigError
from erp_crm.db import set_actor
from erp_crm.errors import AuthenticationFailed
from tests.fixtures.app import PASSWORD


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


def _copy_cookies(source, target, names=("session", "remember_token")) -> None:
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, f"no {name} cookie"
        target.set_cookie(name, cookie.value)


def _login_remembered(client, username):
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "remember": "y",
            "csrf_token": client.csrf_token(),
        },
    )
    assert response.status_code == 302


def test_the_cookies_of_a_logged_out_session_no_longer_work(app, client, make_user):
    make_user("sales_manager", username="replay")
    _login_remembered(client, "replay")
    thief, remembered = app.test_client(), app.test_client()
    _copy_cookies(client, thief)
    _copy_cookies(client, remembered, names=("remember_token",))
    assert thief.get("/").status_code == 200  # the copies work while the session lives
    assert client.submit("/logout").status_code == 302

    for replay in (thief, remembered):
        response = replay.get("/")
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_logout_ends_only_this_browsers_session(app, make_user):
    make_user("analyst", username="twodev")
    laptop, phone = app.test_client(), app.test_client()
    laptop.login("twodev")
    phone.login("twodev")
    laptop.submit("/logout")
    assert laptop.get("/").status_code == 302
    assert phone.get("/").status_code == 200


def test_logout_everywhere_ends_every_session_of_the_user(app, make_user):
    make_user("analyst", username="everywhere")
    other = make_user("analyst", username="bystander")
    laptop, phone, remembered = app.test_client(), app.test_client(), app.test_client()
    laptop.login("everywhere")
    _login_remembered(phone, "everywhere")
    _copy_cookies(phone, remembered, names=("remember_token",))
    neighbour = app.test_client()
    neighbour.login(other.username)
    page = laptop.get("/").get_data(as_text=True)
    assert "Выйти на всех устройствах" in page

    response = laptop.submit("/logout/everywhere")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    for device in (laptop, phone, remembered):
        answer = device.get("/")
        assert answer.status_code == 302
        assert "/login" in answer.headers["Location"]
    assert neighbour.get("/").status_code == 200  # another user's session goes on
    laptop.login("everywhere")  # a new login works again
    assert laptop.get("/").status_code == 200


def test_logout_everywhere_needs_the_csrf_token(app, client, make_user):
    make_user("analyst", username="csrfout")
    client.login("csrfout")
    assert client.post("/logout/everywhere").status_code == 400
    assert client.get("/").status_code == 200


# --- the lockout under concurrent attempts: real connections, real commits -------------------

RACE_POLICY = services.LoginPolicy(
    max_failures=5, lockout=dt.timedelta(minutes=15), max_failures_per_ip=8
)


def _parallel_failures(engine, attempts: list[tuple[str, str]]) -> list:
    """Every (name, address) tries a wrong password at the same moment, each in its own
    connection, and commits its failure as the login page does."""
    barrier = threading.Barrier(len(attempts))
    results: list = [None] * len(attempts)

    def run(index: int) -> None:
        name, ip = attempts[index]
        with Session(engine, expire_on_commit=False) as session:
            set_actor(session, None)
            try:
                barrier.wait(timeout=10)
                services.authenticate(session, name, "wrong-password", ip=ip, policy=RACE_POLICY)
            except AuthenticationFailed as err:
                session.commit()
                results[index] = err.message
            except Exception as err:  # noqa: BLE001  (reported by the assertions)
                session.rollback()
                results[index] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _failures(engine, **where) -> int:
    with Session(engine) as session:
        query = (
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.success.is_(False))
        )
        for column, value in where.items():
            query = query.where(getattr(LoginAttempt, column) == value)
        return session.scalar(query)


def test_parallel_failures_of_one_name_never_pass_its_limit(race_engine):
    with Session(race_engine) as session:
        set_actor(session, None)
        session.add(
            User(
                username="target",
                full_name="Цель",
                role="sales_manager",
                password_hash=services.hash_password(PASSWORD),
            )
        )
        session.commit()
    results = _parallel_failures(race_engine, [("target", f"10.0.1.{i}") for i in range(12)])
    assert all(isinstance(r, str) for r in results), results
    assert _failures(race_engine, username="target") == RACE_POLICY.max_failures
    assert sum("Слишком много" in r for r in results) == 12 - RACE_POLICY.max_failures


def test_parallel_failures_from_one_address_never_pass_its_limit(race_engine):
    results = _parallel_failures(race_engine, [(f"guess{i}", "10.0.2.1") for i in range(14)])
    assert all(isinstance(r, str) for r in results), results
    assert _failures(race_engine, ip="10.0.2.1") == RACE_POLICY.max_failures_per_ip
    assert sum("Слишком много" in r for r in results) == 14 - RACE_POLICY.max_failures_per_ip


def test_ended_and_outlived_login_sessions_are_pruned_and_an_old_one_no_longer_works(
    app, db_session, make_user
):
    import datetime as dt

    from sqlalchemy import func, select, update

    from erp_crm.auth import services as auth_services
    from erp_crm.auth.models import LoginSession
    from erp_crm.db import utcnow

    user = make_user("analyst", username="pruned")
    old, ended, live = app.test_client(), app.test_client(), app.test_client()
    for device in (old, ended, live):
        device.login("pruned")
    ended.submit("/logout")
    rows = db_session.scalars(select(LoginSession).order_by(LoginSession.id)).all()
    assert len(rows) == 3 and rows[1].ended_at is not None
    now = utcnow()
    db_session.execute(  # the first login is 31 days old; the logout was two days ago
        update(LoginSession)
        .where(LoginSession.id == rows[0].id)
        .values(created_at=now - dt.timedelta(days=31))
    )
    db_session.execute(
        update(LoginSession)
        .where(LoginSession.id == rows[1].id)
        .values(ended_at=now - dt.timedelta(days=2))
    )
    db_session.commit()
    assert old.get("/").status_code == 302  # outlived: back to the login page
    assert live.get("/").status_code == 200
    assert auth_services.prune_login_sessions(db_session) == 2
    assert db_session.scalar(select(func.count()).select_from(LoginSession)) == 1
    assert db_session.scalar(select(LoginSession.user_id)) == user.id
