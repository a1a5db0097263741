"""The area's jobs: one pass of the e-mail outbox every MAILING_SEND_SECONDS, and printing a
large campaign's labels or envelopes in the background with its progress (the page polls it)."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.db import db, set_actor
from erp_crm.jobs import JobContext, handler, periodic, request_job
from erp_crm.jobs.models import JobRequest
from erp_crm.mailing import outbox, printing, selections
from erp_crm.mailing.models import Campaign, CampaignRecipient

log = logging.getLogger(__name__)


@periodic("mailing.outbox", every="MAILING_SEND_SECONDS", title="Отправка писем из очереди")
def send_outbox() -> None:
    with db.job_session() as session:
        set_actor(session, None)
        report = outbox.send_due(session)
    if report.sent or report.failed or report.dead:
        log.info("mailing: sent %s, failed %s, dead %s", report.sent, report.failed, report.dead)


PRINT_JOB = "mailing.print"


def result_path(request_id: int) -> Path:
    return Path(current_app.config["STORAGE_PATH"]) / "mailing" / f"print-{request_id}.pdf"


def request_print(
    session: Session, campaign: Campaign, what: str, option: str | int, *, actor: User
) -> JobRequest:
    """Freeze the list now (who gets the letters is decided at the click) and print it in the
    background: `what` is 'labels' (option: the format id) or 'envelopes' (option: the size)."""
    selections.freeze(session, campaign, actor=actor)
    title = "Наклейки" if what == "labels" else "Конверты"
    return request_job(
        session,
        PRINT_JOB,
        {"campaign_id": campaign.id, "what": what, "option": option},
        actor=actor,
        title=f"{title}: {campaign.name}",
    )


def addressees(session: Session, campaign: Campaign) -> int:
    return session.scalar(
        select(func.count())
        .select_from(CampaignRecipient)
        .where(CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.excluded.is_(None))
    )


@handler(PRINT_JOB, title="Печать наклеек или конвертов рассылки")
def print_campaign(ctx: JobContext) -> None:
    with db.job_session() as session:
        actor = session.get(User, ctx.actor_id)
        campaign = selections.get_campaign(session, ctx.payload["campaign_id"])
        total = addressees(session, campaign)
        ctx.beat(done=0, total=total)
        if ctx.payload["what"] == "labels":
            fmt = printing.get_format(session, int(ctx.payload["option"]))
            pdf = printing.labels_pdf(
                fmt,
                printing.campaign_addresses(session, campaign),
                progress=lambda done: ctx.beat(done=done, total=total),
            ).pdf
        else:
            pdf, _count = printing.campaign_envelopes(
                session, campaign, str(ctx.payload["option"]), actor=actor
            )
    path = result_path(ctx.request_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(pdf)
    partial.replace(path)  # the download appears whole or not at all
    ctx.beat(done=total, total=total)
