"""Export of a client list (any ClientFilter) to XLSX and CSV, streamed through a temp file.

Rows are read with `yield_per` and the contacts of each chunk in one query, so 100 000 clients
never sit in memory at once; openpyxl's write-only mode streams the sheet to disk as well.

Both formats are safe to open in Excel: in CSV (UTF-8 with BOM, ';' as Russian Excel expects) a
cell that starts with = + - @, a tab or a CR gets a leading apostrophe, so it is never taken for a
formula; in XLSX such values are written as plain string cells.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from erp_crm.audit import services as audit
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients.models import (
    CLIENT_KIND_LABELS,
    READINESS_LABELS,
    RELATIONSHIP_LABELS,
    Client,
    ClientKind,
    ContactPerson,
    Readiness,
    RelationshipType,
)
from erp_crm.clients.search import ClientFilter, client_query
from erp_crm.core import text
from erp_crm.errors import PermissionDenied, ValidationError
from erp_crm.ui import LOCAL_TZ

CHUNK = 1000
FORMATS = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",  # werkzeug adds "; charset=utf-8" to text types itself
}

# The headers are the importer's synonyms where a column can be imported back.
COLUMNS = [
    "№ в CRM",
    "Наименование",
    "Полное наименование",
    "Вид",
    "ИНН",
    "КПП",
    "ОГРН",
    "Юр. адрес",
    "Почтовый адрес",
    "Регион",
    "Город",
    "Отрасль",
    "Сайт",
    "Источник",
    "Куратор",
    "Готовность",
    "Тип отношений",
    "Согласие на рассылку",
    "Внешний код",
    "Контактные лица",
    "Телефоны контактов",
    "E-mail контактов",
    "Примечание",
    "Создан",
]
_DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 (and so XLSX) cannot hold.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralize_csv(value: Any) -> Any:
    """A CSV cell Excel will not run as a formula: a leading apostrophe for = + - @ tab CR."""
    if isinstance(value, str) and value.startswith(_DANGEROUS_START):
        return "'" + value
    return value


def _contacts_by_client(session: Session, ids: list[int]) -> dict[int, list[ContactPerson]]:
    result: dict[int, list[ContactPerson]] = {}
    query = (
        select(ContactPerson)
        .where(ContactPerson.client_id.in_(ids), ContactPerson.is_active.is_(True))
        .options(selectinload(ContactPerson.channels))
        .order_by(ContactPerson.id)
    )
    for contact in session.scalars(query):
        result.setdefault(contact.client_id, []).append(contact)
    return result


def _label(labels: dict, enum: type, value: Any) -> str:
    try:
        label = labels[enum(value)]
    except (KeyError, ValueError):
        return str(value or "")
    return label[0] if isinstance(label, tuple) else label


def _row(client: Client, contacts: list[ContactPerson], curators: dict[int, str]) -> list[Any]:
    people = []
    for c in contacts:
        people.append(f"{c.full_name} ({c.position})" if c.position else c.full_name)
    phones = [text.display_phone(p) for c in contacts for p in c.phones]
    emails = [e for c in contacts for e in c.emails]
    return [
        client.id,
        client.name,
        client.full_name,
        _label(CLIENT_KIND_LABELS, ClientKind, client.kind),
        client.inn,
        client.kpp,
        client.ogrn,
        client.legal_address,
        client.postal_address,
        client.region,
        client.city,
        client.industry,
        client.website,
        client.source,
        curators.get(client.curator_id) if client.curator_id else None,
        _label(READINESS_LABELS, Readiness, client.readiness),
        _label(RELATIONSHIP_LABELS, RelationshipType, client.relationship_type),
        "Да" if client.mailing_consent else "Нет",
        client.external_id,
        "; ".join(people) or None,
        "; ".join(phones) or None,
        "; ".join(emails) or None,
        client.notes,
        client.created_at.astimezone(LOCAL_TZ).strftime("%d.%m.%Y") if client.created_at else None,
    ]


def rows(session: Session, flt: ClientFilter, *, actor: User) -> Iterator[list[Any]]:
    """The export's data rows, in the list's order, read in chunks."""
    curators = {uid: name for uid, name in session.execute(select(User.id, User.full_name))}
    query = client_query(flt, actor=actor).execution_options(yield_per=CHUNK)
    for chunk in session.scalars(query).partitions():
        contacts = _contacts_by_client(session, [c.id for c in chunk])
        for client in chunk:
            yield _row(client, contacts.get(client.id, []), curators)


def export_clients(
    session: Session, flt: ClientFilter, *, fmt: str, actor: User
) -> tuple[IO[bytes], int]:
    """Write the filtered list to a temp file (at position 0) and count the rows.

    The export is recorded in the audit trail of the acting user: the base leaves the system.
    """
    if not has_permission(actor, Perm.CLIENTS_EXPORT):
        raise PermissionDenied()
    if fmt not in FORMATS:
        raise ValidationError("Формат выгрузки: xlsx или csv.")
    out = tempfile.TemporaryFile()  # send_file closes it
    try:
        writer = _write_xlsx if fmt == "xlsx" else _write_csv
        count = writer(out, session, flt, actor)
    except BaseException:
        out.close()
        raise
    out.seek(0)
    details = {"format": fmt, "rows": count, "filter": flt.as_args()}
    audit.record(session, actor, "clients_exported", details)
    return out, count


def _write_csv(out: IO[bytes], session: Session, flt: ClientFilter, actor: User) -> int:
    stream = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=False)
    writer = csv.writer(stream, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in rows(session, flt, actor=actor):
        writer.writerow(["" if v is None else neutralize_csv(v) for v in row])
        count += 1
    stream.flush()
    stream.detach()  # leave `out` open for the response
    return count


def _write_xlsx(out: IO[bytes], session: Session, flt: ClientFilter, actor: User) -> int:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Контрагенты")
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for title in COLUMNS:
        cell = WriteOnlyCell(sheet, value=title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in rows(session, flt, actor=actor):
        sheet.append([_xlsx_value(sheet, v) for v in row])
        count += 1
    workbook.save(out)
    return count


def _xlsx_value(sheet: Any, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = _ILLEGAL_XML.sub("", value)
    if value.startswith("="):
        # openpyxl would store "=..." as a formula: force a plain string cell.
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell
    return value
