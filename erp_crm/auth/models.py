from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp_crm.auth.permissions import ROLE_LABELS, Perm, Role
from erp_crm.db import Audited, Base, TimestampMixin, utcnow

_ROLE_VALUES = ", ".join(f"'{r.value}'" for r in Role)


class User(Audited, UserMixin, TimestampMixin, Base):
    """A person who logs in. Never deleted: deactivated, so history keeps its authors."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint(f"role IN ({_ROLE_VALUES})", name="role_known"),)
    __audit_secret__ = frozenset({"password_hash", "calendar_token_hash"})
    __audit_secret_texts__: ClassVar[dict[str, tuple[str, str]]] = {
        "password_hash": ("задан", "изменён")
    }
    __audit_exclude__ = frozenset({"session_version", "last_login_at"})
    __audit_view_permission__ = Perm.USERS_MANAGE
    __audit_title__ = "Пользователь"
    __audit_labels__: ClassVar[dict[str, str]] = {
        "time_zone": "Часовой пояс",
        "full_name": "ФИО",
        "is_active": "Активен",
        "username": "Логин",
        "role": "Роль",
        "password_hash": "Пароль",
    }
    __audit_values__: ClassVar[dict[str, dict[Any, Any]]] = {"role": ROLE_LABELS}

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[str] = mapped_column(String(32))
    # The user's wall clock: contacts are planned and reminded in it (IANA name).
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    # SHA-256 of the secret of the private iCal feed («мой календарь»); None = no feed.
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of the login session's id: bumping it (deactivation, password change) ends live sessions.
    session_version: Mapped[int] = mapped_column(default=1)
    last_login_at: Mapped[dt.datetime | None]

    # The secret of the login session this object was loaded for or logged in with (not a column:
    # set by `auth.services.start_login_session` and the session loader).
    login_session_token = None

    def get_id(self) -> str:
        """Flask-Login's id, kept in the session and the remember-me cookie: the user, the session
        version and the login session's secret, so logout can end exactly this session."""
        return f"{self.id}:{self.session_version}:{self.login_session_token or ''}"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(Role(self.role), self.role)

    def audit_label(self) -> str:
        return f"{self.full_name} ({self.username})"

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class LoginAttempt(Base):
    """Every login try, kept for lockout decisions and for the security log."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64), default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    success: Mapped[bool] = mapped_column(Boolean)


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship()


class LoginSession(Base):
    """One logged-in browser (its session and remember-me cookie); only the secret's SHA-256 is
    stored. Logout ends it, «выйти на всех устройствах» ends all of the user's."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]


class LoginThrottleLock(Base):
    """A row per user name and per address that tries to log in: an attempt updates its rows
    first, so concurrent attempts of one name or address queue on the row lock and each counts
    the failures the previous one recorded (check-then-insert made atomic)."""

    __tablename__ = "login_throttle_locks"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    touched_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
