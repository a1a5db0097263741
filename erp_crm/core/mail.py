"""The one SMTP sender of the app (reminders, the mailing outbox): settings and `send`.

Messages are built with the standard library's `email.message.EmailMessage` (never by hand);
the connection is plain, STARTTLS or SSL (SMTPS) as configured.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

SECURITY_MODES = {"none": "Без шифрования", "starttls": "STARTTLS", "ssl": "SSL/TLS (SMTPS)"}


@dataclass(frozen=True)
class MailSettings:
    host: str
    port: int
    sender: str
    use_tls: bool = False  # STARTTLS (kept for the reminders' callers); see `security`
    username: str = ""
    password: str = ""
    base_url: str = "http://127.0.0.1:5000"
    security: str = ""  # "none" | "starttls" | "ssl"; empty: STARTTLS when use_tls
    timeout: float = 20.0

    @property
    def mode(self) -> str:
        if self.security in SECURITY_MODES:
            return self.security
        return "starttls" if self.use_tls else "none"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        return cls(
            host=config["MAIL_SERVER"],
            port=int(config["MAIL_PORT"]),
            sender=config["MAIL_FROM"],
            use_tls=bool(config["MAIL_USE_TLS"]),
            username=config["MAIL_USERNAME"],
            password=config["MAIL_PASSWORD"],
            base_url=config["APP_BASE_URL"],
            security=str(config.get("MAIL_SECURITY") or ""),
            timeout=float(config.get("MAIL_TIMEOUT") or 20),
        )


class MailError(Exception):
    """The server refused or could not be reached; `reply` is its answer as text."""

    def __init__(self, reply: str) -> None:
        super().__init__(reply)
        self.reply = reply


def describe(err: BaseException) -> str:
    """The server's answer (code and text) or the connection error, for the log."""
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        parts = [
            f"{addr}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for addr, (code, msg) in err.recipients.items()
        ]
        return "; ".join(parts)[:1000]
    if isinstance(err, smtplib.SMTPResponseException):
        text = err.smtp_error
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{err.smtp_code} {text}"[:1000]
    return f"{type(err).__name__}: {err}"[:1000]


def send(message: EmailMessage, settings: MailSettings) -> str:
    """Send one message; the server's last answer on success. Raises MailError otherwise."""
    context = ssl.create_default_context()
    try:
        if settings.mode == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with smtp:
            if settings.mode == "starttls":
                smtp.starttls(context=context)
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
            code, text = smtp.noop()
            return f"250 принято сервером ({code} {text.decode(errors='replace')})"[:1000]
    except (OSError, smtplib.SMTPException) as err:
        raise MailError(describe(err)) from err
