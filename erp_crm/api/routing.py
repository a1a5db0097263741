"""The API's machinery: the `api` blueprint with its bearer-token check, and `api_route`.

Every endpoint is declared with `api_route`, which registers the URL rule, the permission check and
its entry in the OpenAPI document at once, so the document cannot forget an endpoint. The
endpoint modules import this module, never the package (whose `register_api_modules` imports
them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, g, request

from erp_crm.api.validation import check_body
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.auth.services import user_for_token
from erp_crm.db import db
from erp_crm.errors import AuthenticationFailed, DomainError, PermissionDenied

bp = Blueprint("api", __name__, url_prefix="/api/v1")


class BadRequest(DomainError):
    status_code = 400
    default_message = "Некорректный запрос."


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    tag: str
    perm: Perm | None
    public: bool
    request_schema: dict | None = None
    response_schema: dict | None = None
    status: int = 200
    query: list[dict] = field(default_factory=list)
    multipart: dict | None = None
    labels: dict[str, str] = field(default_factory=dict)


OPERATIONS: list[Operation] = []
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def api_route(
    rule: str,
    method: str,
    *,
    summary: str,
    tag: str,
    perm: Perm | None = None,
    public: bool = False,
    request_schema: dict | None = None,
    response_schema: dict | None = None,
    status: int = 200,
    query: list[dict] | None = None,
    multipart: dict | None = None,
    labels: dict[str, str] | None = None,
) -> Callable:
    """Register an API endpoint. Non-public endpoints need a valid token and, if given, `perm`.

    A JSON body is checked against `request_schema` before the view (`validation.check_body`: a
    value of a wrong type is a 422 naming the field, by its Russian name in `labels` if given).
    """

    if public and perm is not None:
        raise ValueError("a public endpoint has no caller to check a permission of")

    def decorator(view: Callable) -> Callable:
        endpoint = view.__name__

        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if perm is not None and not has_permission(api_user(), perm):
                raise PermissionDenied()
            if request_schema is not None and request.method in _BODY_METHODS:
                check_body(request.get_json(silent=True), request_schema, labels)
            return view(*args, **kwargs)

        wrapped._public = public  # type: ignore[attr-defined]
        bp.add_url_rule(rule, endpoint=endpoint, view_func=wrapped, methods=[method])
        OPERATIONS.append(
            Operation(
                rule=rule,
                method=method.lower(),
                endpoint=f"api.{endpoint}",
                summary=summary,
                tag=tag,
                perm=perm,
                public=public,
                request_schema=request_schema,
                response_schema=response_schema,
                status=status,
                query=query or [],
                multipart=multipart,
                labels=dict(labels or {}),
            )
        )
        return wrapped

    return decorator


def api_user() -> User:
    return g.api_user


def json_body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadRequest("Тело запроса должно быть JSON-объектом (Content-Type: application/json).")
    if not _is_utf8(data):
        # JSON may escape a lone surrogate (\ud800), which no UTF-8 text (nor database) can hold
        raise BadRequest("В тексте запроса недопустимый символ (одиночный суррогат UTF-16).")
    return data


def _is_utf8(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_is_utf8(k) and _is_utf8(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_utf8(v) for v in value)
    return True


@bp.before_request
def _authenticate() -> None:
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "_public", False):
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("Нужен заголовок Authorization: Bearer <токен>.")
    user = user_for_token(db.session, token.strip())
    if user is None:
        raise AuthenticationFailed("Токен недействителен, отозван или истёк.")
    g.api_user = user
    g.actor_id = user.id
