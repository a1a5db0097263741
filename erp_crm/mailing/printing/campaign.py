"""A campaign's print: its list frozen at the first print, then its labels or its envelopes."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.errors import Conflict, ValidationError
from erp_crm.mailing import selections
from erp_crm.mailing.models import Campaign, CampaignRecipient, LabelFormat
from erp_crm.mailing.printing.envelopes import ENVELOPES, envelopes_pdf
from erp_crm.mailing.printing.labels import LabelReport, check_format, labels_pdf
from erp_crm.organizations.models import Organization


def campaign_addresses(
    session: Session, campaign: Campaign
) -> Iterator[tuple[list[str], list[str], str]]:
    for row in selections.included(session, campaign):
        who, where = selections.recipient_lines(row)
        yield who, where, row.postcode or ""


def campaign_labels(
    session: Session, campaign: Campaign, fmt: LabelFormat, *, actor: User
) -> LabelReport:
    if campaign.channel != "post":
        raise ValidationError("Наклейки печатаются для почтовой рассылки.")
    check_format(fmt)
    selections.freeze(session, campaign, actor=actor)
    return labels_pdf(fmt, campaign_addresses(session, campaign))


def campaign_envelopes(
    session: Session, campaign: Campaign, size: str, *, actor: User
) -> tuple[bytes, int]:
    if campaign.channel != "post":
        raise ValidationError("Конверты печатаются для почтовой рассылки.")
    if size not in ENVELOPES:
        raise ValidationError("Выберите формат конверта: DL, C6, C5 или C4.")
    from erp_crm.organizations.services import default_organization

    org = session.get(Organization, campaign.organization_id) if campaign.organization_id else None
    if org is None:
        try:
            org = default_organization(session)
        except Conflict:  # no organization yet: an envelope without a sender
            org = None
    selections.freeze(session, campaign, actor=actor)
    return envelopes_pdf(size, org, campaign_addresses(session, campaign))


def frozen_count(session: Session, campaign: Campaign) -> int:
    from sqlalchemy import func

    return (
        session.scalar(
            select(func.count())
            .select_from(CampaignRecipient)
            .where(
                CampaignRecipient.campaign_id == campaign.id, CampaignRecipient.excluded.is_(None)
            )
        )
        or 0
    )
