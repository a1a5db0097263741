"""The adapter's hook into the running app (entry point `erp_crm.plugins`).

The app never imports this package; at start it calls every installed plugin's `install(app)`.
Here we offer what the admin pages need from the SOAP side: a connection check.
"""

from __future__ import annotations

from flask import Flask


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
