"""The e-mail outbox: every e-mail to a client is a row first (in the business transaction),
sent later by `send_due` — retried with exponential backoff, dead after N tries, the server's
answer kept — at most N per minute. `send_due` is a plain function: a periodic job (or `flask
mailing send`) calls it; it never loops or starts a thread."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.core import mail as smtp_mail
from erp_crm.core.mail import SECURITY_MODES, MailSettings
from erp_crm.db import take_write_lock, utcnow
from erp_crm.errors import PermissionDenied, ValidationError
from erp_crm.mailing.models import MailAttachment, MailMessage, MailServerSettings

log = logging.getLogger(__name__)

STATUS_LABELS = {
    "queued": "В очереди",
    "failed": "Ошибка, будет повтор",
    "sent": "Отправлено",
    "dead": "Не доставлено",
}
LEASE = dt.timedelta(minutes=10)  # a claimed row is not taken by another sender meanwhile


@dataclass(frozen=True)
class Policy:
    settings: MailSettings
    rate_per_minute: int
    max_attempts: int
    backoff_seconds: int


def _config(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if config is not None:
        return config
    if has_app_context():
        return current_app.config
    raise RuntimeError("mail settings need the app's config")


def _fernet(config: Mapping[str, Any]) -> Fernet:
    digest = hashlib.sha256(("mail-password:" + config["SECRET_KEY"]).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def policy(session: Session, config: Mapping[str, Any] | None = None) -> Policy:
    """The admin's settings row when there is one, else the environment's (Config)."""
    config = _config(config)
    base = MailSettings.from_config(config)
    row = session.scalar(select(MailServerSettings).order_by(MailServerSettings.id).limit(1))
    rate = int(config.get("MAIL_RATE_PER_MINUTE", 60))
    attempts = int(config.get("MAIL_MAX_ATTEMPTS", 5))
    backoff = int(config.get("MAIL_BACKOFF_SECONDS", 60))
    if row is not None:
        password = ""
        if row.password_encrypted:
            try:
                password = _fernet(config).decrypt(row.password_encrypted.encode()).decode()
            except InvalidToken:
                log.warning("The stored SMTP password cannot be read (SECRET_KEY changed?)")
        base = MailSettings(
            host=row.host,
            port=row.port,
            sender=row.sender,
            username=row.username or "",
            password=password,
            base_url=base.base_url,
            security=row.security,
            timeout=base.timeout,
        )
        rate, attempts = row.rate_per_minute, row.max_attempts
    return Policy(base, rate, attempts, backoff)


def save_settings(
    session: Session, values: Mapping[str, Any], *, actor: User, config=None
) -> MailServerSettings:
    if not has_permission(actor, Perm.MAILING_SETTINGS):
        raise PermissionDenied("Настройки почты меняет администратор.")
    errors: dict[str, str] = {}
    host = str(values.get("host") or "").strip()
    if not host or len(host) > 200:
        errors["host"] = "Укажите адрес SMTP-сервера."
    numbers = {}
    for key, low, high, label in (
        ("port", 1, 65535, "Порт — число от 1 до 65535."),
        ("rate_per_minute", 1, 10000, "Писем в минуту — от 1 до 10000."),
        ("max_attempts", 1, 50, "Попыток — от 1 до 50."),
    ):
        try:
            numbers[key] = int(str(values.get(key) or "").strip())
            if not low <= numbers[key] <= high:
                raise ValueError
        except ValueError:
            errors[key] = label
    security = str(values.get("security") or "")
    if security not in SECURITY_MODES:
        errors["security"] = "Выберите шифрование."
    sender = str(values.get("sender") or "").strip()
    try:
        sender = validate_email(sender, check_deliverability=False).normalized
    except EmailNotValidError:
        errors["sender"] = "Адрес отправителя — корректный e-mail."
    if errors:
        raise ValidationError(
            "Настройки почты не сохранены: " + " ".join(errors.values()), fields=errors
        )
    row = session.scalar(select(MailServerSettings).order_by(MailServerSettings.id).limit(1))
    if row is None:
        row = MailServerSettings()
        session.add(row)
    row.host, row.security, row.sender = host, security, sender
    row.port, row.rate_per_minute = numbers["port"], numbers["rate_per_minute"]
    row.max_attempts = numbers["max_attempts"]
    row.username = str(values.get("username") or "").strip()[:200] or None
    password = values.get("password")
    if password:
        row.password_encrypted = _fernet(_config(config)).encrypt(str(password).encode()).decode()
    elif values.get("clear_password"):
        row.password_encrypted = None
    session.flush()
    return row


def check_address(value: Any) -> str:
    try:
        return validate_email(str(value or ""), check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise ValidationError(
            "Неверный адрес электронной почты получателя.", fields={"email": str(err)}
        ) from err


def enqueue(
    session: Session,
    *,
    to: str,
    subject: str,
    body: str,
    kind: str,
    to_name: str | None = None,
    attachments: list[MailAttachment] = (),
    headers: dict[str, str] | None = None,
    actor: User | None = None,
    **links: Any,
) -> MailMessage:
    """Queue one e-mail (in the caller's transaction); `links`: client_id, contact_id, deal_id,
    document_id, campaign_id, recipient_id."""
    row = MailMessage(
        kind=kind,
        status="queued",
        to_address=check_address(to),
        to_name=to_name,
        subject=subject[:300],
        body=body,
        headers=headers or {},
        next_attempt_at=utcnow(),
        created_by_id=actor.id if actor else None,
        **links,
    )
    row.attachments = list(attachments)
    session.add(row)
    return row


def attachment(
    session: Session, filename: str, content: bytes, content_type: str
) -> MailAttachment:
    row = MailAttachment(
        filename=filename[-200:], content_type=content_type, size=len(content), content=content
    )
    session.add(row)
    return row


def build(row: MailMessage, settings: MailSettings) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = row.subject
    message["From"] = settings.sender
    message["To"] = formataddr((row.to_name or "", row.to_address))
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    for name, value in (row.headers or {}).items():
        message[name] = value
    message.set_content(row.body)
    for item in row.attachments:
        maintype, _, subtype = item.content_type.partition("/")
        message.add_attachment(
            item.content,
            maintype=maintype,
            subtype=subtype or "octet-stream",
            filename=item.filename,
        )
    return message


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    deferred: int = 0  # left for the next minute by the rate limit


def _backoff(policy_: Policy, attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=policy_.backoff_seconds * 2 ** max(attempts - 1, 0))


def send_due(
    session: Session, now: dt.datetime | None = None, *, config: Mapping[str, Any] | None = None
) -> SendReport:
    """One pass over the due e-mails: claim up to the minute's rate (a lease, committed, so a
    concurrent sender skips them), send with no transaction open, record each answer. Commits
    (a job, not a request)."""
    now = now or utcnow()
    rules = policy(session, config)
    report = SendReport()
    if not session.in_transaction():
        take_write_lock(session)
    sent_last_minute = (
        session.scalar(
            select(func.count())
            .select_from(MailMessage)
            .where(
                MailMessage.status == "sent", MailMessage.sent_at > now - dt.timedelta(minutes=1)
            )
        )
        or 0
    )
    room = max(rules.rate_per_minute - sent_last_minute, 0)
    due_filter = (
        MailMessage.status.in_(("queued", "failed")),
        MailMessage.next_attempt_at <= now,
    )
    ids = list(
        session.scalars(
            select(MailMessage.id)
            .where(*due_filter)
            .order_by(MailMessage.next_attempt_at, MailMessage.id)
            .limit(room)
        )
    )
    report.deferred = (
        session.scalar(select(func.count()).select_from(MailMessage).where(*due_filter)) or 0
    ) - len(ids)
    claimed = []
    for message_id in ids:
        # conditional: a row another sender claimed meanwhile is left to it
        done = session.execute(
            update(MailMessage)
            .where(MailMessage.id == message_id, *due_filter)
            .values(next_attempt_at=now + LEASE)
        )
        if done.rowcount:
            claimed.append(message_id)
    session.commit()
    for message_id in claimed:
        row = session.get(MailMessage, message_id)
        try:
            reply = smtp_mail.send(build(row, rules.settings), rules.settings)
        except smtp_mail.MailError as err:
            error: str | None = err.reply
            reply = None
        else:
            error = None
        take_write_lock(session)
        row = session.get(MailMessage, message_id, populate_existing=True)
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.server_reply, row.last_error = (
                "sent",
                utcnow(),
                reply,
                None,
            )
            report.sent += 1
            _after_sent(session, row)
        else:
            row.last_error = error
            row.server_reply = error
            if row.attempts >= rules.max_attempts:
                row.status = "dead"
                report.dead += 1
            else:
                row.status = "failed"
                row.next_attempt_at = now + _backoff(rules, row.attempts)
                report.failed += 1
            log.warning(
                "Mail %s to %s not sent (attempt %s): %s",
                row.id,
                row.to_address,
                row.attempts,
                error,
            )
        session.commit()
    return report


def _after_sent(session: Session, row: MailMessage) -> None:
    """A sent document is «sent to the client» (status only; the document stays frozen)."""
    if row.document_id is None:
        return
    from erp_crm.sales_documents.models import Document, DocumentStatus

    document = session.get(Document, row.document_id)
    if document is not None and document.status == DocumentStatus.ISSUED.value:
        document.status = DocumentStatus.SENT.value
        document.sent_at = row.sent_at


def retry(session: Session, row: MailMessage, *, actor: User) -> MailMessage:
    if not (has_permission(actor, Perm.MAILING_LOG)):
        raise PermissionDenied()
    if row.status != "dead":
        raise ValidationError("Повторить можно только недоставленное письмо.")
    row.status, row.attempts, row.next_attempt_at = "queued", 0, utcnow()
    session.flush()
    return row


def log_query(*, status: str = "", deal_id: int | None = None, client_id: int | None = None):
    query = select(MailMessage).order_by(MailMessage.id.desc())
    if status in STATUS_LABELS:
        query = query.where(MailMessage.status == status)
    if deal_id is not None:
        query = query.where(MailMessage.deal_id == deal_id)
    if client_id is not None:
        query = query.where(MailMessage.client_id == client_id)
    return query


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(MailMessage.status, func.count()).group_by(MailMessage.status)
    ).all()
    return {status: n for status, n in rows}


def counts_of_campaign(session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.execute(
        select(MailMessage.status, func.count())
        .where(MailMessage.campaign_id == campaign_id)
        .group_by(MailMessage.status)
    ).all()
    return {status: n for status, n in rows}
