"""Configuration: one class that reads the environment.

Infrastructure settings live here; settings a manager changes (number prefixes, templates, VAT)
live in the database.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE = PROJECT_ROOT / "instance"

# Keys that must never be used in production (the dev default and obvious placeholders).
_WEAK_SECRETS = {"", "dev", "change-me", "changeme", "secret", "test"}


def normalize_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain postgres URLs (Heroku-style `postgres://` too)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _dev_secret_key(instance: Path) -> str:
    """A random key kept in instance/ so dev sessions survive restarts; never committed."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


class ConfigError(RuntimeError):
    """The configuration cannot be used (e.g. production without a real SECRET_KEY)."""


class Config:
    """Reads the environment once; `create_app` copies the upper-case attributes into app.config."""

    def __init__(self, **overrides: object) -> None:
        env = os.environ
        self.ENV_NAME = str(overrides.get("ENV_NAME", env.get("ERP_ENV", "development")))
        self.INSTANCE_PATH = Path(env.get("ERP_INSTANCE_PATH", DEFAULT_INSTANCE)).resolve()
        self.STORAGE_PATH = Path(
            env.get("ERP_STORAGE_PATH", self.INSTANCE_PATH / "storage")
        ).resolve()
        default_db = "sqlite:///" + str(self.INSTANCE_PATH / "erp_crm.sqlite3")
        self.DATABASE_URL = normalize_database_url(env.get("DATABASE_URL", default_db))
        self.SECRET_KEY = env.get("SECRET_KEY", "")

        production = self.ENV_NAME == "production"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", production)
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.REMEMBER_COOKIE_DURATION = timedelta(days=14)
        self.PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
        self.WTF_CSRF_ENABLED = True
        self.WTF_CSRF_TIME_LIMIT = 8 * 3600
        self.MAX_CONTENT_LENGTH = int(env.get("ERP_MAX_UPLOAD_MB", "50")) * 1024 * 1024

        # Login protection: N consecutive failures lock the user name for a while; an address
        # that keeps failing is throttled whatever names it tries.
        self.LOGIN_MAX_FAILURES = int(env.get("ERP_LOGIN_MAX_FAILURES", "5"))
        self.LOGIN_LOCKOUT = timedelta(minutes=int(env.get("ERP_LOGIN_LOCKOUT_MINUTES", "15")))
        self.LOGIN_MAX_FAILURES_PER_IP = int(env.get("ERP_LOGIN_MAX_FAILURES_PER_IP", "30"))
        self.API_TOKEN_TTL = timedelta(hours=int(env.get("ERP_API_TOKEN_TTL_HOURS", "720")))

        # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto (0 = none). Without
        # it every client would share the proxy's address in the login throttle.
        self.PROXY_COUNT = int(env.get("ERP_PROXY_COUNT", "0"))

        # Accounting system (1C) connection defaults, used by the accounting exchange.
        self.ACCOUNTING_URL = env.get(
            "ACCOUNTING_URL", "http://127.0.0.1:8081/ws/ExpoExchange.1cws"
        )
        self.ACCOUNTING_USER = env.get("ACCOUNTING_USER", "")
        self.ACCOUNTING_PASSWORD = env.get("ACCOUNTING_PASSWORD", "")
        self.ACCOUNTING_NODE = env.get("ACCOUNTING_NODE", "CRM")
        self.ACCOUNTING_TIMEOUT = float(env.get("ACCOUNTING_TIMEOUT", "30"))

        # Outgoing mail (reminders to the responsible users). Development default: the local
        # catcher on localhost:8025.
        self.MAIL_SERVER = env.get("MAIL_SERVER", "localhost")
        self.MAIL_PORT = int(env.get("MAIL_PORT", "8025"))
        self.MAIL_FROM = env.get("MAIL_FROM", "crm@localhost")
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
        # "none" | "starttls" | "ssl"; empty: STARTTLS when MAIL_USE_TLS (the settings page wins)
        self.MAIL_SECURITY = env.get("MAIL_SECURITY", "")
        self.MAIL_TIMEOUT = float(env.get("MAIL_TIMEOUT", "20"))
        self.MAIL_MAX_ATTEMPTS = int(env.get("MAIL_MAX_ATTEMPTS", "5"))
        self.MAIL_BACKOFF_SECONDS = int(env.get("MAIL_BACKOFF_SECONDS", "60"))
        self.MAIL_RATE_PER_MINUTE = int(env.get("MAIL_RATE_PER_MINUTE", "60"))
        self.MAIL_USERNAME = env.get("MAIL_USERNAME", "")
        self.MAIL_PASSWORD = env.get("MAIL_PASSWORD", "")
        # The address of the app in links sent by mail.
        self.APP_BASE_URL = env.get("APP_BASE_URL", "http://127.0.0.1:5000").rstrip("/")

        # Background jobs (huey): Redis when REDIS_URL is set (several machines), else a SQLite
        # file under instance/. Periodic jobs' periods in seconds.
        self.REDIS_URL = env.get("REDIS_URL", "")
        self.JOBS_NAME = env.get("ERP_JOBS_NAME", "erp_crm")
        self.JOBS_SQLITE_PATH = env.get("ERP_JOBS_SQLITE", "")
        self.JOBS_IMMEDIATE = _env_bool("ERP_JOBS_IMMEDIATE", False)
        self.JOBS_TICK_SECONDS = int(env.get("ERP_JOBS_TICK_SECONDS", "60"))
        self.JOBS_POLL_MAX_SECONDS = float(env.get("ERP_JOBS_POLL_MAX_SECONDS", "0.5"))
        self.JOBS_SWEEP_SECONDS = int(env.get("ERP_JOBS_SWEEP_SECONDS", "30"))
        self.JOBS_RESEND_SECONDS = int(env.get("ERP_JOBS_RESEND_SECONDS", "120"))
        self.JOBS_STALL_SECONDS = int(env.get("ERP_JOBS_STALL_SECONDS", "0"))  # 0: the job's own
        # Extra modules registering jobs (a deployment's own periodic jobs), comma-separated.
        self.JOBS_MODULES = env.get("ERP_JOBS_MODULES", "")
        self.ACCOUNTING_SYNC_SECONDS = int(env.get("ACCOUNTING_SYNC_SECONDS", "15"))
        self.REMINDERS_SECONDS = int(env.get("ERP_REMINDERS_SECONDS", "60"))
        self.MAILING_SEND_SECONDS = int(env.get("ERP_MAILING_SEND_SECONDS", "30"))
        # Campaigns with more addressees print labels/envelopes as a job with a progress bar.
        self.MAILING_PRINT_INLINE_MAX = int(env.get("ERP_MAILING_PRINT_INLINE_MAX", "500"))
        self.HOLDS_RELEASE_SECONDS = int(env.get("ERP_HOLDS_RELEASE_SECONDS", "3600"))
        # Backups: `flask backup`, and the periodic backup with its retention.
        self.BACKUP_PATH = Path(env.get("ERP_BACKUP_PATH", self.INSTANCE_PATH / "backups"))
        self.BACKUP_SECONDS = int(env.get("ERP_BACKUP_SECONDS", "86400"))
        self.BACKUP_KEEP = int(env.get("ERP_BACKUP_KEEP", "7"))

        self.ITEMS_PER_PAGE = 50
        self.TESTING = False

        for key, value in overrides.items():
            setattr(self, key, value)
        if self.TESTING and "JOBS_IMMEDIATE" not in overrides:
            self.JOBS_IMMEDIATE = True  # tests run a job at once, in their own transaction
        self.DATABASE_URL = normalize_database_url(str(self.DATABASE_URL))

        if not self.SECRET_KEY:
            if production:
                raise ConfigError(
                    "SECRET_KEY is not set: a production instance refuses to start without one."
                )
            self.SECRET_KEY = _dev_secret_key(self.INSTANCE_PATH)
        if production and (self.SECRET_KEY.lower() in _WEAK_SECRETS or len(self.SECRET_KEY) < 32):
            raise ConfigError(
                "SECRET_KEY is too weak for production: use at least 32 random chars."
            )

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in vars(self).items() if k.isupper()}
