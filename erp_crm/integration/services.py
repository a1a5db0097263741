"""Exchange state, connection settings (password encrypted at rest), the log.

The outbox's and the inbox's state machines are in `outbox` and `inbox`."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.db import utcnow
from erp_crm.errors import PermissionDenied, ValidationError
from erp_crm.integration.models import ExchangeEvent, ExchangeState


@dataclass(frozen=True)
class Connection:
    url: str
    username: str
    password: str
    node: str
    timeout: float


def _fernet() -> Fernet:
    """A key derived from SECRET_KEY: the stored password is useless without the app's secret."""
    digest = hashlib.sha256(("accounting-password:" + current_app.config["SECRET_KEY"]).encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def state(session: Session, node: str | None = None) -> ExchangeState:
    node = node or current_app.config["ACCOUNTING_NODE"]
    row = session.scalar(select(ExchangeState).where(ExchangeState.node == node))
    if row is None:
        row = ExchangeState(node=node)
        session.add(row)
        session.flush()
    return row


def connection(session: Session) -> Connection:
    """Settings from the admin page, falling back to the environment (Config)."""
    config = current_app.config
    row = state(session)
    password = config["ACCOUNTING_PASSWORD"]
    if row.password_encrypted:
        try:
            password = _fernet().decrypt(row.password_encrypted.encode()).decode()
        except InvalidToken:
            password = ""  # SECRET_KEY changed: the admin has to enter the password again
    return Connection(
        url=row.url or config["ACCOUNTING_URL"],
        username=row.username or config["ACCOUNTING_USER"] or "Обмен",
        password=password,
        node=row.node,
        timeout=float(config["ACCOUNTING_TIMEOUT"]),
    )


def save_settings(
    session: Session, *, url: str, username: str, password: str | None, actor: User
) -> ExchangeState:
    """An empty password keeps the stored one (it is never shown back)."""
    if not has_permission(actor, Perm.EXCHANGE_MANAGE):
        raise PermissionDenied("Настройки обмена меняет администратор.")
    url = (url or "").strip()
    errors = {}
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(ch.isspace() for ch in url)
        or len(url) > 500
    ):
        errors["url"] = "Адрес веб-сервиса: http(s)://сервер/база/ws/ExpoExchange.1cws"
    if not (username or "").strip():
        errors["username"] = "Укажите пользователя 1С."
    if errors:
        raise ValidationError(fields=errors)
    row = state(session)
    row.url = url
    row.username = username.strip()[:200]
    if password:
        row.password_encrypted = _fernet().encrypt(password.encode()).decode()
    row.updated_at = utcnow()
    session.flush()
    from erp_crm.audit.services import record

    # The audit row says the settings changed, never the password itself.
    record(
        session,
        _AuditedState(row),
        "settings",
        {"url": url, "username": row.username, "password_changed": bool(password)},
    )
    return row


class _AuditedState:
    """An audit adapter for the settings row (the row itself is not Audited: it holds a secret)."""

    __tablename__ = "exchange_state"
    __audit_exclude__ = frozenset()
    __audit_secret__ = frozenset()

    def __init__(self, row: ExchangeState) -> None:
        self.id = row.id

    def audit_label(self) -> str:
        return "Настройки обмена с 1С"


def log(
    session: Session, operation: str, ok: bool, detail: str = "", message_no: int | None = None
) -> None:
    session.add(
        ExchangeEvent(operation=operation, ok=ok, detail=detail[:4000], message_no=message_no)
    )
    session.flush()
