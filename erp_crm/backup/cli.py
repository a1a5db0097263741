"""`flask backup` and `flask restore ARCHIVE`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from erp_crm.backup.archive import BackupError, create_backup, prune, restore_backup
from erp_crm.db import db


@click.command("backup")
@with_appcontext
@click.option(
    "--to",
    "target",
    type=click.Path(file_okay=False, path_type=Path),
    help="Папка для архива (по умолчанию BACKUP_PATH, instance/backups).",
)
@click.option("--keep", type=int, default=None, help="Оставить N последних архивов в папке.")
def backup_command(target: Path | None, keep: int | None) -> None:
    """Резервная копия: база данных и файловое хранилище в один архив с контрольными суммами."""
    config = current_app.config
    folder = target or Path(config["BACKUP_PATH"])
    try:
        path = create_backup(
            db.engine, config["DATABASE_URL"], Path(config["STORAGE_PATH"]), folder
        )
    except BackupError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"Резервная копия: {path}")
    if keep:
        for old in prune(folder, keep):
            click.echo(f"Удалена старая копия: {old.name}")


@click.command("restore")
@with_appcontext
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
def restore_command(archive: Path) -> None:
    """Восстановить архив в ПУСТУЮ базу данных и пустое хранилище, проверив SHA-256 документов."""
    config = current_app.config
    try:
        report = restore_backup(
            archive, db.engine, config["DATABASE_URL"], Path(config["STORAGE_PATH"])
        )
    except BackupError as err:
        raise click.ClickException(str(err)) from err
    click.echo(
        f"Восстановлено: таблиц {report.tables}, строк {report.rows}, файлов {report.files}; "
        f"SHA-256 всех {report.documents} файлов документов совпали с копией."
    )
