"""`flask mailing send`: one pass of the e-mail outbox (the job engine calls `send_due` too)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from erp_crm.db import db, set_actor
from erp_crm.mailing import outbox

mailing_cli = AppGroup("mailing", help="Рассылки: отправка писем из очереди.")


@mailing_cli.command("send")
def send_command() -> None:
    """Send the due e-mails once (rate limit, retries with backoff)."""
    with db.job_session() as session:
        set_actor(session, None)
        report = outbox.send_due(session)
    click.echo(
        f"Писем: отправлено {report.sent}, с ошибкой {report.failed}, не доставлено "
        f"{report.dead}, отложено до следующей минуты {report.deferred}."
    )
