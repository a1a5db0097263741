from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import Boolean, CheckConstraint, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from erp_crm.auth.permissions import Perm
from erp_crm.db import Audited, Base, TimestampMixin


class VatRegime(StrEnum):
    GENERAL = "general"  # ОСН: VAT at the rate of the document's date
    SIMPLIFIED_VAT = "simplified_vat"  # УСН with the reduced 5% / 7% rates
    EXEMPT = "exempt"  # УСН without VAT, or exempt: «Без налога (НДС)»


VAT_REGIME_LABELS = {
    VatRegime.GENERAL: "ОСН — НДС по ставке на дату документа",
    VatRegime.SIMPLIFIED_VAT: "УСН с НДС по пониженной ставке",
    VatRegime.EXEMPT: "Без НДС (УСН или освобождение)",
}

# The rate a document uses by default; "auto" means the general rate on the document's date.
VAT_RATE_CHOICES = {
    "auto": "По дате документа (22% с 2026 г., 20% ранее)",
    "22": "22%",
    "20": "20%",
    "10": "10%",
    "7": "7%",
    "5": "5%",
    "0": "0%",
    "none": "Без НДС",
}

# What documents of an organization without VAT say instead of the VAT amount (editable).
DEFAULT_VAT_EXEMPT_BASIS = "НДС не облагается на основании п. 2 ст. 346.11 НК РФ"

DEFAULT_PAYMENT_DAYS = 5
MAX_PAYMENT_DAYS = 60


class Organization(Audited, TimestampMixin, Base):
    """Never deleted: documents and the accounting exchange refer to it. Archived instead."""

    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(
            "vat_regime IN ('general', 'simplified_vat', 'exempt')", name="vat_regime_known"
        ),
        CheckConstraint(
            f"payment_days BETWEEN 1 AND {MAX_PAYMENT_DAYS}", name="payment_days_range"
        ),
    )
    __audit_view_permission__ = Perm.ORGANIZATIONS_VIEW
    __audit_title__ = "Организация"
    # Images are logged as "changed" without their bytes.
    __audit_secret__ = frozenset({"stamp_image", "signature_image", "accountant_signature_image"})
    __audit_labels__: ClassVar[dict[str, str]] = {
        "short_name": "Краткое наименование",
        "full_name": "Полное наименование",
        "bank_name": "Банк",
        "bik": "БИК",
        "settlement_account": "Расчётный счёт",
        "correspondent_account": "Корреспондентский счёт",
        "director_position": "Должность руководителя",
        "director_name": "Руководитель",
        "chief_accountant_name": "Главный бухгалтер",
        "vat_regime": "Налоговый режим",
        "vat_rate": "Ставка НДС в документах",
        "vat_exempt_basis": "Основание «Без НДС» в документах",
        "payment_days": "Срок оплаты счёта, банковских дней",
        "stamp_image": "Изображение печати",
        "signature_image": "Изображение подписи руководителя",
        "accountant_signature_image": "Изображение подписи главного бухгалтера",
    }
    __audit_values__: ClassVar[dict[str, dict[Any, Any]]] = {
        "vat_regime": VAT_REGIME_LABELS,
        "vat_rate": VAT_RATE_CHOICES,
    }

    id: Mapped[int] = mapped_column(primary_key=True)
    short_name: Mapped[str] = mapped_column(String(200))
    full_name: Mapped[str] = mapped_column(String(500))
    inn: Mapped[str] = mapped_column(String(12), unique=True)
    kpp: Mapped[str | None] = mapped_column(String(9))
    ogrn: Mapped[str] = mapped_column(String(15))
    legal_address: Mapped[str] = mapped_column(Text)
    postal_address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    bank_name: Mapped[str] = mapped_column(String(300))
    bik: Mapped[str] = mapped_column(String(9))
    settlement_account: Mapped[str] = mapped_column(String(20))
    correspondent_account: Mapped[str | None] = mapped_column(String(20))
    director_position: Mapped[str] = mapped_column(String(200), default="Генеральный директор")
    director_name: Mapped[str] = mapped_column(String(200))
    chief_accountant_name: Mapped[str | None] = mapped_column(String(200))
    vat_regime: Mapped[str] = mapped_column(String(20), default=VatRegime.GENERAL.value)
    vat_rate: Mapped[str] = mapped_column(String(8), default="auto")
    vat_exempt_basis: Mapped[str] = mapped_column(
        String(300), default=DEFAULT_VAT_EXEMPT_BASIS, server_default=DEFAULT_VAT_EXEMPT_BASIS
    )
    # «Оплатить не позднее …»: banking days of the Russian production calendar after the invoice.
    payment_days: Mapped[int] = mapped_column(
        Integer, default=DEFAULT_PAYMENT_DAYS, server_default=str(DEFAULT_PAYMENT_DAYS)
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Optional images placed on documents (PNG/JPEG, checked on upload).
    stamp_image: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    signature_image: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    accountant_signature_image: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))

    def audit_label(self) -> str:
        return self.short_name

    def document_vat_rate(self, line_rate: Decimal | None) -> Decimal | None:
        """The rate a document of this organization prints for a line priced at `line_rate`
        (the line's setting resolved on the document's date): on ОСН the line's own; on УСН
        with VAT the organization's 5% or 7% for every taxed line; without VAT none."""
        if self.vat_regime == VatRegime.EXEMPT.value:
            return None
        if self.vat_regime == VatRegime.SIMPLIFIED_VAT.value:
            return None if line_rate is None or line_rate == 0 else Decimal(self.vat_rate)
        return line_rate

    @property
    def is_sole_trader(self) -> bool:
        return len(self.inn) == 12
