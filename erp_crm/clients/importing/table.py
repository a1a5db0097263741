"""What every reader of an uploaded file shares: the Table it hands out, cell values as text,
the header row found among the first rows, and the Russian error of an unreadable file."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from erp_crm.clients.importing.mapping import suggest_field
from erp_crm.errors import ValidationError

HEADER_SEARCH_ROWS = 20  # a title above the header row is skipped


def bad_file(message: str) -> ValidationError:
    return ValidationError(message, fields={"file": message})


def cell_text(value: Any) -> str | None:
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


def trimmed(cells: Iterable[Any]) -> list[str | None]:
    values = [cell_text(v) for v in cells]
    while values and values[-1] is None:
        values.pop()
    return values


def find_header(
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
        raise bad_file("Файл пуст: в нём нет ни одной заполненной строки.")
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
        raise bad_file(
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


def data_rows(
    buffered: list[tuple[int, list[str | None]]], rest: Iterator[tuple[int, list[str | None]]]
) -> Iterator[tuple[int, list[str | None]]]:
    for number, cells in buffered:
        if any(cells):
            yield number, cells
    for number, cells in rest:
        if any(cells):
            yield number, cells
