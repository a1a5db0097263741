"""The admin's user management and the audit trail of users."""

from sqlalchemy import select

from erp_crm.audit.models import AuditEntry
from erp_crm.auth.models import User


def test_admin_creates_a_user_who_can_then_log_in(app, client, make_user, db_session):
    make_user("admin", username="useradmin")
    client.login("useradmin")
    response = client.submit(
        "/admin/users/new",
        {
            "username": "Novikova",
            "full_name": "Новикова Анна",
            "role": "accountant",
            "password": "first-password-1",
            "is_active": "y",
        },
    )
    assert response.status_code == 302
    user = db_session.scalar(select(User).where(User.username == "novikova"))
    assert user.role == "accountant" and user.is_active
    newcomer = app.test_client()
    newcomer.login("novikova", "first-password-1")
    assert newcomer.get("/").status_code == 200


def test_user_form_shows_errors_in_place(client, make_user, count_rows):
    make_user("admin", username="useradmin2")
    client.login("useradmin2")
    before = count_rows("users")
    response = client.submit(
        "/admin/users/new",
        {"username": "useradmin2", "full_name": "Дубль", "role": "admin", "password": "short"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Такое имя входа уже занято" in page
    assert "не короче 8 символов" in page
    assert count_rows("users") == before


def test_role_change_ends_the_users_sessions_and_is_audited(app, client, make_user, db_session):
    admin = make_user("admin", username="useradmin3")
    seller = make_user("sales_manager", username="promoted")
    other = app.test_client()
    other.login("promoted")
    client.login("useradmin3")
    response = client.submit(
        f"/admin/users/{seller.id}/edit",
        {
            "username": "promoted",
            "full_name": seller.full_name,
            "role": "head_of_sales",
            "is_active": "y",
        },
    )
    assert response.status_code == 302
    assert other.get("/").status_code == 302
    entry = db_session.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity_type == "users", AuditEntry.entity_id == seller.id)
        .order_by(AuditEntry.id.desc())
    ).first()
    assert entry.action == "update"
    assert entry.changes == {"role": ["sales_manager", "head_of_sales"]}
    assert entry.actor_id == admin.id


def test_password_changes_are_audited_without_the_hash(client, make_user, db_session):
    make_user("admin", username="useradmin4")
    seller = make_user("sales_manager", username="pwchange")
    client.login("useradmin4")
    client.submit(
        f"/admin/users/{seller.id}/edit",
        {
            "username": "pwchange",
            "full_name": seller.full_name,
            "role": "sales_manager",
            "is_active": "y",
            "password": "another-password-9",
        },
    )
    entries = db_session.scalars(
        select(AuditEntry).where(
            AuditEntry.entity_type == "users", AuditEntry.entity_id == seller.id
        )
    ).all()
    assert entries[0].changes["password_hash"] == "***"
    assert entries[-1].changes["password_hash"] == ["***", "***"]
    assert all("argon2" not in str(e.changes) for e in entries)


def test_admin_cannot_deactivate_themselves(client, make_user, db_session):
    admin = make_user("admin", username="useradmin5")
    client.login("useradmin5")
    response = client.submit(f"/admin/users/{admin.id}/deactivate", token_page="/admin/users/")
    assert response.status_code in (302, 409)
    db_session.refresh(admin)
    assert admin.is_active
    assert client.get("/admin/users/").status_code == 200


def test_users_list_is_paginated(client, make_user, db_session, app):
    make_user("admin", username="useradmin6")
    for n in range(55):
        db_session.add(
            User(
                username=f"bulk{n:02d}",
                full_name=f"Массовый {n:02d}",
                role="analyst",
                password_hash="x",
            )
        )
    db_session.commit()
    client.login("useradmin6")
    first = client.get("/admin/users/").get_data(as_text=True)
    second = client.get("/admin/users/?page=2").get_data(as_text=True)
    assert "Всего: 56" in first
    assert "page=2" in first
    assert ("Массовый 54" in first) != ("Массовый 54" in second)


def test_create_user_cli_prompts_for_the_password(app, db_session, runner_factory):
    runner = runner_factory()
    result = runner.invoke(
        args=["create-user", "firstadmin", "--role", "admin"],
        input="super-secret-1\nsuper-secret-1\n",
    )
    assert result.exit_code == 0, result.output
    assert "создан" in result.output
    user = db_session.scalar(select(User).where(User.username == "firstadmin"))
    assert user.role == "admin"


def test_create_user_cli_rejects_a_short_password(app, db_session, runner_factory):
    result = runner_factory().invoke(
        args=["create-user", "weak", "--role", "admin", "--password", "123"]
    )
    assert result.exit_code == 1
    assert "не короче 8" in result.output


def test_a_users_email_without_a_domain_zone_is_refused(db_session):
    import pytest

    from erp_crm.auth import services as auth_services
    from erp_crm.errors import ValidationError

    data = auth_services.UserData(
        username="anna.expo",
        full_name="Анна",
        role="sales_manager",
        password="Correct-Horse-Battery-9",
        email="anna@expo",
    )
    with pytest.raises(ValidationError) as refused:
        auth_services.create_user(db_session, data, actor=None)
    assert "Неверный адрес" in refused.value.fields["email"]
    data.email = " Anna@Expo.RU "
    assert auth_services.create_user(db_session, data, actor=None).email == "anna@expo.ru"
