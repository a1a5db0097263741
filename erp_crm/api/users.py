"""API: users (admin) — list, create, change profile, role and activity, reset a password; the
same services as the /admin/users pages (auth.services). A password hash is never returned;
changing a role, deactivating or resetting a password ends the user's sessions and revokes
their API tokens (as on the page).
"""

from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import select
from werkzeug.wrappers import Response

from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth import services
from erp_crm.auth.models import User
from erp_crm.auth.permissions import ROLE_LABELS, Perm, Role
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.errors import NotFound, ValidationError

TAG = "users"
_STR = {"type": ["string", "null"]}
_ROLE = {
    "type": "string",
    "enum": [r.value for r in Role],
    "description": "; ".join(f"{r.value} — {label}" for r, label in ROLE_LABELS.items()),
}
USER_FIELDS = {
    "username": {"type": "string", "maxLength": 64},
    "full_name": {"type": "string", "maxLength": 200},
    "role": _ROLE,
    "email": _STR,
    "phone": _STR,
    "is_active": {"type": "boolean"},
}
USER = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "full_name": {"type": "string"},
        "role": {"type": "string"},
        "email": _STR,
        "phone": _STR,
        "is_active": {"type": "boolean"},
        "last_login_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
_LABELS = {
    "username": "Имя входа",
    "full_name": "ФИО",
    "role": "Роль",
    "email": "E-mail",
    "phone": "Телефон",
    "is_active": "Действует",
    "password": "Пароль",
}


def user_dict(user: User) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "role": user.role,
        "email": user.email,
        "phone": user.phone,
        "is_active": user.is_active,
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
    }


def _get(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("Пользователь не найден.")
    return user


def _current(user: User) -> dict:
    return {k: getattr(user, k) for k in USER_FIELDS}


@api_route(
    "/users",
    "GET",
    summary="Пользователи (действующие первыми)",
    tag=TAG,
    perm=Perm.USERS_MANAGE,
    query=[
        {"name": "role", "in": "query", "required": False, "schema": _ROLE},
        {"name": "page", "in": "query", "required": False, "schema": {"type": "integer"}},
        {"name": "per_page", "in": "query", "required": False, "schema": {"type": "integer"}},
    ],
    response_schema={
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": USER},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "pages": {"type": "integer"},
        },
    },
)
def list_users() -> Response:
    query = select(User).order_by(User.is_active.desc(), User.full_name, User.id)
    if request.args.get("role"):
        query = query.where(User.role == request.args["role"])
    per_page = min(max(parse_page(request.args.get("per_page") or 100), 1), 500)
    page = paginate(db.session, query, page=parse_page(request.args.get("page")), per_page=per_page)
    return jsonify(
        items=[user_dict(u) for u in page.items], total=page.total, page=page.page, pages=page.pages
    )


@api_route(
    "/users",
    "POST",
    summary="Создать пользователя",
    tag=TAG,
    perm=Perm.USERS_MANAGE,
    request_schema={
        "type": "object",
        "required": ["username", "full_name", "role", "password"],
        "properties": {
            **USER_FIELDS,
            "password": {
                "type": "string",
                "description": f"не короче {services.MIN_PASSWORD_LENGTH} символов",
            },
        },
    },
    labels=_LABELS,
    response_schema=USER,
    status=201,
)
def create_user() -> tuple[Response, int]:
    body = json_body()
    data = services.UserData(
        username=body.get("username") or "",
        full_name=body.get("full_name") or "",
        role=body.get("role") or "",
        email=body.get("email"),
        phone=body.get("phone"),
        password=body.get("password"),
        is_active=body.get("is_active", True) is not False,
    )
    user = services.create_user(db.session, data, actor=api_user())
    return jsonify(user_dict(user)), 201


@api_route(
    "/users/<int:user_id>",
    "GET",
    summary="Пользователь",
    tag=TAG,
    perm=Perm.USERS_MANAGE,
    response_schema=USER,
)
def get_user(user_id: int) -> Response:
    return jsonify(user_dict(_get(user_id)))


@api_route(
    "/users/<int:user_id>",
    "PATCH",
    summary="Изменить пользователя: профиль, роль, is_active (смена роли и отключение "
    "завершают его сеансы и отзывают токены; себя не отключить)",
    tag=TAG,
    perm=Perm.USERS_MANAGE,
    request_schema={"type": "object", "properties": USER_FIELDS},
    labels=_LABELS,
    response_schema=USER,
)
def update_user(user_id: int) -> Response:
    user = _get(user_id)
    changes = {k: val for k, val in json_body().items() if k in USER_FIELDS}
    data = services.UserData(**{**_current(user), **changes, "password": None})
    services.update_user(db.session, user, data, actor=api_user())
    return jsonify(user_dict(user))


@api_route(
    "/users/<int:user_id>/password",
    "POST",
    summary="Задать пользователю новый пароль (его сеансы и токены завершаются)",
    tag=TAG,
    perm=Perm.USERS_MANAGE,
    request_schema={
        "type": "object",
        "required": ["password"],
        "properties": {
            "password": {
                "type": "string",
                "description": f"не короче {services.MIN_PASSWORD_LENGTH} символов",
            }
        },
    },
    labels=_LABELS,
    response_schema=USER,
)
def reset_password(user_id: int) -> Response:
    user = _get(user_id)
    password = json_body().get("password")
    if not password:  # update_user keeps the password when none is given: say it is required
        raise ValidationError(fields={"password": "Укажите новый пароль."})
    data = services.UserData(**_current(user), password=password)
    services.update_user(db.session, user, data, actor=api_user())
    return jsonify(user_dict(user))
