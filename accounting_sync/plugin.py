"""The adapter's hook into the running app (entry point `erp_crm.plugins`).

The app never imports this package; at start it calls every installed plugin's `install(app)`.
Here we offer what the admin pages need from the SOAP side: a connection check.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app

from erp_crm.errors import DomainError
from erp_crm.jobs import periodic

log = logging.getLogger(__name__)


def ping(app: Flask) -> str:
    """Ping the configured service; a readable line for the page, or AccountingError."""
    from accounting_sync.sync import make_client

    with make_client(app) as client:
        result = client.ping()
    when = f", время сервера {result.server_time:%d.%m.%Y %H:%M}" if result.server_time else ""
    return f"Связь есть: версия сервиса обмена {result.version}{when}."


def sync(app: Flask) -> tuple[str, list[str]]:
    """One exchange pass: its summary and the errors met (an unreachable 1C among them)."""
    from accounting_sync.sync import sync_once

    report = sync_once(app)
    return report.summary(), report.errors


def install(app: Flask) -> None:
    from accounting_sync.errors import AccountingError

    app.extensions["accounting"] = {"ping": ping, "sync": sync, "error": AccountingError}


@periodic("accounting.exchange", every="ACCOUNTING_SYNC_SECONDS", title="Обмен с 1С")
def exchange_pass() -> None:
    """One exchange pass per period (the job engine's periodic job, replaces the hand loop of
    `flask accounting worker`); 1C's errors fail the period on the operations page."""
    from accounting_sync.sync import sync_once

    report = sync_once(current_app._get_current_object())  # type: ignore[attr-defined]
    log.info("exchange pass: %s", report.summary())
    if report.errors:
        raise DomainError("; ".join(report.errors)[:1000])
