"""Reading the first worksheet of an XLSX: python-calamine (parsed in Rust, held compactly in
memory), or openpyxl in read-only mode for a book calamine cannot read the same way; an archive
that would unpack into far more than a client list needs is refused first."""

from __future__ import annotations

import logging
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from erp_crm.clients.importing.table import (
    Table,
    bad_file,
    cell_text,
    data_rows,
    find_header,
    trimmed,
)

log = logging.getLogger(__name__)

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
        raise bad_file(_XLSX_BROKEN) from err
    unpacked = sum(e.file_size for e in entries)
    too_dense = any(
        e.compress_size and e.file_size / e.compress_size > XLSX_MAX_RATIO and e.file_size > 10**7
        for e in entries
    )
    if len(entries) > XLSX_MAX_ENTRIES or unpacked > XLSX_MAX_UNPACKED or too_dense:
        raise bad_file(
            "Файл Excel после распаковки слишком велик или устроен подозрительно. Сохраните "
            "список клиентов в новую книгу или в CSV."
        )


@contextmanager
def open_xlsx(path: Path) -> Iterator[Table]:
    """The first worksheet, read by python-calamine when it can, else by openpyxl.

    calamine (Rust) reads a 100 000-row book ~10 times faster than openpyxl's read-only mode and
    gives the same values: cached results of formulas, dates for date formats, numbers as floats
    (an integral float is written as an integer by cell_text, as openpyxl's ints are). A book
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
    header, header_row, buffered = find_header(rows)
    yield Table(
        header=header,
        header_row=header_row,
        rows=data_rows(buffered, rows),
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
        # calamine gives "" for an empty cell: cell_text's None. Text is most cells: inline.
        values = [
            (value.strip() or None) if type(value) is str else cell_text(value) for value in cells
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
        raise bad_file(_XLSX_BROKEN) from err
    try:
        sheet = workbook.worksheets[0] if workbook.worksheets else None
        if sheet is None:
            raise bad_file("В книге Excel нет ни одного листа с данными.")
        max_row = sheet.max_row
        sheet.reset_dimensions()  # a wrong <dimension> would cut rows or columns off

        def numbered() -> Iterator[tuple[int, list[str | None]]]:
            number = 0
            try:
                for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):  # noqa: B007
                    yield number, trimmed(row)
            except Exception as err:  # noqa: BLE001  (zip and XML errors of a corrupt sheet)
                raise bad_file(
                    f"Книга Excel повреждена: чтение прервано после строки {number}."
                ) from err

        rows = numbered()
        header, header_row, buffered = find_header(rows)
        total = max(0, max_row - header_row) if isinstance(max_row, int) else None
        yield Table(
            header=header,
            header_row=header_row,
            rows=data_rows(buffered, rows),
            total=total,
            source=f"Книга Excel, лист «{sheet.title}»",
            kind="xlsx",
        )
    finally:
        workbook.close()
