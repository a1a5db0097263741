from __future__ import annotations

import click
from flask.cli import with_appcontext

from erp_crm.auth import services
from erp_crm.auth.permissions import Role
from erp_crm.db import db, set_actor
from erp_crm.errors import ValidationError


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--full-name", default=None, help="ФИО (по умолчанию — имя входа)")
@click.option("--email", default=None)
@click.option("--password", default=None, help="Без этого параметра пароль будет запрошен")
@with_appcontext
def create_user_command(
    username: str, role: str, full_name: str | None, email: str | None, password: str | None
) -> None:
    """Create a user (for example the first admin)."""
    if password is None:
        password = click.prompt("Пароль", hide_input=True, confirmation_prompt=True)
    try:
        with db.job_session() as session:
            set_actor(session, None)
            user = services.create_user(
                session,
                services.UserData(
                    username=username,
                    full_name=full_name or username,
                    role=role,
                    email=email,
                    password=password,
                ),
                actor=None,
            )
            click.echo(f"Пользователь {user.username} ({user.role_label}) создан.")
    except ValidationError as err:
        for field, message in err.fields.items():
            click.echo(f"{field}: {message}", err=True)
        raise SystemExit(1) from err
