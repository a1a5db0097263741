"""A manager, a colleague, the head of sales, a client with its contact person and a project,
and a planned call: shared by the activities and reminders tests."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from erp_crm.activities import services
from erp_crm.activities.models import Activity, ActivityType
from erp_crm.clients import contacts
from tests.deal_fixtures import make_client, make_project

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)  # Monday, 12:00 in Moscow


@pytest.fixture
def world(db_session, make_user):
    head = make_user("head_of_sales")
    manager = make_user("sales_manager", full_name="Анна Петрова")
    other = make_user("sales_manager", full_name="Борис Иванов")
    accountant = make_user("accountant")
    project = make_project(db_session)
    company = make_client(db_session, head)
    company.curator_id = manager.id
    contact = contacts.add_contact(
        db_session,
        company,
        contacts.ContactData(full_name="Сидоров Иван", phones=["+7 846 200-00-00"]),
        actor=head,
    )
    db_session.flush()
    return {
        "head": head,
        "manager": manager,
        "other": other,
        "accountant": accountant,
        "project": project,
        "company": company,
        "contact": contact,
        "call": db_session.scalar(select(ActivityType).where(ActivityType.code == "call")),
    }


def planned(db_session, world, *, actor=None, **overrides) -> Activity:
    data = {
        "type_id": world["call"].id,
        "goal": "Пригласить на ВолгаСтройЭкспо-2027",
        "client_id": world["company"].id,
        "contact_id": world["contact"].id,
        "project_id": world["project"].id,
        "starts_at": "2026-12-08T11:00",  # Moscow wall clock
        "reminders": "15, 60",
        **overrides,
    }
    return services.plan(
        db_session,
        services.ActivityData.from_mapping(data),
        actor=actor or world["manager"],
        now=NOW,
    )


def plan_call(session, actor, client, goal: str, *, days: int, responsible=None) -> Activity:
    """A call planned `days` from now (the access matrix and the pages run on the real clock)."""
    from erp_crm.db import utcnow

    call = session.scalar(select(ActivityType).where(ActivityType.code == "call"))
    return services.plan(
        session,
        services.ActivityData(
            type_id=call.id,
            goal=goal,
            client_id=client.id,
            responsible_id=responsible.id if responsible else None,
            starts_at=(utcnow() + dt.timedelta(days=days)).replace(microsecond=0),
        ),
        actor=actor,
    )
