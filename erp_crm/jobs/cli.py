"""`flask jobs …`: the huey consumer (the worker process) and a look at the queue."""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from erp_crm.db import db
from erp_crm.jobs.models import STATUS_LABELS, JobRequest

jobs_cli = AppGroup("jobs", help="Фоновые задания (huey): обработчик, очередь.")


@jobs_cli.command("worker")
@click.option("--workers", default=2, show_default=True, help="Потоков выполнения заданий.")
@click.option("--verbose", is_flag=True, help="Подробный журнал.")
def worker_command(workers: int, verbose: bool) -> None:
    """Run the job worker (huey consumer) with its scheduler of periodic jobs, until SIGTERM/Ctrl+C.

    Start as many as the load needs, on as many machines (with REDIS_URL and one database):
    a job runs once, a periodic job once per period.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:  # huey logs every task it runs; ours say what matters
        logging.getLogger("huey").setLevel(logging.WARNING)
    engine = current_app.extensions["jobs"]
    if current_app.config.get("JOBS_IMMEDIATE"):
        raise click.ClickException(
            "ERP_JOBS_IMMEDIATE включён: задания выполняются сразу, обработчик не нужен."
        )
    click.echo(
        f"Обработчик заданий: очередь «{engine.huey.name}», хранилище {engine.storage_name}."
    )
    engine.consumer(workers=workers).run()


@jobs_cli.command("list")
@click.option("--limit", default=20, show_default=True)
def list_command(limit: int) -> None:
    """The latest job requests with their status."""
    with db.job_session() as session:
        rows = session.scalars(select(JobRequest).order_by(JobRequest.id.desc()).limit(limit))
        for job in rows:
            progress = f"{job.progress_done}/{job.progress_total or '?'}"
            click.echo(
                f"{job.id:>6}  {STATUS_LABELS.get(job.status, job.status):<12} {progress:>12}  "
                f"{job.title or job.name}" + (f"  — {job.error}" if job.error else "")
            )


@jobs_cli.command("sweep")
def sweep_command() -> None:
    """Send again the requests left queued and re-queue stalled ones (the sweeper, once)."""
    from erp_crm.jobs.services import sweep

    result = sweep()
    click.echo(f"Отправлено снова: {result['resent']}, из них перезапущено: {result['requeued']}.")
