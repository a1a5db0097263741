"""The SOAP client of the accounting system (1C:Enterprise web service ExpoExchange).

The only module that imports zeep. It loads the WSDL shipped in accounting_sync/wsdl (never from
the network), points the service at the configured URL (the address inside the WSDL is the
accounting department's internal host), parses answers with DTDs, entities and external references
forbidden, and turns every zeep/requests/lxml failure into an `accounting_sync.errors` exception.

    client = AccountingClient(url, "Обмен", password, node="CRM")
    reply = client.put_documents(message_no=8, received_no=3, items=[document])
    changes = client.get_changes(received_no=3, page_size=100)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import zeep
import zeep.exceptions
from lxml import etree

from accounting_sync.errors import (
    AccountingAuthError,
    AccountingError,
    AccountingFault,
    AccountingProtocolError,
    AccountingUnavailable,
)
from accounting_sync.messages import (
    EMPTY_DATE,
    EMPTY_DATETIME,
    MAX_PAGE_SIZE,
    NAMESPACE,
    Budget,
    Changes,
    Counterparty,
    Document,
    PingResult,
    PutResponse,
    WireMessage,
    wire_fields,
)

log = logging.getLogger(__name__)

WSDL_PATH = Path(__file__).resolve().parent / "wsdl" / "ExpoExchange.wsdl"
BINDINGS = {
    "1.1": f"{{{NAMESPACE}}}ExpoExchangeSoapBinding",
    "1.2": f"{{{NAMESPACE}}}ExpoExchangeSoap12Binding",
}

M = TypeVar("M", bound=WireMessage)


class AccountingClient:
    """A connection to 1C's ExpoExchange service for one exchange-plan node.

    `timeout` bounds connecting (seconds), `operation_timeout` waiting for 1C's answer: zeep has
    no operation timeout by default and a hung 1C would hang the worker forever.
    """

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        node: str = "CRM",
        soap_version: str = "1.1",
        timeout: float = 10,
        operation_timeout: float = 30,
    ) -> None:
        if urlsplit(url).scheme not in ("http", "https"):
            raise ValueError(
                f"Адрес веб-сервиса 1С должен начинаться с http:// или https://: {url}"
            )
        if soap_version not in BINDINGS:
            raise ValueError(f"soap_version must be one of {sorted(BINDINGS)}")
        self.url = url
        self.node = node
        self.soap_version = soap_version
        self.operation_timeout = operation_timeout

        session = requests.Session()
        # requests encodes str credentials as latin-1 and fails on «Обмен»: 1C expects UTF-8.
        session.auth = (username.encode("utf-8"), password.encode("utf-8"))
        transport = zeep.Transport(
            session=session,
            timeout=timeout,
            # (connect, read): a dead host fails fast, a slow 1C gets operation_timeout.
            operation_timeout=(timeout, operation_timeout),
        )
        settings = zeep.Settings(
            strict=True,
            xml_huge_tree=False,
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        )
        self._session = session
        self._zeep = zeep.Client(str(WSDL_PATH), transport=transport, settings=settings)
        # zeep mounts a file:// adapter on the session; nothing of ours is ever read that way.
        session.adapters.pop("file://", None)
        self._service = self._zeep.create_service(BINDINGS[soap_version], url)

    # --- operations -------------------------------------------------------------------------

    def ping(self) -> PingResult:
        """Check the connection and the credentials; returns 1C's contract version and clock."""
        result = self._call("Ping", Node=self.node)
        return self._read("Ping", PingResult, result)

    def put_counterparties(
        self, message_no: int, received_no: int, items: Sequence[Counterparty]
    ) -> PutResponse:
        """Send counterparties in message `message_no`, acknowledging 1C's `received_no`."""
        _check_numbers(message_no, received_no)
        payload = {"Counterparty": [_to_zeep(_typed(i, Counterparty)) for i in items]}
        result = self._call(
            "PutCounterparties",
            Node=self.node,
            MessageNo=message_no,
            ReceivedNo=received_no,
            Counterparties=payload,
        )
        return self._read("PutCounterparties", PutResponse, result)

    def put_documents(
        self, message_no: int, received_no: int, items: Sequence[Document]
    ) -> PutResponse:
        """Send invoices/acts/VAT invoices (upserted by GUID) in message `message_no`."""
        _check_numbers(message_no, received_no)
        payload = {"Document": [_to_zeep(_typed(i, Document)) for i in items]}
        result = self._call(
            "PutDocuments",
            Node=self.node,
            MessageNo=message_no,
            ReceivedNo=received_no,
            Documents=payload,
        )
        return self._read("PutDocuments", PutResponse, result)

    def put_budget(self, message_no: int, received_no: int, budget: Budget) -> PutResponse:
        """Send an approved project budget (replaces the project's previous version)."""
        _check_numbers(message_no, received_no)
        result = self._call(
            "PutBudget",
            Node=self.node,
            MessageNo=message_no,
            ReceivedNo=received_no,
            Budget=_to_zeep(_typed(budget, Budget)),
        )
        return self._read("PutBudget", PutResponse, result)

    def get_changes(self, received_no: int, page_size: int = 100) -> Changes:
        """Acknowledge 1C's messages up to `received_no` and fetch the next (or unconfirmed) one.

        A message whose number is not greater than `received_no` is a redelivery of something
        already applied; the caller ignores it (and must not lower its acknowledgement).
        """
        _check_numbers(1, received_no)
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be within 1…{MAX_PAGE_SIZE}")
        result = self._call(
            "GetChanges", Node=self.node, ReceivedNo=received_no, PageSize=page_size
        )
        return self._read("GetChanges", Changes, result)

    def close(self) -> None:
        """Release the HTTP connections."""
        self._session.close()

    def __enter__(self) -> AccountingClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- plumbing ---------------------------------------------------------------------------

    def _call(self, operation: str, **params: Any) -> Any:
        """Run one operation; every failure leaves as an AccountingError subclass."""
        started = time.monotonic()
        try:
            result = getattr(self._service, operation)(**params)
        except AccountingError:
            raise
        except Exception as exc:  # noqa: BLE001 - the contract: nothing but AccountingError leaves
            error = self._translate(operation, exc)
            log.warning("1C %s failed (%s): %s", operation, type(exc).__name__, error.message)
            raise error from exc
        log.debug("1C %s answered in %.3f s", operation, time.monotonic() - started)
        return result

    def _translate(self, operation: str, exc: Exception) -> AccountingError:
        """Map a zeep/requests/lxml exception to the class that tells the caller what to do."""
        if isinstance(exc, zeep.exceptions.Fault):
            text = (exc.message or "").strip() or "(1С не сообщила текст ошибки)"
            return AccountingFault(
                f"1С вернула ошибку: {text}",
                fault_text=text,
                code=exc.code,
                operation=operation,
            )
        if isinstance(exc, zeep.exceptions.TransportError):
            return _transport_error(operation, exc)
        if isinstance(
            exc,
            zeep.exceptions.DTDForbidden
            | zeep.exceptions.EntitiesForbidden
            | zeep.exceptions.ExternalReferenceForbidden,
        ):
            return AccountingProtocolError(
                "Ответ 1С отклонён: в нём объявлен DTD или внешние сущности, "
                "что запрещено правилами безопасности обмена",
                operation=operation,
            )
        if isinstance(exc, requests.exceptions.Timeout):
            return AccountingUnavailable(
                f"1С не ответила за отведённое время ({self.operation_timeout} с)",
                operation=operation,
            )
        if isinstance(exc, requests.exceptions.ChunkedEncodingError):
            return AccountingUnavailable(
                "Соединение с 1С оборвалось во время передачи ответа", operation=operation
            )
        if isinstance(exc, requests.exceptions.ConnectionError):
            return AccountingUnavailable(
                f"Не удалось связаться с 1С по адресу {self.url}", operation=operation
            )
        if isinstance(exc, requests.exceptions.RequestException):
            return AccountingUnavailable(f"Ошибка HTTP при обмене с 1С: {exc}", operation=operation)
        if isinstance(exc, etree.XMLSyntaxError):
            return AccountingUnavailable(
                "1С вернула повреждённый XML (ответ не разобран)", operation=operation
            )
        if isinstance(exc, zeep.exceptions.XMLSyntaxError):
            # zeep raises it directly for well-formed XML that is not a SOAP envelope.
            return AccountingProtocolError(
                f"Ответ 1С не является SOAP-конвертом: {exc.message}", operation=operation
            )
        if isinstance(exc, zeep.exceptions.ValidationError):
            return AccountingProtocolError(
                f"Данные не соответствуют схеме обмена: {exc}", operation=operation
            )
        return AccountingProtocolError(
            f"Ответ 1С не соответствует контракту обмена ({type(exc).__name__}: {exc})",
            operation=operation,
        )

    def _read(self, operation: str, cls: type[M], result: Any) -> M:
        """Turn zeep's answer into our dataclass; a wrong shape is a protocol error."""
        try:
            return _from_zeep(cls, result)
        except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as exc:
            raise AccountingProtocolError(
                f"Ответ 1С не соответствует контракту обмена: {exc}", operation=operation
            ) from exc


def _transport_error(operation: str, exc: zeep.exceptions.TransportError) -> AccountingError:
    status = exc.status_code
    if status in (401, 403):
        return AccountingAuthError(
            f"1С отказала в доступе (HTTP {status}): проверьте имя и пароль пользователя обмена",
            operation=operation,
        )
    if status == 200:
        # zeep reports XML it could not parse as a TransportError with the 200 status.
        return AccountingUnavailable(
            "1С вернула повреждённый XML (ответ не разобран)", operation=operation
        )
    if status >= 500 or status in (408, 429):
        return AccountingUnavailable(f"1С временно недоступна (HTTP {status})", operation=operation)
    return AccountingProtocolError(
        f"Неожиданный ответ веб-сервиса 1С (HTTP {status}): проверьте адрес публикации",
        operation=operation,
    )


def _check_numbers(message_no: int, received_no: int) -> None:
    if isinstance(message_no, bool) or not isinstance(message_no, int) or message_no < 1:
        raise ValueError("message_no must be a positive int")
    if isinstance(received_no, bool) or not isinstance(received_no, int) or received_no < 0:
        raise ValueError("received_no must be a non-negative int")


def _typed(obj: Any, cls: type[M]) -> M:
    if not isinstance(obj, cls):
        raise TypeError(f"{cls.__name__} expected, got {type(obj).__name__}")
    return obj


def _to_zeep(obj: WireMessage) -> dict[str, Any]:
    """A message dataclass as the dict zeep serializes (None = element omitted)."""
    out: dict[str, Any] = {}
    for wf in wire_fields(type(obj)):
        value = getattr(obj, wf.name)
        if wf.is_list:
            out[wf.xml] = {wf.item: [_to_zeep(item) for item in value]}
        elif value is not None:
            out[wf.xml] = value
    return out


def _from_zeep(cls: type[M], value: Any) -> M:
    """Build `cls` from zeep's CompoundValue (keys are the XML element names)."""
    kwargs: dict[str, Any] = {}
    for wf in wire_fields(cls):
        raw = value[wf.xml]
        if wf.is_list:
            # An empty list wrapper comes back as None.
            items = [] if raw is None else (raw[wf.item] or [])
            kwargs[wf.name] = tuple(_from_zeep(wf.type, item) for item in items)
            continue
        if isinstance(raw, datetime):
            raw = None if raw.replace(tzinfo=None) == EMPTY_DATETIME else raw
            if raw is not None and wf.type is date:
                raw = raw.date()
        elif isinstance(raw, date) and raw == EMPTY_DATE:
            raw = None  # 1C's «empty date»
        if raw is None and wf.type is str and not wf.optional:
            raw = ""  # zeep reads an empty string element as None
        elif raw == "" and wf.optional:
            raw = None
        kwargs[wf.name] = raw
    return cls(**kwargs)
