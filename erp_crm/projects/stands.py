"""Stand status changes that must be safe under concurrency: reserve, sell, release.

Each change is ONE conditional UPDATE whose WHERE clause states every precondition (the stand is
active and free, or its hold has expired, or it is held by this deal; the deal belongs to the
stand's project and is still open). The database serializes concurrent UPDATEs of a row, so of
two managers clicking at once exactly one sees rowcount 1; the other gets a Conflict naming the
stand's current holder. No SELECT … FOR UPDATE needed, on PostgreSQL or SQLite alike:

- PostgreSQL (READ COMMITTED): the second UPDATE waits for the first transaction's row lock and
  then re-evaluates its WHERE clause against the committed row, which no longer matches.
- SQLite: writers are serialized by the database lock (busy_timeout in erp_crm.db). A transaction
  that starts with the UPDATE waits for the lock and then sees the winner's commit. One that read
  before (every web request reads its user first) cannot write on its older snapshot: SQLite
  answers «database is locked» at once, which we turn into a Conflict asking to retry.

Only after a refused UPDATE do we read the stand and the deal — to explain why, in Russian.
The caller rolls back on any error (the request's error handler does).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import and_, false, or_, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.audit import services as audit
from erp_crm.auth.models import User
from erp_crm.db import utcnow
from erp_crm.errors import Conflict, NotFound, ValidationError
from erp_crm.projects.models import Stand, StandStatus

DEFAULT_HOLD = dt.timedelta(days=7)
OPEN = "open"
LOST = "lost"


RETRY = "Стенд только что изменился: обновите страницу и попробуйте ещё раз."


def _change(session: Session, statement):  # noqa: ANN202 (a CursorResult or ScalarResult)
    """Run a status UPDATE; SQLite's «locked» on a stale snapshot becomes a Conflict."""
    try:
        return session.execute(statement)
    except OperationalError as err:
        if session.get_bind().dialect.name == "sqlite" and "locked" in str(err.orig).lower():
            raise Conflict(RETRY) from err
        raise


def _available_or_held_by(deal_id: int, now: dt.datetime):
    """A stand this deal may take: free, or held by nobody any more, or already held by it."""
    return or_(
        Stand.status == StandStatus.FREE.value,
        and_(Stand.status == StandStatus.RESERVED.value, Stand.reserved_until <= now),
        and_(Stand.status == StandStatus.RESERVED.value, Stand.deal_id == deal_id),
    )


def _deal_fits(deal_id: int, *, outcomes: tuple[str, ...]):
    """The deal exists, belongs to the stand's project and has one of `outcomes`."""
    conditions = signals.answers(signals.stand_deal_condition, deal_id=deal_id, outcomes=outcomes)
    return or_(*conditions) if conditions else false()


def _fresh_stand(session: Session, stand_id: int) -> Stand | None:
    return session.get(Stand, stand_id, populate_existing=True)


def _deal_facts(session: Session, deal_id: int, *, refresh: bool = False) -> dict | None:
    """What the deals area tells of a deal holding or asking for a stand (see the signal)."""
    found = signals.answers(
        signals.stand_deal_facts, session=session, deal_id=deal_id, refresh=refresh
    )
    return found[0] if found else None


def _refusal(session: Session, stand_id: int, deal_id: int | None, *, selling: bool):
    """Why a conditional UPDATE matched nothing: a Russian message naming the current holder."""
    stand = _fresh_stand(session, stand_id)
    if stand is None:
        return NotFound("Стенд не найден.")
    if not stand.is_active:
        return Conflict(f"Стенд № {stand.number} снят с продажи.")
    if deal_id is not None:
        deal = _deal_facts(session, deal_id, refresh=True)
        if deal is None:
            return ValidationError(fields={"deal_id": "Сделка не найдена."})
        if deal["project_id"] != stand.project_id:
            return ValidationError(
                fields={"deal_id": "Сделка относится к другому выставочному проекту."}
            )
        if selling and deal["outcome"] == LOST:
            return ValidationError(fields={"deal_id": "Сделка проиграна: продать стенд нельзя."})
        if not selling and deal["outcome"] != OPEN:
            return ValidationError(
                fields={"deal_id": "Сделка закрыта: бронировать стенды можно по открытой сделке."}
            )
    return holder_conflict(session, stand)


def holder_conflict(session: Session, stand: Stand, now: dt.datetime | None = None) -> Conflict:
    """«Стенд № A-12 уже забронирован по сделке … (клиент …, менеджер …) до …»."""
    if effective_status(stand, now) == StandStatus.FREE.value:
        return Conflict(RETRY.replace("Стенд", f"Стенд № {stand.number}", 1))
    state = "продан" if stand.status == StandStatus.SOLD.value else "забронирован"
    holder = ""
    if stand.deal_id is not None:
        deal = _deal_facts(session, stand.deal_id)
        if deal is not None:
            holder = (
                f" по сделке «{deal['label']}» (клиент {deal['client']}, "
                f"менеджер {deal['manager']})"
            )
    until = ""
    if stand.status == StandStatus.RESERVED.value and stand.reserved_until:
        from erp_crm.ui import ru_datetime

        until = f" до {ru_datetime(stand.reserved_until)}"
    return Conflict(f"Стенд № {stand.number} уже {state}{holder}{until}. Выберите другой стенд.")


def reserve(
    session: Session, stand_id: int, deal_id: int, *, until: dt.datetime | None, actor: User
) -> Stand:
    """Hold a stand for an open deal of its project until a moment (default: a week).

    Reserving a stand the deal already holds moves the hold's end. Raises Conflict when the
    stand is taken, ValidationError when the deal does not fit. Who may act for the deal is the
    caller's check (deals.booking.reserve_for_deal).
    """
    now = utcnow()
    until = until or now + DEFAULT_HOLD
    if until.tzinfo is None:
        raise ValidationError(fields={"until": "Укажите срок брони с часовым поясом."})
    if until <= now:
        raise ValidationError(fields={"until": "Срок брони должен быть в будущем."})
    result = _change(
        session,
        update(Stand)
        .where(
            Stand.id == stand_id,
            Stand.is_active.is_(True),
            _available_or_held_by(deal_id, now),
            _deal_fits(deal_id, outcomes=(OPEN,)),
        )
        .values(status=StandStatus.RESERVED.value, deal_id=deal_id, reserved_until=until)
        .execution_options(synchronize_session=False),
    )
    if result.rowcount != 1:
        raise _refusal(session, stand_id, deal_id, selling=False)
    stand = _refreshed(session, stand_id)
    audit.record(session, stand, "reserved", {"deal_id": deal_id, "until": until})
    return stand


def sell(session: Session, stand_ids: Iterable[int], deal_id: int, *, actor: User) -> list[Stand]:
    """Mark stands sold to a deal: each must be free, expired, or held (or sold) by this deal.

    The deal must belong to the stands' project and not be lost. A stand held by another deal is
    refused with a Conflict; stands sold before the refusal are undone by the caller's rollback.
    """
    now = utcnow()
    sold = []
    for stand_id in stand_ids:
        result = _change(
            session,
            update(Stand)
            .where(
                Stand.id == stand_id,
                Stand.is_active.is_(True),
                or_(
                    _available_or_held_by(deal_id, now),
                    and_(Stand.status == StandStatus.SOLD.value, Stand.deal_id == deal_id),
                ),
                _deal_fits(deal_id, outcomes=(OPEN, "won")),
            )
            .values(status=StandStatus.SOLD.value, deal_id=deal_id, reserved_until=None)
            .execution_options(synchronize_session=False),
        )
        if result.rowcount != 1:
            raise _refusal(session, stand_id, deal_id, selling=True)
        stand = _refreshed(session, stand_id)
        audit.record(session, stand, "sold", {"deal_id": deal_id})
        sold.append(stand)
    return sold


def _release(
    session: Session, stand_id: int, *, deal_id: int | None, only_held: bool
) -> tuple[Stand, bool]:
    conditions = [Stand.id == stand_id, Stand.status != StandStatus.FREE.value]
    if deal_id is not None:
        conditions.append(Stand.deal_id == deal_id)
    if only_held:
        conditions.append(Stand.status == StandStatus.RESERVED.value)
    result = _change(
        session,
        update(Stand)
        .where(*conditions)
        .values(status=StandStatus.FREE.value, deal_id=None, reserved_until=None)
        .execution_options(synchronize_session=False),
    )
    stand = _refreshed(session, stand_id)
    released = result.rowcount == 1
    if released:
        audit.record(session, stand, "released", {"deal_id": deal_id})
    return stand, released


def release(
    session: Session,
    stand_id: int,
    *,
    actor: User,
    deal_id: int | None = None,
    only_held: bool = False,
) -> Stand:
    """Free a stand (a sold one too, e.g. when its deal is lost).

    With deal_id: only if this deal still holds it (so a stand meanwhile taken by another deal
    stays taken). With only_held: only a hold, never a sale. Freeing a free stand does nothing.
    """
    return _release(session, stand_id, deal_id=deal_id, only_held=only_held)[0]


def release_hold(session: Session, stand_id: int, deal_id: int, *, actor: User) -> Stand:
    """Free a hold of this deal; Conflict if the stand is sold or held by someone else now."""
    stand, released = _release(session, stand_id, deal_id=deal_id, only_held=True)
    if released or effective_status(stand) == StandStatus.FREE.value:
        return stand
    if stand.status == StandStatus.SOLD.value and stand.deal_id == deal_id:
        raise Conflict(
            f"Стенд № {stand.number} продан. Освободить проданный стенд можно, только "
            "закрыв сделку как проигранную."
        )
    raise holder_conflict(session, stand)


def release_expired(session: Session, *, now: dt.datetime | None = None) -> int:
    """Free every hold that has passed (run by `flask projects release-expired` and on reads).

    A cheap SELECT first (the usual answer is «nothing»), then one conditional UPDATE … RETURNING
    in a SAVEPOINT, so a hold renewed in between is not freed, only the really freed stands are
    audited, and a page whose cleanup meets another one's on SQLite («locked») just skips it:
    pages show the effective status anyway.
    """
    now = now or utcnow()
    expired = select(Stand.id).where(
        Stand.status == StandStatus.RESERVED.value, Stand.reserved_until <= now
    )
    if session.scalar(expired.limit(1)) is None:
        return 0
    try:
        with session.begin_nested():
            freed = list(
                session.scalars(
                    update(Stand)
                    .where(Stand.status == StandStatus.RESERVED.value, Stand.reserved_until <= now)
                    .values(status=StandStatus.FREE.value, deal_id=None, reserved_until=None)
                    .returning(Stand.id)
                    .execution_options(synchronize_session=False)
                )
            )
            for stand_id in freed:
                audit.record(session, _refreshed(session, stand_id), "hold_expired", {})
    except OperationalError as err:
        if session.get_bind().dialect.name == "sqlite" and "locked" in str(err.orig).lower():
            return 0
        raise
    return len(freed)


def effective_status(stand: Stand, now: dt.datetime | None = None) -> str:
    """What a person should see: an expired hold is free even before the cleanup ran."""
    return effective_status_of(stand.status, stand.reserved_until, now)


def effective_status_of(
    status: str, reserved_until: dt.datetime | None, now: dt.datetime | None = None
) -> str:
    now = now or utcnow()
    if status == StandStatus.RESERVED.value and reserved_until and reserved_until <= now:
        return StandStatus.FREE.value
    return status


def effective_deal_id(stand: Stand, now: dt.datetime | None = None) -> int | None:
    """The deal that holds or bought the stand now (None for an expired hold)."""
    if effective_status(stand, now) == StandStatus.FREE.value:
        return None
    return stand.deal_id


def _refreshed(session: Session, stand_id: int) -> Stand:
    stand = _fresh_stand(session, stand_id)
    if stand is None:
        raise NotFound("Стенд не найден.")
    return stand
