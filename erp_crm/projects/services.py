"""Exhibition projects: the project card, its team and its halls.

Plain functions taking the session first and the acting user as `actor=`; they validate, change,
flush and raise DomainErrors, never commit. Price lists live in prices, stands in
stand_services, sales plans in plans.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm.audit import services as audit
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.errors import NotFound, PermissionDenied, ValidationError
from erp_crm.projects import values as v
from erp_crm.projects.models import (
    Hall,
    Project,
    ProjectMember,
    ProjectStatus,
    Stand,
)

_CODE = re.compile(r"^[0-9A-ZА-ЯЁ][0-9A-ZА-ЯЁ_\-]*$")


def require_manage(actor: User | None) -> None:
    if not has_permission(actor, Perm.PROJECTS_MANAGE):
        raise PermissionDenied("Изменять проекты, залы, цены и стенды может руководитель проекта.")


# --- projects -----------------------------------------------------------------------------------


@dataclass
class ProjectData:
    """A project's editable fields, as the form and the API hand them in."""

    name: str | None = None
    code: str | None = None
    venue: str | None = None
    city: str | None = None
    build_up_date: dt.date | str | None = None
    opening_date: dt.date | str | None = None
    closing_date: dt.date | str | None = None
    dismantling_date: dt.date | str | None = None
    status: str = ProjectStatus.PLANNED.value
    description: str | None = None
    project_manager_id: int | str | None = None
    member_ids: list[int | str] = field(default_factory=list)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> ProjectData:
        known = {f.name for f in fields(cls)}
        values = {k: val for k, val in data.items() if k in known}
        if values.get("member_ids") is None:
            values.pop("member_ids", None)
        return cls(**values)

    @classmethod
    def from_model(cls, project: Project) -> ProjectData:
        data = {f.name: getattr(project, f.name) for f in fields(cls) if f.name != "member_ids"}
        return cls(**data, member_ids=[m.user_id for m in project.members])

    def merged_with(self, changes: dict[str, Any]) -> ProjectData:
        return ProjectData.from_mapping({**self.__dict__, **changes})


def _active_user(session: Session, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = session.get(User, user_id)
    return user if user is not None and user.is_active else None


def validate_project(
    session: Session, data: ProjectData, project: Project | None = None
) -> dict[str, Any]:
    """Clean and check a project's fields; raise ValidationError naming every wrong one."""
    errors: dict[str, str] = {}
    name = v.text(data.name)
    if not name:
        errors["name"] = "Укажите название проекта."
    elif len(name) > 300:
        errors["name"] = "Название — не длиннее 300 знаков."
    code = (v.text(data.code) or "").upper()
    if not code:
        errors["code"] = "Укажите код проекта, например VSE-2027."
    elif len(code) > 32 or not _CODE.match(code):
        errors["code"] = "Код: буквы, цифры, дефис и подчёркивание, не длиннее 32 знаков."
    else:
        clash = session.scalar(select(Project.id).where(Project.code == code))
        if clash is not None and (project is None or clash != project.id):
            errors["code"] = "Такой код уже у другого проекта."
    dates = {
        key: v.date(getattr(data, key), key, errors)
        for key in ("build_up_date", "opening_date", "closing_date", "dismantling_date")
    }
    if dates["opening_date"] is None and "opening_date" not in errors:
        errors["opening_date"] = "Укажите дату открытия выставки."
    if dates["closing_date"] is None and "closing_date" not in errors:
        errors["closing_date"] = "Укажите дату закрытия выставки."
    opening, closing = dates["opening_date"], dates["closing_date"]
    if dates["build_up_date"] and opening and dates["build_up_date"] > opening:
        errors["build_up_date"] = "Монтаж не может начинаться позже открытия."
    if opening and closing and closing < opening:
        errors["closing_date"] = "Закрытие не может быть раньше открытия."
    if dates["dismantling_date"] and closing and dates["dismantling_date"] < closing:
        errors["dismantling_date"] = "Демонтаж не может быть раньше закрытия."
    status = v.text(data.status) or ProjectStatus.PLANNED.value
    if status not in {s.value for s in ProjectStatus}:
        errors["status"] = "Выберите статус проекта."
    manager_id = v.user_id(data.project_manager_id, "project_manager_id", errors)
    if manager_id is not None:
        manager = _active_user(session, manager_id)
        if manager is None or not has_permission(manager, Perm.PROJECTS_MANAGE):
            errors["project_manager_id"] = (
                "Руководителем проекта может быть активный сотрудник с правом вести проекты."
            )
    member_ids: list[int] = []
    for raw in data.member_ids or []:
        member_id = v.user_id(raw, "member_ids", errors)
        if member_id is None or member_id in member_ids:
            continue
        member = _active_user(session, member_id)
        if member is None or not has_permission(member, Perm.DEALS_WORK):
            existing = {m.user_id for m in project.members} if project else set()
            if member_id not in existing:  # a deactivated member already in the team may stay
                errors["member_ids"] = "В команду проекта входят активные менеджеры по продажам."
                continue
        member_ids.append(member_id)
    for key, limit in (("venue", 300), ("city", 120)):
        value = v.text(getattr(data, key))
        if value and len(value) > limit:
            errors[key] = f"Не длиннее {limit} знаков."
    if errors:
        raise ValidationError(fields=errors)
    return {
        "name": name,
        "code": code,
        "venue": v.text(data.venue),
        "city": v.text(data.city),
        **dates,
        "status": status,
        "description": v.text(data.description),
        "project_manager_id": manager_id,
        "member_ids": member_ids,
    }


def _set_team(session: Session, project: Project, member_ids: list[int]) -> dict | None:
    before = sorted(m.user_id for m in project.members)
    wanted = set(member_ids)
    project.members = [m for m in project.members if m.user_id in wanted] + [
        ProjectMember(user_id=uid) for uid in member_ids if uid not in before
    ]
    after = sorted(wanted)
    return {"team": [before, after]} if before != after else None


def create_project(session: Session, data: ProjectData, *, actor: User) -> Project:
    require_manage(actor)
    cleaned = validate_project(session, data)
    member_ids = cleaned.pop("member_ids")
    project = Project(**cleaned)
    session.add(project)
    session.flush()
    if member_ids:
        _set_team(session, project, member_ids)
        session.flush()
        audit.record(session, project, "team", {"team": sorted(member_ids)})
    return project


def update_project(
    session: Session, project: Project, data: ProjectData, *, actor: User
) -> Project:
    require_manage(actor)
    cleaned = validate_project(session, data, project)
    member_ids = cleaned.pop("member_ids")
    for key, value in cleaned.items():
        setattr(project, key, value)
    team_change = _set_team(session, project, member_ids)
    session.flush()
    if team_change:
        audit.record(session, project, "team", team_change)
    return project


def get_project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("Выставочный проект не найден.")
    return project


def list_projects(session: Session, *, status: str | None = None) -> list[Project]:
    query = select(Project).order_by(Project.opening_date.desc(), Project.name)
    if status:
        query = query.where(Project.status == status)
    return list(session.scalars(query))


def team_candidates(session: Session) -> list[User]:
    """Active users who sell (the choices of the project team)."""
    users = session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.full_name))
    return [u for u in users if has_permission(u, Perm.DEALS_WORK)]


def manager_candidates(session: Session) -> list[User]:
    users = session.scalars(select(User).where(User.is_active.is_(True)).order_by(User.full_name))
    return [u for u in users if has_permission(u, Perm.PROJECTS_MANAGE)]


# --- halls --------------------------------------------------------------------------------------


@dataclass
class HallData:
    name: str | None = None
    width_m: Any = None
    depth_m: Any = None
    position: int | str | None = 0

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> HallData:
        known = {f.name for f in fields(cls)}
        return cls(**{k: val for k, val in data.items() if k in known})


def validate_hall(session: Session, project: Project, data: HallData, hall: Hall | None = None):
    errors: dict[str, str] = {}
    name = v.text(data.name)
    if not name:
        errors["name"] = "Укажите название зала."
    elif len(name) > 100:
        errors["name"] = "Название — не длиннее 100 знаков."
    else:
        clash = session.scalar(
            select(Hall.id).where(Hall.project_id == project.id, Hall.name == name)
        )
        if clash is not None and (hall is None or clash != hall.id):
            errors["name"] = "Зал с таким названием в проекте уже есть."
    width = v.decimal(
        data.width_m,
        "width_m",
        errors,
        label="ширину",
        required=True,
        positive=True,
        maximum=v.METRES_MAX,
    )
    depth = v.decimal(
        data.depth_m,
        "depth_m",
        errors,
        label="глубину",
        required=True,
        positive=True,
        maximum=v.METRES_MAX,
    )
    try:
        position = int(data.position or 0)
    except (TypeError, ValueError):
        errors["position"] = "Порядок — целое число."
        position = 0
    if hall is not None and width is not None and depth is not None:
        extents = session.execute(
            select(Stand.x_m, Stand.width_m, Stand.y_m, Stand.depth_m).where(
                Stand.hall_id == hall.id, Stand.is_active.is_(True)
            )
        ).all()
        right = max((x + w for x, w, _, _ in extents), default=Decimal(0))
        bottom = max((y + d for _, _, y, d in extents), default=Decimal(0))
        if right > width:
            errors["width_m"] = f"Стенды зала выходят за эту ширину (до {right:.2f} м)."
        if bottom > depth:
            errors["depth_m"] = f"Стенды зала выходят за эту глубину (до {bottom:.2f} м)."
    if errors:
        raise ValidationError(fields=errors)
    return {"name": name, "width_m": width, "depth_m": depth, "position": position}


def create_hall(session: Session, project: Project, data: HallData, *, actor: User) -> Hall:
    require_manage(actor)
    cleaned = validate_hall(session, project, data)
    hall = Hall(project=project, **cleaned)
    session.add(hall)
    session.flush()
    return hall


def update_hall(session: Session, hall: Hall, data: HallData, *, actor: User) -> Hall:
    require_manage(actor)
    cleaned = validate_hall(session, hall.project, data, hall)
    for key, value in cleaned.items():
        setattr(hall, key, value)
    session.flush()
    return hall


def delete_hall(session: Session, hall: Hall, *, actor: User) -> None:
    """Only an empty hall goes (stands are never deleted: deals and documents name them)."""
    require_manage(actor)
    if session.scalar(select(func.count()).select_from(Stand).where(Stand.hall_id == hall.id)):
        raise ValidationError("В зале есть стенды: удалить можно только пустой зал.")
    session.delete(hall)
    session.flush()


def get_hall(session: Session, hall_id: int) -> Hall:
    hall = session.get(Hall, hall_id)
    if hall is None:
        raise NotFound("Зал не найден.")
    return hall
