"""SOAP 1.1/1.2 envelopes of the emulator, built and read with lxml, checked against the WSDL.

Requests are parsed with a parser that resolves no entities and touches no network, and any
DTD is refused with a SOAP Fault. The wrapper element is validated against the schema embedded
in the very WSDL the client loads (1C validates incoming XDTO the same way), and so is every
answer before it leaves: the emulator can never drift from the contract unnoticed.
"""

from __future__ import annotations

import copy
import functools
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lxml import etree

from accounting_sync.emulator.codec import append_fields, from_element, qname
from accounting_sync.emulator.storage import EmulatorStorage, ExchangeError
from accounting_sync.messages import (
    CONTRACT_VERSION,
    NAMESPACE,
    Budget,
    Counterparty,
    Document,
    PingResult,
    WireMessage,
    wire,
)

WSDL_PATH = Path(__file__).resolve().parent.parent / "wsdl" / "ExpoExchange.wsdl"
SOAP11_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
ENVELOPES = {"1.1": SOAP11_ENV, "1.2": SOAP12_ENV}
CONTENT_TYPES = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}
XSD_NS = "http://www.w3.org/2001/XMLSchema"
# One validator is shared by the server's threads; its error_log is per object, so calls are
# serialized (validation of these small messages takes well under a millisecond).
_SCHEMA_LOCK = threading.Lock()
WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"


class SoapError(Exception):
    """A request the emulator refuses with a SOAP Fault (`client`: soap:Client/Sender)."""

    def __init__(self, message: str, *, client: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.client = client


# --- the request wrappers (the out side is described by messages.py) ------------------------


@dataclass(frozen=True, kw_only=True)
class PingRequest(WireMessage):
    """Ping(Node)."""

    node: str = wire("Node")


@dataclass(frozen=True, kw_only=True)
class PutCounterpartiesRequest(WireMessage):
    """PutCounterparties(Node, MessageNo, ReceivedNo, Counterparties)."""

    node: str = wire("Node")
    message_no: int = wire("MessageNo")
    received_no: int = wire("ReceivedNo")
    items: tuple[Counterparty, ...] = wire("Counterparties", item="Counterparty")


@dataclass(frozen=True, kw_only=True)
class PutDocumentsRequest(WireMessage):
    """PutDocuments(Node, MessageNo, ReceivedNo, Documents)."""

    node: str = wire("Node")
    message_no: int = wire("MessageNo")
    received_no: int = wire("ReceivedNo")
    items: tuple[Document, ...] = wire("Documents", item="Document")


@dataclass(frozen=True, kw_only=True)
class PutBudgetRequest(WireMessage):
    """PutBudget(Node, MessageNo, ReceivedNo, Budget): one budget, so a nested element."""

    node: str = wire("Node")
    message_no: int = wire("MessageNo")
    received_no: int = wire("ReceivedNo")


@dataclass(frozen=True, kw_only=True)
class GetChangesRequest(WireMessage):
    """GetChanges(Node, ReceivedNo, PageSize)."""

    node: str = wire("Node")
    received_no: int = wire("ReceivedNo")
    page_size: int = wire("PageSize")


REQUESTS: dict[str, type[WireMessage]] = {
    "Ping": PingRequest,
    "PutCounterparties": PutCounterpartiesRequest,
    "PutDocuments": PutDocumentsRequest,
    "PutBudget": PutBudgetRequest,
    "GetChanges": GetChangesRequest,
}


# --- parsing ----------------------------------------------------------------------------------


def safe_parser() -> etree.XMLParser:
    """An lxml parser that expands no entities, loads no DTD and never goes to the network."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def version_for(mimetype: str) -> str:
    """SOAP 1.2 travels as application/soap+xml, SOAP 1.1 as text/xml."""
    return "1.2" if mimetype.lower() == "application/soap+xml" else "1.1"


def parse_request(body: bytes) -> tuple[str, str, etree._Element]:
    """Return (SOAP version of the envelope, operation name, wrapper element)."""
    if not body.strip():
        raise SoapError("Пустой запрос: ожидается конверт SOAP.")
    try:
        root = etree.fromstring(body, parser=safe_parser())
    except etree.XMLSyntaxError as exc:
        raise SoapError(f"Ошибка разбора XML: {exc.msg}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise SoapError("Запрос отклонён: объявления DTD и сущностей в сообщениях SOAP запрещены.")
    version = next((v for v, ns in ENVELOPES.items() if root.tag == f"{{{ns}}}Envelope"), None)
    if version is None:
        raise SoapError(f"Корневой элемент {root.tag} не является конвертом SOAP 1.1 или 1.2.")
    body_el = root.find(f"{{{ENVELOPES[version]}}}Body")
    wrapper = (
        None
        if body_el is None
        else next((child for child in body_el if isinstance(child.tag, str)), None)
    )
    if wrapper is None:
        raise SoapError("В конверте SOAP нет тела запроса.")
    tag = etree.QName(wrapper)
    if tag.namespace != NAMESPACE or tag.localname not in REQUESTS:
        raise SoapError(f"Операция {tag.localname} не найдена в веб-сервисе ExpoExchange.")
    return version, tag.localname, wrapper


@functools.cache
def contract_schema() -> etree.XMLSchema:
    """The XML Schema embedded in the shipped WSDL."""
    wsdl = etree.parse(str(WSDL_PATH), parser=safe_parser())
    schema_el = wsdl.find(f"{{{WSDL_NS}}}types/{{{XSD_NS}}}schema")
    if schema_el is None:
        raise RuntimeError("the WSDL has no embedded xs:schema")
    return etree.XMLSchema(copy.deepcopy(schema_el))


def validate(element: etree._Element) -> str | None:
    """Validate a wrapper element against the contract; the first error's text, or None."""
    document = etree.ElementTree(copy.deepcopy(element))
    schema = contract_schema()
    with _SCHEMA_LOCK:
        if schema.validate(document):
            return None
        error = schema.error_log.last_error
    return f"строка {error.line}: {error.message}" if error else "неизвестная ошибка"


# --- building ---------------------------------------------------------------------------------


def envelope(version: str, payload: etree._Element) -> bytes:
    """A SOAP envelope of `version` around `payload`, as 1C writes it (empty Header, UTF-8)."""
    env_ns = ENVELOPES[version]
    root = etree.Element(f"{{{env_ns}}}Envelope", nsmap={"soap": env_ns})
    etree.SubElement(root, f"{{{env_ns}}}Header")
    etree.SubElement(root, f"{{{env_ns}}}Body").append(payload)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def fault(version: str, text: str, *, client: bool = False) -> bytes:
    """A SOAP Fault carrying `text` (1C puts its error text into faultstring / Reason)."""
    env_ns = ENVELOPES[version]
    el = etree.Element(f"{{{env_ns}}}Fault", nsmap={"soap": env_ns})
    if version == "1.1":
        etree.SubElement(el, "faultcode").text = "soap:Client" if client else "soap:Server"
        etree.SubElement(el, "faultstring").text = text
    else:
        code = etree.SubElement(el, f"{{{env_ns}}}Code")
        etree.SubElement(code, f"{{{env_ns}}}Value").text = (
            "soap:Sender" if client else "soap:Receiver"
        )
        reason = etree.SubElement(el, f"{{{env_ns}}}Reason")
        text_el = etree.SubElement(reason, f"{{{env_ns}}}Text")
        text_el.set("{http://www.w3.org/XML/1998/namespace}lang", "ru")
        text_el.text = text
    return envelope(version, el)


def dtd_answer(version: str, operation: str) -> bytes:
    """An answer that declares a DTD with an internal and an external entity (XXE)."""
    env_ns = ENVELOPES[version]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        "<!DOCTYPE soap:Envelope [\n"
        '  <!ENTITY service "ExpoExchange">\n'
        '  <!ENTITY secret SYSTEM "file:///etc/passwd">\n'
        "]>\n"
        f'<soap:Envelope xmlns:soap="{env_ns}"><soap:Body>'
        f'<m:{operation}Response xmlns:m="{NAMESPACE}"><m:return>&service; &secret;</m:return>'
        f"</m:{operation}Response></soap:Body></soap:Envelope>"
    ).encode()


def malformed(body: bytes) -> bytes:
    """A well-begun but broken document: half of the real answer and an unclosed tag."""
    return body[: max(len(body) // 2, 40)] + b"<m:return attr='"


# --- operations -------------------------------------------------------------------------------


def handle(
    storage: EmulatorStorage, operation: str, wrapper: etree._Element, *, redeliver: bool = False
) -> etree._Element:
    """Validate the request, run the operation on the storage, return the response wrapper."""
    problem = validate(wrapper)
    if problem:
        raise SoapError(f"Ошибка проверки данных XDTO ({operation}): {problem}")
    request = from_element(REQUESTS[operation], wrapper)
    try:
        result = _run(storage, operation, request, wrapper, redeliver=redeliver)
    except (TypeError, ValueError) as exc:  # a schema-valid value our rules still refuse
        raise SoapError(f"Ошибка преобразования данных XDTO ({operation}): {exc}") from exc
    answer = etree.Element(qname(f"{operation}Response"), nsmap={"m": NAMESPACE})
    append_fields(answer, result)
    problem = validate(answer)
    if problem:  # a bug of the emulator: never send what the contract forbids
        raise ExchangeError(f"Эмулятор сформировал ответ вне контракта: {problem}")
    return answer


def _run(
    storage: EmulatorStorage,
    operation: str,
    request: WireMessage,
    wrapper: etree._Element,
    *,
    redeliver: bool,
) -> WireMessage:
    if isinstance(request, PingRequest):
        storage.check_node(request.node)
        return PingResult(
            version=CONTRACT_VERSION, server_time=datetime.now().replace(microsecond=0)
        )
    if isinstance(request, PutCounterpartiesRequest):
        return storage.put_counterparties(
            request.node, request.message_no, request.received_no, request.items
        )
    if isinstance(request, PutDocumentsRequest):
        return storage.put_documents(
            request.node, request.message_no, request.received_no, request.items
        )
    if isinstance(request, PutBudgetRequest):
        budget = from_element(Budget, wrapper.find(qname("Budget")))
        return storage.put_budget(request.node, request.message_no, request.received_no, budget)
    if isinstance(request, GetChangesRequest):
        return storage.get_changes(
            request.node, request.received_no, request.page_size, redeliver=redeliver
        )
    raise SoapError(f"Операция {operation} не поддерживается.")
