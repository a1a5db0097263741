"""`flask activities …`: the reminders' sender and the local SMTP catcher for development."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from erp_crm.activities import reminders
from erp_crm.db import db, set_actor

activities_cli = AppGroup("activities", help="Контакты с клиентами: напоминания.")


@activities_cli.command("send-reminders")
def send_reminders_command() -> None:
    """Send the due reminders once (cron every minute; several machines at once are safe)."""
    settings = reminders.MailSettings.from_config(current_app.config)
    with db.job_session() as session:
        set_actor(session, None)
        report = reminders.send_due(session, settings)
    click.echo(
        f"Напоминаний: в приложении {report.in_app}, по почте {report.emailed}, "
        f"с ошибкой {report.failed}."
    )


@activities_cli.command("smtp-catcher")
@click.option("--port", default=8025, show_default=True)
@click.option("--directory", default=None, help="Куда складывать письма (.eml)")
def smtp_catcher_command(port: int, directory: str | None) -> None:
    """A local SMTP server (aiosmtpd) that keeps every mail as an .eml file — development only."""
    from aiosmtpd.controller import Controller

    folder = Path(directory or Path(current_app.instance_path) / "mail")
    folder.mkdir(parents=True, exist_ok=True)

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            name = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{time.time_ns() % 10**9}.eml"
            name.write_bytes(envelope.content)
            click.echo(f"Письмо для {', '.join(envelope.rcpt_tos)}: {name}")
            return "250 OK"

    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    click.echo(f"SMTP-ловушка на 127.0.0.1:{port}, письма в {folder}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
