"""The data crossing the wire of the ExpoExchange service, as plain frozen dataclasses.

Both ends use them: the zeep client (`accounting_sync.client`) and the 1C emulator
(`accounting_sync.emulator`). Every field carries its XML element name in `metadata["xml"]`, in the
order of the WSDL's `xs:sequence`, so (de)serializers on either side are driven by one description
(`wire_fields`). Money is `Decimal` (a float is refused: it cannot hold kopecks exactly), dates are
`date`, timestamps naive `datetime` (1C sends local time without an offset).

No zeep import here: the application may use these types without pulling in the SOAP stack.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

#: The contract's version; `Ping` returns the version the 1C side implements (major must match).
CONTRACT_VERSION = "1.0"
NAMESPACE = "http://expo-crm.ru/exchange"
SERVICE_NAME = "ExpoExchange"
#: The largest page `GetChanges` forms; bigger requests are capped (libxml2's limits, memory).
MAX_PAGE_SIZE = 500

COUNTERPARTY_KINDS = ("legal", "sole_trader", "person")
DOCUMENT_KINDS = ("invoice", "act", "vat_invoice")
DOCUMENT_STATES = ("issued", "cancelled")
ACCOUNTING_STATES = ("posted", "rejected", "cancelled")
VAT_RATES = ("22", "20", "10", "7", "5", "0", "none")
BUDGET_STATES = ("approved",)
DIRECTIONS = ("income", "expense")
PUT_STATUSES = ("accepted", "duplicate")

# 1C has no NULL date: an unfilled date is 0001-01-01 (T00:00:00). Readers turn it into None.
EMPTY_DATE = date(1, 1, 1)
EMPTY_DATETIME = datetime(1, 1, 1)


def wire(name: str, *, item: str | None = None, default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field mapped to the XML element `name` (`item`: element name of list items)."""
    return field(default=default, metadata={"xml": name, "item": item})


@dataclass(frozen=True)
class WireField:
    """How one dataclass field travels: XML name, scalar type or item class, optional or not."""

    name: str
    xml: str
    type: type
    optional: bool
    item: str | None = None  # set for lists: the repeated element inside the wrapper

    @property
    def is_list(self) -> bool:
        return self.item is not None


_SCALARS = (str, int, bool, Decimal, date, datetime)


@functools.cache
def wire_fields(cls: type) -> tuple[WireField, ...]:
    """The wire description of a message dataclass, in WSDL sequence order."""
    hints = typing.get_type_hints(cls)
    result = []
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        optional = False
        args = typing.get_args(hint)
        if type(None) in args:  # X | None
            optional = True
            hint = next(a for a in args if a is not type(None))
        item = f.metadata.get("item")
        if item is not None:  # tuple[Item, ...]
            hint = typing.get_args(hint)[0]
        elif hint not in _SCALARS:
            raise TypeError(f"{cls.__name__}.{f.name}: unsupported wire type {hint!r}")
        result.append(WireField(f.name, f.metadata["xml"], hint, optional, item))
    return tuple(result)


class WireMessage:
    """Base of the message dataclasses: checks types on construction (no float money, no junk)."""

    #: field name -> allowed values, for the enumerations of the WSDL
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __post_init__(self) -> None:
        for wf in wire_fields(type(self)):
            value = getattr(self, wf.name)
            if value is None:
                if not wf.optional:
                    raise ValueError(f"{type(self).__name__}.{wf.name} is required")
                continue
            if wf.is_list:
                if isinstance(value, list):  # lists are accepted for convenience, kept as tuples
                    value = tuple(value)
                    object.__setattr__(self, wf.name, value)
                if not isinstance(value, tuple) or not all(isinstance(v, wf.type) for v in value):
                    raise TypeError(
                        f"{type(self).__name__}.{wf.name} must hold {wf.type.__name__} items"
                    )
                continue
            object.__setattr__(self, wf.name, _check_scalar(type(self), wf, value))
        for name, allowed in self.CHOICES.items():
            value = getattr(self, name)
            if value is not None and value not in allowed:
                raise ValueError(f"{type(self).__name__}.{name}: {value!r} is not one of {allowed}")


def _check_scalar(cls: type, wf: WireField, value: Any) -> Any:
    where = f"{cls.__name__}.{wf.name}"
    if wf.type is Decimal:
        # bool is an int: refuse it too; floats cannot represent kopecks exactly.
        if isinstance(value, bool) or isinstance(value, float):
            raise TypeError(f"{where}: money and quantities must be Decimal, not {type(value)}")
        if isinstance(value, int):
            value = Decimal(value)
        if not isinstance(value, Decimal) or not value.is_finite():
            raise TypeError(f"{where}: a finite Decimal is required, got {value!r}")
        # Written in fixed-point notation: '1E+3' is not a valid xs:decimal.
        return Decimal(format(value, "f"))
    if wf.type is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"{where}: int required, got {value!r}")
    if wf.type is date and (isinstance(value, datetime) or not isinstance(value, date)):
        raise TypeError(f"{where}: date required, got {value!r}")
    if not isinstance(value, wf.type):
        raise TypeError(f"{where}: {wf.type.__name__} required, got {value!r}")
    return value


def new_guid() -> str:
    """A fresh GUID in 1C's textual form (lower-case, with dashes)."""
    return str(uuid.uuid4())


# --- What we send ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Counterparty(WireMessage):
    """A client as «Справочник.Контрагенты» sees it; 1C matches it by INN+KPP and keeps our GUID."""

    guid: str = wire("GUID")
    kind: str = wire("Kind")
    name: str = wire("Name")
    full_name: str = wire("FullName")
    inn: str = wire("INN")
    kpp: str | None = wire("KPP", default=None)
    ogrn: str | None = wire("OGRN", default=None)
    legal_address: str = wire("LegalAddress", default="")
    phone: str = wire("Phone", default="")
    email: str = wire("Email", default="")

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"kind": COUNTERPARTY_KINDS}


@dataclass(frozen=True, kw_only=True)
class DocumentLine(WireMessage):
    """A line of an invoice, act or VAT invoice; Amount and VATAmount are already rounded."""

    line_no: int = wire("LineNo")
    description: str = wire("Description")
    unit: str = wire("Unit")
    unit_code: str = wire("UnitCode")
    quantity: Decimal = wire("Quantity")
    price: Decimal = wire("Price")
    amount: Decimal = wire("Amount")
    vat_rate: str = wire("VATRate")
    vat_amount: Decimal = wire("VATAmount")

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"vat_rate": VAT_RATES}


@dataclass(frozen=True, kw_only=True)
class Document(WireMessage):
    """A sales document, upserted by GUID on the 1C side. Amount includes VAT."""

    guid: str = wire("GUID")
    kind: str = wire("Kind")
    number: str = wire("Number")
    date: date = wire("Date")
    status: str = wire("Status")
    organization_inn: str = wire("OrganizationINN")
    counterparty_guid: str = wire("CounterpartyGUID")
    contract_number: str | None = wire("ContractNumber", default=None)
    contract_date: date | None = wire("ContractDate", default=None)
    base_document_guid: str | None = wire("BaseDocumentGUID", default=None)
    project_guid: str | None = wire("ProjectGUID", default=None)
    currency: str = wire("Currency", default="643")
    amount: Decimal = wire("Amount")
    vat_amount: Decimal = wire("VATAmount")
    lines: tuple[DocumentLine, ...] = wire("Lines", item="Line", default=())

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "kind": DOCUMENT_KINDS,
        "status": DOCUMENT_STATES,
    }


@dataclass(frozen=True, kw_only=True)
class BudgetLine(WireMessage):
    """One planned amount: article, direction and month (the first day of the month)."""

    article_code: str = wire("ArticleCode")
    article_name: str = wire("ArticleName")
    direction: str = wire("Direction")
    month: date = wire("Month")
    amount: Decimal = wire("Amount")

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"direction": DIRECTIONS}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.month.day != 1:
            raise ValueError("BudgetLine.month must be the first day of a month")


@dataclass(frozen=True, kw_only=True)
class Budget(WireMessage):
    """An approved project budget; a higher version replaces the project's previous one."""

    guid: str = wire("GUID")
    project_guid: str = wire("ProjectGUID")
    project_code: str = wire("ProjectCode")
    project_name: str = wire("ProjectName")
    version: int = wire("Version")
    status: str = wire("Status", default="approved")
    lines: tuple[BudgetLine, ...] = wire("Lines", item="Line", default=())

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"status": BUDGET_STATES}


# --- What 1C answers ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ObjectResult(WireMessage):
    """Our GUID and the reference 1C gave the object (its own GUID)."""

    guid: str = wire("GUID")
    accounting_id: str = wire("AccountingId")


@dataclass(frozen=True, kw_only=True)
class PutResponse(WireMessage):
    """The answer to every Put*: accepted or duplicate, 1C's acknowledgement, ids per object.

    `received_no` is the last message number 1C has received from our node: every message of ours
    up to it is delivered and need not be sent again.
    """

    status: str = wire("return")
    received_no: int = wire("ReceivedNo")
    results: tuple[ObjectResult, ...] = wire("Results", item="Result", default=())

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"status": PUT_STATUSES}

    @property
    def duplicate(self) -> bool:
        """True when 1C had already received this message number and applied nothing."""
        return self.status == "duplicate"


@dataclass(frozen=True, kw_only=True)
class PingResult(WireMessage):
    """The service's contract version and 1C's clock."""

    version: str = wire("return")
    server_time: datetime | None = wire("ServerTime", default=None)


@dataclass(frozen=True, kw_only=True)
class Payment(WireMessage):
    """An incoming bank payment («Поступление на расчётный счёт»). `id` is our idempotency key."""

    id: str = wire("Id")
    number: str = wire("Number")
    date: date = wire("Date")
    payer_name: str = wire("PayerName")
    payer_inn: str = wire("PayerINN")
    payer_kpp: str | None = wire("PayerKPP", default=None)
    amount: Decimal = wire("Amount")
    purpose: str = wire("Purpose")
    invoice_guid: str | None = wire("InvoiceGUID", default=None)
    invoice_number: str | None = wire("InvoiceNumber", default=None)


@dataclass(frozen=True, kw_only=True)
class DocumentStatus(WireMessage):
    """What became of one of our documents in 1C (posted, rejected with a comment, cancelled)."""

    document_guid: str = wire("DocumentGUID")
    status: str = wire("Status")
    accounting_number: str | None = wire("AccountingNumber", default=None)
    accounting_date: date | None = wire("AccountingDate", default=None)
    comment: str | None = wire("Comment", default=None)

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"status": ACCOUNTING_STATES}


@dataclass(frozen=True, kw_only=True)
class BudgetActual(WireMessage):
    """The cumulative actual of one project/article/direction/month: apply as upsert, not sum."""

    project_guid: str = wire("ProjectGUID")
    article_code: str = wire("ArticleCode")
    direction: str = wire("Direction")
    month: date = wire("Month")
    amount: Decimal = wire("Amount")

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"direction": DIRECTIONS}


@dataclass(frozen=True, kw_only=True)
class Changes(WireMessage):
    """One message of 1C's changes for our node (`GetChanges`).

    `message_no` is 0 when there is nothing to send. Acknowledge a message by passing its number
    as `received_no` of the next call (or of any Put*); until then 1C sends the same message again.
    """

    message_no: int = wire("return")
    has_more: bool = wire("HasMore")
    payments: tuple[Payment, ...] = wire("Payments", item="Payment", default=())
    document_statuses: tuple[DocumentStatus, ...] = wire(
        "DocumentStatuses", item="DocumentStatus", default=()
    )
    budget_actuals: tuple[BudgetActual, ...] = wire(
        "BudgetActuals", item="BudgetActual", default=()
    )

    @property
    def is_empty(self) -> bool:
        """True when 1C had nothing to send (no message was formed)."""
        return self.message_no == 0


# --- From the app's outbox payloads ---------------------------------------------------------

M = TypeVar("M", bound=WireMessage)

#: The message each outbox kind travels as (erp_crm.integration.payloads builds the payloads).
PAYLOAD_MESSAGES: dict[str, type[WireMessage]] = {
    "counterparty": Counterparty,
    "document": Document,
    "budget": Budget,
}


def from_payload(kind: str, payload: dict[str, Any]) -> WireMessage:
    """The wire message of an outbox payload of `kind` (see PAYLOAD_MESSAGES)."""
    return _from_json(PAYLOAD_MESSAGES[kind], payload)


def _from_json(cls: type[M], data: dict[str, Any]) -> M:
    """Field by field, driven by `wire_fields`: the payload's keys are the fields' names, money
    a string ("1234.50"), dates ISO strings. A missing or null value takes the field's default;
    an empty value of an optional field is no value (1C has no empty KPP or date)."""
    kwargs: dict[str, Any] = {}
    defaults = {f.name: f for f in dataclasses.fields(cls)}
    for wf in wire_fields(cls):
        value = data.get(wf.name)
        if value is None or (wf.optional and value == ""):
            if wf.optional:
                kwargs[wf.name] = None
            elif defaults[wf.name].default is not dataclasses.MISSING:
                kwargs[wf.name] = defaults[wf.name].default
            else:
                kwargs[wf.name] = None  # refused by the message: a required field is missing
        elif wf.is_list:
            kwargs[wf.name] = tuple(_from_json(wf.type, item) for item in value)
        elif wf.type is Decimal:
            kwargs[wf.name] = Decimal(str(value))
        elif wf.type is datetime:
            kwargs[wf.name] = datetime.fromisoformat(value) if isinstance(value, str) else value
        elif wf.type is date:
            kwargs[wf.name] = date.fromisoformat(value) if isinstance(value, str) else value
        elif wf.type is int:
            kwargs[wf.name] = int(value)
        elif wf.type is str:
            kwargs[wf.name] = str(value)
        else:
            kwargs[wf.name] = value
    return cls(**kwargs)
