"""Our organizations: validation of requisites, create, change, archive."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.core import requisites as rq
from erp_crm.errors import Conflict, NotFound, ValidationError
from erp_crm.organizations.models import (
    DEFAULT_PAYMENT_DAYS,
    DEFAULT_VAT_EXEMPT_BASIS,
    MAX_PAYMENT_DAYS,
    VAT_RATE_CHOICES,
    Organization,
    VatRegime,
)

_RATES_BY_REGIME = {
    VatRegime.GENERAL: {"auto", "22", "20", "10", "0"},
    VatRegime.SIMPLIFIED_VAT: {"5", "7"},
    VatRegime.EXEMPT: {"none"},
}
_REQUIRED = {
    "short_name": "Укажите краткое наименование.",
    "full_name": "Укажите полное наименование.",
    "legal_address": "Укажите юридический адрес.",
    "bank_name": "Укажите наименование банка.",
    "director_name": "Укажите ФИО руководителя.",
    "director_position": "Укажите должность руководителя (для подписи документов).",
}


@dataclass
class OrganizationData:
    short_name: str = ""
    full_name: str = ""
    inn: str = ""
    kpp: str | None = None
    ogrn: str = ""
    legal_address: str = ""
    postal_address: str | None = None
    phone: str | None = None
    email: str | None = None
    bank_name: str = ""
    bik: str = ""
    settlement_account: str = ""
    correspondent_account: str | None = None
    director_position: str = "Генеральный директор"
    director_name: str = ""
    chief_accountant_name: str | None = None
    vat_regime: str = VatRegime.GENERAL.value
    vat_rate: str = "auto"
    vat_exempt_basis: str = DEFAULT_VAT_EXEMPT_BASIS
    # Text from the form or the API; an int once validated.
    payment_days: str | int = DEFAULT_PAYMENT_DAYS

    @classmethod
    def from_mapping(cls, data: dict) -> OrganizationData:
        known = {f.name for f in fields(cls)}
        return cls(
            **{
                k: (v if v is None or isinstance(v, str) else str(v))
                for k, v in data.items()
                if k in known
            }
        )

    @classmethod
    def from_model(cls, org: Organization) -> OrganizationData:
        return cls(**{f.name: getattr(org, f.name) for f in fields(cls)})

    def cleaned(self) -> OrganizationData:
        """Trim text, keep only digits in numbers, turn empty optionals into None."""
        values = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "payment_days":
                values[f.name] = value.strip() if isinstance(value, str) else value
                continue
            value = value.strip() if isinstance(value, str) else (value or "")
            if f.name in {"inn", "ogrn", "bik", "settlement_account", "correspondent_account"}:
                value = rq.digits(value)
            if f.name == "kpp":
                value = rq.digits(value).upper()
            # Optional fields (default None) are stored as NULL when left empty.
            values[f.name] = None if value == "" and f.default is None else value
        return OrganizationData(**values)


def validate(
    session: Session, data: OrganizationData, org: Organization | None
) -> OrganizationData:
    """Return the cleaned data or raise ValidationError naming every wrong field."""
    data = data.cleaned()
    errors: dict[str, str] = {k: msg for k, msg in _REQUIRED.items() if not getattr(data, k)}
    inn_error = rq.check_inn(data.inn)
    if inn_error:
        errors["inn"] = inn_error
    is_legal = len(data.inn) == 10
    if is_legal:
        kpp_error = "Для организации укажите КПП." if not data.kpp else rq.check_kpp(data.kpp)
        if kpp_error:
            errors["kpp"] = kpp_error
    elif data.kpp:
        errors["kpp"] = "У индивидуального предпринимателя нет КПП."
    kind = None if inn_error else ("legal" if is_legal else "sole_trader")
    ogrn_error = rq.check_ogrn(data.ogrn, kind=kind)
    if ogrn_error:
        errors["ogrn"] = ogrn_error
    bik_error = rq.check_bik(data.bik)
    if bik_error:
        errors["bik"] = bik_error
    else:
        account_error = rq.check_settlement_account(data.settlement_account, data.bik)
        if account_error:
            errors["settlement_account"] = account_error
        if data.correspondent_account:
            corr_error = rq.check_correspondent_account(data.correspondent_account, data.bik)
            if corr_error:
                errors["correspondent_account"] = corr_error
    try:
        regime = VatRegime(data.vat_regime)
    except ValueError:
        errors["vat_regime"] = "Выберите режим налогообложения."
    else:
        if data.vat_rate not in _RATES_BY_REGIME[regime]:
            allowed = ", ".join(VAT_RATE_CHOICES[r] for r in sorted(_RATES_BY_REGIME[regime]))
            errors["vat_rate"] = f"Для выбранного режима допустимо: {allowed}."
    if not data.vat_exempt_basis:
        data.vat_exempt_basis = DEFAULT_VAT_EXEMPT_BASIS
    elif len(data.vat_exempt_basis) > 300:
        errors["vat_exempt_basis"] = "Основание — не длиннее 300 знаков."
    days = _payment_days(data.payment_days)
    if days is None:
        errors["payment_days"] = (
            f"Срок оплаты — целое число банковских дней от 1 до {MAX_PAYMENT_DAYS}."
        )
    else:
        data.payment_days = days
    if data.email and "@" not in data.email:
        errors["email"] = "Неверный адрес электронной почты."
    if "inn" not in errors:
        clash = session.scalar(select(Organization.id).where(Organization.inn == data.inn))
        if clash is not None and (org is None or clash != org.id):
            errors["inn"] = "Организация с таким ИНН уже есть."
    if errors:
        raise ValidationError(fields=errors)
    return data


def _payment_days(value: str | int | None) -> int | None:
    if value in (None, ""):
        return DEFAULT_PAYMENT_DAYS
    if isinstance(value, bool):
        return None
    try:
        days = int(value)
    except (TypeError, ValueError):
        return None
    return days if 1 <= days <= MAX_PAYMENT_DAYS else None


def create_organization(session: Session, data: OrganizationData, *, actor: User) -> Organization:
    data = validate(session, data, None)
    org = Organization(**asdict(data))
    session.add(org)
    session.flush()
    return org


def update_organization(
    session: Session, org: Organization, data: OrganizationData, *, actor: User
) -> Organization:
    data = validate(session, data, org)
    for key, value in asdict(data).items():
        setattr(org, key, value)
    session.flush()
    return org


def set_archived(session: Session, org: Organization, archived: bool, *, actor: User) -> None:
    """Organizations are never deleted (documents refer to them); archived ones issue nothing."""
    if archived and org.is_active:
        others = session.scalar(
            select(Organization.id).where(
                Organization.is_active.is_(True), Organization.id != org.id
            )
        )
        if others is None:
            raise Conflict("Нельзя архивировать единственную действующую организацию.")
    org.is_active = not archived
    session.flush()


def get_organization(session: Session, org_id: int) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound("Организация не найдена.")
    return org


def list_organizations(session: Session, *, include_archived: bool = True) -> list[Organization]:
    query = select(Organization).order_by(Organization.is_active.desc(), Organization.short_name)
    if not include_archived:
        query = query.where(Organization.is_active.is_(True))
    return list(session.scalars(query))


def default_organization(session: Session) -> Organization:
    """The seller for new documents; documents cannot be issued until one exists."""
    org = session.scalar(
        select(Organization).where(Organization.is_active.is_(True)).order_by(Organization.id)
    )
    if org is None:
        raise Conflict(
            "Не заведено ни одной действующей организации: администратор должен добавить "
            "реквизиты в разделе «Наши организации»."
        )
    return org


def to_dict(org: Organization) -> dict:
    return {"id": org.id, "is_active": org.is_active, **asdict(OrganizationData.from_model(org))}
