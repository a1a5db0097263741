"""`flask demo-data`: a believable demo in an empty database, built through the services."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm.activities.demo import load_demo_activities
from erp_crm.auth import services as auth_services
from erp_crm.auth.models import User
from erp_crm.auth.permissions import ROLE_LABELS, Role
from erp_crm.budgets.demo import seed_demo_budgets
from erp_crm.clients.demo import load_demo_clients
from erp_crm.db import db, set_actor
from erp_crm.deals.demo import load_demo_deals
from erp_crm.deals.leads.demo import load_demo_leads
from erp_crm.mailing.demo import load_demo_mailing
from erp_crm.organizations import services as org_services
from erp_crm.projects.demo import load_demo_projects
from erp_crm.reports.demo import sync_demo_ledger
from erp_crm.sales_documents.demo import load_demo_documents

# (username, full name, role). Demo passwords are "<username>-demo-2026": printed, not for
# production.
DEMO_USERS = [
    ("admin", "Соколова Ирина Петровна", Role.ADMIN),
    ("head", "Волков Андрей Сергеевич", Role.HEAD_OF_SALES),
    ("manager1", "Кузнецова Мария Алексеевна", Role.SALES_MANAGER),
    ("manager2", "Орлов Дмитрий Игоревич", Role.SALES_MANAGER),
    ("manager3", "Зайцева Елена Викторовна", Role.SALES_MANAGER),
    ("analyst", "Белова Ольга Николаевна", Role.ANALYST),
    ("accountant", "Морозова Татьяна Юрьевна", Role.ACCOUNTANT),
    ("project", "Лебедев Павел Андреевич", Role.PROJECT_MANAGER),
]

DEMO_ORGANIZATION = org_services.OrganizationData(
    short_name="ООО «Экспо-Волга Сервис»",
    full_name="Общество с ограниченной ответственностью «Экспо-Волга Сервис»",
    inn="6315001231",
    kpp="631501001",
    ogrn="1026300123453",
    legal_address="443110, г. Самара, ул. Мичурина, д. 23А, офис 301",
    postal_address="443110, г. Самара, ул. Мичурина, д. 23А",
    phone="+7 846 207-11-44",
    email="sales@expo-volga-service.example",
    bank_name="Поволжский банк ПАО Сбербанк",
    bik="043601607",
    settlement_account="40702810154400012345",
    correspondent_account="30101810200000000607",
    director_position="Генеральный директор",
    director_name="Никитин Сергей Владимирович",
    chief_accountant_name="Морозова Татьяна Юрьевна",
    vat_regime="general",
    vat_rate="auto",
)


def demo_password(username: str) -> str:
    return f"{username}-demo-2026"


def load_demo(session: Session) -> list[tuple[str, str, str]]:
    """Fill an empty database; returns (username, password, role label) of the demo users."""
    set_actor(session, None)
    logins = []
    admin: User | None = None
    users: dict[str, User] = {}
    for username, full_name, role in DEMO_USERS:
        user = auth_services.create_user(
            session,
            auth_services.UserData(
                username=username,
                full_name=full_name,
                role=role.value,
                email=f"{username}@expo-volga-service.example",
                password=demo_password(username),
            ),
            actor=admin,
        )
        admin = admin or user
        users[username] = user
        logins.append((username, demo_password(username), ROLE_LABELS[role]))
    set_actor(session, admin)
    org_services.create_organization(session, DEMO_ORGANIZATION, actor=admin)
    load_demo_clients(session, users)
    projects = load_demo_projects(session, users)
    load_demo_deals(session, users, projects)
    load_demo_leads(session, users, projects)
    load_demo_documents(session, users)
    seed_demo_budgets(session, users["project"])
    load_demo_activities(session, users)
    load_demo_mailing(session, users)
    sync_demo_ledger(session)
    return logins


def print_logins(logins: list[tuple[str, str, str]]) -> None:
    click.echo("Демо-пользователи (имя входа / пароль — роль):")
    for username, password, label in logins:
        click.echo(f"  {username:<11} / {password:<21} — {label}")


@click.command("demo-data")
@click.option("--if-empty", is_flag=True, help="Ничего не делать, если пользователи уже есть")
@with_appcontext
def demo_data_command(if_empty: bool) -> None:
    """Fill an empty database with demo data (users of every role, our organization, ...)."""
    with db.job_session() as session:
        if session.scalar(select(func.count()).select_from(User)):
            if if_empty:
                click.echo("База уже заполнена: демо-данные не загружаются.")
                admin = session.scalar(select(User).where(User.username == "admin"))
                # Only while the demo passwords are still in use: never on a real install.
                if admin and auth_services.verify_password(
                    admin.password_hash, demo_password("admin")
                ):
                    print_logins([(u, demo_password(u), ROLE_LABELS[r]) for u, _, r in DEMO_USERS])
                return
            raise click.ClickException(
                "База не пуста: демо-данные загружаются только в пустую базу."
            )
        logins = load_demo(session)
    click.echo("Демо-данные загружены.")
    print_logins(logins)
