"""A small sales department with hand-counted figures, shared by the reports tests.

Period: the calendar year 2026 (Moscow); the report's «now» is NOW (Monday 7 December 2026).

Anna (A) and Boris (B) sell project P («ВолгаСтройЭкспо-2027»); the head of sales records
everything through the services. Contacts (Moscow time):

- a1  A · C1 · P · call    02.11 10:00 → done 02.11 12:00, invitation sent (+ a rating 5 of A)
- a2  A · C1 · P · call    05.11 10:00 → done 08.11 (3 days late), postponed to 20.12 → a2f
- a2f A · C1 · P · call    20.12 10:00 planned (ahead of NOW)
- a3  A · C2 · P · meeting 01.12 10:00 planned → overdue at NOW
- a4  A · C2 · P · call    10.10 cancelled (never counted)
- a6  A · C1 · P · call    15.12.2025 done: outside the period, but the first contact with C1 × P
- a5  B · C3 · P · call    10.11 10:00 → done the same hour, postponed to 21.12 → a5f;
      then C3 (a duplicate) is merged into C1
- a5f B · C3→C1 · P        21.12 10:00 planned
- a7  B · C2 · P (deal D2) 11.11 10:00 → done 11:00 «other»; D2 moves 10 % → 20 % three hours
      later: moved forward
- a rating 3 of B by C2, 12.11

Deals: D1 A · C1 · P created 01.10, 12 m² raw (114 000,00 ₽), won 20.11; D2 C2 · P created by A
01.11, moved 0 → 10 % by A, reassigned to B, then 10 → 20 % (the forward move above); D4 A · C2 ·
P2 created 03.11, lost 25.11. Plan: A, P, November 2026: 24 m², 228 000,00 ₽.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from sqlalchemy import delete, select

from erp_crm.activities import results
from erp_crm.activities import services as activities
from erp_crm.activities.models import ActivityReason, ActivityType, ResultRule
from erp_crm.clients.dedupe.merging import merge_clients
from erp_crm.deals import lines as deal_lines
from erp_crm.deals import services as deals
from erp_crm.deals.models import LostReason
from erp_crm.projects.models import SalesPlan
from erp_crm.reports.filters import MOSCOW, ReportFilter
from erp_crm.reports.models import StageMove
from tests.deal_fixtures import make_client, make_project

NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
YEAR = ReportFilter(date_from=dt.date(2026, 1, 1), date_to=dt.date(2026, 12, 31))
LONG_AGO = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def msk(y: int, m: int, d: int, h: int = 10, minute: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, minute, tzinfo=MOSCOW).astimezone(dt.UTC)


def _stage(session, percent: int):
    return next(s for s in deals.pipeline_by_code(session, "sales").stages if s.percent == percent)


@pytest.fixture
def dept(db_session, make_user):
    s = db_session
    # The seeded follow-up rules would plan more contacts: the hand count has none.
    s.execute(delete(ResultRule))
    head = make_user("head_of_sales", username="rep_head", full_name="Руководитель ОП")
    anna = make_user("sales_manager", username="rep_anna", full_name="Анна Петрова")
    boris = make_user("sales_manager", username="rep_boris", full_name="Борис Иванов")
    project = make_project(s)
    project2 = make_project(s, code="VSE28", name="ВолгаСтройЭкспо-2028", stands=1)
    c1 = make_client(s, head, name="ООО «Первый»", inn="7707083893")
    c2 = make_client(s, head, name="ООО «Второй»", inn="7736207543")
    c3 = make_client(s, head, name="ООО «Первый» (дубль)", inn="7710140679")
    call = s.scalar(select(ActivityType).where(ActivityType.code == "call"))
    meeting = s.scalar(select(ActivityType).where(ActivityType.code == "meeting"))
    postpone = s.scalar(select(ActivityReason).where(ActivityReason.kind == "postpone"))

    def plan(who, client, at, *, kind=call, deal=None, proj=project):
        return activities.plan(
            s,
            activities.ActivityData(
                type_id=kind.id,
                goal="Пригласить",
                client_id=client.id,
                project_id=proj.id if proj else None,
                deal_id=deal.id if deal else None,
                responsible_id=who.id,
                starts_at=at,
            ),
            actor=head,
            now=LONG_AGO,
        )

    def complete(activity, at, kind, **extra):
        return results.complete(
            s, activity, results.ResultData(kind=kind, **extra), actor=head, now=at
        )

    a1 = plan(anna, c1, msk(2026, 11, 2))
    complete(
        a1,
        msk(2026, 11, 2, 12),
        "invitation_sent",
        visitors=[results.VisitorData(full_name="Иванов И. И.")],
        rating=results.RatingData(manager_score=5, project_score=4, company_score=4),
    )
    a2 = plan(anna, c1, msk(2026, 11, 5))
    a2f = complete(
        a2, msk(2026, 11, 8), "postponed", reason_id=postpone.id, postponed_to=msk(2026, 12, 20)
    )
    a3 = plan(anna, c2, msk(2026, 12, 1), kind=meeting)
    a4 = plan(anna, c2, msk(2026, 10, 10))
    activities.cancel(s, a4, actor=head)
    a6 = plan(anna, c1, msk(2025, 12, 15))
    complete(a6, msk(2025, 12, 15, 11), "other", text="Знакомство")
    a5 = plan(boris, c3, msk(2026, 11, 10))
    a5f = complete(
        a5,
        msk(2026, 11, 10, 10, 30),
        "postponed",
        reason_id=postpone.id,
        postponed_to=msk(2026, 12, 21),
    )

    d1 = deals.create_deal(
        s, deals.DealData(client_id=c1.id, project_id=project.id, manager_id=anna.id), actor=head
    )
    deal_lines.add_space_line(s, d1, stand_type="raw", area_m2="12", actor=head)
    deals.move_to_stage(s, d1, _stage(s, 70), actor=head)
    d1.created_at = msk(2026, 10, 1)
    d1.closed_at = msk(2026, 11, 20)

    d2 = deals.create_deal(
        s, deals.DealData(client_id=c2.id, project_id=project.id, manager_id=anna.id), actor=head
    )
    deals.move_to_stage(s, d2, _stage(s, 10), actor=head)
    d2.created_at = msk(2026, 11, 1)
    d2.manager_id = boris.id  # reassigned: all its figures go with it
    s.flush()
    a7 = plan(boris, c2, msk(2026, 11, 11), deal=d2)
    complete(a7, msk(2026, 11, 11, 11), "other", text="Обсудили условия")
    deals.move_to_stage(s, d2, _stage(s, 20), actor=head)
    forward_move = s.scalars(
        select(StageMove).where(StageMove.deal_id == d2.id).order_by(StageMove.id.desc())
    ).first()
    forward_move.at = msk(2026, 11, 11, 14)

    rating_b = results.rate(
        s,
        c2,
        results.RatingData(manager_score=3, project_score=3, company_score=3),
        actor=head,
        deal=d2,
    )
    rating_b.recorded_at = msk(2026, 11, 12)
    rating_a = s.scalars(select(results.Rating).where(results.Rating.activity_id == a1.id)).one()
    rating_a.recorded_at = msk(2026, 11, 2, 12)

    d4 = deals.create_deal(
        s, deals.DealData(client_id=c2.id, project_id=project2.id, manager_id=anna.id), actor=head
    )
    reason = s.scalar(select(LostReason).where(LostReason.name == "Нет бюджета"))
    deals.mark_lost(s, d4, reason.id, "урезали бюджет", actor=head)
    d4.created_at = msk(2026, 11, 3)
    d4.closed_at = msk(2026, 11, 25)

    s.add(
        SalesPlan(
            project_id=project.id,
            user_id=anna.id,
            month=dt.date(2026, 11, 1),
            area_m2=D("24"),
            amount=D("228000.00"),
        )
    )
    merge_clients(s, c1, c3, actor=head)
    s.flush()
    return {
        "head": head,
        "anna": anna,
        "boris": boris,
        "project": project,
        "project2": project2,
        "c1": c1,
        "c2": c2,
        "c3": c3,
        "a": {"a1": a1, "a2": a2, "a2f": a2f, "a3": a3, "a4": a4, "a5": a5, "a5f": a5f, "a7": a7},
        "d1": d1,
        "d2": d2,
        "d4": d4,
    }
