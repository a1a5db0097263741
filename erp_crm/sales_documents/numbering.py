"""Gapless document numbers per (our organization, kind, year), and their number formats.

The number is taken inside the issuing transaction: the counter row's UPDATE … RETURNING locks
it until the transaction ends, so concurrent issuers queue and a rollback gives the number back
(UNIQUE on organization, kind, year, seq, correction guards the rest).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from documents.numbering import DEFAULT_PATTERNS, validate_pattern
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.errors import ValidationError
from erp_crm.organizations.models import Organization
from erp_crm.sales_documents.access import ensure
from erp_crm.sales_documents.models import DocumentCounter, NumberFormat


def allocate_number(session: Session, organization_id: int, kind: str, year: int) -> int:
    """The next number of (organization, kind, year), inside the caller's transaction.

    The UPDATE locks the counter row until the transaction ends, so concurrent issuers queue;
    a rollback returns the number. The first number of a year inserts the row; two first
    issuers racing for it meet the primary key, and the loser takes the UPDATE path.
    """
    bump = (
        update(DocumentCounter)
        .where(
            DocumentCounter.organization_id == organization_id,
            DocumentCounter.kind == kind,
            DocumentCounter.year == year,
        )
        .values(last_number=DocumentCounter.last_number + 1)
        .returning(DocumentCounter.last_number)
        .execution_options(synchronize_session=False)
    )
    number = session.execute(bump).scalar_one_or_none()
    if number is not None:
        return number
    try:
        with session.begin_nested():
            session.add(
                DocumentCounter(
                    organization_id=organization_id, kind=kind, year=year, last_number=1
                )
            )
        return 1
    except IntegrityError:
        return session.execute(bump).scalar_one()


def number_pattern(session: Session, organization_id: int, kind: str) -> str:
    custom = session.scalar(
        select(NumberFormat.pattern).where(
            NumberFormat.organization_id == organization_id, NumberFormat.kind == kind
        )
    )
    return custom or DEFAULT_PATTERNS[kind]


def set_number_pattern(
    session: Session, organization: Organization, kind: str, pattern: str, *, actor: User
) -> None:
    ensure(has_permission(actor, Perm.TEMPLATES_MANAGE), "Форматы номеров меняет администратор.")
    if kind not in DEFAULT_PATTERNS:
        raise ValidationError("Неизвестный вид документа.")
    pattern = (pattern or "").strip()
    errors = validate_pattern(pattern)
    if errors:
        raise ValidationError(errors[0], fields={"pattern": errors[0]})
    row = session.scalar(
        select(NumberFormat).where(
            NumberFormat.organization_id == organization.id, NumberFormat.kind == kind
        )
    )
    if row is None:
        session.add(NumberFormat(organization_id=organization.id, kind=kind, pattern=pattern))
    else:
        row.pattern = pattern
    session.flush()
