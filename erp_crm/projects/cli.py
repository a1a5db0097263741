"""`flask projects …`: maintenance commands of the projects area."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from erp_crm.db import db, set_actor
from erp_crm.projects import stands

projects_cli = AppGroup("projects", help="Выставочные проекты и стенды.")


@projects_cli.command("release-expired")
def release_expired_command() -> None:
    """Free the stands whose hold has expired (run it from cron, e.g. every 15 minutes)."""
    with db.job_session() as session:
        set_actor(session, None)
        count = stands.release_expired(session)
    click.echo(f"Освобождено стендов с истёкшей бронью: {count}.")
