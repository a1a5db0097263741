"""Stand status changes that must be safe under concurrency: reserve, sell, release.

Each change is ONE conditional UPDATE whose WHERE clause states the precondition (the stand is
free, or its hold has expired, or it is held by this deal). The database serializes concurrent
UPDATEs of a row, so of two managers clicking at once exactly one sees rowcount 1; the other gets
a Conflict with the stand's current holder. No SELECT … FOR UPDATE needed, on PostgreSQL or
SQLite alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from erp_crm.audit import services as audit
from erp_crm.auth.models import User
from erp_crm.db import utcnow
from erp_crm.errors import Conflict, NotFound, ValidationError
from erp_crm.projects.models import Stand, StandStatus

DEFAULT_HOLD = dt.timedelta(days=7)


def _available_or_held_by(deal_id: int, now: dt.datetime):
    """A stand this deal may take: free, or held by nobody any more, or already held by it."""
    return or_(
        Stand.status == StandStatus.FREE.value,
        and_(Stand.status == StandStatus.RESERVED.value, Stand.reserved_until <= now),
        and_(Stand.status == StandStatus.RESERVED.value, Stand.deal_id == deal_id),
    )


def _conflict(session: Session, stand_id: int) -> Conflict:
    session.expire_all()
    stand = session.get(Stand, stand_id)
    if stand is None:
        return Conflict("Стенд не найден.")
    state = "продан" if stand.status == StandStatus.SOLD.value else "забронирован"
    holder = ""
    if stand.deal_id is not None:
        from erp_crm.deals.models import Deal

        deal = session.get(Deal, stand.deal_id)
        if deal is not None:
            holder = f" по сделке «{deal.audit_label()}» (менеджер {deal.manager.full_name})"
    return Conflict(f"Стенд № {stand.number} уже {state}{holder}. Выберите другой стенд.")


def reserve(
    session: Session, stand_id: int, deal_id: int, *, until: dt.datetime | None, actor: User
) -> Stand:
    """Hold a stand for a deal until a moment (default: a week). Raises Conflict when taken."""
    now = utcnow()
    until = until or now + DEFAULT_HOLD
    if until.tzinfo is None:
        raise ValidationError(fields={"until": "Укажите срок брони с часовым поясом."})
    if until <= now:
        raise ValidationError(fields={"until": "Срок брони должен быть в будущем."})
    result = session.execute(
        update(Stand)
        .where(Stand.id == stand_id, Stand.is_active.is_(True), _available_or_held_by(deal_id, now))
        .values(status=StandStatus.RESERVED.value, deal_id=deal_id, reserved_until=until)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise _conflict(session, stand_id)
    stand = _refreshed(session, stand_id)
    audit.record(session, stand, "reserved", {"deal_id": deal_id, "until": until})
    return stand


def sell(session: Session, stand_ids: Iterable[int], deal_id: int, *, actor: User) -> list[Stand]:
    """Mark stands sold to a deal: each must be free, expired, or held by this very deal."""
    now = utcnow()
    sold = []
    for stand_id in stand_ids:
        result = session.execute(
            update(Stand)
            .where(
                Stand.id == stand_id,
                Stand.is_active.is_(True),
                or_(
                    _available_or_held_by(deal_id, now),
                    and_(Stand.status == StandStatus.SOLD.value, Stand.deal_id == deal_id),
                ),
            )
            .values(status=StandStatus.SOLD.value, deal_id=deal_id, reserved_until=None)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise _conflict(session, stand_id)
        stand = _refreshed(session, stand_id)
        audit.record(session, stand, "sold", {"deal_id": deal_id})
        sold.append(stand)
    return sold


def release(session: Session, stand_id: int, *, actor: User, deal_id: int | None = None) -> Stand:
    """Free a stand (a sold one too, e.g. when its deal is lost). With deal_id: only its own."""
    conditions = [Stand.id == stand_id, Stand.status != StandStatus.FREE.value]
    if deal_id is not None:
        conditions.append(Stand.deal_id == deal_id)
    result = session.execute(
        update(Stand)
        .where(*conditions)
        .values(status=StandStatus.FREE.value, deal_id=None, reserved_until=None)
        .execution_options(synchronize_session=False)
    )
    stand = _refreshed(session, stand_id)
    if result.rowcount == 1:
        audit.record(session, stand, "released", {"deal_id": deal_id})
    return stand


def release_expired(session: Session, *, now: dt.datetime | None = None) -> int:
    """Free every hold that has passed (run by `flask projects release-expired` and on reads)."""
    now = now or utcnow()
    expired = list(
        session.scalars(
            select(Stand.id).where(
                Stand.status == StandStatus.RESERVED.value, Stand.reserved_until <= now
            )
        )
    )
    if not expired:
        return 0
    session.execute(
        update(Stand)
        .where(
            Stand.id.in_(expired),
            Stand.status == StandStatus.RESERVED.value,
            Stand.reserved_until <= now,
        )
        .values(status=StandStatus.FREE.value, deal_id=None, reserved_until=None)
        .execution_options(synchronize_session=False)
    )
    for stand_id in expired:
        audit.record(session, _refreshed(session, stand_id), "hold_expired", {})
    return len(expired)


def effective_status(stand: Stand, now: dt.datetime | None = None) -> str:
    """What a person should see: an expired hold is free even before the cleanup ran."""
    now = now or utcnow()
    if (
        stand.status == StandStatus.RESERVED.value
        and stand.reserved_until
        and stand.reserved_until <= now
    ):
        return StandStatus.FREE.value
    return stand.status


def _refreshed(session: Session, stand_id: int) -> Stand:
    stand = session.get(Stand, stand_id)
    if stand is None:
        raise NotFound("Стенд не найден.")
    session.refresh(stand)
    return stand
