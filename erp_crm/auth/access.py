"""Route guards: every page needs a logged-in, active user unless marked `@public`; views add
`@require_permission`. Record-level predicates of each area build on `has_permission`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, request
from flask_login import current_user

from erp_crm.auth.permissions import Perm, has_permission

F = TypeVar("F", bound=Callable[..., Any])


def public(view: F) -> F:
    """Mark a view as reachable without logging in (login page, health check, public intake)."""
    view._public = True  # type: ignore[attr-defined]
    return view


def require_permission(*perms: Perm) -> Callable[[F], F]:
    """The user must hold every one of `perms` (403 otherwise)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not all(has_permission(current_user, p) for p in perms):
                abort(403)
            return view(*args, **kwargs)

        wrapped._permissions = perms  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def ensure(allowed: bool) -> None:
    """Record-level check inside a view: 403 when `allowed` is false."""
    if not allowed:
        abort(403)


def install_login_guard(app: Flask) -> None:
    """Anonymous users reach only `@public` views; the API authenticates by its own tokens."""

    @app.before_request
    def _guard() -> Any:
        endpoint = request.endpoint
        if endpoint is None:  # 404/405 are answered by the error handlers
            return None
        view = current_app.view_functions.get(endpoint)
        if endpoint == "static" or getattr(view, "_public", False):
            return None
        if request.blueprint == "api":
            return None  # the API's own before_request checks the bearer token
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
        g.actor_id = current_user.id
        return None
