"""Leads: inbound requests (web form, API, calls, e-mails) and their qualification.

- `submit_lead` is the public intake (the site's form and the public API): validated, and throttled
  per IP address by counting the address's leads of the last hour in the `leads` table itself
  (the same idea as the login lockout counting `login_attempts`).
- `create_lead` is manual entry by staff (LEADS_WORK), without a throttle.
- `reject_lead` needs a reason; `convert_lead` turns a lead into a client (found or new), its
  contact person and a deal of a project, in one action and in the caller's transaction.

Services never commit and never touch the request.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import access as client_access
from erp_crm.clients import contacts as client_contacts
from erp_crm.clients import dedupe
from erp_crm.clients import services as client_services
from erp_crm.clients.models import Client, ClientKind, ContactChannel, ContactPerson
from erp_crm.core import requisites as rq
from erp_crm.core import text
from erp_crm.db import utcnow
from erp_crm.deals import services as deal_services
from erp_crm.deals.models import (  # noqa: F401 - labels re-exported for the views
    LEAD_SOURCE_LABELS,
    LEAD_STATUS_LABELS,
    MANUAL_SOURCES,
    Deal,
    Lead,
    LeadStatus,
)
from erp_crm.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from erp_crm.projects.models import Project, ProjectStatus

DEFAULT_LEADS_PER_IP_PER_HOUR = 5
RATE_WINDOW = dt.timedelta(hours=1)
MAX_MESSAGE_LENGTH = 5000

PUBLIC_SOURCES = {"web", "api"}


class TooManyLeads(DomainError):
    """The address sent too many leads within the hour."""

    status_code = 429
    default_message = "Слишком много заявок с вашего адреса. Попробуйте позже."

    def __init__(self, message: str | None = None, *, retry_after: int = 3600):
        super().__init__(message)
        self.retry_after = retry_after


class DuplicateCandidates(Conflict):
    """Converting a lead found clients like it: the user picks one or confirms a new client."""

    def __init__(self, message: str, candidates: list[dedupe.DuplicateCandidate]):
        super().__init__(message)
        self.candidates = candidates


# --- input --------------------------------------------------------------------------------------


def _text(value: Any, limit: int) -> str | None:
    value = str(value or "").strip()
    return value[:limit] or None


@dataclass
class LeadData:
    company_name: str | None = None
    inn: str | None = None
    contact_name: str | None = None
    phone: str | None = None
    email: str | None = None
    city: str | None = None
    project_id: int | str | None = None
    message: str | None = None
    source: str | None = None

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> LeadData:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


def validate_lead(session: Session, data: LeadData) -> LeadData:
    """Clean and check a lead: company, a phone or an e-mail, a valid ИНН if given."""
    errors: dict[str, str] = {}
    company = _text(data.company_name, 300)
    if not company:
        errors["company_name"] = "Укажите название компании."
    inn = rq.digits(_text(data.inn, 32)) or None
    if inn and (problem := rq.check_inn(inn)):
        errors["inn"] = problem
    phone = None
    raw_phone = _text(data.phone, 64)
    if raw_phone:
        phone = text.normalize_phone(raw_phone)
        if phone is None:
            errors["phone"] = "Неверный номер телефона: укажите его с кодом города или оператора."
    email = None
    raw_email = _text(data.email, 254)
    if raw_email:
        try:
            email = validate_email(raw_email, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            errors["email"] = "Неверный адрес электронной почты."
    if not raw_phone and not raw_email:
        errors["phone"] = "Укажите телефон или электронную почту для связи."
    project_id = None
    if data.project_id not in (None, ""):
        try:
            project_id = int(data.project_id)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            project_id = -1
        project = session.get(Project, project_id)
        if project is None or project.status == ProjectStatus.CLOSED.value:
            errors["project_id"] = "Выберите выставку из списка."
    message = str(data.message or "").strip()
    if len(message) > MAX_MESSAGE_LENGTH:
        errors["message"] = f"Сообщение длиннее {MAX_MESSAGE_LENGTH} символов."
    if errors:
        raise ValidationError(fields=errors)
    return LeadData(
        company_name=company,
        inn=inn,
        contact_name=_text(data.contact_name, 300),
        phone=phone,
        email=email,
        city=_text(data.city, 120),
        project_id=project_id,
        message=message or None,
        source=data.source,
    )


def _new_lead(data: LeadData, *, source: str, ip: str | None) -> Lead:
    return Lead(
        source=source,
        company_name=data.company_name,
        inn=data.inn,
        contact_name=data.contact_name,
        phone=data.phone,
        email=data.email,
        city=data.city,
        project_id=data.project_id,
        message=data.message,
        status=LeadStatus.NEW.value,
        ip=ip,
    )


# --- intake -------------------------------------------------------------------------------------


def leads_per_ip_per_hour() -> int:
    if has_app_context():
        return int(current_app.config.get("LEADS_PER_IP_PER_HOUR", DEFAULT_LEADS_PER_IP_PER_HOUR))
    return DEFAULT_LEADS_PER_IP_PER_HOUR


def check_rate_limit(session: Session, ip: str | None) -> None:
    """At most N leads per address and hour (counted in the leads table); 429 beyond."""
    if not ip:
        return
    limit = leads_per_ip_per_hour()
    since = utcnow() - RATE_WINDOW
    count, oldest = session.execute(
        select(func.count(), func.min(Lead.created_at)).where(
            Lead.ip == ip, Lead.created_at > since
        )
    ).one()
    if count >= limit:
        retry = RATE_WINDOW
        if oldest is not None:
            if oldest.tzinfo is None:  # an aggregate is not read through UTCDateTime
                oldest = oldest.replace(tzinfo=dt.UTC)
            retry = oldest + RATE_WINDOW - utcnow()
        minutes = max(1, int(retry.total_seconds() // 60) + 1)
        raise TooManyLeads(
            "Слишком много заявок с вашего адреса за последний час. "
            f"Попробуйте через {minutes} мин. или позвоните нам.",
            retry_after=minutes * 60,
        )


def submit_lead(session: Session, data: LeadData, *, ip: str | None, source: str) -> Lead:
    """The public intake (site form, public API): throttled per address, then validated."""
    if source not in PUBLIC_SOURCES:
        raise ValueError(f"unknown public lead source {source!r}")
    ip = (ip or "")[:64] or None
    check_rate_limit(session, ip)
    cleaned = validate_lead(session, data)
    lead = _new_lead(cleaned, source=source, ip=ip)
    session.add(lead)
    session.flush()
    return lead


def create_lead(session: Session, data: LeadData, *, actor: User) -> Lead:
    """Manual entry by staff (a call, a letter, a visitor at a show)."""
    if not has_permission(actor, Perm.LEADS_WORK):
        raise PermissionDenied()
    source = data.source or "manual"
    cleaned = validate_lead(session, data)
    if source not in MANUAL_SOURCES:
        raise ValidationError(fields={"source": "Выберите источник из списка."})
    lead = _new_lead(cleaned, source=source, ip=None)
    session.add(lead)
    session.flush()
    return lead


def get_lead(session: Session, lead_id: int) -> Lead:
    lead = session.get(Lead, lead_id)
    if lead is None:
        raise NotFound("Лид не найден.")
    return lead


# --- qualification ------------------------------------------------------------------------------


def _ensure_new(lead: Lead) -> None:
    if lead.status != LeadStatus.NEW.value:
        label = LEAD_STATUS_LABELS[LeadStatus(lead.status)].lower()
        raise Conflict(f"Лид уже обработан (статус: {label}).")


def reject_lead(session: Session, lead: Lead, reason: str | None, *, actor: User) -> Lead:
    if not has_permission(actor, Perm.LEADS_WORK):
        raise PermissionDenied()
    _ensure_new(lead)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(fields={"reason": "Укажите причину отклонения."})
    lead.status = LeadStatus.REJECTED.value
    lead.reject_reason = reason[:300]
    lead.handled_by_id = actor.id
    session.flush()
    return lead


def lead_candidates(session: Session, lead: Lead) -> list[dedupe.DuplicateCandidate]:
    """Clients that look like the lead's company: same ИНН, similar name in the city, channels."""
    return dedupe.likely_duplicates(
        session,
        name=lead.company_name,
        city=lead.city,
        inn=lead.inn,
        kpp=None,
        phones=[lead.phone] if lead.phone else [],
        emails=[lead.email] if lead.email else [],
    )


def inn_matches(
    lead: Lead, candidates: list[dedupe.DuplicateCandidate]
) -> list[dedupe.DuplicateCandidate]:
    return [c for c in candidates if lead.inn and c.client.inn == lead.inn]


@dataclass
class Conversion:
    lead: Lead
    client: Client
    deal: Deal
    contact: ContactPerson | None = None
    client_created: bool = False
    contact_created: bool = False
    notes: list[str] = field(default_factory=list)


def _candidate_list(candidates: list[dedupe.DuplicateCandidate]) -> str:
    return "; ".join(f"{text.quoted(c.name)} ({', '.join(c.reasons)})" for c in candidates)


def _pick_client(
    session: Session,
    lead: Lead,
    *,
    actor: User,
    client_id: int | None,
    create_new: bool,
) -> tuple[Client, bool]:
    """The client chosen, the one with the lead's ИНН, or a new one when nothing is alike."""
    if client_id is not None:
        return dedupe.resolve(session, client_id), False
    candidates = lead_candidates(session, lead)
    same_inn = inn_matches(lead, candidates)
    if len(same_inn) == 1:
        return same_inn[0].client, False
    if len(same_inn) > 1:
        raise DuplicateCandidates(
            "В базе несколько контрагентов с ИНН лида: "
            f"{_candidate_list(same_inn)}. Выберите, к кому отнести лид.",
            same_inn,
        )
    if candidates and not create_new:
        raise DuplicateCandidates(
            f"Похожие контрагенты уже есть в базе: {_candidate_list(candidates)}. "
            "Выберите одного из них или подтвердите создание нового контрагента.",
            candidates,
        )
    kind = (
        ClientKind.SOLE_TRADER.value if lead.inn and len(lead.inn) == 12 else ClientKind.LEGAL.value
    )
    data = client_services.ClientData(
        kind=kind,
        name=lead.company_name,
        inn=lead.inn,
        city=lead.city,
        source=f"Лид: {LEAD_SOURCE_LABELS.get(lead.source, lead.source)}",
        curator_id=actor.id,
    )
    try:
        return client_services.create_client(session, data, actor=actor), True
    except ValidationError as err:
        # The lead's fields are checked at intake; a client rule (e.g. ИНН length for the kind)
        # may still differ: say which.
        raise ValidationError(
            "Не удалось создать контрагента из лида: " + "; ".join(err.fields.values()),
            fields={f"client_{k}": v for k, v in err.fields.items()},
        ) from None


def _existing_contact(session: Session, client: Client, lead: Lead) -> ContactPerson | None:
    wanted = []
    if lead.phone:
        wanted.append((ContactChannel.kind == "phone") & (ContactChannel.value == lead.phone))
    if lead.email:
        wanted.append((ContactChannel.kind == "email") & (ContactChannel.value == lead.email))
    if not wanted:
        return None
    condition = wanted[0] if len(wanted) == 1 else wanted[0] | wanted[1]
    return session.scalar(
        select(ContactPerson)
        .join(ContactChannel, ContactChannel.contact_id == ContactPerson.id)
        .where(ContactPerson.client_id == client.id, condition)
        .order_by(ContactPerson.is_active.desc(), ContactPerson.id)
        .limit(1)
    )


def convert_lead(
    session: Session,
    lead: Lead,
    *,
    actor: User,
    project_id: int | str | None,
    client_id: int | str | None = None,
    create_new: bool = False,
    create_contact: bool = True,
) -> Conversion:
    """Turn a lead into a deal in one action: client (chosen, found by ИНН, or new), contact
    person from the lead, deal in the project; the lead becomes converted.

    Similar clients without an ИНН match raise `DuplicateCandidates` (409) unless `client_id` is
    chosen or `create_new` confirmed. Everything happens in the caller's transaction.
    """
    if not has_permission(actor, Perm.LEADS_WORK):
        raise PermissionDenied()
    if not has_permission(actor, Perm.DEALS_WORK):
        raise PermissionDenied("Сделку из лида создаёт менеджер или руководитель отдела продаж.")
    _ensure_new(lead)
    errors: dict[str, str] = {}
    try:
        project_id = int(project_id) if project_id not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        project_id = None
    if project_id is None:
        errors["project_id"] = "Выберите выставочный проект."
    try:
        client_id = int(client_id) if client_id not in (None, "") else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        errors["client_id"] = "Выберите контрагента из списка."
    if errors:
        raise ValidationError(fields=errors)

    client, client_created = _pick_client(
        session, lead, actor=actor, client_id=client_id, create_new=create_new
    )
    result_notes: list[str] = []
    contact, contact_created = None, False
    has_person = bool(lead.contact_name or lead.phone or lead.email)
    if create_contact and has_person:
        contact = _existing_contact(session, client, lead)
        if contact is None and client_access.can_edit_client(actor, client):
            contact = client_contacts.add_contact(
                session,
                client,
                client_contacts.ContactData(
                    full_name=lead.contact_name or "Контактное лицо из заявки",
                    phones=[lead.phone] if lead.phone else [],
                    emails=[lead.email] if lead.email else [],
                    notes=f"Из лида №{lead.id}",
                ),
                actor=actor,
            )
            contact_created = True
        elif contact is None:
            result_notes.append(
                "Контакт из лида не добавлен: изменять контрагента может его куратор, "
                "руководитель ОП или ИАО. Данные контакта остались в лиде."
            )
    deal = deal_services.create_deal(
        session,
        deal_services.DealData(
            client_id=client.id,
            project_id=project_id,
            contact_id=contact.id if contact is not None else None,
        ),
        actor=actor,
        lead_id=lead.id,
    )
    lead.status = LeadStatus.CONVERTED.value
    lead.client_id = client.id
    lead.project_id = project_id
    lead.handled_by_id = actor.id
    session.flush()
    return Conversion(
        lead=lead,
        client=client,
        deal=deal,
        contact=contact,
        client_created=client_created,
        contact_created=contact_created,
        notes=result_notes,
    )


def deal_of_lead(session: Session, lead: Lead) -> Deal | None:
    return session.scalar(select(Deal).where(Deal.lead_id == lead.id).order_by(Deal.id).limit(1))


# --- lists --------------------------------------------------------------------------------------


def open_projects(session: Session) -> list[Project]:
    """Projects a lead may name: not closed, the nearest first."""
    return list(
        session.scalars(
            select(Project)
            .where(Project.status != ProjectStatus.CLOSED.value)
            .order_by(Project.opening_date, Project.name)
        )
    )


def leads_query(status: str | None = None, project_id: int | None = None):
    query = select(Lead).order_by(Lead.created_at.desc(), Lead.id.desc())
    if status in {s.value for s in LeadStatus}:
        query = query.where(Lead.status == status)
    if project_id:
        query = query.where(Lead.project_id == project_id)
    return query


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Lead.status, func.count()).group_by(Lead.status)).all()
    return {status: count for status, count in rows}
