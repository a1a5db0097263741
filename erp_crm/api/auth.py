from __future__ import annotations

from flask import current_app, jsonify, request
from werkzeug.wrappers import Response

from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth import services
from erp_crm.auth.views import login_policy
from erp_crm.db import db
from erp_crm.errors import AuthenticationFailed

TOKEN_REQUEST = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
}
TOKEN_RESPONSE = {
    "type": "object",
    "properties": {"token": {"type": "string"}, "expires_in": {"type": "integer"}},
}
ME_RESPONSE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "full_name": {"type": "string"},
        "role": {"type": "string"},
    },
}


@api_route(
    "/auth/token",
    "POST",
    summary="Получить токен по имени и паролю",
    tag="auth",
    public=True,
    request_schema=TOKEN_REQUEST,
    response_schema=TOKEN_RESPONSE,
)
def issue_token() -> Response:
    data = json_body()
    try:
        user = services.authenticate(
            db.session,
            str(data.get("username") or ""),
            str(data.get("password") or ""),
            ip=request.remote_addr or "",
            policy=login_policy(),
        )
    except AuthenticationFailed:
        # The failed attempt must outlive this request's rollback: it feeds the lockout.
        db.session.commit()
        raise
    ttl = current_app.config["API_TOKEN_TTL"]
    token = services.issue_api_token(db.session, user, ttl=ttl)
    return jsonify(token=token, expires_in=int(ttl.total_seconds()))


@api_route(
    "/me", "GET", summary="Текущий пользователь токена", tag="auth", response_schema=ME_RESPONSE
)
def me() -> Response:
    user = api_user()
    return jsonify(id=user.id, username=user.username, full_name=user.full_name, role=user.role)
