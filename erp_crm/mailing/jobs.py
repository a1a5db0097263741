"""The area's periodic job: one pass of the e-mail outbox every MAILING_SEND_SECONDS."""

from __future__ import annotations

import logging

from erp_crm.db import db, set_actor
from erp_crm.jobs import periodic
from erp_crm.mailing import outbox

log = logging.getLogger(__name__)


@periodic("mailing.outbox", every="MAILING_SEND_SECONDS", title="Отправка писем из очереди")
def send_outbox() -> None:
    with db.job_session() as session:
        set_actor(session, None)
        report = outbox.send_due(session)
    if report.sent or report.failed or report.dead:
        log.info("mailing: sent %s, failed %s, dead %s", report.sent, report.failed, report.dead)
