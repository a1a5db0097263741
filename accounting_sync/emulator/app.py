"""The emulator's WSGI application (werkzeug): the SOAP endpoint, its WSDL, a page and controls.

Routes (all behind HTTP Basic auth, as a 1C publication is):
    GET  <base>/ws/ExpoExchange.1cws?wsdl   the WSDL file shipped with the client, byte for byte
    POST <base>/ws/ExpoExchange.1cws        SOAP 1.1 (text/xml) or 1.2 (application/soap+xml)
    GET  /emulator/                         received documents, payments, a form to enter one
    POST /emulator/payments                 the form's target
    POST /emulator/actuals                  recompute budget actuals (a month has passed)
    GET/POST /emulator/faults               the fault plan as JSON (see faults.FaultPlan.update)
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
import secrets
import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request, Response

from accounting_sync.emulator import soap
from accounting_sync.emulator.faults import FaultPlan, FaultSpec
from accounting_sync.emulator.storage import EmulatorInputError, EmulatorStorage, ExchangeError

log = logging.getLogger(__name__)

#: Where the emulator publishes the service, like a 1C base published as "buh".
SERVICE_PATH = "/buh/ws/ExpoExchange.1cws"
# Any publication name is accepted (and none): the app's default URL has no "/buh".
_SERVICE_RE = re.compile(r"^(?:/[^/]+)?/ws/ExpoExchange\.1cws$")
MAX_SOAP_BYTES = 32 * 1024 * 1024
_TEMPLATES = Path(__file__).resolve().parent / "templates"
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


class _Request(Request):
    """Bounded bodies: a runaway client must not fill the emulator's memory."""

    max_content_length = MAX_SOAP_BYTES


class EmulatorApp:
    """The WSGI callable. `faults` may be changed at any time (tests, the control endpoint)."""

    def __init__(
        self,
        storage: EmulatorStorage,
        *,
        username: str,
        password: str,
        faults: FaultPlan | None = None,
        stopping: threading.Event | None = None,
    ) -> None:
        self.storage = storage
        self.username = username
        self.password = password
        self.faults = faults or FaultPlan()
        # Set when the server stops: a delay fault then ends at once instead of holding a thread.
        self.stopping = stopping or threading.Event()
        self._form_token = secrets.token_urlsafe(24)
        self._jinja = Environment(
            loader=FileSystemLoader(str(_TEMPLATES)),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = _Request(environ)
        try:
            response = self.dispatch(request)
        except HTTPException as exc:
            response = exc.get_response()
        return response(environ, start_response)

    # --- routing ------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Response:
        """Authenticate, then route."""
        if not self._authorized(request):
            # 1C's web server answers 401 with no body; the challenge lets browsers ask.
            return Response(
                b"", status=401, headers={"WWW-Authenticate": 'Basic realm="1C:Enterprise"'}
            )
        path = request.path
        if _SERVICE_RE.match(path):
            if request.method == "GET" and any(k.lower() == "wsdl" for k in request.args):
                return Response(soap.WSDL_PATH.read_bytes(), content_type=soap.CONTENT_TYPES["1.1"])
            if request.method == "POST":
                return self.soap(request)
            return Response(b"", status=405, headers={"Allow": "GET, POST"})
        if path in ("/emulator", "/emulator/") and request.method == "GET":
            return self.page(request)
        if path == "/emulator/payments" and request.method == "POST":
            return self.enter_payment(request)
        if path == "/emulator/actuals" and request.method == "POST":
            return self.recompute_actuals(request)
        if path == "/emulator/faults" and request.method in ("GET", "POST"):
            return self.control_faults(request)
        return Response("Not found", status=404, content_type="text/plain; charset=utf-8")

    def _authorized(self, request: Request) -> bool:
        """HTTP Basic with possibly Cyrillic names: UTF-8 first, latin-1 as old clients send."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            raw = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        user, sep, password = text.partition(":")
        if not sep:
            return False
        user_ok = hmac.compare_digest(user.encode(), self.username.encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        return user_ok and password_ok

    # --- SOAP ---------------------------------------------------------------------------------

    def soap(self, request: Request) -> Response:
        """One SOAP call, with the fault plan applied around it."""
        version = soap.version_for(request.mimetype)
        operation = "?"
        try:
            version, operation, wrapper = soap.parse_request(request.get_data())
            spec = self.faults.take(operation)
            delay = self.faults.delay + (spec.seconds if spec and spec.kind == "delay" else 0)
            if delay:
                self.stopping.wait(delay)
            kind = spec.kind if spec else None
            if kind is not None:
                log.info("emulator: injecting %s into %s", kind, operation)
            if kind == "http500":
                return Response(b"", status=500)
            if kind == "soap_fault":
                return self._fault(version, spec.text if spec else "", client=False)
            if kind == "dtd":
                return Response(
                    soap.dtd_answer(version, operation), content_type=soap.CONTENT_TYPES[version]
                )
            answer = soap.handle(self.storage, operation, wrapper, redeliver=kind == "redeliver")
            body = soap.envelope(version, answer)
            if kind == "malformed":
                return Response(soap.malformed(body), content_type=soap.CONTENT_TYPES[version])
            if kind == "drop":
                return _dropped(body, soap.CONTENT_TYPES[version])
            return Response(body, content_type=soap.CONTENT_TYPES[version])
        except soap.SoapError as exc:
            return self._fault(version, exc.message, client=exc.client)
        except ExchangeError as exc:
            return self._fault(version, exc.message, client=exc.client)
        except HTTPException:
            raise
        except Exception:  # noqa: BLE001 - 1C answers every failure with a SOAP Fault too
            log.exception("emulator: %s failed", operation)
            return self._fault(
                version, f"Внутренняя ошибка эмулятора при выполнении {operation}", client=False
            )

    @staticmethod
    def _fault(version: str, text: str, *, client: bool) -> Response:
        # SOAP over HTTP: a fault travels with status 500, whoever is to blame.
        return Response(
            soap.fault(version, text, client=client),
            status=500,
            content_type=soap.CONTENT_TYPES[version],
        )

    # --- the page -----------------------------------------------------------------------------

    def page(
        self,
        request: Request,
        *,
        error: str | None = None,
        form: dict[str, str] | None = None,
        status: int = 200,
    ) -> Response:
        """The overview: nodes, received documents, payments, actuals, the payment form."""
        storage = self.storage
        nodes = [storage.node_state(code) for code in storage.node_codes()]
        documents = storage.documents()
        html = self._jinja.get_template("index.html").render(
            service_url=request.host_url.rstrip("/") + SERVICE_PATH,
            nodes=nodes,
            documents=documents,
            invoices=[d for d in documents if d["kind"] == "invoice"],
            payments=storage.payments(),
            budgets=storage.budgets(),
            actuals=storage.budget_actuals(),
            faults=json.dumps(self.faults.to_dict(), ensure_ascii=False, indent=2),
            token=self._form_token,
            message=request.args.get("message"),
            error=error,
            form=form or {},
            today=storage.today().isoformat(),
        )
        return Response(
            html, status=status, content_type="text/html; charset=utf-8", headers=_PAGE_HEADERS
        )

    def _token_ok(self, request: Request) -> bool:
        # Basic credentials are replayed by browsers: a token stops cross-site form posts.
        return hmac.compare_digest(request.form.get("token", ""), self._form_token)

    def enter_payment(self, request: Request) -> Response:
        """The payment form: by invoice number, or by payer INN + the bank's purpose text."""
        if not self._token_ok(request):
            return Response("Форма устарела: обновите страницу.", status=400)
        form = {k: v.strip() for k, v in request.form.items() if k != "token"}
        try:
            amount = _parse_amount(form.get("amount", ""))
            payment = self.storage.add_payment(
                amount=amount,
                invoice_number=form.get("invoice") or None,
                invoice_date=_parse_date(form.get("invoice_date")),
                inn=form.get("inn") or None,
                kpp=form.get("kpp") or None,
                payer=form.get("payer") or None,
                purpose=form.get("purpose") or None,
                payment_date=_parse_date(form.get("date")),
            )
        except EmulatorInputError as exc:
            return self.page(request, error=str(exc), form=form, status=400)
        message = f"Платёж № {payment.number} на {payment.amount} ₽ зарегистрирован к отправке."
        return _see_other(f"/emulator/?message={quote(message)}")

    def recompute_actuals(self, request: Request) -> Response:
        """Recompute the budget actuals (deterministic; only changed ones are registered)."""
        if not self._token_ok(request):
            return Response("Форма устарела: обновите страницу.", status=400)
        changed = self.storage.recompute_actuals()
        return _see_other(f"/emulator/?message={quote(f'Изменено фактов бюджета: {changed}')}")

    # --- the control endpoint -----------------------------------------------------------------

    def control_faults(self, request: Request) -> Response:
        """GET: the plan; POST (JSON only, so no cross-site form can reach it): change it."""
        if request.method == "POST":
            if request.mimetype != "application/json":
                return _json({"error": "Content-Type must be application/json"}, 415)
            data = request.get_json(silent=True)
            if not isinstance(data, dict):
                return _json({"error": "a JSON object is expected"}, 400)
            try:
                self.faults.update(data)
            except (TypeError, ValueError) as exc:
                return _json({"error": str(exc)}, 400)
        return _json(self.faults.to_dict(), 200)

    def inject(self, kind: str, **params: Any) -> FaultSpec:
        """Queue a one-shot fault (Python API; same as FaultPlan.add)."""
        return self.faults.add(kind, **params)


def _dropped(body: bytes, content_type: str) -> Response:
    """Announce the whole body, send half of it; the server then closes the connection."""

    def half() -> Iterator[bytes]:
        yield body[: len(body) // 2]

    response = Response(half(), content_type=content_type)
    response.headers["Content-Length"] = str(len(body))
    return response


def _json(data: Any, status: int) -> Response:
    return Response(
        json.dumps(data, ensure_ascii=False),
        status=status,
        content_type="application/json; charset=utf-8",
    )


def _see_other(location: str) -> Response:
    return Response(b"", status=303, headers={"Location": location})


def _parse_amount(text: str) -> Decimal:
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise EmulatorInputError("Сумма указана неверно: например, 15000.00") from exc
    return value


def _parse_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise EmulatorInputError(f"Дата указана неверно: {text}") from exc
