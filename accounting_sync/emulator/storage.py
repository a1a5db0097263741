"""The emulated 1C infobase: a SQLite file with what 1C would hold, and the exchange-plan state.

Plain sqlite3, no ORM: this is the other system, not our application. Every public method is one
short transaction (`BEGIN IMMEDIATE`, committed before the answer leaves), so the threaded server,
a CLI command in another process and a restart of the emulator never lose or half-apply anything.

Exchange-plan rules (as 1C's «планы обмена»): per node we keep SentNo, ReceivedNo, the changes
registered for the node and the messages formed from them. A Put* whose MessageNo is not greater
than ReceivedNo is a duplicate and changes nothing. Every incoming ReceivedNo acknowledges our
messages up to it: their changes are forgotten. An unacknowledged message is resent unchanged.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from accounting_sync.emulator.codec import from_jsonable, to_jsonable
from accounting_sync.messages import (
    MAX_PAGE_SIZE,
    Budget,
    BudgetActual,
    Changes,
    Counterparty,
    Document,
    DocumentStatus,
    ObjectResult,
    Payment,
    PutResponse,
    new_guid,
)

KOPECK = Decimal("0.01")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    code TEXT PRIMARY KEY,
    sent_no INTEGER NOT NULL DEFAULT 0,         -- the last message we formed for the node
    received_no INTEGER NOT NULL DEFAULT 0,     -- the last message number received from it
    acknowledged_no INTEGER NOT NULL DEFAULT 0  -- the highest of our messages it confirmed
);
CREATE TABLE IF NOT EXISTS counterparties (
    accounting_id TEXT PRIMARY KEY,
    guid TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    full_name TEXT NOT NULL,
    inn TEXT NOT NULL,
    kpp TEXT,
    ogrn TEXT,
    legal_address TEXT NOT NULL,
    phone TEXT NOT NULL,
    email TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS counterparties_inn_kpp
    ON counterparties (inn, COALESCE(kpp, ''));
-- Every GUID of ours that was matched to a counterparty (two CRM duplicates -> one 1C record).
CREATE TABLE IF NOT EXISTS counterparty_guids (
    guid TEXT PRIMARY KEY,
    accounting_id TEXT NOT NULL REFERENCES counterparties (accounting_id)
);
CREATE TABLE IF NOT EXISTS documents (
    guid TEXT PRIMARY KEY,
    accounting_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    number TEXT NOT NULL,
    date TEXT NOT NULL,
    status TEXT NOT NULL,
    organization_inn TEXT NOT NULL,
    counterparty_guid TEXT NOT NULL,
    contract_number TEXT,
    contract_date TEXT,
    base_document_guid TEXT,
    project_guid TEXT,
    currency TEXT NOT NULL,
    amount TEXT NOT NULL,
    vat_amount TEXT NOT NULL,
    accounting_status TEXT NOT NULL,
    accounting_number TEXT,
    accounting_date TEXT,
    comment TEXT,
    message_no INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_kind_number ON documents (kind, number);
CREATE TABLE IF NOT EXISTS document_lines (
    document_guid TEXT NOT NULL REFERENCES documents (guid) ON DELETE CASCADE,
    line_no INTEGER NOT NULL,
    description TEXT NOT NULL,
    unit TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    quantity TEXT NOT NULL,
    price TEXT NOT NULL,
    amount TEXT NOT NULL,
    vat_rate TEXT NOT NULL,
    vat_amount TEXT NOT NULL,
    PRIMARY KEY (document_guid, line_no)
);
CREATE TABLE IF NOT EXISTS budgets (
    guid TEXT PRIMARY KEY,
    accounting_id TEXT NOT NULL,
    project_guid TEXT NOT NULL UNIQUE,
    project_code TEXT NOT NULL,
    project_name TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS budget_lines (
    budget_guid TEXT NOT NULL REFERENCES budgets (guid) ON DELETE CASCADE,
    article_code TEXT NOT NULL,
    article_name TEXT NOT NULL,
    direction TEXT NOT NULL,
    month TEXT NOT NULL,
    amount TEXT NOT NULL,
    PRIMARY KEY (budget_guid, article_code, direction, month)
);
CREATE TABLE IF NOT EXISTS payments (
    id TEXT PRIMARY KEY,
    number TEXT NOT NULL,
    date TEXT NOT NULL,
    payer_name TEXT NOT NULL,
    payer_inn TEXT NOT NULL,
    payer_kpp TEXT,
    amount TEXT NOT NULL,
    purpose TEXT NOT NULL,
    invoice_guid TEXT,
    invoice_number TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS budget_actuals (
    project_guid TEXT NOT NULL,
    article_code TEXT NOT NULL,
    direction TEXT NOT NULL,
    month TEXT NOT NULL,
    amount TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (project_guid, article_code, direction, month)
);
-- Changes registered for a node; message_no is set once a message carried it (1C's
-- «РегистрацияИзменений»). Re-registering an object clears message_no: it goes out again.
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    node TEXT NOT NULL REFERENCES nodes (code),
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    message_no INTEGER,
    UNIQUE (node, kind, key)
);
CREATE TABLE IF NOT EXISTS out_messages (
    node TEXT NOT NULL REFERENCES nodes (code),
    no INTEGER NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    acknowledged_at TEXT,
    PRIMARY KEY (node, no)
);
CREATE TABLE IF NOT EXISTS in_messages (
    node TEXT NOT NULL REFERENCES nodes (code),
    no INTEGER NOT NULL,
    operation TEXT NOT NULL,
    objects INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (node, no)
);
"""

_PREFIX = {"invoice": "СЧ", "act": "РТ", "vat_invoice": "СФ"}


class ExchangeError(Exception):
    """A refusal 1C reports as a SOAP Fault (its text goes to the caller verbatim)."""

    def __init__(self, message: str, *, client: bool = False) -> None:
        super().__init__(message)
        self.message = message
        #: True when the request is at fault (soap:Client), False for the server (soap:Server).
        self.client = client


class EmulatorInputError(ValueError):
    """Something a person typed into the emulator (CLI, HTML form) cannot be used."""


@dataclass(frozen=True)
class NodeState:
    """The exchange-plan counters of one node."""

    code: str
    sent_no: int
    received_no: int
    acknowledged_no: int
    pending_changes: int


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _money(value: Any) -> Decimal:
    return Decimal(str(value))


INCOME_SPACE, INCOME_REGISTRATION, INCOME_SERVICES = "INC-SPACE", "INC-REG", "INC-SERV"


def _split_money(total: Decimal, shares: dict[str, Decimal]) -> dict[str, Decimal]:
    """`total` in proportion to `shares`, to the kopeck; the rounding rest to the largest."""
    weight = sum(shares.values())
    if weight <= 0:
        return {next(iter(shares)): total}
    parts = {
        k: (total * v / weight).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        for k, v in shares.items()
    }
    largest = max(shares, key=lambda k: shares[k])
    parts[largest] += total - sum(parts.values())
    return parts


def expense_actual(project_guid: str, article_code: str, month: date, planned: Decimal) -> Decimal:
    """A deterministic "actual" for a past month: 85…115 % of the plan, seeded by the key.

    Deterministic so a test (or a demo) sees the same figures after every recomputation.
    """
    seed = f"{project_guid}|{article_code}|{month.isoformat()}".encode()
    percent = 85 + int(hashlib.sha256(seed).hexdigest()[:8], 16) % 31
    return (planned * percent / 100).quantize(KOPECK, rounding=ROUND_HALF_UP)


class EmulatorStorage:
    """The emulator's persistent state. Safe to use from several threads and processes."""

    def __init__(
        self,
        path: str | Path,
        *,
        nodes: Iterable[str] = ("CRM",),
        today: Callable[[], date] | None = None,
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.today = today or date.today
        conn = sqlite3.connect(self.path, timeout=10)
        try:
            # WAL: the server's readers never block the CLI writing a payment, and vice versa.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
        finally:
            conn.close()
        with self._tx() as db:
            for code in nodes:
                db.execute("INSERT OR IGNORE INTO nodes (code) VALUES (?)", (code,))

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on a fresh connection (connections are not shared by threads)."""
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys=ON")
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            conn.close()

    # --- settings (e.g. the generated password survives restarts) ---------------------------

    def setting(self, key: str, default: Callable[[], str] | None = None) -> str | None:
        """Read a setting; with `default`, store and return default() when it is missing."""
        with self._tx() as db:
            row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return str(row["value"])
            if default is None:
                return None
            value = default()
            db.execute("INSERT INTO settings (key, value) VALUES (?, ?)", (key, value))
            return value

    # --- exchange plan ----------------------------------------------------------------------

    def node_codes(self) -> list[str]:
        """The nodes of the exchange plan (changes are registered for each)."""
        with self._tx() as db:
            return [r["code"] for r in db.execute("SELECT code FROM nodes ORDER BY code")]

    def node_state(self, node: str) -> NodeState:
        """SentNo/ReceivedNo and the number of registered changes of a node."""
        with self._tx() as db:
            row = self._node(db, node)
            pending = db.execute("SELECT COUNT(*) FROM changes WHERE node = ?", (node,)).fetchone()[
                0
            ]
            return NodeState(
                row["code"], row["sent_no"], row["received_no"], row["acknowledged_no"], pending
            )

    def check_node(self, node: str) -> None:
        """Raise ExchangeError unless `node` belongs to the exchange plan (for Ping)."""
        with self._tx() as db:
            self._node(db, node)

    @staticmethod
    def _node(db: sqlite3.Connection, node: str) -> sqlite3.Row:
        row = db.execute("SELECT * FROM nodes WHERE code = ?", (node,)).fetchone()
        if row is None:
            raise ExchangeError(
                f"Узел плана обмена «{node}» не найден. Создайте узел в плане обмена ExpoExchange.",
                client=True,
            )
        return row

    @staticmethod
    def _acknowledge(db: sqlite3.Connection, node: sqlite3.Row, received_no: int) -> None:
        """The peer has received our messages up to `received_no`: forget what they carried."""
        if received_no > node["sent_no"]:
            raise ExchangeError(
                f"Узел «{node['code']}» подтверждает получение сообщения № {received_no}, "
                f"а последнее отправленное сообщение имеет № {node['sent_no']}. "
                "Возможно, информационная база 1С восстановлена из резервной копии: "
                "требуется повторная инициализация обмена.",
                client=True,
            )
        if received_no <= node["acknowledged_no"]:
            return
        db.execute(
            "DELETE FROM changes WHERE node = ? AND message_no IS NOT NULL AND message_no <= ?",
            (node["code"], received_no),
        )
        db.execute(
            "UPDATE out_messages SET acknowledged_at = ? "
            "WHERE node = ? AND no <= ? AND acknowledged_at IS NULL",
            (_now(), node["code"], received_no),
        )
        db.execute(
            "UPDATE nodes SET acknowledged_no = ? WHERE code = ?", (received_no, node["code"])
        )

    @staticmethod
    def _register(db: sqlite3.Connection, kind: str, key: str) -> None:
        """Register a changed object for every node (sent again even if already in a message)."""
        db.execute(
            "INSERT INTO changes (node, kind, key) SELECT code, ?, ? FROM nodes "
            "WHERE true ON CONFLICT (node, kind, key) DO UPDATE SET message_no = NULL",
            (kind, key),
        )

    def _receive(
        self,
        node: str,
        message_no: int,
        received_no: int,
        operation: str,
        guids: Sequence[str],
        apply: Callable[[sqlite3.Connection], list[ObjectResult]],
        known: Callable[[sqlite3.Connection], list[ObjectResult]],
    ) -> PutResponse:
        """The common frame of every Put*: acknowledgement, duplicate check, apply, count."""
        with self._tx() as db:
            state = self._node(db, node)
            self._acknowledge(db, state, received_no)
            if message_no <= state["received_no"]:
                # Already received (a resend after a lost answer): apply nothing, but tell the
                # sender the ids we know, so it loses nothing either.
                return PutResponse(
                    status="duplicate", received_no=state["received_no"], results=known(db)
                )
            results = apply(db)
            db.execute("UPDATE nodes SET received_no = ? WHERE code = ?", (message_no, node))
            db.execute(
                "INSERT INTO in_messages (node, no, operation, objects, received_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (node, message_no, operation, len(guids), _now()),
            )
            return PutResponse(status="accepted", received_no=message_no, results=results)

    # --- Put* -------------------------------------------------------------------------------

    def put_counterparties(
        self, node: str, message_no: int, received_no: int, items: Sequence[Counterparty]
    ) -> PutResponse:
        """Load counterparties: match by our GUID, then by INN+KPP; keep 1C's own reference."""

        def apply(db: sqlite3.Connection) -> list[ObjectResult]:
            return [ObjectResult(guid=c.guid, accounting_id=self._upsert_cp(db, c)) for c in items]

        def known(db: sqlite3.Connection) -> list[ObjectResult]:
            return self._known(db, "counterparty_guids", [c.guid for c in items])

        guids = [c.guid for c in items]
        return self._receive(
            node, message_no, received_no, "PutCounterparties", guids, apply, known
        )

    @staticmethod
    def _upsert_cp(db: sqlite3.Connection, cp: Counterparty) -> str:
        row = db.execute(
            "SELECT accounting_id FROM counterparty_guids WHERE guid = ?", (cp.guid,)
        ).fetchone()
        if row is None:
            row = db.execute(
                "SELECT accounting_id FROM counterparties "
                "WHERE inn = ? AND COALESCE(kpp, '') = COALESCE(?, '')",
                (cp.inn, cp.kpp),
            ).fetchone()
        values = (
            cp.guid,
            cp.kind,
            cp.name,
            cp.full_name,
            cp.inn,
            cp.kpp,
            cp.ogrn,
            cp.legal_address,
            cp.phone,
            cp.email,
            _now(),
        )
        if row is None:
            accounting_id = new_guid()
            db.execute(
                "INSERT INTO counterparties (guid, kind, name, full_name, inn, kpp, ogrn, "
                "legal_address, phone, email, updated_at, accounting_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, accounting_id),
            )
        else:
            accounting_id = row["accounting_id"]
            try:
                db.execute(
                    "UPDATE counterparties SET guid = ?, kind = ?, name = ?, full_name = ?, "
                    "inn = ?, kpp = ?, ogrn = ?, legal_address = ?, phone = ?, email = ?, "
                    "updated_at = ? WHERE accounting_id = ?",
                    (*values, accounting_id),
                )
            except sqlite3.IntegrityError as exc:
                raise ExchangeError(
                    f"Контрагент с ИНН {cp.inn} и КПП {cp.kpp or '—'} уже есть в базе: "
                    f"изменение реквизитов контрагента {cp.guid} создало бы дубль.",
                    client=True,
                ) from exc
        db.execute(
            "INSERT OR REPLACE INTO counterparty_guids (guid, accounting_id) VALUES (?, ?)",
            (cp.guid, accounting_id),
        )
        return accounting_id

    @staticmethod
    def _known(db: sqlite3.Connection, table: str, guids: Sequence[str]) -> list[ObjectResult]:
        results = []
        for guid in guids:
            row = db.execute(
                f"SELECT accounting_id FROM {table} WHERE guid = ?",  # noqa: S608 - fixed names
                (guid,),
            ).fetchone()
            if row is not None:
                results.append(ObjectResult(guid=guid, accounting_id=row["accounting_id"]))
        return results

    def put_documents(
        self, node: str, message_no: int, received_no: int, items: Sequence[Document]
    ) -> PutResponse:
        """Load documents (upsert by GUID), post them and register their statuses for the node."""

        def apply(db: sqlite3.Connection) -> list[ObjectResult]:
            results = []
            for doc in items:
                results.append(
                    ObjectResult(
                        guid=doc.guid, accounting_id=self._upsert_document(db, doc, message_no)
                    )
                )
            return results

        def known(db: sqlite3.Connection) -> list[ObjectResult]:
            return self._known(db, "documents", [d.guid for d in items])

        guids = [d.guid for d in items]
        return self._receive(node, message_no, received_no, "PutDocuments", guids, apply, known)

    def _upsert_document(self, db: sqlite3.Connection, doc: Document, message_no: int) -> str:
        line_numbers = [line.line_no for line in doc.lines]
        if len(set(line_numbers)) != len(line_numbers):
            raise ExchangeError(
                f"Документ {doc.number} ({doc.guid}): номера строк повторяются.", client=True
            )
        row = db.execute("SELECT * FROM documents WHERE guid = ?", (doc.guid,)).fetchone()
        accounting_id = row["accounting_id"] if row is not None else new_guid()
        status, number, posted_on, comment = self._post(db, doc, row)
        db.execute(
            "INSERT INTO documents (guid, accounting_id, kind, number, date, status, "
            "organization_inn, counterparty_guid, contract_number, contract_date, "
            "base_document_guid, project_guid, currency, amount, vat_amount, accounting_status, "
            "accounting_number, accounting_date, comment, message_no, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (guid) DO UPDATE SET kind = excluded.kind, number = excluded.number, "
            "date = excluded.date, status = excluded.status, "
            "organization_inn = excluded.organization_inn, "
            "counterparty_guid = excluded.counterparty_guid, "
            "contract_number = excluded.contract_number, contract_date = excluded.contract_date, "
            "base_document_guid = excluded.base_document_guid, "
            "project_guid = excluded.project_guid, currency = excluded.currency, "
            "amount = excluded.amount, vat_amount = excluded.vat_amount, "
            "accounting_status = excluded.accounting_status, "
            "accounting_number = excluded.accounting_number, "
            "accounting_date = excluded.accounting_date, comment = excluded.comment, "
            "message_no = excluded.message_no, updated_at = excluded.updated_at",
            (
                doc.guid,
                accounting_id,
                doc.kind,
                doc.number,
                doc.date.isoformat(),
                doc.status,
                doc.organization_inn,
                doc.counterparty_guid,
                doc.contract_number,
                doc.contract_date.isoformat() if doc.contract_date else None,
                doc.base_document_guid,
                doc.project_guid,
                doc.currency,
                str(doc.amount),
                str(doc.vat_amount),
                status,
                number,
                posted_on.isoformat() if posted_on else None,
                comment,
                message_no,
                _now(),
            ),
        )
        db.execute("DELETE FROM document_lines WHERE document_guid = ?", (doc.guid,))
        db.executemany(
            "INSERT INTO document_lines (document_guid, line_no, description, unit, unit_code, "
            "quantity, price, amount, vat_rate, vat_amount) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    doc.guid,
                    ln.line_no,
                    ln.description,
                    ln.unit,
                    ln.unit_code,
                    str(ln.quantity),
                    str(ln.price),
                    str(ln.amount),
                    ln.vat_rate,
                    str(ln.vat_amount),
                )
                for ln in doc.lines
            ],
        )
        self._register(db, "document_status", doc.guid)
        return accounting_id

    def _post(
        self, db: sqlite3.Connection, doc: Document, old: sqlite3.Row | None
    ) -> tuple[str, str | None, date | None, str | None]:
        """Post a document the way the accountant's 1C would; returns status, number, date, note."""
        number = old["accounting_number"] if old is not None else None
        if doc.status == "cancelled":
            return "cancelled", number, None, "Документ помечен на удаление"
        problem = self._document_problem(db, doc)
        if problem:
            return "rejected", number, None, problem
        if number is None:
            key = f"number:{doc.kind}:{doc.date.year}"
            row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
            seq = int(row["value"]) + 1 if row else 1
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, seq))
            number = f"{_PREFIX[doc.kind]}00-{seq:06d}"
        return "posted", number, doc.date, None

    @staticmethod
    def _document_problem(db: sqlite3.Connection, doc: Document) -> str | None:
        """Why posting fails (1C's check texts), or None."""
        if (
            db.execute(
                "SELECT 1 FROM counterparty_guids WHERE guid = ?", (doc.counterparty_guid,)
            ).fetchone()
            is None
        ):
            return (
                f"Не найден контрагент {doc.counterparty_guid}: передайте контрагента до документа."
            )
        if doc.currency != "643":
            return f"Валюта документа {doc.currency} не поддерживается: ожидается 643 (RUB)."
        if not doc.lines:
            return "Не заполнена табличная часть «Услуги»."
        amount = sum((line.amount for line in doc.lines), Decimal(0))
        vat = sum((line.vat_amount for line in doc.lines), Decimal(0))
        if amount != doc.amount or vat != doc.vat_amount:
            return (
                f"Сумма документа {doc.amount} (НДС {doc.vat_amount}) не совпадает с итогом "
                f"табличной части {amount} (НДС {vat})."
            )
        if doc.kind == "vat_invoice":
            if not doc.base_document_guid:
                return "Не указан документ-основание счёта-фактуры."
            if (
                db.execute(
                    "SELECT 1 FROM documents WHERE guid = ?", (doc.base_document_guid,)
                ).fetchone()
                is None
            ):
                return f"Не найден документ-основание {doc.base_document_guid}."
        return None

    def put_budget(
        self, node: str, message_no: int, received_no: int, budget: Budget
    ) -> PutResponse:
        """Load a project budget (it replaces the project's previous one) and its actuals."""

        def apply(db: sqlite3.Connection) -> list[ObjectResult]:
            keys = [(ln.article_code, ln.direction, ln.month) for ln in budget.lines]
            if len(set(keys)) != len(keys):
                raise ExchangeError(
                    f"Бюджет {budget.project_code} v{budget.version}: статья, направление и "
                    "месяц повторяются в нескольких строках.",
                    client=True,
                )
            old = db.execute(
                "SELECT guid, accounting_id FROM budgets WHERE guid = ?", (budget.guid,)
            ).fetchone()
            accounting_id = old["accounting_id"] if old is not None else new_guid()
            db.execute("DELETE FROM budgets WHERE project_guid = ?", (budget.project_guid,))
            db.execute("DELETE FROM budgets WHERE guid = ?", (budget.guid,))
            db.execute(
                "INSERT INTO budgets (guid, accounting_id, project_guid, project_code, "
                "project_name, version, status, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    budget.guid,
                    accounting_id,
                    budget.project_guid,
                    budget.project_code,
                    budget.project_name,
                    budget.version,
                    budget.status,
                    _now(),
                ),
            )
            db.executemany(
                "INSERT INTO budget_lines (budget_guid, article_code, article_name, direction, "
                "month, amount) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        budget.guid,
                        ln.article_code,
                        ln.article_name,
                        ln.direction,
                        ln.month.isoformat(),
                        str(ln.amount),
                    )
                    for ln in budget.lines
                ],
            )
            self._recompute_actuals(db, budget.project_guid)
            return [ObjectResult(guid=budget.guid, accounting_id=accounting_id)]

        def known(db: sqlite3.Connection) -> list[ObjectResult]:
            return self._known(db, "budgets", [budget.guid])

        return self._receive(
            node, message_no, received_no, "PutBudget", [budget.guid], apply, known
        )

    # --- GetChanges -------------------------------------------------------------------------

    def get_changes(
        self, node: str, received_no: int, page_size: int, *, redeliver: bool = False
    ) -> Changes:
        """Acknowledge, then resend the unconfirmed message or form the next one.

        `redeliver` (a fault of the emulator) answers with the newest message the node has
        already acknowledged, with its old number, to prove the node ignores it.
        """
        page_size = max(1, min(page_size, MAX_PAGE_SIZE))
        with self._tx() as db:
            state = self._node(db, node)
            self._acknowledge(db, state, received_no)
            if redeliver:
                old = db.execute(
                    "SELECT * FROM out_messages WHERE node = ? AND no <= ? ORDER BY no DESC",
                    (node, received_no),
                ).fetchone()
                if old is not None:
                    return self._stored_message(old)
            if state["sent_no"] > received_no:
                pending = db.execute(
                    "SELECT * FROM out_messages WHERE node = ? AND no = ?",
                    (node, state["sent_no"]),
                ).fetchone()
                if pending is not None:
                    return self._stored_message(pending)  # at-least-once: the same message
            return self._form_message(db, node, state["sent_no"] + 1, page_size)

    @staticmethod
    def _stored_message(row: sqlite3.Row) -> Changes:
        data = json.loads(row["payload"])
        data["message_no"] = row["no"]
        return from_jsonable(Changes, data)

    def _form_message(
        self, db: sqlite3.Connection, node: str, number: int, page_size: int
    ) -> Changes:
        rows = db.execute(
            "SELECT id, kind, key FROM changes WHERE node = ? AND message_no IS NULL "
            "ORDER BY id LIMIT ?",
            (node, page_size + 1),  # one more tells whether anything remains
        ).fetchall()
        if not rows:
            return Changes(message_no=0, has_more=False)
        has_more = len(rows) > page_size
        rows = rows[:page_size]
        payments, statuses, actuals = [], [], []
        for row in rows:
            if row["kind"] == "payment":
                item = self._payment(db, row["key"])
                if item is not None:
                    payments.append(item)
            elif row["kind"] == "document_status":
                status = self._document_status(db, row["key"])
                if status is not None:
                    statuses.append(status)
            elif row["kind"] == "budget_actual":
                actual = self._budget_actual(db, row["key"])
                if actual is not None:
                    actuals.append(actual)
        message = Changes(
            message_no=number,
            has_more=has_more,
            payments=tuple(payments),
            document_statuses=tuple(statuses),
            budget_actuals=tuple(actuals),
        )
        db.executemany(
            "UPDATE changes SET message_no = ? WHERE id = ?", [(number, r["id"]) for r in rows]
        )
        db.execute("UPDATE nodes SET sent_no = ? WHERE code = ?", (number, node))
        db.execute(
            "INSERT INTO out_messages (node, no, payload, created_at) VALUES (?, ?, ?, ?)",
            (node, number, json.dumps(to_jsonable(message), ensure_ascii=False), _now()),
        )
        return message

    @staticmethod
    def _payment(db: sqlite3.Connection, payment_id: str) -> Payment | None:
        row = db.execute("SELECT * FROM payments WHERE id = ?", (payment_id,)).fetchone()
        if row is None:
            return None
        return Payment(
            id=row["id"],
            number=row["number"],
            date=date.fromisoformat(row["date"]),
            payer_name=row["payer_name"],
            payer_inn=row["payer_inn"],
            payer_kpp=row["payer_kpp"],
            amount=_money(row["amount"]),
            purpose=row["purpose"],
            invoice_guid=row["invoice_guid"],
            invoice_number=row["invoice_number"],
        )

    @staticmethod
    def _document_status(db: sqlite3.Connection, guid: str) -> DocumentStatus | None:
        row = db.execute("SELECT * FROM documents WHERE guid = ?", (guid,)).fetchone()
        if row is None:
            return None
        return DocumentStatus(
            document_guid=guid,
            status=row["accounting_status"],
            accounting_number=row["accounting_number"],
            accounting_date=date.fromisoformat(row["accounting_date"])
            if row["accounting_date"]
            else None,
            comment=row["comment"],
        )

    @staticmethod
    def _budget_actual(db: sqlite3.Connection, key: str) -> BudgetActual | None:
        project, article, direction, month = key.split("|")
        row = db.execute(
            "SELECT amount FROM budget_actuals WHERE project_guid = ? AND article_code = ? "
            "AND direction = ? AND month = ?",
            (project, article, direction, month),
        ).fetchone()
        if row is None:
            return None
        return BudgetActual(
            project_guid=project,
            article_code=article,
            direction=direction,
            month=date.fromisoformat(month),
            amount=_money(row["amount"]),
        )

    # --- budget actuals ---------------------------------------------------------------------

    @staticmethod
    def _income_shares(
        db: sqlite3.Connection, invoice_guid: str, income_articles: list[str]
    ) -> dict[str, Decimal]:
        """What an invoice pays for, by income article: its lines' amounts booked as an
        accountant would — m² to the space article, the registration fee to registrations,
        the rest to services — each to the first income article when the budget lacks it."""
        shares: dict[str, Decimal] = {}
        for line in db.execute(
            "SELECT description, unit_code, amount FROM document_lines WHERE document_guid = ?",
            (invoice_guid,),
        ):
            if line["unit_code"] == "055":
                article = INCOME_SPACE
            elif line["description"].startswith("Регистрационный сбор"):
                article = INCOME_REGISTRATION
            else:
                article = INCOME_SERVICES
            if article not in income_articles:
                article = income_articles[0]
            shares[article] = shares.get(article, Decimal(0)) + _money(line["amount"])
        return shares or {income_articles[0]: Decimal(1)}

    def _recompute_actuals(self, db: sqlite3.Connection, project_guid: str) -> int:
        """Upsert the project's actuals; register those that changed. Returns how many did.

        Expenses: a deterministic share of the plan for every month before the current one.
        Income: the payments for the project's invoices, per month, split over the income
        articles by what each invoice pays for (see `_income_shares`), in proportion.
        """
        budget = db.execute(
            "SELECT guid FROM budgets WHERE project_guid = ?", (project_guid,)
        ).fetchone()
        if budget is None:
            return 0
        lines = db.execute(
            "SELECT article_code, direction, month, amount FROM budget_lines "
            "WHERE budget_guid = ? ORDER BY article_code, month",
            (budget["guid"],),
        ).fetchall()
        current_month = self.today().replace(day=1)
        wanted: dict[tuple[str, str, str], Decimal] = {}
        for ln in lines:
            month = date.fromisoformat(ln["month"])
            if ln["direction"] == "expense" and month < current_month:
                wanted[(ln["article_code"], "expense", ln["month"])] = expense_actual(
                    project_guid, ln["article_code"], month, _money(ln["amount"])
                )
        income_articles = sorted(
            {ln["article_code"] for ln in lines if ln["direction"] == "income"}
        )
        if income_articles:
            received = db.execute(
                "SELECT substr(p.date, 1, 7) AS ym, p.amount, p.invoice_guid FROM payments p "
                "JOIN documents d ON d.guid = p.invoice_guid WHERE d.project_guid = ?",
                (project_guid,),
            ).fetchall()
            for row in received:
                shares = self._income_shares(db, row["invoice_guid"], income_articles)
                for article, amount in _split_money(_money(row["amount"]), shares).items():
                    key = (article, "income", f"{row['ym']}-01")
                    wanted[key] = wanted.get(key, Decimal(0)) + amount
        changed = 0
        for (article, direction, month), amount in wanted.items():
            old = db.execute(
                "SELECT amount FROM budget_actuals WHERE project_guid = ? AND article_code = ? "
                "AND direction = ? AND month = ?",
                (project_guid, article, direction, month),
            ).fetchone()
            if old is not None and _money(old["amount"]) == amount:
                continue  # unchanged: nothing to send again
            db.execute(
                "INSERT OR REPLACE INTO budget_actuals (project_guid, article_code, direction, "
                "month, amount, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (project_guid, article, direction, month, str(amount), _now()),
            )
            self._register(db, "budget_actual", f"{project_guid}|{article}|{direction}|{month}")
            changed += 1
        return changed

    def recompute_actuals(self) -> int:
        """Recompute the actuals of every budget (e.g. a month has passed); returns changes."""
        with self._tx() as db:
            projects = [r["project_guid"] for r in db.execute("SELECT project_guid FROM budgets")]
            return sum(self._recompute_actuals(db, p) for p in projects)

    # --- payments (entered by a person: CLI or the HTML page) -------------------------------

    def add_payment(
        self,
        *,
        amount: Decimal,
        invoice_number: str | None = None,
        invoice_date: date | None = None,
        inn: str | None = None,
        kpp: str | None = None,
        payer: str | None = None,
        purpose: str | None = None,
        payment_date: date | None = None,
        number: str | None = None,
    ) -> Payment:
        """Record an incoming bank payment and register it for every node.

        With `invoice_number` the payment refers to an invoice 1C received (payer from its
        counterparty, InvoiceGUID set); otherwise it is a bare bank line: payer INN and the
        bank's purpose text only, as when the payer did not say which invoice it pays.
        """
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            raise EmulatorInputError("Сумма платежа должна быть положительной.")
        amount = amount.quantize(KOPECK, rounding=ROUND_HALF_UP)
        payment_date = payment_date or self.today()
        with self._tx() as db:
            invoice = None
            if invoice_number:
                invoice = self._find_invoice(db, invoice_number.strip(), invoice_date)
                cp = db.execute(
                    "SELECT c.* FROM counterparty_guids g JOIN counterparties c "
                    "ON c.accounting_id = g.accounting_id WHERE g.guid = ?",
                    (invoice["counterparty_guid"],),
                ).fetchone()
                if cp is None:
                    raise EmulatorInputError(
                        f"Контрагент счёта № {invoice_number} не найден в базе эмулятора."
                    )
                inn, kpp, payer = cp["inn"], cp["kpp"], payer or cp["full_name"] or cp["name"]
                if not purpose:
                    purpose = _invoice_purpose(invoice, amount)
            else:
                inn = (inn or "").strip()
                if not (inn.isdigit() and len(inn) in (10, 12)):
                    raise EmulatorInputError("Укажите ИНН плательщика (10 или 12 цифр).")
                if kpp is not None and kpp.strip() == "":
                    kpp = None
                if not purpose or not purpose.strip():
                    raise EmulatorInputError(
                        "Без счёта укажите назначение платежа (как в выписке банка)."
                    )
                if not payer:
                    cp = db.execute(
                        "SELECT name FROM counterparties WHERE inn = ? ORDER BY kpp IS NULL, kpp",
                        (inn,),
                    ).fetchone()
                    payer = cp["name"] if cp else f"Плательщик ИНН {inn}"
            if number is None:
                key = f"payment:{payment_date.year}"
                row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
                seq = int(row["value"]) + 1 if row else 1
                db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, seq))
                number = str(seq)
            try:
                payment = Payment(
                    id=new_guid(),
                    number=number,
                    date=payment_date,
                    payer_name=payer,
                    payer_inn=inn,
                    payer_kpp=kpp,
                    amount=amount,
                    purpose=purpose.strip(),
                    invoice_guid=invoice["guid"] if invoice is not None else None,
                    invoice_number=invoice["number"] if invoice is not None else None,
                )
            except (TypeError, ValueError) as exc:
                raise EmulatorInputError(f"Платёж не заполнен: {exc}") from exc
            db.execute(
                "INSERT INTO payments (id, number, date, payer_name, payer_inn, payer_kpp, "
                "amount, purpose, invoice_guid, invoice_number, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    payment.id,
                    payment.number,
                    payment.date.isoformat(),
                    payment.payer_name,
                    payment.payer_inn,
                    payment.payer_kpp,
                    str(payment.amount),
                    payment.purpose,
                    payment.invoice_guid,
                    payment.invoice_number,
                    _now(),
                ),
            )
            self._register(db, "payment", payment.id)
            if invoice is not None and invoice["project_guid"]:
                self._recompute_actuals(db, invoice["project_guid"])
            return payment

    @staticmethod
    def _find_invoice(
        db: sqlite3.Connection, number: str, invoice_date: date | None
    ) -> sqlite3.Row:
        sql = "SELECT * FROM documents WHERE kind = 'invoice' AND number = ?"
        params: list[Any] = [number]
        if invoice_date is not None:
            sql += " AND date = ?"
            params.append(invoice_date.isoformat())
        rows = db.execute(sql + " ORDER BY date DESC", params).fetchall()
        if not rows:
            raise EmulatorInputError(f"Счёт № {number} не найден среди полученных документов.")
        if len(rows) > 1:
            dates = ", ".join(date.fromisoformat(r["date"]).strftime("%d.%m.%Y") for r in rows)
            raise EmulatorInputError(
                f"Счетов № {number} несколько (от {dates}): укажите дату счёта."
            )
        return rows[0]

    # --- reading (the HTML page, tests) -----------------------------------------------------

    def _select(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._tx() as db:
            return [dict(r) for r in db.execute(sql, params).fetchall()]

    def counterparties(self) -> list[dict[str, Any]]:
        """All counterparties 1C holds (rows as dicts)."""
        return self._select("SELECT * FROM counterparties ORDER BY name")

    def documents(self) -> list[dict[str, Any]]:
        """The received documents, newest first, with the counterparty's name."""
        return self._select(
            "SELECT d.*, c.name AS counterparty_name FROM documents d "
            "LEFT JOIN counterparty_guids g ON g.guid = d.counterparty_guid "
            "LEFT JOIN counterparties c ON c.accounting_id = g.accounting_id "
            "ORDER BY d.date DESC, d.number DESC"
        )

    def document_lines(self, guid: str) -> list[dict[str, Any]]:
        """The lines of a received document (amounts as strings, exactly as stored)."""
        return self._select(
            "SELECT * FROM document_lines WHERE document_guid = ? ORDER BY line_no", (guid,)
        )

    def budgets(self) -> list[dict[str, Any]]:
        """The current budget of every project."""
        return self._select("SELECT * FROM budgets ORDER BY project_code")

    def budget_lines(self, guid: str) -> list[dict[str, Any]]:
        """The lines of a stored budget."""
        return self._select(
            "SELECT * FROM budget_lines WHERE budget_guid = ? ORDER BY month, article_code",
            (guid,),
        )

    def payments(self) -> list[dict[str, Any]]:
        """The entered payments, newest first."""
        return self._select("SELECT * FROM payments ORDER BY created_at DESC, number DESC")

    def budget_actuals(self) -> list[dict[str, Any]]:
        """All actuals."""
        return self._select(
            "SELECT * FROM budget_actuals ORDER BY project_guid, month, direction, article_code"
        )

    def in_messages(self, node: str) -> list[dict[str, Any]]:
        """The messages received from a node (one row per accepted message number)."""
        return self._select("SELECT * FROM in_messages WHERE node = ? ORDER BY no", (node,))

    def out_messages(self, node: str) -> list[dict[str, Any]]:
        """The messages formed for a node."""
        return self._select("SELECT * FROM out_messages WHERE node = ? ORDER BY no", (node,))


def _invoice_purpose(invoice: sqlite3.Row, amount: Decimal) -> str:
    """The purpose text a buyer's bank would print for an invoice payment."""
    issued = date.fromisoformat(invoice["date"]).strftime("%d.%m.%Y")
    total, vat = _money(invoice["amount"]), _money(invoice["vat_amount"])
    text = f"Оплата по счету № {invoice['number']} от {issued}. Сумма {amount}"
    if vat > 0 and total > 0:
        share = (vat * amount / total).quantize(KOPECK, rounding=ROUND_HALF_UP)
        return f"{text}, в т.ч. НДС {share}"
    return f"{text}, НДС не облагается"
