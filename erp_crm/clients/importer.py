"""Mass import of clients from CSV and XLSX files: reading, column mapping, dry run and the run.

- Reading hands rows out one by one. CSV is streamed: the encoding (UTF-8 with or without BOM,
  UTF-16 with BOM, Windows-1251) and the delimiter (';', ',' or tab) are sniffed, as Russian Excel
  saves them. XLSX: python-calamine (the first sheet parsed in Rust, held compactly in memory), or
  openpyxl in read-only mode for a book calamine cannot read the same way (see _open_xlsx).
  A file that cannot be read raises a ValidationError with a Russian message (field "file"),
  never anything else.
- The header row gives a suggested mapping of columns to fields (Russian and English synonyms).
- Every row is matched to an existing client: by external id first, then by ИНН+КПП (an ИНН
  without КПП matches a client with that ИНН and no КПП); a row with neither is matched by its
  normalized name (and city, when both have one). Matching sees the base as the rows above the
  row left it (a client an earlier row created, or gave a new ИНН/КПП, code or name, is found by
  the new values), in the dry run as in the run; a row whose external id and ИНН+КПП point to two
  different clients is rejected. A row becomes a create, an update or a reject with the
  services' Russian messages. Clients and contacts are written only through `services`
  (create_client / update_client / add_contact / update_contact) as the acting user, so audit
  rows and curator rules apply. Lookups are made per batch (IN (...)), not per row.
- A dry run only validates. The real run works in batches of BATCH_SIZE rows; the background
  runner (`run_job`) commits each batch in its own `db.job_session()` together with the job's
  progress, so a re-run after a failure continues without duplicates: re-importing a file updates
  the clients it created and merges contacts (matched by normalized name) and their channels.
  While a batch is written, the next one is read, parsed and its phones and e-mails checked in a
  thread (_ReadAhead); new rows are written in bulk by `bulk.BatchWriter` (COPY on PostgreSQL).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import io
import itertools
import logging
import re
import secrets
import shutil
import sqlite3
import threading
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, defer, selectinload

from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, Role, has_permission
from erp_crm.clients import access, bulk, services
from erp_crm.clients.models import CLIENT_KIND_LABELS, Client, ClientKind, ContactPerson, ImportJob
from erp_crm.core import requisites as rq
from erp_crm.core import text
from erp_crm.db import column_length, db, set_actor, take_write_lock, utcnow
from erp_crm.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError

log = logging.getLogger(__name__)

BATCH_SIZE = 500
PREVIEW_ROWS = 10
REPORT_DETAIL_ROWS = 1000  # created/updated rows listed in the report; rejected rows: all
STALL_AFTER = dt.timedelta(minutes=10)  # a run without progress this long may be started again
HEADER_SEARCH_ROWS = 20  # a title above the header row is skipped
ALLOWED_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
GENERAL_CONTACT = "Общий контакт"  # the contact that gets phones/e-mails of a row without a name
_SNIFF_BYTES = 64 * 1024

# --- fields and the suggested mapping ------------------------------------------------------------

FIELD_LABELS: dict[str, str] = {
    "name": "Наименование",
    "full_name": "Полное наименование",
    "kind": "Вид (юрлицо / ИП / физлицо)",
    "inn": "ИНН",
    "kpp": "КПП",
    "ogrn": "ОГРН / ОГРНИП",
    "legal_address": "Юридический адрес",
    "postal_address": "Почтовый адрес",
    "region": "Регион",
    "city": "Город",
    "industry": "Отрасль",
    "website": "Сайт",
    "source": "Источник",
    "curator": "Куратор (логин или ФИО)",
    "notes": "Примечание",
    "mailing_consent": "Согласие на рассылку",
    "external_id": "Внешний код",
    "contact_name": "Контактное лицо: ФИО",
    "contact_position": "Контактное лицо: должность",
    "contact_phone": "Контактное лицо: телефон",
    "contact_email": "Контактное лицо: e-mail",
}
# Fields several columns may feed ("Телефон", "Телефон 2"); any other field takes one column.
MULTI_FIELDS = frozenset({"contact_phone", "contact_email", "notes"})
IDENTIFYING_FIELDS = ("name", "inn", "external_id")

# Header synonyms, compared after normalize_header() (lower case, ё -> е, no punctuation).
# fmt: off
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "наименование", "название", "наименование организации", "название организации",
        "наименование компании", "название компании", "краткое наименование", "компания",
        "организация", "контрагент", "клиент", "name", "company", "company name",
        "organization", "organisation", "client",
    ),
    "full_name": (
        "полное наименование", "полное название", "полное наименование организации",
        "legal name", "full company name",
    ),
    "kind": ("вид", "вид контрагента", "тип контрагента", "тип клиента", "kind", "client type"),
    "inn": ("инн", "инн организации", "инн контрагента", "inn", "tax id", "taxpayer id"),
    "kpp": ("кпп", "kpp"),
    "ogrn": ("огрн", "огрнип", "огрн огрнип", "ogrn"),
    "legal_address": (
        "юр адрес", "юридический адрес", "адрес юридический", "адрес регистрации", "адрес",
        "legal address", "address",
    ),
    "postal_address": (
        "почтовый адрес", "фактический адрес", "факт адрес", "адрес для корреспонденции",
        "postal address", "mailing address",
    ),
    "region": ("регион", "область", "субъект рф", "регион рф", "region"),
    "city": ("город", "населенный пункт", "нас пункт", "city", "town"),
    "industry": ("отрасль", "сфера деятельности", "вид деятельности", "industry", "sector"),
    "website": ("сайт", "веб сайт", "вебсайт", "web", "website", "web site", "site", "url", "www"),
    "source": ("источник", "источник контакта", "источник клиента", "source", "lead source"),
    "curator": (
        "куратор", "ответственный", "менеджер", "ответственный менеджер", "curator", "manager",
        "owner",
    ),
    "notes": (
        "примечание", "примечания", "комментарий", "комментарии", "заметки", "notes", "note",
        "comment", "comments",
    ),
    "mailing_consent": (
        "согласие на рассылку", "рассылка", "согласие", "mailing consent", "mailing",
        "subscribed",
    ),
    "external_id": (
        "внешний код", "внешний id", "внешний идентификатор", "код", "код клиента", "код 1с",
        "id", "external id", "external code", "code",
    ),
    "contact_name": (
        "контактное лицо", "фио", "фио контакта", "фио контактного лица", "контакт",
        "contact", "contact name", "contact person",
    ),
    "contact_position": ("должность", "должность контакта", "position", "job title", "title"),
    "contact_phone": (
        "телефон", "тел", "номер телефона", "мобильный", "моб телефон", "мобильный телефон",
        "рабочий телефон", "phone", "tel", "telephone", "mobile",
    ),
    "contact_email": (
        "e mail", "email", "почта", "эл почта", "электронная почта",
        "адрес электронной почты", "mail",
    ),
}
# fmt: on
# The contact columns of our own export (several contacts joined): never mapped automatically.
_NEVER_SUGGESTED = {"контактные лица", "телефоны контактов", "e mail контактов"}
_HEADER_INDEX = {syn: key for key, words in _SYNONYMS.items() for syn in words}


def normalize_header(value: str | None) -> str:
    """'Юр. адрес:' -> 'юр адрес', 'E-mail' -> 'e mail'."""
    value = (value or "").casefold().replace("ё", "е")
    return " ".join(re.sub(r"[^\w]+", " ", value).split())


def suggest_field(header: str) -> str | None:
    norm = normalize_header(header)
    if not norm or norm in _NEVER_SUGGESTED:
        return None
    if norm in _HEADER_INDEX:
        return _HEADER_INDEX[norm]
    stripped = re.sub(r"\s*\d+$", "", norm)  # "Телефон 2"
    if stripped in _HEADER_INDEX:
        return _HEADER_INDEX[stripped]
    words = set(norm.split())
    if "адрес" in words and ("почтовый" in words or "фактический" in words):
        return "postal_address"
    if "адрес" in words and ("юр" in words or "юридический" in words):
        return "legal_address"
    if "телефон" in norm or "тел" in words or "phone" in norm or "mobile" in words:
        return "contact_phone"
    if "mail" in norm or "почта" in words:
        return "contact_email"
    return None


def suggest_mapping(header: list[str]) -> dict[int, str]:
    """Column index -> field; a single-column field goes to the first column that names it."""
    mapping: dict[int, str] = {}
    taken: set[str] = set()
    for index, title in enumerate(header):
        key = suggest_field(title)
        if key is None or (key in taken and key not in MULTI_FIELDS):
            continue
        mapping[index] = key
        taken.add(key)
    return mapping


def check_mapping(mapping: dict[int, str], width: int) -> dict[int, str]:
    """A clean mapping (unknown columns dropped) or a ValidationError naming the problem."""
    clean: dict[int, str] = {}
    seen: dict[str, int] = {}
    for index, key in mapping.items():
        if not key:
            continue
        if key not in FIELD_LABELS:
            raise ValidationError(fields={"mapping": f"Неизвестное поле «{key}»."})
        if not 0 <= index < width:
            raise ValidationError(fields={"mapping": f"В файле нет столбца № {index + 1}."})
        if key in seen and key not in MULTI_FIELDS:
            raise ValidationError(
                fields={
                    "mapping": f"Поле «{FIELD_LABELS[key]}» выбрано для двух столбцов "
                    f"(№ {seen[key] + 1} и № {index + 1}): оставьте один."
                }
            )
        seen[key] = index
        clean[index] = key
    if not any(key in IDENTIFYING_FIELDS for key in clean.values()):
        raise ValidationError(
            fields={
                "mapping": "Сопоставьте хотя бы один из столбцов: «Наименование», «ИНН» или "
                "«Внешний код»."
            }
        )
    return clean


def error_label(key: str) -> str:
    """The Russian name of a report's error key ('inn', 'contact.phones', 'row')."""
    if key == "row":
        return "Строка"
    if key.startswith("contact."):
        return {
            "contact.full_name": "Контактное лицо",
            "contact.phones": "Телефон",
            "contact.emails": "E-mail",
            "contact.position": "Должность",
        }.get(key, "Контактное лицо")
    if key == "curator_id":
        return "Куратор"
    return FIELD_LABELS.get(key, key)


# --- reading files -------------------------------------------------------------------------------


def _bad_file(message: str) -> ValidationError:
    return ValidationError(message, fields={"file": message})


_ENCODING_HELP = (
    "Сохраните таблицу как «CSV UTF-8 (разделитель — запятая)» или «CSV (разделители — точки с "
    "запятой)», либо как книгу Excel (XLSX)."
)
# cp1251 characters that real Russian text practically never contains; many of them mean the
# bytes were not cp1251 at all (binary data, another encoding).
_ODD_CHARS = set("ЂЃѓ†‡€‰Љ‹ЊЌЋЏђ™љ›њќћџ¤¦¬\xadЈјЅѕµ¶±ЎўҐґЄєЇї") | {"\ufffd"}
_CYR_WORD = re.compile(r"[А-Яа-яЁё]{4,}")
_INNER_CAPITAL = re.compile(r"[а-яё][А-ЯЁ]")


def _looks_like_text(sample: str) -> bool:
    """False for what a wrong encoding or binary data decodes to."""
    if not sample:
        return True
    odd = sum(
        1
        for ch in sample
        if ch in _ODD_CHARS
        or (unicodedata.category(ch) in ("Cc", "Co", "Cs", "Cn") and ch not in "\t\r\n")
    )
    if odd > max(2, len(sample) // 200):
        return False
    words = _CYR_WORD.findall(sample)
    if len(words) >= 5:
        # KOI8-R read as cp1251 ("оБЙНЕМНБЮМХЕ"); UTF-8 read as cp1251 ("РќР°РёРјРµ").
        inner = sum(1 for w in words if _INNER_CAPITAL.search(w))
        if inner / len(words) > 0.3:
            return False
        letters = "".join(words)
        if sum(1 for ch in letters if ch in "РС") / len(letters) > 0.25:
            return False
    return True


def _sniff_encoding(path: Path, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise _bad_file("Файл не похож на таблицу CSV: в нём двоичные данные. " + _ENCODING_HELP)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return "cp1251"
    return "utf-8"


def _sniff_delimiter(sample: str, *, truncated: bool) -> str:
    """';', tab or ',': the one that splits the first lines into the same number of columns."""
    lines = sample.splitlines()
    if truncated and len(lines) > 1:
        lines = lines[:-1]  # the sample ends in the middle of a line
    chunk = "\n".join(lines[:50])
    best, best_score = ";", (0.0, 0)
    for delimiter in (";", "\t", ","):
        try:
            rows = [r for r in csv.reader(io.StringIO(chunk), delimiter=delimiter) if any(r)]
        except csv.Error:
            continue
        widths = Counter(len(r) for r in rows)
        if not widths:
            continue
        # The most frequent width (a title line above the table does not count).
        matching, width = max((count, w) for w, count in widths.items())
        if width < 2:
            continue
        consistent = matching / len(rows)
        score = (round(consistent, 2), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    result = str(value).strip()
    return result or None


@dataclass
class Table:
    """A file opened for reading: the header and an iterator of (row number, cells)."""

    header: list[str]
    header_row: int
    rows: Iterator[tuple[int, list[str | None]]]
    total: int | None  # data rows, when the file says it cheaply (XLSX dimension)
    source: str  # how the file was read, for the page
    kind: str = "csv"  # csv | xlsx


def _trimmed(cells: Iterable[Any]) -> list[str | None]:
    values = [_cell_text(v) for v in cells]
    while values and values[-1] is None:
        values.pop()
    return values


def _find_header(
    numbered: Iterator[tuple[int, list[str | None]]],
) -> tuple[list[str], int, list[tuple[int, list[str | None]]]]:
    """The header among the first rows (a title line above it is skipped) and the rows after it."""
    buffered: list[tuple[int, list[str | None]]] = []
    for number, cells in numbered:
        if any(cells):
            buffered.append((number, cells))
            if len(buffered) >= HEADER_SEARCH_ROWS:
                break
    if not buffered:
        raise _bad_file("Файл пуст: в нём нет ни одной заполненной строки.")
    # The first row, unless a row below it names at least two known fields (the first row is then
    # a title such as «Список клиентов на 01.02.2026» or Excel's "sep=;").
    best = 0
    best_hits = _hits(buffered[0][1])
    for position, (_, cells) in enumerate(buffered[1:], start=1):
        hits = _hits(cells)
        if hits >= 2 and hits > best_hits:
            best, best_hits = position, hits
        if best_hits >= 3:
            break
    number, cells = buffered[best]
    if best_hits == 0 and _looks_like_data(cells):
        raise _bad_file(
            "В первой строке файла нет заголовков столбцов. Добавьте строку с названиями "
            "столбцов («Наименование», «ИНН», «Телефон»…) и загрузите файл снова."
        )
    header = [c or f"Столбец {i + 1}" for i, c in enumerate(cells)]
    return header, number, buffered[best + 1 :]


def _hits(cells: list[str | None]) -> int:
    return len({f for c in cells if (f := suggest_field(c or "")) is not None})


def _looks_like_data(cells: list[str | None]) -> bool:
    for cell in cells:
        value = (cell or "").strip()
        if "@" in value or re.fullmatch(r"[\d\s+()\-.,]{5,}", value):
            return True
    return False


@contextmanager
def open_table(path: Path, filename: str) -> Iterator[Table]:
    """Open an uploaded CSV or XLSX file; raise ValidationError (field "file") if unreadable."""
    suffix = Path(filename).suffix.lower()
    if suffix and suffix not in ALLOWED_SUFFIXES:
        if suffix == ".xls":
            raise _bad_file(
                "Формат XLS (Excel 97–2003) не поддерживается: сохраните файл как «Книга Excel "
                "(*.xlsx)» или CSV."
            )
        raise _bad_file("Поддерживаются файлы CSV и XLSX.")
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as err:
        raise _bad_file("Загруженный файл не найден: загрузите его снова.") from err
    if not head.strip(b" \t\r\n\x00" + codecs.BOM_UTF8):
        raise _bad_file("Файл пуст.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _bad_file(
            "Это файл старого формата Excel (XLS) или книга, защищённая паролем: снимите пароль "
            "и сохраните файл как «Книга Excel (*.xlsx)» или CSV."
        )
    if head.startswith(b"PK\x03\x04"):
        with _open_xlsx(path) as table:
            yield table
        return
    if suffix in (".xlsx", ".xlsm"):
        raise _bad_file(
            f"Файл «{Path(filename).name}» не является книгой Excel: он повреждён или сохранён в "
            "другом формате. Откройте его в Excel и сохраните как «Книга Excel (*.xlsx)»."
        )
    with _open_csv(path, head) as table:
        yield table


@contextmanager
def _open_csv(path: Path, head: bytes) -> Iterator[Table]:
    encoding = _sniff_encoding(path, head)
    sample = head.decode(encoding, errors="replace")
    if encoding == "utf-8-sig":
        sample = sample.lstrip("\ufeff")
    if not _looks_like_text(sample[:20000]):
        raise _bad_file("Не удалось прочитать файл: неизвестная кодировка. " + _ENCODING_HELP)
    hinted = sample.startswith("sep=") and len(sample) > 4 and sample[4] in ";,\t"
    if hinted:
        delimiter = sample[4]  # Excel's own hint on the first line, which is no data
    else:
        delimiter = _sniff_delimiter(sample, truncated=len(head) >= _SNIFF_BYTES)
    with path.open(encoding=encoding, newline="", errors="strict") as f:

        def numbered() -> Iterator[tuple[int, list[str | None]]]:
            number = 0
            try:
                for number, row in enumerate(csv.reader(f, delimiter=delimiter), start=1):  # noqa: B007
                    if not (hinted and number == 1):
                        yield number, _trimmed(row)
            except (csv.Error, UnicodeDecodeError) as err:
                raise _bad_file(
                    f"Не удалось прочитать файл после строки {number}: нарушен формат CSV или "
                    "кодировка. " + _ENCODING_HELP
                ) from err

        rows = numbered()
        header, header_row, buffered = _find_header(rows)
        label = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "utf-16": "UTF-16"}.get(
            encoding, "Windows-1251"
        )
        sign = {";": "«;»", ",": "«,»", "\t": "табуляция"}[delimiter]
        yield Table(
            header=header,
            header_row=header_row,
            rows=_data_rows(buffered, rows),
            total=None,
            source=f"CSV, кодировка {label}, разделитель {sign}",
        )


_XLSX_BROKEN = (
    "Не удалось открыть книгу Excel: файл повреждён или это не XLSX. Откройте его в Excel "
    "и сохраните как «Книга Excel (*.xlsx)»."
)
# An XLSX is a zip: refuse archives that would unpack into far more than a client list needs
# (a "zip bomb" would otherwise exhaust the server's memory or disk while a reader unpacks it).
XLSX_MAX_ENTRIES = 2_000
XLSX_MAX_UNPACKED = 1_000 * 1024 * 1024
XLSX_MAX_RATIO = 200


def _check_xlsx_archive(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError) as err:
        raise _bad_file(_XLSX_BROKEN) from err
    unpacked = sum(e.file_size for e in entries)
    too_dense = any(
        e.compress_size and e.file_size / e.compress_size > XLSX_MAX_RATIO and e.file_size > 10**7
        for e in entries
    )
    if len(entries) > XLSX_MAX_ENTRIES or unpacked > XLSX_MAX_UNPACKED or too_dense:
        raise _bad_file(
            "Файл Excel после распаковки слишком велик или устроен подозрительно. Сохраните "
            "список клиентов в новую книгу или в CSV."
        )


@contextmanager
def _open_xlsx(path: Path) -> Iterator[Table]:
    """The first worksheet, read by python-calamine when it can, else by openpyxl.

    calamine (Rust) reads a 100 000-row book ~10 times faster than openpyxl's read-only mode and
    gives the same values: cached results of formulas, dates for date formats, numbers as floats
    (an integral float is written as an integer by _cell_text, as openpyxl's ints are). A book
    with cells it reads otherwise (error cells, 16-digit integers: _calamine_would_differ) or any
    failure of it goes to openpyxl, whose reading, messages and checks are those of before.
    """
    _check_xlsx_archive(path)  # before either reader unpacks anything
    opened = _open_with_calamine(path)
    if opened is None:
        with _open_with_openpyxl(path) as table:
            yield table
        return
    title, last_row, raw_rows = opened
    rows = _calamine_rows(raw_rows)
    header, header_row, buffered = _find_header(rows)
    yield Table(
        header=header,
        header_row=header_row,
        rows=_data_rows(buffered, rows),
        total=max(0, last_row - header_row),
        source=f"Книга Excel, лист «{title}»",
        kind="xlsx",
    )


def _open_with_calamine(path: Path) -> tuple[str, int, Iterator[tuple[int, list[Any]]]] | None:
    """(sheet title, number of its last row, rows with absolute column positions), or None when
    the book is for openpyxl: calamine missing or failing, the first sheet not a worksheet, or
    cells calamine reads otherwise (_calamine_would_differ)."""
    try:
        from python_calamine import CalamineWorkbook, SheetTypeEnum
    except ImportError:  # pragma: no cover - a dependency; openpyxl still reads every book
        return None
    try:
        if _calamine_would_differ(path):
            return None
        workbook = CalamineWorkbook.from_path(str(path))
        try:
            meta = workbook.sheets_metadata
            if not meta or meta[0].typ != SheetTypeEnum.WorkSheet:
                return None  # openpyxl's worksheets[0] skips chart sheets; let it decide
            sheet = workbook.get_sheet_by_index(0)  # parsed whole here: errors surface now
        finally:
            workbook.close()  # the sheet keeps its own data
    except BaseException as err:  # noqa: BLE001  (calamine errors, and pyo3 panics)
        if isinstance(err, KeyboardInterrupt | SystemExit | GeneratorExit):
            raise
        log.info("client import: calamine could not read %s (%r), reading with openpyxl", path, err)
        return None
    start, end = sheet.start, sheet.end
    if start is None or end is None:  # no cells at all
        return sheet.name, 0, iter(())
    return sheet.name, end[0] + 1, _numbered_calamine(sheet.iter_rows(), start[1])


def _numbered_calamine(rows: Iterable[list[Any]], first_column: int) -> Iterator[tuple[int, list]]:
    # iter_rows() starts at the sheet's first row (padding empty rows above the data) but at the
    # first used column: put the columns back in place, as the mapping counts them from "A".
    pad = [None] * first_column
    for number, cells in enumerate(rows, start=1):
        yield number, pad + cells if first_column else cells


def _calamine_rows(
    rows: Iterator[tuple[int, list[Any]]],
) -> Iterator[tuple[int, list[str | None]]]:
    for number, cells in rows:
        # calamine gives "" for an empty cell: _cell_text's None. Text is most cells: inline.
        values = [
            (value.strip() or None) if type(value) is str else _cell_text(value) for value in cells
        ]
        while values and values[-1] is None:
            values.pop()
        yield number, values


# What calamine reads differently from openpyxl, found in the sheet's XML:
# - error cells (t="e"): openpyxl gives their text ("#N/A"), calamine an empty cell;
# - integers of 16 digits and more written as such (not by Excel, which keeps 15 significant
#   digits): openpyxl keeps every digit, calamine's float does not above 2**53.
_ERROR_CELL_MARKS = (b't="e"', b"t='e'")
_LONG_INTEGER = re.compile(rb"v>\s*-?\d{16}")  # a literal prefix: searched at memchr speed


def _calamine_would_differ(path: Path) -> bool:
    """Whether the first sheet (every worksheet, when it cannot be told which is first) holds a
    cell calamine reads otherwise than openpyxl; streamed, ~0.3 s for a 100 000-row sheet."""
    with zipfile.ZipFile(path) as archive:
        parts = _first_sheet_part(archive)
        if parts is None:
            parts = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        for name in parts:
            with archive.open(name) as stream:
                tail = b""
                while chunk := stream.read(1 << 20):
                    data = tail + chunk
                    if any(mark in data for mark in _ERROR_CELL_MARKS):
                        return True
                    if _LONG_INTEGER.search(data):
                        return True
                    tail = chunk[-64:]  # a mark split between two chunks
    return False


def _first_sheet_part(archive: zipfile.ZipFile) -> list[str] | None:
    """The zip member of the workbook's first sheet, from workbook.xml and its relationships."""
    import xml.etree.ElementTree as ET  # noqa: N817, S405  (a zip's small XML, size-checked)

    main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    rel_ns = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    try:
        book = ET.fromstring(archive.read("xl/workbook.xml"))  # noqa: S314
        first = book.find(f"{main}sheets/{main}sheet")
        rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))  # noqa: S314
    except (KeyError, ET.ParseError):
        return None
    if first is None:
        return None
    wanted = first.get(f"{rel_ns}id")
    for rel in rels:
        if rel.get("Id") == wanted and rel.get("Target"):
            target = rel.get("Target", "").lstrip("/")
            name = target if target.startswith("xl/") else f"xl/{target}"
            return [name] if name in archive.namelist() else None
    return None


@contextmanager
def _open_with_openpyxl(path: Path) -> Iterator[Table]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001  (zip, XML and openpyxl errors alike: a broken file)
        raise _bad_file(_XLSX_BROKEN) from err
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise _bad_file("В книге Excel нет ни одного листа с данными.")
        max_row = sheet.max_row
        sheet.reset_dimensions()  # a wrong <dimension> would cut rows or columns off

        def numbered() -> Iterator[tuple[int, list[str | None]]]:
            number = 0
            try:
                for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):  # noqa: B007
                    yield number, _trimmed(row)
            except Exception as err:  # noqa: BLE001  (zip and XML errors of a corrupt sheet)
                raise _bad_file(
                    f"Книга Excel повреждена: чтение прервано после строки {number}."
                ) from err

        rows = numbered()
        header, header_row, buffered = _find_header(rows)
        total = max(0, max_row - header_row) if isinstance(max_row, int) else None
        yield Table(
            header=header,
            header_row=header_row,
            rows=_data_rows(buffered, rows),
            total=total,
            source=f"Книга Excel, лист «{sheet.title}»",
            kind="xlsx",
        )
    finally:
        workbook.close()


def _data_rows(
    buffered: list[tuple[int, list[str | None]]], rest: Iterator[tuple[int, list[str | None]]]
) -> Iterator[tuple[int, list[str | None]]]:
    for number, cells in buffered:
        if any(cells):
            yield number, cells
    for number, cells in rest:
        if any(cells):
            yield number, cells


def _batched(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class Preview:
    header: list[str]
    rows: list[list[str]]
    suggested: dict[int, str]
    total: int | None
    source: str


def preview(path: Path, filename: str, *, limit: int = PREVIEW_ROWS) -> Preview:
    """The header, the first rows and the suggested mapping; ValidationError if unreadable."""
    with open_table(path, filename) as table:
        rows = [cells for _, cells in itertools.islice(table.rows, limit)]
        header = padded_header(table.header, rows)
        width = len(header)
        padded = [[c or "" for c in r] + [""] * (width - len(r)) for r in rows]
        return Preview(
            header=header,
            rows=padded,
            suggested=suggest_mapping(table.header),
            total=table.total,
            source=table.source,
        )


def padded_header(header: list[str], rows: list[list[str | None]]) -> list[str]:
    """The header widened to the first rows (the preview's): the columns a mapping may name."""
    width = max([len(header), *(len(r) for r in rows)])
    return header + [f"Столбец {i + 1}" for i in range(len(header), width)]


def job_preview(job: ImportJob, storage: Path) -> Preview:
    """The preview kept with the job at upload (a big XLSX takes seconds to open), else read."""
    kept = (job.mapping or {}).get("preview")
    if not kept:
        return preview(job_path(job, storage), job.filename)
    return Preview(
        header=kept["header"],
        rows=kept["rows"],
        suggested=suggest_mapping(kept["header"]),
        total=kept.get("total"),
        source=kept.get("source", ""),
    )


# --- one row -------------------------------------------------------------------------------------

_KINDS = {
    **{text.normalize(label): kind.value for kind, label in CLIENT_KIND_LABELS.items()},
    **{kind.value: kind.value for kind in ClientKind},
    "юрлицо": "legal",
    "юр лицо": "legal",
    "юл": "legal",
    "организация": "legal",
    "legal entity": "legal",
    "company": "legal",
    "ип": "sole_trader",
    "sole trader": "sole_trader",
    "физлицо": "person",
    "физ лицо": "person",
    "фл": "person",
    "individual": "person",
}
# Lengths of free-text columns (ИНН, КПП, ОГРН and the kind are checked by the service).
_COLUMN_LENGTHS = {
    c.name: c.type.length
    for c in Client.__table__.columns
    if getattr(c.type, "length", None)
    and c.name in FIELD_LABELS
    and c.name not in ("inn", "kpp", "ogrn", "kind")
}
_CONTACT_LENGTHS = {"contact_name": 300, "contact_position": 200}


@dataclass
class ParsedRow:
    number: int
    changes: dict[str, Any]  # ClientData fields with non-empty values
    contact: services.ContactData | None
    errors: dict[str, str]
    # The contact cleaned (or its ValidationError), when _Engine.prepare checked it already.
    checked_contact: services.ContactData | ValidationError | None = None

    @property
    def external_id(self) -> str | None:
        return self.changes.get("external_id")

    @property
    def requisites(self) -> tuple[str, str | None] | None:
        inn = self.changes.get("inn")
        return (inn, self.changes.get("kpp")) if inn else None

    @property
    def name_key(self) -> str | None:
        """A row with neither external id nor ИНН is matched by its normalized name."""
        if self.external_id or self.requisites or not self.changes.get("name"):
            return None
        names = [self.changes.get("name"), self.changes.get("full_name")]
        return text.normalize(" ".join(filter(None, names)))[:500]


def _digits(value: str, pad_to: tuple[tuple[int, int], ...]) -> str:
    """ИНН/КПП as people paste them; a number Excel stripped of its leading zero is restored."""
    digits = rq.digits(value).upper()  # the same cleaning as the service's
    for short, full in pad_to:
        if digits.isdigit() and len(digits) == short:
            return digits.zfill(full)
    return digits


def _split(value: str, pattern: str | re.Pattern[str]) -> list[str]:
    return [part.strip() for part in re.split(pattern, value) if part.strip()]


_PHONE_SEPARATORS = re.compile(r"[;,\n]+")
_EMAIL_SEPARATORS = re.compile(r"[;,\s]+")


# Contact validation, as services.validate_contact does it, with the costly parts (phonenumbers,
# email-validator: ~70 % of a row's validation) cached by the raw cell text: a file repeats
# numbers and addresses (a company's switchboard, a re-imported file), and the result of either
# depends on the text only. Bounded, so a huge file does not keep every value.
@functools.lru_cache(maxsize=20_000)
def _phone_e164(raw: str) -> str | None:
    return text.normalize_phone(raw)


@functools.lru_cache(maxsize=20_000)
def _email_normalized(raw: str) -> str | None:
    return services.normalize_email(raw)


def _text_or_none(value: Any) -> str | None:
    """services._text: stripped text, None for nothing."""
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def validate_contact(session: Session, data: services.ContactData) -> services.ContactData:
    """services.validate_contact for a file row's contact (name, position, phones, e-mails):
    the same cleaning, the same errors and messages, the lookups cached. Anything else a contact
    may carry (birthday, curator, notes: never read from a file) goes to the service itself."""
    checked = check_contact(data)
    if checked is None:
        cleaned, _, _ = services.validate_contact(session, data)
        return cleaned
    if isinstance(checked, ValidationError):
        raise checked
    return checked


def check_contact(data: services.ContactData) -> services.ContactData | ValidationError | None:
    """validate_contact without a session (so a thread may run it): the cleaned contact or the
    error to raise; None for a contact only the service can check (it has a birthday, curator or
    notes)."""
    if data.birthday is not None or data.curator_id not in (None, "") or data.notes is not None:
        return None
    for value, column in (
        (data.full_name, ContactPerson.__table__.c.full_name),
        (data.position, ContactPerson.__table__.c.position),
    ):
        if isinstance(value, str) and (
            "\x00" in value or len(value.strip()) > (column_length(column) or len(value))
        ):
            return None  # a NUL or an over-long value: the service says so, in its words
    errors: dict[str, str] = {}
    name = _text_or_none(data.full_name)
    if not name:
        errors["full_name"] = "Укажите ФИО контактного лица."
    phones = services.clean_channels(errors, "phones", data.phones, _phone_e164)
    emails = services.clean_channels(errors, "emails", data.emails, _email_normalized)
    if errors:
        return ValidationError(fields=errors)
    return services.ContactData(
        full_name=name,
        position=_text_or_none(data.position),
        phones=phones,
        emails=emails,
        birthday=None,
        notes=None,
        curator_id=None,
    )


@dataclass
class Outcome:
    row: int
    action: str  # create | update | reject
    client_id: int | None = None
    name: str | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "action": self.action,
            "client_id": self.client_id,
            "name": self.name,
            "errors": self.errors,
        }


@dataclass
class Summary:
    """Counts and the row-by-row report: every rejected row, created/updated only at the start."""

    total: int = 0
    created: int = 0
    updated: int = 0
    rejected: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        self.total += 1
        if outcome.action == "create":
            self.created += 1
        elif outcome.action == "update":
            self.updated += 1
        else:
            self.rejected += 1
        if outcome.action == "reject" or self.total <= REPORT_DETAIL_ROWS:
            self.rows.append(outcome.as_dict())

    def as_dict(self, *, dry_run: bool) -> dict[str, Any]:
        return {
            "dry_run": dry_run,
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "rejected": self.rejected,
            "rows": self.rows,
        }


class _HalfWritten(Exception):
    """A row failed after its client was written: the batch is redone row by row."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


# --- what the rows before a row have done ------------------------------------------------------
#
# A row is matched against the client base as the rows above it in the file have left it: a
# client whose ИНН, КПП, external id or name an earlier row changed is found by the new values
# (and no longer by the old ones), a client an earlier row created is found like any other. The
# real run writes every batch before the next one is looked up, so across batches the database
# has it; within a batch `_Batch` keeps its indexes current as rows are applied. The dry run
# writes nothing: `_Overlay` remembers, for the whole file, the clients it would have created and
# the identifying fields it would have changed, and every batch adds them to what it finds in
# the database. So the dry run predicts what the run will do.


def _req_key(inn: str | None, kpp: str | None) -> tuple[str, str | None] | None:
    return (inn, kpp or None) if inn else None


def _push(index: dict[Any, Any], key: Any, item: Any) -> None:
    """Add to a key's entries: the item itself while it is the only one, else a list."""
    held = index.get(key)
    if held is None:
        index[key] = item
    elif type(held) is list:
        held.append(item)
    else:
        index[key] = [held, item]


def _drop(index: dict[Any, Any], key: Any, item: Any) -> None:
    held = index.get(key)
    if held is item:
        del index[key]
    elif type(held) is list:
        rest = [x for x in held if x is not item]
        if len(rest) == 1:
            index[key] = rest[0]
        elif rest:
            index[key] = rest
        else:
            del index[key]


def _entries(index: dict[Any, Any], key: Any) -> list[Any]:
    held = index.get(key)
    if held is None:
        return []
    return list(held) if type(held) is list else [held]


class _Shadow:
    """The dry run's picture of a client after the rows so far: one the file would create (id
    None) or an existing one whose fields a row would change (its id). It keeps what matching,
    the access rules and the cross-field checks of a later row need, not the whole client."""

    # fmt: off
    FIELDS = (
        "external_id", "inn", "kpp", "ogrn", "kind", "name", "full_name", "city", "curator_id",
    )
    # fmt: on
    __slots__ = (*FIELDS, "id", "seq")
    merged_into_id = None
    is_merged = False

    def __init__(self, client_id: int | None, seq: int, data: services.ClientData):
        self.id = client_id
        self.seq = seq
        self.set(self.values_of(data))

    # As services._apply derives them; computed when asked (a file with an ИНН in every row
    # never asks), not kept: a dry run of 100 000 new clients keeps 100 000 shadows.
    @property
    def name_norm(self) -> str:
        return services.name_norm(self.name, self.full_name)

    @property
    def city_norm(self) -> str | None:
        return services.city_norm(self.city)

    @classmethod
    def values_of(cls, obj: Any) -> tuple[Any, ...]:
        return tuple(getattr(obj, name) for name in cls.FIELDS)

    def values(self) -> tuple[Any, ...]:
        return self.values_of(self)

    def set(self, values: tuple[Any, ...]) -> None:
        for name, value in zip(self.FIELDS, values, strict=True):
            setattr(self, name, value)

    def applied_to(self, data: services.ClientData) -> services.ClientData:
        return replace(data, **{name: getattr(self, name) for name in self.FIELDS})

    def data(self) -> services.ClientData:
        return services.ClientData(**{name: getattr(self, name) for name in self.FIELDS})


class _Overlay:
    """The dry run's memory of the file so far (see above): shadows of the clients it would
    create and of the existing ones whose fields it would change, by external id, ИНН and name.

    Changes are journaled per batch, so a batch (or a row) that fails is taken back. The index
    by name is built when a batch first has rows matched by name (most files have none).
    """

    def __init__(self) -> None:
        self.overrides: dict[int, _Shadow] = {}  # existing client id -> its shadow
        self.by_ext: dict[str, _Shadow] = {}
        self.by_inn: dict[str, Any] = {}  # ИНН -> a shadow or a list of them (_push)
        self.by_name: dict[str, Any] | None = None  # name_norm -> the same; None: not built
        self.seq = 0
        self._journal: list[tuple[_Shadow, tuple[Any, ...] | None]] = []

    def find(self, ext_ids: set[str], inns: set[str], names: set[str]) -> list[_Shadow]:
        """The shadows holding any of these keys."""
        if names and self.by_name is None:
            self._build_name_index()
        found: dict[int, _Shadow] = {}
        for code in ext_ids:
            if (shadow := self.by_ext.get(code)) is not None:
                found[id(shadow)] = shadow
        for index, keys in ((self.by_inn, inns), (self.by_name or {}, names)):
            for key in keys:
                found.update((id(s), s) for s in _entries(index, key))
        return sorted(found.values(), key=lambda s: s.seq)

    def _build_name_index(self) -> None:
        # Every shadow so far has a code or an ИНН: one with neither comes from a row matched
        # by name, whose batch built the index before it was applied. Overrides: for certainty.
        everyone: dict[int, _Shadow] = {id(s): s for s in self.overrides.values()}
        everyone.update((id(s), s) for s in self.by_ext.values())
        for held in self.by_inn.values():
            everyone.update((id(s), s) for s in (held if type(held) is list else [held]))
        self.by_name = {}
        for shadow in sorted(everyone.values(), key=lambda s: s.seq):
            _push(self.by_name, shadow.name_norm, shadow)

    def add(self, client_id: int | None, data: services.ClientData) -> _Shadow:
        self.seq += 1
        shadow = _Shadow(client_id, self.seq, data)
        if client_id is not None:
            self.overrides[client_id] = shadow
        self._index(shadow)
        self._journal.append((shadow, None))
        return shadow

    def change(self, shadow: _Shadow, data: services.ClientData) -> None:
        self._journal.append((shadow, shadow.values()))
        self._unindex(shadow)
        shadow.set(_Shadow.values_of(data))
        self._index(shadow)

    def _index(self, shadow: _Shadow) -> None:
        if shadow.external_id:
            self.by_ext[shadow.external_id] = shadow
        if shadow.inn:
            _push(self.by_inn, shadow.inn, shadow)
        if self.by_name is not None:
            _push(self.by_name, shadow.name_norm, shadow)

    def _unindex(self, shadow: _Shadow) -> None:
        if shadow.external_id and self.by_ext.get(shadow.external_id) is shadow:
            del self.by_ext[shadow.external_id]
        if shadow.inn:
            _drop(self.by_inn, shadow.inn, shadow)
        if self.by_name is not None:
            _drop(self.by_name, shadow.name_norm, shadow)

    def mark(self) -> int:
        return len(self._journal)

    def undo(self, mark: int = 0) -> None:
        """Take back the changes journaled since `mark` (begin() clears the journal)."""
        while len(self._journal) > mark:
            shadow, values = self._journal.pop()
            self._unindex(shadow)
            if values is None:
                if shadow.id is not None:
                    self.overrides.pop(shadow.id, None)
            else:
                shadow.set(values)
                self._index(shadow)

    def begin(self) -> None:
        self._journal.clear()


class _Batch:
    """The clients (and their contacts) a batch of rows may touch, looked up with IN (...), and
    indexed by their external id, ИНН+КПП and name as the rows before have left them.

    Entries are the session's clients, the `bulk.NewRecord`s this batch creates (the run) and the
    overlay's shadows of clients the file creates (the dry run). `state(entry)` is what a row
    sees of an entry: the dry run's shadow of an existing client it changed, else the entry.
    """

    def __init__(
        self,
        session: Session,
        rows: list[ParsedRow],
        *,
        overlay: _Overlay | None = None,
        with_contacts: bool = True,
    ):
        ext_ids = {r.external_id for r in rows if r.external_id}
        inns = {r.requisites[0] for r in rows if r.requisites}
        names = {r.name_key for r in rows if r.name_key}
        self.overrides: dict[int, _Shadow] = overlay.overrides if overlay is not None else {}
        self.by_ext: dict[str, Any] = {}
        self.by_req: dict[tuple[str, str | None], list[Any]] = {}
        self.by_name: dict[str, list[Any]] = {}
        self._keys: dict[int, tuple[Any, Any, Any]] = {}  # id(entry) -> the keys it is under
        self._names = bool(names)  # by_name is asked only for rows matched by name
        loaded: dict[int, Client] = {}
        if ext_ids:
            for client in session.scalars(select(Client).where(Client.external_id.in_(ext_ids))):
                loaded[client.id] = client
        if inns:
            query = select(Client).where(Client.inn.in_(inns), Client.merged_into_id.is_(None))
            loaded.update((c.id, c) for c in session.scalars(query))
        if names:
            query = select(Client).where(
                Client.name_norm.in_(names), Client.merged_into_id.is_(None)
            )
            loaded.update((c.id, c) for c in session.scalars(query))
        shadows = overlay.find(ext_ids, inns, names) if overlay is not None else []
        # Existing clients the dry run changed so that they now hold a key of these rows.
        missing = {s.id for s in shadows if s.id is not None and s.id not in loaded}
        if missing:
            query = select(Client).where(Client.id.in_(missing))
            loaded.update((c.id, c) for c in session.scalars(query))
        self.survivors = self._survivors(session, [c for c in loaded.values() if c.merged_into_id])
        loaded.update((c.id, c) for c in self.survivors.values())
        self.loaded = [loaded[key] for key in sorted(loaded)]
        for client in self.loaded:
            self._index(client)
        for shadow in shadows:
            if shadow.id is None:
                self._index(shadow)
        self.contacts: dict[int, dict[str, ContactPerson]] = {}
        if with_contacts and self.loaded:
            query = (
                select(ContactPerson)
                .where(ContactPerson.client_id.in_([c.id for c in self.loaded]))
                .options(selectinload(ContactPerson.channels))
                .order_by(ContactPerson.id)
            )
            for contact in session.scalars(query):
                self.contacts.setdefault(contact.client_id, {}).setdefault(
                    contact.name_norm, contact
                )

    def _survivors(self, session: Session, merged: list[Client]) -> dict[int, Client]:
        """Merged clients found by external id -> the client they were merged into."""
        result: dict[int, Client] = {}
        pending = {c.id: c.merged_into_id for c in merged}
        for _ in range(5):  # merge chains are short
            if not pending:
                break
            found = {
                c.id: c
                for c in session.scalars(select(Client).where(Client.id.in_(set(pending.values()))))
            }
            next_pending = {}
            for origin, target_id in pending.items():
                target = found.get(target_id)  # type: ignore[arg-type]
                if target is None:
                    continue
                if target.merged_into_id:
                    next_pending[origin] = target.merged_into_id
                else:
                    result[origin] = target
            pending = next_pending
        return result

    def state(self, entry: Any) -> Any:
        """The entry as the rows so far have left it (the dry run's shadow of its changes)."""
        if self.overrides and entry.id is not None:
            return self.overrides.get(entry.id, entry)
        return entry

    def _keys_of(self, entry: Any) -> tuple[Any, Any, Any]:
        """(external id, (ИНН, КПП), name_norm) the entry is found by; a merged client by its
        code only, to lead to the survivor."""
        state = self.state(entry)
        if state.merged_into_id:
            return state.external_id, None, None
        name = state.name_norm if self._names else None
        return state.external_id, _req_key(state.inn, state.kpp), name

    def _index(self, entry: Any, keys: tuple[Any, Any, Any] | None = None) -> None:
        ext, req, name = keys = keys or self._keys_of(entry)
        if ext:
            self.by_ext[ext] = entry
        if req:
            self.by_req.setdefault(req, []).append(entry)
        if name is not None:
            self.by_name.setdefault(name, []).append(entry)
        self._keys[id(entry)] = keys

    def reindex(self, entry: Any) -> None:
        """After a row changed the entry: found by its new keys, no longer by the old ones."""
        keys = self._keys_of(entry)
        old = self._keys.get(id(entry))
        if old == keys:
            return
        if old is not None:
            ext, req, name = old
            if ext and self.by_ext.get(ext) is entry:
                del self.by_ext[ext]
            for index, key in ((self.by_req, req), (self.by_name, name)):
                if key is not None and key in index:
                    index[key] = [e for e in index[key] if e is not entry]
        self._index(entry, keys)

    def remember(self, client: Any) -> None:
        """A client this batch (or, for the dry run, the file) creates."""
        self._index(client)
        if client.id is not None:
            self.contacts.setdefault(client.id, {})

    def existing(self) -> list[Client]:
        """The clients of the database the batch found."""
        return list(self.loaded)

    def replace(self, old: Any, new: Client) -> None:
        """A client the batch created (written now) is continued as the session's object."""
        for key, client in list(self.by_ext.items()):
            if client is old:
                self.by_ext[key] = new
        for index in (self.by_req, self.by_name):
            for clients in index.values():
                for position, client in enumerate(clients):
                    if client is old:
                        clients[position] = new
        if (keys := self._keys.pop(id(old), None)) is not None:
            self._keys[id(new)] = keys

    def reload_contacts(self, session: Session, client_id: int) -> None:
        query = (
            select(ContactPerson)
            .where(ContactPerson.client_id == client_id)
            .options(selectinload(ContactPerson.channels))
            .order_by(ContactPerson.id)
        )
        known: dict[str, ContactPerson] = {}
        for contact in session.scalars(query):
            known.setdefault(contact.name_norm, contact)
        self.contacts[client_id] = known

    def external_id_owner(self, external_id: str) -> int | None:
        """Who holds a code: the batch looked every code of its rows up (and keeps new ones)."""
        client = self.by_ext.get(external_id)
        if client is None:
            return None
        return client.id if client.id is not None else -1


def _quoted(batch: _Batch, entry: Any) -> str:
    return f"«{batch.state(entry).name}»"


def _numbers(batch: _Batch, found: list[Any]) -> str:
    return ", ".join(f"№ {c.id}" if c.id is not None else _quoted(batch, c) for c in found[:5])


class _Engine:
    """Parses, matches and applies rows; keeps the summary of one import."""

    def __init__(self, mapping: dict[int, str], *, dry_run: bool):
        self.mapping = mapping
        self.dry_run = dry_run
        self.summary = Summary()
        self.curators_loaded = False
        self.logins: dict[str, int] = {}
        self.full_names: dict[str, int | None] = {}
        # Dry run: what the rows so far would have created and changed (see _Overlay).
        self.overlay: _Overlay | None = _Overlay() if dry_run else None
        self.active_users: set[int] = set()  # the dry run's check of curators
        self._unnumbered: list[tuple[Outcome, Client]] = []  # created rows awaiting their ids
        self.before_write: Callable[[], None] | None = None  # called as a batch's writes begin

    # -- parsing

    def load_curators(self, session: Session) -> None:
        """Users by login and by full name (a full name two users share is ambiguous: None)."""
        self.logins = {}
        self.full_names = {}
        for user_id, username, full_name in session.execute(
            select(User.id, User.username, User.full_name)
        ):
            self.logins[username.casefold()] = user_id
            key = text.normalize(full_name)
            self.full_names[key] = None if key in self.full_names else user_id
        self.curators_loaded = True

    def parse(self, number: int, cells: list[str | None]) -> ParsedRow:
        values: dict[str, list[str]] = {}
        for index, key in self.mapping.items():
            value = cells[index] if index < len(cells) else None
            if value:
                values.setdefault(key, []).append(value)
        errors: dict[str, str] = {}
        changes: dict[str, Any] = {}
        for key, items in values.items():
            if key.startswith("contact_"):
                continue
            value = "\n".join(items) if key == "notes" else items[0]
            if key == "inn":
                value = _digits(value, ((9, 10), (11, 12)))
            elif key == "kpp":
                value = _digits(value, ((8, 9),))
            elif key == "ogrn":
                value = _digits(value, ())
            elif key == "kind":
                kind = _KINDS.get(text.normalize(value).replace(".", ""))
                if kind is None:
                    errors["kind"] = f"Вид «{value}» не распознан: юрлицо, ИП или физлицо."
                    continue
                value = kind
            elif key == "curator":
                curator_id, problem = self._curator(value)
                if problem:
                    errors["curator_id"] = problem
                else:
                    changes["curator_id"] = curator_id
                continue
            limit = _COLUMN_LENGTHS.get(key)
            if limit and len(value) > limit:
                errors[key] = f"Слишком длинное значение: больше {limit} символов."
                continue
            changes[key] = value
        contact = None
        name = (values.get("contact_name") or [None])[0]
        position = (values.get("contact_position") or [None])[0]
        phones = [p for v in values.get("contact_phone", []) for p in _split(v, _PHONE_SEPARATORS)]
        emails = [e for v in values.get("contact_email", []) for e in _split(v, _EMAIL_SEPARATORS)]
        for key, value in (("contact_name", name), ("contact_position", position)):
            if value and len(value) > _CONTACT_LENGTHS[key]:
                errors["contact." + ("full_name" if key == "contact_name" else "position")] = (
                    f"Слишком длинное значение: больше {_CONTACT_LENGTHS[key]} символов."
                )
        if name or phones or emails:
            contact = services.ContactData(
                full_name=name or GENERAL_CONTACT, position=position, phones=phones, emails=emails
            )
        return ParsedRow(number=number, changes=changes, contact=contact, errors=errors)

    def _curator(self, value: str) -> tuple[int | None, str | None]:
        assert self.curators_loaded, "load_curators() first"
        if (user_id := self.logins.get(value.strip().casefold())) is not None:
            return user_id, None
        key = text.normalize(value)
        if key in self.full_names:
            user_id = self.full_names[key]
            if user_id is None:
                return None, f"Несколько пользователей с ФИО «{value}»: укажите логин куратора."
            return user_id, None
        return None, f"Куратор «{value}» не найден: укажите логин или ФИО пользователя."

    # -- matching

    def _target(self, row: ParsedRow, batch: _Batch) -> tuple[Any, dict[str, str]]:
        """The matched client (or the dry run's shadow of one the file creates), or None (a new
        one); or errors. The batch's indexes show the base as the rows before left it."""
        ext = row.external_id
        if ext:
            client = batch.by_ext.get(ext)
            if client is not None:
                if client.merged_into_id:
                    survivor = batch.survivors.get(client.id)
                    if survivor is None:
                        return None, {"external_id": "Контрагент с этим кодом объединён с другим."}
                    row.changes.pop("external_id", None)  # the survivor keeps its own code
                    client = survivor
                return self._requisites_clash(row, ext, client, batch)
        key = row.requisites
        if key:
            found = batch.by_req.get(key, [])
            if len(found) > 1:
                numbers = _numbers(batch, found)
                return None, {
                    "inn": f"В базе несколько контрагентов с этими ИНН/КПП ({numbers}): объедините "
                    "дубли или укажите внешний код."
                }
            if found:
                client = found[0]
                code = batch.state(client).external_id
                if ext and code and code != ext:
                    number = f"№ {client.id}" if client.id is not None else _quoted(batch, client)
                    return None, {
                        "external_id": f"У контрагента {number} с этими ИНН/КПП другой "
                        f"внешний код: {code}."
                    }
                return client, {}
        name = row.name_key
        if name:
            city = text.normalize(row.changes.get("city")) or None
            found = [
                c
                for c in batch.by_name.get(name, [])
                if not city or not (c_city := batch.state(c).city_norm) or c_city == city
            ]
            if len(found) > 1:
                return None, {
                    "name": "В базе несколько контрагентов с таким наименованием "
                    f"({_numbers(batch, found)}): укажите ИНН или внешний код."
                }
            if found:
                return found[0], {}
        return None, {}

    def _requisites_clash(
        self, row: ParsedRow, ext: str, client: Any, batch: _Batch
    ) -> tuple[Any, dict[str, str]]:
        """A row found by its external id: rejected when its ИНН/КПП would give the client the
        requisites of another one (the file's ИНН+КПП points to another client)."""
        key = row.requisites
        if key is None:
            return client, {}
        state = batch.state(client)
        current = _req_key(state.inn, state.kpp)
        after = _req_key(key[0], key[1] if "kpp" in row.changes else state.kpp)
        if after == current:
            return client, {}  # the row leaves the requisites as they are
        others: list[Any] = []
        for found in (batch.by_req.get(key, []), batch.by_req.get(after, [])):  # type: ignore[arg-type]
            others.extend(c for c in found if c is not client and all(c is not o for o in others))
        if not others:
            return client, {}
        holders = ", ".join(_quoted(batch, c) for c in others[:3])
        return None, {
            "external_id": f"Внешний код {ext} у {_quoted(batch, client)}, а ИНН/КПП — у "
            f"{holders}: строка не загружена."
        }

    # -- applying

    def prepare(self, batch: list[tuple[int, list[str | None]]]) -> list[ParsedRow]:
        """Parse a batch's rows and check their contacts: no database, no app, so it may run
        in a thread ahead of process_batch (see _ReadAhead)."""
        rows = [self.parse(number, cells) for number, cells in batch]
        for row in rows:
            # A row with errors is rejected before its contact is looked at.
            if row.contact is not None and not row.errors:
                row.checked_contact = check_contact(row.contact)
        return rows

    def process_batch(
        self,
        session: Session,
        batch: list[tuple[int, list[str | None]]],
        *,
        actor: User,
        parsed: list[ParsedRow] | None = None,
    ) -> list[Outcome]:
        """Apply a batch; `parsed` is prepare()'s result for it, when it was made ahead."""
        rows = parsed if parsed is not None else [self.parse(n, cells) for n, cells in batch]
        overlay = self.overlay
        if overlay is not None:
            overlay.begin()
        try:
            with session.begin_nested():
                outcomes = self._apply(session, rows, actor)
        except (SQLAlchemyError, _HalfWritten) as err:
            log.warning("client import: batch redone row by row after %r", err)
            if overlay is not None:
                overlay.undo()
            outcomes = []
            for row in rows:
                mark = overlay.mark() if overlay is not None else 0
                try:
                    with session.begin_nested():
                        outcomes.extend(self._apply(session, [row], actor))
                except _HalfWritten as failed:
                    if overlay is not None:
                        overlay.undo(mark)
                    outcomes.append(Outcome(row.number, "reject", errors=failed.errors))
                except SQLAlchemyError:
                    if overlay is not None:
                        overlay.undo(mark)
                    log.exception("client import: row %s failed", row.number)
                    outcomes.append(
                        Outcome(
                            row.number,
                            "reject",
                            errors={"row": "Строку не удалось сохранить: ошибка базы данных."},
                        )
                    )
        for outcome in outcomes:
            self.summary.add(outcome)
        return outcomes

    def _apply(self, session: Session, rows: list[ParsedRow], actor: User) -> list[Outcome]:
        batch = _Batch(session, rows, overlay=self.overlay, with_contacts=not self.dry_run)
        if self.dry_run:
            self.active_users = bulk.active_user_ids(session)
            return [self._row(session, row, batch, actor, None) for row in rows]
        writer = bulk.BatchWriter(session, actor, batch.existing())
        self._unnumbered: list[tuple[Outcome, Client]] = []
        outcomes = [self._row(session, row, batch, actor, writer) for row in rows]
        if self.before_write is not None:
            self.before_write()
        self._write(writer)
        return outcomes

    def _write(self, writer: bulk.BatchWriter) -> None:
        writer.flush()
        for outcome, client in self._unnumbered:
            outcome.client_id = client.id
        self._unnumbered = []

    def _persistent(
        self, session: Session, client: Client, batch: _Batch, writer: bulk.BatchWriter
    ) -> Client:
        """A client this batch created, written now and loaded, for a later row that updates it."""
        self._write(writer)
        loaded = session.get(Client, client.id)
        assert loaded is not None
        batch.replace(client, loaded)
        batch.reload_contacts(session, loaded.id)
        return loaded

    def _row(
        self,
        session: Session,
        row: ParsedRow,
        batch: _Batch,
        actor: User,
        writer: bulk.BatchWriter | None,
    ) -> Outcome:
        name = row.changes.get("name")
        if row.errors:
            return Outcome(row.number, "reject", name=name, errors=dict(row.errors))
        target, errors = self._target(row, batch)
        if errors:
            return Outcome(row.number, "reject", name=name, errors=errors)
        contact = None
        if row.contact is not None:
            checked = row.checked_contact
            try:
                if isinstance(checked, ValidationError):
                    raise checked
                contact = checked or validate_contact(session, row.contact)
            except ValidationError as err:
                return Outcome(row.number, "reject", name=name, errors=_contact_errors(err))
        if writer is None:
            return self._check(row, target, batch, actor)
        if target is not None and writer.is_pending(target):
            target = self._persistent(session, target, batch, writer)
        if target is None:
            data = services.ClientData.from_mapping(row.changes)
            if "kind" not in row.changes:
                data.kind = _guess_kind(data)
            action = "create"
            try:
                client = writer.create_client(
                    data,
                    external_id_owner=batch.external_id_owner,
                    with_contact=contact is not None,
                )
            except bulk.ContactDenied as err:
                return Outcome(row.number, "reject", errors=_contact_errors(err))
            except DomainError as err:
                return Outcome(row.number, "reject", name=name, errors=_errors(err))
            batch.remember(client)
        else:
            client = target
            data = services.ClientData.from_model(client).merged_with(row.changes)
            action = "update"
            try:
                # A contact that is new to the client needs the right to edit the client.
                new_contact = contact is not None and text.normalize(contact.full_name)[
                    :300
                ] not in batch.contacts.get(client.id, {})
                writer.update_client(
                    client,
                    data,
                    external_id_owner=batch.external_id_owner,
                    with_contact=new_contact,
                )
            except bulk.ContactDenied as err:
                return Outcome(row.number, "reject", errors=_contact_errors(err))
            except DomainError as err:
                return Outcome(row.number, "reject", client.id, client.name, _errors(err))
            batch.reindex(client)  # later rows find it by its new ИНН/КПП, code and name
        if contact is not None:
            try:
                self._contact(session, client, contact, batch, actor, writer)
            except DomainError as err:
                raise _HalfWritten(_contact_errors(err)) from err
        outcome = Outcome(row.number, action, client.id, client.name)
        if client.id is None:
            self._unnumbered.append((outcome, client))
        return outcome

    def _check(self, row: ParsedRow, target: Any, batch: _Batch, actor: User) -> Outcome:
        """The dry run: the services' validation and rules, nothing written; what the row would
        create or change is remembered in the overlay for the rows after it."""
        overlay = self.overlay
        assert overlay is not None
        if target is None:
            data = services.ClientData.from_mapping(row.changes)
            if "kind" not in row.changes:
                data.kind = _guess_kind(data)
            state = None
        else:
            state = batch.state(target)
            if isinstance(state, _Shadow) and state.id is None:  # the file creates it
                base = state.data()
            else:  # an existing client, as the rows before would have changed it
                base = services.ClientData.from_model(target)
                if state is not target:
                    base = state.applied_to(base)
            data = base.merged_with(row.changes)
        client_id = target.id if target is not None else None
        errors: dict[str, str] = {}
        if state is None and not has_permission(actor, Perm.CLIENTS_CREATE):
            errors["row"] = PermissionDenied.default_message
        if state is not None and not access.can_edit_client(actor, state):
            errors["row"] = bulk.EDIT_DENIED
        try:
            # No external-id clash is possible: the code was looked up first and matched.
            cleaned = services.check_client(
                replace(data, external_id=None),
                client_id,
                curator_active=self.active_users.__contains__,
                external_id_owner=lambda _code: None,
            )
            if (
                state is not None
                and cleaned.curator_id != state.curator_id
                and not access.can_change_curator(actor)
            ):
                errors["curator_id"] = bulk.CURATOR_CHANGE_DENIED
        except ValidationError as err:
            errors.update(_errors(err))
        if errors:
            return Outcome(row.number, "reject", client_id, data.name, errors)
        after = cleaned  # a new object: check_client's cleaned copy
        after.external_id = data.external_id
        if target is None:
            if not access.can_change_curator(actor):
                after.curator_id = actor.id  # as create_client does
            batch.remember(overlay.add(None, after))
            return Outcome(row.number, "create", None, data.name)
        if isinstance(state, _Shadow):
            overlay.change(state, after)
            batch.reindex(target)
        elif _Shadow.values_of(after) != _Shadow.values_of(target):
            overlay.add(target.id, after)
            batch.reindex(target)
        return Outcome(row.number, "update", client_id, data.name)

    def _contact(
        self,
        session: Session,
        client: Client,
        data: services.ContactData,
        batch: _Batch,
        actor: User,
        writer: bulk.BatchWriter,
    ) -> None:
        """Add the contact, or merge phones/e-mails into the one with the same normalized name."""
        if writer.is_pending(client):  # created by this row: it has no contacts yet
            writer.add_contact(client, data, data.phones, data.emails)
            return
        known = batch.contacts.setdefault(client.id, {})
        key = text.normalize(data.full_name)[:300]
        existing = known.get(key)
        if existing is not None and writer.is_pending(existing):  # added by an earlier row
            self._write(writer)
            batch.reload_contacts(session, client.id)
            known = batch.contacts[client.id]
            existing = known.get(key)
        if existing is None:
            known[key] = writer.add_contact(client, data, data.phones, data.emails)
            return
        phones = existing.phones + [p for p in data.phones if p not in existing.phones]
        emails = existing.emails + [e for e in data.emails if e not in existing.emails]
        position = data.position or existing.position
        if (phones, emails, position) == (existing.phones, existing.emails, existing.position):
            return
        merged = services.ContactData(
            full_name=existing.full_name,
            position=position,
            phones=phones,
            emails=emails,
            birthday=existing.birthday,
            notes=existing.notes,
            curator_id=existing.curator_id,
        )
        services.update_contact(session, existing, merged, actor=actor)


def _guess_kind(data: services.ClientData) -> str:
    inn = re.sub(r"\D", "", data.inn or "")
    if len(inn) == 12 or (data.name or "").upper().startswith("ИП "):
        return ClientKind.SOLE_TRADER.value
    return ClientKind.LEGAL.value


def _errors(err: DomainError) -> dict[str, str]:
    return dict(err.fields) if err.fields else {"row": err.message}


def _contact_errors(err: DomainError) -> dict[str, str]:
    if not err.fields:
        return {"row": err.message}
    return {f"contact.{key}": message for key, message in err.fields.items()}


# --- synchronous import (the API) ----------------------------------------------------------------


def resolve_mapping(header: list[str], overrides: dict[str, Any] | None) -> dict[int, str]:
    """The suggested mapping with `overrides` ({header or column index: field or ""}) applied,
    checked as the import page checks it: `header` is the preview's (padded_header), a column
    number beyond it is refused."""
    mapping = suggest_mapping(header)
    for raw_key, value in (overrides or {}).items():
        key = str(raw_key).strip()
        if key.isdigit():
            index = int(key)
        else:
            wanted = normalize_header(key)
            matches = [i for i, title in enumerate(header) if normalize_header(title) == wanted]
            if not matches:
                raise ValidationError(fields={"mapping": f"В файле нет столбца «{key}»."})
            index = matches[0]
        if value in (None, ""):
            mapping.pop(index, None)
        else:
            mapping[index] = str(value)
    return check_mapping(mapping, len(header))


def import_file(
    session: Session,
    path: Path,
    filename: str,
    *,
    overrides: dict[str, Any] | None = None,
    dry_run: bool = True,
    actor: User,
) -> dict[str, Any]:
    """Import (or check) a whole file in the caller's transaction; returns the report."""
    if not has_permission(actor, Perm.CLIENTS_IMPORT):
        raise PermissionDenied()
    with open_table(path, filename) as table:
        # The columns the page would show (the header and the first rows), as start_run checks.
        head = list(itertools.islice(table.rows, PREVIEW_ROWS))
        header = padded_header(table.header, [cells for _, cells in head])
        engine = _Engine(resolve_mapping(header, overrides), dry_run=dry_run)
        engine.load_curators(session)
        for batch in _batched(itertools.chain(head, table.rows), BATCH_SIZE):
            engine.process_batch(session, batch, actor=actor)
    return engine.summary.as_dict(dry_run=dry_run)


# SQLite's page cache while a batch is written, in KiB. Its default (2 MB: 500 pages) is less
# than what one batch touches in a large base's indexes (~3 000 pages: names, ИНН, phones and
# e-mails are random keys), so pages are dropped and read again from row to row. Measured with
# 100 000 rows into a base of 100 000: 76 → 68 s.
SQLITE_BATCH_CACHE_KIB = 64 * 1024


@contextmanager
def _page_cache_for_writes(session: Session, *, enabled: bool = True) -> Iterator[None]:
    """On SQLite, a larger page cache for the block, the connection's own size restored after it
    (before the commit: the pooled connection goes back as it was, and pages beyond the old size
    are freed once the commit has written them). Nothing elsewhere."""
    if not enabled or session.get_bind().dialect.name != "sqlite":
        yield
        return
    # A PRAGMA is the connection's own setting: sent to it directly, outside SQLAlchemy's
    # transaction handling (the restore below must work whatever state the session is in).
    driver = session.connection().connection.driver_connection
    assert driver is not None
    previous = int(driver.execute("PRAGMA cache_size").fetchone()[0])
    driver.execute(f"PRAGMA cache_size = -{SQLITE_BATCH_CACHE_KIB}")
    try:
        yield
    finally:
        try:
            driver.execute(f"PRAGMA cache_size = {previous}")
        except sqlite3.Error:  # a broken connection is discarded by the pool anyway
            log.warning("client import: could not restore SQLite's cache_size", exc_info=True)


class _ReadAhead:
    """(batch, engine.prepare(batch)) for every batch, the next one read and prepared in a
    thread while the current one is written.

    Reading, parsing and checking phones and e-mails (phonenumbers, email-validator) is a third
    of an import's CPU and needs no database; writing a batch spends much of its time waiting
    for the database (PostgreSQL's COPY, SQLite's commit) with the GIL released. The next batch
    is started (start_next) when the current one reaches such a wait, so the thread works in it
    instead of taking the GIL from the writer's Python work. One batch ahead at most, so memory
    stays one batch more; an error of the reader (a corrupt sheet) reaches the caller when it
    asks for that batch, as it would have without the thread.
    """

    def __init__(self, engine: _Engine, batches: Iterator[list[tuple[int, list[str | None]]]]):
        self.engine = engine
        self.batches = batches
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="client-import-read")
        self.future: Future[Any] | None = None

    def start_next(self) -> None:
        if self.future is None:
            self.future = self.executor.submit(self._read)

    def _read(self) -> tuple[list[tuple[int, list[str | None]]], list[ParsedRow]] | None:
        batch = next(self.batches, None)
        return None if batch is None else (batch, self.engine.prepare(batch))

    def __iter__(self) -> Iterator[tuple[list[tuple[int, list[str | None]]], list[ParsedRow]]]:
        while True:
            self.start_next()
            assert self.future is not None
            item = self.future.result()
            self.future = None
            if item is None:
                return
            yield item

    def close(self) -> None:
        # Waits for a batch being read: the file must not be closed under the thread.
        self.executor.shutdown(wait=True, cancel_futures=True)


# --- import jobs (the pages) ---------------------------------------------------------------------


def can_access_job(user: User, job: ImportJob) -> bool:
    """An import job is seen by its creator and by administrators."""
    if not has_permission(user, Perm.CLIENTS_IMPORT):
        return False
    return job.created_by_id == user.id or user.role == Role.ADMIN.value


def get_job(session: Session, job_id: int) -> ImportJob:
    job = session.get(ImportJob, job_id)
    if job is None:
        raise NotFound("Импорт не найден.")
    return job


def recent_jobs(session: Session, *, actor: User, limit: int = 20) -> list[ImportJob]:
    query = select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)
    if actor.role != Role.ADMIN.value:
        query = query.where(ImportJob.created_by_id == actor.id)
    return list(session.scalars(query))


def job_path(job: ImportJob, storage: Path) -> Path:
    return storage / job.stored_path


def job_columns(job: ImportJob) -> dict[int, str]:
    columns = (job.mapping or {}).get("columns") or {}
    return {int(k): v for k, v in columns.items() if v}


def is_in_progress(job: ImportJob) -> bool:
    return job.status in ("dry_run", "running") and job.finished_at is None


def is_stalled(job: ImportJob) -> bool:
    """In progress, but no batch done for STALL_AFTER: its worker died (e.g. a server restart)."""
    if not is_in_progress(job):
        return False
    beat = (job.mapping or {}).get("heartbeat")
    try:
        last = dt.datetime.fromisoformat(beat) if beat else job.created_at
    except ValueError:
        last = job.created_at
    return utcnow() - last > STALL_AFTER


def _beat(job: ImportJob) -> None:
    job.mapping = {**(job.mapping or {}), "heartbeat": utcnow().isoformat()}


def create_job(
    session: Session,
    upload: IO[bytes],
    filename: str,
    *,
    storage: Path,
    note: str | None = None,
    actor: User,
) -> ImportJob:
    """Store an uploaded file under a random name and open an import job for it.

    A file that cannot be read is refused (ValidationError) and nothing is kept.
    """
    if not has_permission(actor, Perm.CLIENTS_IMPORT):
        raise PermissionDenied()
    display = (Path((filename or "").replace("\\", "/")).name or "файл").strip()[:255]
    suffix = Path(display).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        if suffix == ".xls":
            raise _bad_file(
                "Формат XLS (Excel 97–2003) не поддерживается: сохраните файл как «Книга Excel "
                "(*.xlsx)» или CSV."
            )
        raise _bad_file("Поддерживаются файлы CSV и XLSX.")
    folder = storage / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    stored = folder / f"{secrets.token_hex(16)}{suffix}"
    try:
        with stored.open("wb") as out:
            shutil.copyfileobj(upload, out, 1 << 20)
        found = preview(stored, display)
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    job = ImportJob(
        created_by_id=actor.id,
        filename=display,
        stored_path=str(stored.relative_to(storage)),
        status="uploaded",
        mapping={
            "columns": {str(i): key for i, key in found.suggested.items()},
            "note": (note or "").strip()[:500] or None,
            "preview": {
                "header": [h[:200] for h in found.header],
                "rows": [[c[:200] for c in row] for row in found.rows],
                "total": found.total,
                "source": found.source,
            },
        },
        total_rows=found.total or 0,
    )
    session.add(job)
    session.flush()
    return job


def start_run(
    session: Session,
    job: ImportJob,
    mapping: dict[int, str],
    *,
    width: int,
    dry_run: bool,
    actor: User,
) -> None:
    """Save the mapping and mark the job for a dry run or the import; `launch` then runs it."""
    if not has_permission(actor, Perm.CLIENTS_IMPORT) or not can_access_job(actor, job):
        raise PermissionDenied()
    if is_in_progress(job) and not is_stalled(job):
        raise Conflict("Файл уже обрабатывается: дождитесь окончания.")
    if job.status == "done":
        raise Conflict("Этот файл уже импортирован. Чтобы повторить импорт, загрузите файл снова.")
    clean = check_mapping(mapping, width)
    job.mapping = {**(job.mapping or {}), "columns": {str(i): k for i, k in clean.items()}}
    job.status = "dry_run" if dry_run else "running"
    job.processed_rows = job.created_count = job.updated_count = job.rejected_count = 0
    job.report = []
    job.error = None
    job.finished_at = None
    _beat(job)
    session.flush()


def launch(app: Flask, job_id: int, actor_id: int) -> None:
    """Run a marked job in a background thread.

    IMPORT_INLINE runs it at once instead, in the caller's thread: only for tests, whose sessions
    all share one connection (with separate connections the request's own write lock would block
    the run).
    """
    if app.config.get("IMPORT_INLINE"):
        run_job(app, job_id, actor_id)
        return
    thread = threading.Thread(
        target=run_job, args=(app, job_id, actor_id), name=f"client-import-{job_id}", daemon=True
    )
    thread.start()


def _store(job: ImportJob, summary: Summary, *, with_report: bool) -> None:
    job.processed_rows = summary.total
    job.created_count = summary.created
    job.updated_count = summary.updated
    job.rejected_count = summary.rejected
    if with_report:
        job.report = list(summary.rows)


def run_job(app: Flask, job_id: int, actor_id: int) -> None:
    """The background runner: its own app context, one job session (transaction) per batch."""
    with app.app_context():
        _JobRun(job_id, actor_id).run()


class _JobRun:
    def __init__(self, job_id: int, actor_id: int):
        self.job_id = job_id
        self.actor_id = actor_id
        self.engine: _Engine | None = None
        self.committed_rows = 0  # data rows whose batches are committed
        self.committed_upto = 0  # the file row number of the last of them
        self.stored_report_rows = -1  # len(job.report) as last committed by _batch
        self.ahead: _ReadAhead | None = None

    def run(self) -> None:
        try:
            self._run()
        except Exception as err:  # noqa: BLE001  (whatever happens, the job must say it failed)
            if not isinstance(err, DomainError):
                log.exception("client import job %s failed", self.job_id)
            self._fail(err)

    def _run(self) -> None:
        storage = Path(current_app.config["STORAGE_PATH"])
        with db.job_session() as session:
            take_write_lock(session)
            query = select(ImportJob).where(ImportJob.id == self.job_id).with_for_update()
            job = session.scalar(query)
            if job is None or not is_in_progress(job):
                return  # the request that marked it was rolled back, or it already ran
            dry_run = job.status == "dry_run"
            path, filename, columns = job_path(job, storage), job.filename, job_columns(job)
        self.engine = engine = _Engine(columns, dry_run=dry_run)
        with open_table(path, filename) as table:
            total = table.total
            if total is None and table.kind == "csv":  # a quick pass; an XLSX's stays unknown
                with open_table(path, filename) as counting:
                    total = sum(1 for _ in counting.rows)
            with db.job_session() as session:
                engine.load_curators(session)
                get_job(session, self.job_id).total_rows = total or 0
            ahead = _ReadAhead(engine, _batched(table.rows, BATCH_SIZE))
            # The next batch is started where this one waits for the database longest: on
            # PostgreSQL in its writes (the server checks and indexes COPY's rows), on SQLite in
            # its commit (the pages go to the WAL, then the checkpoint). Started anywhere else,
            # the thread takes the GIL from the writer's Python work instead (measured with
            # 100 000 rows, the other place: 79 instead of 71 s on PostgreSQL, 84 instead of
            # 69 s on SQLite).
            if db.engine.dialect.name == "sqlite":
                self.ahead = ahead
            else:
                engine.before_write = ahead.start_next
            try:
                for number, (batch, parsed) in enumerate(ahead, start=1):
                    self._batch(engine, batch, parsed, report=number % 10 == 0)
            finally:
                engine.before_write = None
                self.ahead = None
                ahead.close()
        with db.job_session() as session:
            job = get_job(session, self.job_id)
            _store(job, engine.summary, with_report=True)
            job.total_rows = engine.summary.total
            job.finished_at = utcnow()
            job.status = "dry_run" if dry_run else "done"

    def _batch(
        self, engine: _Engine, batch: list[Any], parsed: list[ParsedRow], *, report: bool
    ) -> None:
        """One transaction: the rows of the batch and the job's progress."""
        with db.job_session() as session:
            if not engine.dry_run:
                take_write_lock(session)
            actor = session.get(User, self.actor_id)
            if actor is None or not has_permission(actor, Perm.CLIENTS_IMPORT):
                raise PermissionDenied("У пользователя, запустившего импорт, больше нет прав.")
            set_actor(session, actor)
            with _page_cache_for_writes(session, enabled=not engine.dry_run):
                engine.process_batch(session, batch, actor=actor, parsed=parsed)
            if engine.dry_run:
                session.rollback()  # nothing of the rows is kept, whatever happened
                take_write_lock(session)
            # The report is rewritten while it is small; a long one every tenth batch. Rows are
            # only ever appended to it: as long as none were, the stored one is the same list
            # (after the first thousand rows of a clean file, every batch), so it is not loaded
            # and written again.
            rows = len(engine.summary.rows)
            small = rows <= 5 * REPORT_DETAIL_ROWS
            with_report = (small or report) and rows != self.stored_report_rows
            job = session.get(ImportJob, self.job_id, options=[defer(ImportJob.report)])
            if job is None:
                raise NotFound("Импорт не найден.")
            _store(job, engine.summary, with_report=with_report)
            _beat(job)
            if self.ahead is not None:
                self.ahead.start_next()  # the next batch is read while this one commits
        self.committed_rows = engine.summary.total
        self.committed_upto = batch[-1][0]
        if with_report:
            self.stored_report_rows = rows

    def _fail(self, err: Exception) -> None:
        engine = self.engine
        if isinstance(err, DomainError):
            message = err.message
        else:
            message = "Импорт прерван из-за внутренней ошибки."
        if engine is not None and not engine.dry_run and self.committed_rows:
            message += (
                f" Обработано и сохранено строк: {self.committed_rows}. Повторный запуск не "
                "создаст дублей: уже загруженные контрагенты будут обновлены."
            )
        try:
            with db.job_session() as session:
                job = get_job(session, self.job_id)
                if engine is not None:  # the counts are those of the last committed batch
                    job.report = [r for r in engine.summary.rows if r["row"] <= self.committed_upto]
                job.status = "failed"
                job.error = message
                job.finished_at = utcnow()
        except Exception:  # noqa: BLE001  (nothing more can be done; the log has it)
            log.exception("client import job %s: could not record the failure", self.job_id)
