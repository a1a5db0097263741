"""Stands: create, edit, take off sale, list with their effective status; holds for a person.

Status changes themselves (reserve, sell, release) are the conditional UPDATEs of
projects.stands; this module adds who may ask for them and the stand's own data rules:
a stand lies inside its hall and overlaps no other active stand; a reserved or sold stand keeps
its hall, area, type and position (a deal was priced by them).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select, update
from sqlalchemy.orm import Session

from erp_crm.audit import services as audit
from erp_crm.auth.models import User
from erp_crm.db import utcnow
from erp_crm.errors import NotFound, ValidationError
from erp_crm.projects import stands
from erp_crm.projects import values as v
from erp_crm.projects.models import Hall, Project, Stand, StandStatus
from erp_crm.projects.services import require_manage

LOCKED_WHEN_TAKEN = {
    "hall_id": "зал",
    "area_m2": "площадь",
    "stand_type": "тип",
    "position": "расположение",
}


@dataclass
class StandData:
    hall_id: int | str | None = None
    number: str | None = None
    area_m2: Any = None
    stand_type: str | None = None
    position: str | None = None
    x_m: Any = None
    y_m: Any = None
    width_m: Any = None
    depth_m: Any = None

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> StandData:
        known = {f.name for f in fields(cls)}
        return cls(**{k: val for k, val in data.items() if k in known})

    @classmethod
    def from_model(cls, stand: Stand) -> StandData:
        return cls(**{f.name: getattr(stand, f.name) for f in fields(cls)})

    def merged_with(self, changes: dict[str, Any]) -> StandData:
        return StandData.from_mapping({**self.__dict__, **changes})


@dataclass(frozen=True)
class Footprint:
    """A stand's rectangle on the plan (metres), for the overlap check."""

    stand_id: int | None
    number: str
    x: Decimal
    y: Decimal
    width: Decimal
    depth: Decimal

    def overlaps(self, other: Footprint) -> bool:  # touching edges do not overlap
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.depth
            and other.y < self.y + self.depth
        )


def hall_footprints(session: Session, hall_id: int) -> list[Footprint]:
    rows = session.execute(
        select(Stand.id, Stand.number, Stand.x_m, Stand.y_m, Stand.width_m, Stand.depth_m).where(
            Stand.hall_id == hall_id, Stand.is_active.is_(True)
        )
    )
    return [Footprint(*row) for row in rows]


def validate_stand(
    session: Session,
    project: Project,
    data: StandData,
    stand: Stand | None = None,
    *,
    footprints: list[Footprint] | None = None,
) -> dict[str, Any]:
    """Clean and check a stand's fields. `footprints`: the hall's stands, if already loaded."""
    errors: dict[str, str] = {}
    hall = None
    try:
        hall_id = int(data.hall_id) if data.hall_id not in (None, "") else None
    except (TypeError, ValueError):
        hall_id = None
    if hall_id is not None:
        hall = session.get(Hall, hall_id)
    if hall is None or hall.project_id != project.id:
        errors["hall_id"] = "Выберите зал этого проекта."
        hall = None
    number = v.text(data.number)
    if not number:
        errors["number"] = "Укажите номер стенда."
    elif len(number) > 32:
        errors["number"] = "Номер — не длиннее 32 знаков."
    elif hall is not None:
        clash = session.scalar(
            select(Stand.id).where(Stand.hall_id == hall.id, Stand.number == number)
        )
        if clash is not None and (stand is None or clash != stand.id):
            errors["number"] = f"В зале «{hall.name}» уже есть стенд № {number}."
    metres = {"maximum": v.METRES_MAX}
    x = v.decimal(data.x_m, "x_m", errors, label="координату X", required=True, **metres)
    y = v.decimal(data.y_m, "y_m", errors, label="координату Y", required=True, **metres)
    width = v.decimal(
        data.width_m, "width_m", errors, label="ширину", required=True, positive=True, **metres
    )
    depth = v.decimal(
        data.depth_m, "depth_m", errors, label="глубину", required=True, positive=True, **metres
    )
    area = v.decimal(
        data.area_m2, "area_m2", errors, label="площадь", positive=True, maximum=v.AREA_MAX
    )
    if area is None and "area_m2" not in errors and width is not None and depth is not None:
        area = (width * depth).quantize(Decimal("0.01"))
    stand_type = v.stand_type(data.stand_type, "stand_type", errors)
    position = v.stand_position(data.position, "position", errors)
    if hall is not None and None not in (x, y, width, depth):
        assert x is not None and y is not None and width is not None and depth is not None
        if x + width > hall.width_m or y + depth > hall.depth_m:
            errors["x_m"] = (
                f"Стенд выходит за границы зала «{hall.name}» "
                f"({hall.width_m:.2f} × {hall.depth_m:.2f} м)."
            )
        else:
            mine = Footprint(stand.id if stand else None, number or "", x, y, width, depth)
            others = footprints if footprints is not None else hall_footprints(session, hall.id)
            for other in others:
                if (stand is None or other.stand_id != stand.id) and mine.overlaps(other):
                    errors["x_m"] = f"Стенд пересекается со стендом № {other.number}."
                    break
    if errors:
        raise ValidationError(fields=errors)
    return {
        "hall_id": hall.id if hall else None,
        "number": number,
        "area_m2": area,
        "stand_type": stand_type,
        "position": position,
        "x_m": x,
        "y_m": y,
        "width_m": width,
        "depth_m": depth,
    }


def create_stand(
    session: Session,
    project: Project,
    data: StandData,
    *,
    actor: User,
    footprints: list[Footprint] | None = None,
) -> Stand:
    require_manage(actor)
    stand = Stand(
        project_id=project.id, **validate_stand(session, project, data, footprints=footprints)
    )
    session.add(stand)
    session.flush()
    return stand


def _locked(session: Session, stand_id: int) -> Stand:
    """The stand re-read under a row lock (PostgreSQL): a reservation waits until we are done."""
    stand = session.get(Stand, stand_id, with_for_update=True, populate_existing=True)
    if stand is None:
        raise NotFound("Стенд не найден.")
    return stand


def update_stand(
    session: Session,
    stand: Stand,
    data: StandData,
    *,
    actor: User,
    footprints: list[Footprint] | None = None,
) -> Stand:
    require_manage(actor)
    stand = _locked(session, stand.id)
    cleaned = validate_stand(session, stand.project, data, stand, footprints=footprints)
    if stands.effective_status(stand) != StandStatus.FREE.value:
        changed = [
            label
            for key, label in LOCKED_WHEN_TAKEN.items()
            if str(cleaned[key]) != str(getattr(stand, key))
        ]
        if changed:
            raise ValidationError(
                "Стенд забронирован или продан: "
                + ", ".join(changed)
                + " меняются только у свободного стенда (сделка рассчитана по ним).",
                fields={
                    key: "Нельзя менять у занятого стенда."
                    for key, label in LOCKED_WHEN_TAKEN.items()
                    if label in changed
                },
            )
    for key, value in cleaned.items():
        setattr(stand, key, value)
    session.flush()
    return stand


def set_stand_active(session: Session, stand: Stand, active: bool, *, actor: User) -> Stand:
    """Take a stand off sale (only a free one: holds and sales belong to deals) or back on."""
    require_manage(actor)
    if active:
        stand = _locked(session, stand.id)
        if stand.is_active:
            return stand
        validate_stand(session, stand.project, StandData.from_model(stand), stand)
        stand.is_active = True
        session.flush()
        return stand
    now = utcnow()
    result = session.execute(
        update(Stand)
        .where(
            Stand.id == stand.id,
            Stand.is_active.is_(True),
            or_(
                Stand.status == StandStatus.FREE.value,
                and_(Stand.status == StandStatus.RESERVED.value, Stand.reserved_until <= now),
            ),
        )
        .values(is_active=False, status=StandStatus.FREE.value, deal_id=None, reserved_until=None)
        .execution_options(synchronize_session=False)
    )
    stand = session.get(Stand, stand.id, populate_existing=True)
    if stand is None:
        raise NotFound("Стенд не найден.")
    if result.rowcount == 1:
        audit.record(session, stand, "update", {"is_active": [True, False]})
    elif stand.is_active:
        raise stands.holder_conflict(session, stand, now)
    return stand


def get_stand(session: Session, stand_id: int) -> Stand:
    stand = session.get(Stand, stand_id)
    if stand is None:
        raise NotFound("Стенд не найден.")
    return stand


# --- lists and totals ---------------------------------------------------------------------------


def effective_status_sql(now: dt.datetime):
    """The status a person sees, in SQL: an expired hold counts as free."""
    return case(
        (
            and_(Stand.status == StandStatus.RESERVED.value, Stand.reserved_until <= now),
            StandStatus.FREE.value,
        ),
        else_=Stand.status,
    )


def stand_query(
    project_id: int,
    *,
    hall_id: int | None = None,
    status: str | None = None,
    number: str | None = None,
    include_inactive: bool = False,
) -> Select:
    query = (
        select(Stand)
        .join(Hall, Hall.id == Stand.hall_id)
        .where(Stand.project_id == project_id)
        .order_by(Hall.position, Hall.name, Stand.number)
    )
    if not include_inactive:
        query = query.where(Stand.is_active.is_(True))
    if hall_id:
        query = query.where(Stand.hall_id == hall_id)
    if status in {s.value for s in StandStatus}:
        query = query.where(effective_status_sql(utcnow()) == status)
    if number:
        query = query.where(Stand.number == number.strip())
    return query


@dataclass(frozen=True)
class StatusTotal:
    count: int
    area_m2: Decimal


def stand_totals(
    session: Session, project_id: int, *, hall_id: int | None = None
) -> dict[str, StatusTotal]:
    """Active stands of the project (or hall) by effective status: count and m² (one GROUP BY)."""
    status = effective_status_sql(utcnow()).label("status")
    query = (
        select(status, func.count(), func.coalesce(func.sum(Stand.area_m2), 0))
        .where(Stand.project_id == project_id, Stand.is_active.is_(True))
        .group_by(status)
    )
    if hall_id:
        query = query.where(Stand.hall_id == hall_id)
    totals = {s.value: StatusTotal(0, Decimal("0.00")) for s in StandStatus}
    for key, count, area in session.execute(query):
        totals[key] = StatusTotal(count, Decimal(str(area)).quantize(Decimal("0.01")))
    return totals


def hall_totals(session: Session, project_id: int) -> dict[int, dict[str, StatusTotal]]:
    """The same totals for every hall of the project, in one GROUP BY."""
    status = effective_status_sql(utcnow()).label("status")
    result: dict[int, dict[str, StatusTotal]] = {}
    for hall_id, key, count, area in session.execute(
        select(Stand.hall_id, status, func.count(), func.coalesce(func.sum(Stand.area_m2), 0))
        .where(Stand.project_id == project_id, Stand.is_active.is_(True))
        .group_by(Stand.hall_id, status)
    ):
        totals = result.setdefault(
            hall_id, {s.value: StatusTotal(0, Decimal("0.00")) for s in StandStatus}
        )
        totals[key] = StatusTotal(count, Decimal(str(area)).quantize(Decimal("0.01")))
    return result


# --- hold periods asked for by a person (booking itself: deals/booking.py) ---------


def hold_end(day: dt.date) -> dt.datetime:
    """A hold «until» a day lasts to that day's end, Moscow time."""
    from erp_crm.ui import LOCAL_TZ

    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=LOCAL_TZ)


def parse_until(value: Any) -> dt.datetime | None:
    """The API's `until`: an ISO date-time with a time zone, or a date (to its end)."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return hold_end(value)
    raw = str(value).strip()
    try:
        if len(raw) == 10:
            return hold_end(dt.date.fromisoformat(raw))
        return dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError as err:
        raise ValidationError(
            fields={"until": "Срок брони — дата и время ISO 8601 с часовым поясом."}
        ) from err
