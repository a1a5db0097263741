"""Demo leads: a dozen requests in every status, built through the lead services.

New ones include a lead with the ИНН of a client already in the base and one with a name like a
client's (the lead page shows them as candidates); rejected ones have reasons; converted ones
went through `convert_lead`, so they have their client, contact person and deal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.clients.models import Client
from erp_crm.core.requisites import complete_inn
from erp_crm.core.text import name_key
from erp_crm.db import utcnow
from erp_crm.deals.leads import services as leads
from erp_crm.deals.models import Deal, Lead
from erp_crm.projects.models import Project, ProjectStatus


def _ago(days: int, hours: int = 0) -> dt.datetime:
    return utcnow() - dt.timedelta(days=days, hours=hours)


def _web(session: Session, n: int, **fields) -> Lead:
    """A lead from the site's form, each from its own documentation-range address."""
    return leads.submit_lead(
        session, leads.LeadData(**fields), ip=f"203.0.113.{10 + n}", source="web"
    )


def _client_without_deal(
    session: Session, project: Project | None, skip: set[int]
) -> Client | None:
    query = select(Client).where(
        Client.merged_into_id.is_(None), Client.inn.is_not(None), Client.id.not_in(skip or {0})
    )
    if project is not None:
        query = query.where(
            ~exists().where(Deal.client_id == Client.id, Deal.project_id == project.id)
        )
    return session.scalar(query.order_by(Client.id).limit(1))


def load_demo_leads(
    session: Session,
    users: Mapping[str, User],
    projects: Mapping[str, Project] | Iterable[Project],
) -> int:
    """Add the demo leads; returns how many. `users` are the demo users by login name."""
    listed = list(projects.values()) if isinstance(projects, Mapping) else list(projects)
    open_projects = [p for p in listed if p.status != ProjectStatus.CLOSED.value]
    main = open_projects[0] if open_projects else None
    other = open_projects[1] if len(open_projects) > 1 else main
    main_id = main.id if main else None
    other_id = other.id if other else None
    analyst, head = users["analyst"], users["head"]
    manager1, manager2 = users["manager1"], users["manager2"]
    made: list[tuple[Lead, dt.datetime]] = []

    # --- new --------------------------------------------------------------------------------
    made.append(
        (
            _web(
                session,
                1,
                company_name="ООО «ТехноСфера Поволжье»",
                contact_name="Смирнов Алексей Викторович",
                phone="+7 846 270-33-15",
                email="a.smirnov@technosfera.example",
                city="Самара",
                project_id=main_id,
                message="Хотим стенд 18–24 м² у центрального входа, пришлите условия.",
            ),
            _ago(0, 3),
        )
    )
    made.append(
        (
            _web(
                session,
                2,
                company_name="ИП Гаврилова Н. С.",
                contact_name="Гаврилова Наталья Сергеевна",
                email="gavrilova.ns@mail.example",
                city="Тольятти",
                project_id=other_id,
                message="Сколько стоит участие без застройки?",
            ),
            _ago(0, 20),
        )
    )
    known = _client_without_deal(session, main, set())
    if known is not None:
        # The ИНН of a client already in the base: converting it reuses that client.
        made.append(
            (
                leads.submit_lead(
                    session,
                    leads.LeadData(
                        company_name=known.name,
                        inn=known.inn,
                        contact_name="Фёдоров Игорь Павлович",
                        phone="+7 927 604-18-22",
                        city=known.city,
                        project_id=main_id,
                        message="Заявка с сайта выставки (партнёрская форма).",
                    ),
                    ip="198.51.100.7",
                    source="api",
                ),
                _ago(1, 2),
            )
        )
    alike = _client_without_deal(session, None, {known.id} if known else set())
    if alike is not None:
        # A name like a client's, no ИНН: the lead page lists the client as a candidate.
        made.append(
            (
                _web(
                    session,
                    3,
                    company_name=name_key(alike.name).title(),
                    contact_name="Ершова Марина",
                    phone="+7 937 118-40-09",
                    city=alike.city,
                    project_id=main_id,
                ),
                _ago(1, 7),
            )
        )
    made.append(
        (
            leads.create_lead(
                session,
                leads.LeadData(
                    source="call",
                    company_name="АО «Волжский кирпичный завод»",
                    contact_name="Тихонов Роман Олегович",
                    phone="+7 8482 55-17-90",
                    city="Тольятти",
                    message="Звонил по рекламе в журнале, просил перезвонить после 15:00.",
                ),
                actor=manager1,
            ),
            _ago(2),
        )
    )
    made.append(
        (
            leads.create_lead(
                session,
                leads.LeadData(
                    source="exhibition",
                    company_name="ООО «АгроТехСнаб»",
                    inn=complete_inn("631990412"),
                    contact_name="Мельников Олег",
                    phone="+7 917 020-55-61",
                    city="Самара",
                    project_id=other_id,
                    message="Визитка со стенда партнёров на прошлой выставке.",
                ),
                actor=analyst,
            ),
            _ago(3),
        )
    )

    # --- rejected ---------------------------------------------------------------------------
    for n, (fields, reason, days) in enumerate(
        [
            (
                {"company_name": "SEO-продвижение 24/7", "email": "promo@seo-fast.example"},
                "Спам: реклама услуг",
                4,
            ),
            (
                {
                    "company_name": "ООО «Кондитерская Ласточка»",
                    "phone": "+7 846 333-21-07",
                    "city": "Самара",
                },
                "Не наша тематика: ищут ярмарку выходного дня",
                6,
            ),
            (
                {
                    "company_name": "ООО «ТехноСфера Поволжье»",
                    "phone": "+7 846 270-33-15",
                    "city": "Самара",
                },
                "Дубль заявки от того же дня",
                9,
            ),
        ],
        start=4,
    ):
        lead = _web(session, n, project_id=main_id, **fields)
        leads.reject_lead(session, lead, reason, actor=analyst)
        made.append((lead, _ago(days)))

    # --- converted --------------------------------------------------------------------------
    if main is not None:
        for n, (fields, actor, days) in enumerate(
            [
                (
                    {
                        "company_name": "ООО «Меридиан-Инжиниринг»",
                        "inn": complete_inn("631870219"),
                        "contact_name": "Корнилова Анна Дмитриевна",
                        "phone": "+7 846 205-90-44",
                        "email": "expo@meridian-eng.example",
                        "city": "Самара",
                    },
                    manager1,
                    12,
                ),
                (
                    {
                        "company_name": "ИП Шестаков П. А.",
                        "inn": complete_inn("6324019876"),
                        "contact_name": "Шестаков Павел Андреевич",
                        "phone": "+7 927 771-02-38",
                        "city": "Сызрань",
                    },
                    manager2,
                    15,
                ),
            ],
            start=8,
        ):
            lead = _web(session, n, project_id=main_id, **fields)
            leads.convert_lead(session, lead, actor=actor, project_id=main_id, create_new=True)
            made.append((lead, _ago(days)))
        skip = {known.id} if known else set()
        if alike is not None:
            skip.add(alike.id)
        existing = _client_without_deal(session, main, skip)
        if existing is not None:
            lead = leads.create_lead(
                session,
                leads.LeadData(
                    source="email",
                    company_name=existing.name,
                    inn=existing.inn,
                    contact_name="Лаптева Светлана Игоревна",
                    email="lapteva.si@partner.example",
                    city=existing.city,
                    project_id=main_id,
                ),
                actor=head,
            )
            leads.convert_lead(session, lead, actor=head, project_id=main_id)  # found by ИНН
            made.append((lead, _ago(18)))

    for lead, created in made:
        lead.created_at = created
    session.flush()
    return len(made)
