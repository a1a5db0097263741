"""Booking a stand with a deal: reserve, release, sell. The one owner of «a stand in a deal».

The atomic status changes themselves (free / held / reserved / sold, with their locking) are
projects.stands; this module decides who may ask for them for which deal and keeps the deal's
priced lines and the hall plan in step (a stand new to a deal goes in as a line).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients.models import Client
from erp_crm.deals import access
from erp_crm.deals import lines as deal_lines
from erp_crm.deals.models import Deal, Outcome
from erp_crm.errors import Conflict, PermissionDenied, ValidationError
from erp_crm.projects import access as project_access
from erp_crm.projects import stand_services as ss
from erp_crm.projects import stands
from erp_crm.projects.models import Stand, StandStatus


def _deal(session: Session, deal_id: Any):
    try:
        deal = session.get(Deal, int(deal_id)) if deal_id not in (None, "") else None
    except (TypeError, ValueError):
        deal = None
    if deal is None:
        raise ValidationError(fields={"deal_id": "Выберите сделку."})
    return deal


def open_deals_for(session: Session, project_id: int, actor: User) -> list:
    """Open deals of the project the person may reserve for (own ones unless deals.all)."""
    if not project_access.can_hold_stands(actor):
        return []
    query = (
        select(Deal)
        .join(Client, Client.id == Deal.client_id)
        .where(Deal.project_id == project_id, Deal.outcome == Outcome.OPEN.value)
        .order_by(Client.name, Deal.id)
    )
    if not has_permission(actor, Perm.DEALS_ALL):
        query = query.where(Deal.manager_id == actor.id)
    return list(session.scalars(query))


def reserve_for_deal(
    session: Session, stand_id: int, deal_id: Any, *, until: dt.datetime | None, actor: User
) -> Stand:
    """A person reserves a stand for a deal: their own deal, or any with deals.all.

    A stand new to the deal goes in as a priced line (held, or sold at a sale stage), so the hall
    plan and the deal never disagree; a stand the deal already has gets its hold extended.
    """
    if not project_access.can_hold_stands(actor):
        raise PermissionDenied("Бронировать стенды могут менеджеры по продажам.")
    deal = _deal(session, deal_id)
    if not access.can_act_for_deal(actor, deal):
        raise PermissionDenied("Бронировать стенд можно только по своей сделке.")
    if any(line.stand_id == stand_id for line in deal.lines):
        return stands.reserve(session, stand_id, deal.id, until=until, actor=actor)
    deal_lines.add_stand_line(
        session, deal, ss.get_stand(session, stand_id), actor=actor, hold_until=until
    )
    return ss.get_stand(session, stand_id)


def release_by(session: Session, stand_id: int, *, actor: User) -> Stand:
    """A person frees a hold: of their own deal, or any with deals.all. Sold stands stay sold
    (they are freed by losing the deal)."""
    if not project_access.can_hold_stands(actor):
        raise PermissionDenied("Снимать бронь могут менеджеры по продажам.")
    stand = ss.get_stand(session, stand_id)
    deal_id = stands.effective_deal_id(stand)
    if deal_id is None:
        return stand  # free already (or an expired hold): nothing to release
    if stand.status == StandStatus.SOLD.value:
        raise Conflict(
            f"Стенд № {stand.number} продан. Освободить проданный стенд можно, только "
            "закрыв сделку как проигранную."
        )
    deal = _deal(session, deal_id)
    if not access.can_act_for_deal(actor, deal):
        raise PermissionDenied(
            "Снять бронь можно только по своей сделке; чужие брони снимает "
            "руководитель отдела продаж."
        )
    line = next((x for x in deal.lines if x.stand_id == stand.id), None)
    if line is not None:  # the stand leaves the deal with its priced line
        deal_lines.remove_line(session, line, actor=actor)
        return ss.get_stand(session, stand.id)
    return stands.release_hold(session, stand.id, deal.id, actor=actor)
