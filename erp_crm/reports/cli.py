"""`flask reports …`: maintenance of the reports' pre-aggregated counters."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import func, select, text

from erp_crm.db import db, set_actor
from erp_crm.reports import counters
from erp_crm.reports.models import ReportCounter

reports_cli = AppGroup("reports", help="Отчёты отдела продаж: счётчики.")


@reports_cli.command("rebuild-counters")
def rebuild_counters_command() -> None:
    """Every counter again from the records: after a bulk load straight into the tables, or a
    migration upgraded short of head. Live changes wait for it and then recount their buckets."""
    with db.job_session(write=True) as session:
        set_actor(session, None)
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            connection.execute(text("LOCK TABLE report_counters IN EXCLUSIVE MODE"))
        counters.rebuild(connection)
        rows = session.scalar(select(func.count()).select_from(ReportCounter))
    click.echo(f"Счётчики отчётов пересчитаны: {rows} строк.")
