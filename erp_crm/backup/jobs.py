"""The periodic backup (every BACKUP_SECONDS, a day) into BACKUP_PATH, keeping BACKUP_KEEP."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app

from erp_crm.jobs import periodic

log = logging.getLogger(__name__)


def backup_now() -> Path:
    from erp_crm.backup.archive import create_backup, prune
    from erp_crm.db import db

    config = current_app.config
    target = Path(config["BACKUP_PATH"])
    path = create_backup(db.engine, config["DATABASE_URL"], Path(config["STORAGE_PATH"]), target)
    removed = prune(target, int(config.get("BACKUP_KEEP") or 7))
    log.info("backup %s written; %s old removed", path.name, len(removed))
    return path


@periodic("backup.daily", every="BACKUP_SECONDS", title="Резервная копия")
def periodic_backup() -> None:
    backup_now()
