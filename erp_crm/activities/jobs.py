"""The area's periodic job: the due reminders, every REMINDERS_SECONDS (a minute)."""

from __future__ import annotations

import logging

from flask import current_app

from erp_crm.activities import reminders
from erp_crm.db import db, set_actor
from erp_crm.jobs import periodic

log = logging.getLogger(__name__)


@periodic("activities.reminders", every="REMINDERS_SECONDS", title="Напоминания о контактах")
def send_reminders() -> None:
    settings = reminders.MailSettings.from_config(current_app.config)
    with db.job_session() as session:
        set_actor(session, None)
        report = reminders.send_due(session, settings)
    if report.in_app or report.emailed or report.failed:
        log.info(
            "reminders: in app %s, e-mailed %s, failed %s",
            report.in_app,
            report.emailed,
            report.failed,
        )
