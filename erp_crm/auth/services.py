"""User management, authentication with lockout, and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import and_, bindparam, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from erp_crm.auth.models import ApiToken, LoginAttempt, LoginSession, LoginThrottleLock, User
from erp_crm.auth.permissions import Role
from erp_crm.db import utcnow
from erp_crm.errors import AuthenticationFailed, Conflict, ValidationError

# OWASP's argon2id profile (m=19 MiB, t=2, p=1): strong enough and ~20 ms per hash on this size.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified when the user name is unknown, so both paths cost the same (no user enumeration).
_DUMMY_HASH = _hasher.hash("dummy password for timing")

USERNAME_RE = re.compile(r"^[\w.\-@]{3,64}$")
MIN_PASSWORD_LENGTH = 8

LOGIN_FAILED = "Неверное имя пользователя или пароль."
LOGIN_DISABLED = "Учётная запись отключена, обратитесь к администратору."
LOGIN_LOCKED = "Слишком много неудачных попыток входа. Попробуйте через {minutes} мин."


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _password_errors(password: str | None, username: str) -> str | None:
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        return f"Пароль должен быть не короче {MIN_PASSWORD_LENGTH} символов."
    if password.lower() == username.lower():
        return "Пароль не должен совпадать с именем пользователя."
    return None


@dataclass
class UserData:
    username: str
    full_name: str
    role: str
    email: str | None = None
    phone: str | None = None
    password: str | None = None
    is_active: bool = True


def _validate_user(session: Session, data: UserData, user: User | None) -> dict[str, str]:
    errors: dict[str, str] = {}
    username = (data.username or "").strip().lower()
    if not USERNAME_RE.match(username):
        errors["username"] = "Имя входа: 3–64 символа, буквы, цифры, точка, дефис, @."
    else:
        clash = session.scalar(select(User.id).where(func.lower(User.username) == username))
        if clash is not None and (user is None or clash != user.id):
            errors["username"] = "Такое имя входа уже занято."
    if not (data.full_name or "").strip():
        errors["full_name"] = "Укажите ФИО."
    if data.role not in {r.value for r in Role}:
        errors["role"] = "Выберите роль из списка."
    if (data.email or "").strip() and _email(data.email) is None:
        errors["email"] = "Неверный адрес электронной почты (пример: anna@expo.ru)."
    if user is None or data.password:
        problem = _password_errors(data.password, username)
        if problem:
            errors["password"] = problem
    return errors


def _email(raw: str | None) -> str | None:
    """The address as stored (validated, lower case; no DNS lookup), None when none or invalid.
    «anna@expo» has no domain zone and is refused (reminders would bounce)."""
    try:
        return validate_email((raw or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def create_user(session: Session, data: UserData, *, actor: User | None) -> User:
    """Create a user; raises ValidationError with field messages."""
    errors = _validate_user(session, data, None)
    if errors:
        raise ValidationError(fields=errors)
    user = User(
        username=data.username.strip().lower(),
        full_name=data.full_name.strip(),
        role=data.role,
        email=_email(data.email),
        phone=(data.phone or "").strip() or None,
        password_hash=hash_password(data.password or ""),
        is_active=data.is_active,
    )
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, user: User, data: UserData, *, actor: User) -> User:
    """Change a user's profile, role, activity or password. Ending access ends live sessions."""
    errors = _validate_user(session, data, user)
    if actor.id == user.id and (not data.is_active or data.role != user.role):
        errors["role"] = "Нельзя снять с себя роль или отключить собственную учётную запись."
    if errors:
        raise ValidationError(fields=errors)
    ends_sessions = bool(data.password) or (user.is_active and not data.is_active)
    ends_sessions = ends_sessions or data.role != user.role
    user.username = data.username.strip().lower()
    user.full_name = data.full_name.strip()
    user.role = data.role
    user.email = _email(data.email)
    user.phone = (data.phone or "").strip() or None
    user.is_active = data.is_active
    if data.password:
        user.password_hash = hash_password(data.password)
    if ends_sessions:
        _end_sessions(session, user)
    session.flush()
    return user


def set_active(session: Session, user: User, active: bool, *, actor: User) -> User:
    if actor.id == user.id and not active:
        raise Conflict("Нельзя отключить собственную учётную запись.")
    if user.is_active and not active:
        _end_sessions(session, user)
    user.is_active = active
    session.flush()
    return user


def change_own_password(session: Session, user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise ValidationError(fields={"current_password": "Текущий пароль указан неверно."})
    problem = _password_errors(new, user.username)
    if problem:
        raise ValidationError(fields={"new_password": problem})
    user.password_hash = hash_password(new)
    _end_sessions(session, user)
    session.flush()


def _end_sessions(session: Session, user: User) -> None:
    user.session_version = (user.session_version or 0) + 1
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


# --- authentication ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    lockout: dt.timedelta
    max_failures_per_ip: int


def _locked_until(
    session: Session, username: str, ip: str, policy: LoginPolicy
) -> dt.datetime | None:
    """When the name (or the address) may try again, or None when it is not locked."""
    since = utcnow() - policy.lockout
    last_success = session.scalar(
        select(func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(True)
        )
    )
    window_start = max(since, last_success) if last_success else since
    failures = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.username == username,
            LoginAttempt.success.is_(False),
            LoginAttempt.at > window_start,
        )
    ).one()
    if failures[0] >= policy.max_failures:
        return failures[1] + policy.lockout
    if ip:
        ip_failures = session.execute(
            select(func.count(), func.max(LoginAttempt.at)).where(
                LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at > since
            )
        ).one()
        if ip_failures[0] >= policy.max_failures_per_ip:
            return ip_failures[1] + policy.lockout
    return None


def _queue_attempts(session: Session, username: str, ip: str) -> None:
    """Take the lock rows of the name, then of the address, before counting: a concurrent attempt
    of the same name or address waits here until this one has recorded its outcome and committed,
    so the count it then reads is never stale and N parallel failures cannot pass the limit.
    One upsert per row locks it on PostgreSQL and takes the write lock on SQLite; the name's row
    always comes first, so two attempts never wait for each other in a circle."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    keys = [f"name:{username}"] + ([f"ip:{ip}"] if ip else [])
    for key in keys:
        stmt = dialect.insert(LoginThrottleLock).values(key=key, touched_at=now)
        touch = {"touched_at": stmt.excluded.touched_at}
        session.execute(stmt.on_conflict_do_update(index_elements=["key"], set_=touch))


def authenticate(
    session: Session, username: str, password: str, *, ip: str, policy: LoginPolicy
) -> User:
    """Check a user name and password; every try is recorded. Raises AuthenticationFailed.

    The caller commits even on failure, so that the failed attempt counts toward the lockout.
    """
    username = (username or "").strip().lower()[:64]
    ip = ip[:64]
    _queue_attempts(session, username, ip)
    locked = _locked_until(session, username, ip, policy)
    if locked is not None:
        minutes = max(1, int((locked - utcnow()).total_seconds() // 60) + 1)
        raise AuthenticationFailed(LOGIN_LOCKED.format(minutes=minutes))
    user = session.scalar(select(User).where(User.username == username))
    right = verify_password(user.password_hash if user else _DUMMY_HASH, password or "")
    right = right and user is not None
    ok = right and user is not None and user.is_active
    session.add(LoginAttempt(username=username, ip=ip, success=ok))
    if not ok or user is None:
        session.flush()
        # Only the one who knows the password learns that the account exists but is switched off.
        raise AuthenticationFailed(LOGIN_DISABLED if right else LOGIN_FAILED)
    user.last_login_at = utcnow()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return user


# A login session lives at most this long (the remember-me cookie lasts 14 days); ended and
# outlived rows are deleted at the next login of anyone (see prune_login_sessions).
LOGIN_SESSION_MAX_AGE = dt.timedelta(days=30)
ENDED_SESSION_KEPT = dt.timedelta(days=1)


def prune_login_sessions(session: Session, now: dt.datetime | None = None) -> int:
    """Delete login sessions that ended a day ago or outlived LOGIN_SESSION_MAX_AGE."""
    now = now or utcnow()
    result = session.execute(
        delete(LoginSession).where(
            (LoginSession.ended_at < now - ENDED_SESSION_KEPT)
            | (LoginSession.created_at < now - LOGIN_SESSION_MAX_AGE)
        )
    )
    return result.rowcount


def start_login_session(session: Session, user: User) -> None:
    """A new login session for this browser; `user.get_id()` carries its secret from now on."""
    prune_login_sessions(session)
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user.id, token_hash=_token_digest(token)))
    session.flush()
    user.login_session_token = token


def end_login_session(session: Session, user: User) -> None:
    """Logout: this browser's session (and its remember-me cookie) stops working at once."""
    if not user.login_session_token:
        return
    session.execute(
        update(LoginSession)
        .where(
            LoginSession.token_hash == _token_digest(user.login_session_token),
            LoginSession.ended_at.is_(None),
        )
        .values(ended_at=utcnow())
    )
    user.login_session_token = None


def end_all_login_sessions(session: Session, user: User) -> int:
    """«Выйти на всех устройствах»: every live login session of the user ends; how many ended."""
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    user.login_session_token = None
    return result.rowcount


# Built once (every request runs it): the user and their live login session in one statement,
# one round trip; the user lands in the session's identity map for the rest of the request.
_SESSION_USER = (
    select(User, LoginSession.id)
    .outerjoin(
        LoginSession,
        and_(
            LoginSession.user_id == User.id,
            LoginSession.token_hash == bindparam("token_hash"),
            LoginSession.ended_at.is_(None),
            LoginSession.created_at >= bindparam("since"),
        ),
    )
    .where(User.id == bindparam("user_id"))
)


def load_session_user(session: Session, session_id: str) -> User | None:
    """Flask-Login's loader: the id carries the session version (a password change, deactivation
    or role change ends every session) and the login session's secret (logout ends one)."""
    user_part, _, rest = session_id.partition(":")
    version_part, _, token = rest.partition(":")
    try:
        user_id, version = int(user_part), int(version_part)
    except ValueError:
        return None
    if not token:
        return None
    row = session.execute(
        _SESSION_USER,
        {
            "user_id": user_id,
            "token_hash": _token_digest(token),
            "since": utcnow() - LOGIN_SESSION_MAX_AGE,
        },
    ).first()
    if row is None:
        return None
    user, live = row
    if not user.is_active or user.session_version != version or live is None:
        return None
    user.login_session_token = token
    return user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_api_token(session: Session, user: User, *, ttl: dt.timedelta) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        ApiToken(user_id=user.id, token_hash=_token_digest(token), expires_at=utcnow() + ttl)
    )
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_digest(token)))
    now = utcnow()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if not row.user.is_active:
        return None
    row.last_used_at = now
    return row.user
