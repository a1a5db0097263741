"""Opening an uploaded file: which kind it is, CSV streamed with its encoding and delimiter
sniffed, XLSX by xlsx.py; the preview of its first rows.

CSV: the encoding (UTF-8 with or without BOM, UTF-16 with BOM, Windows-1251) and the delimiter
(';', ',' or tab) are sniffed, as Russian Excel saves them. A file that cannot be read raises a
ValidationError with a Russian message (field "file"), never anything else.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from erp_crm.clients.importing.mapping import suggest_mapping
from erp_crm.clients.importing.table import Table, bad_file, data_rows, find_header, trimmed
from erp_crm.clients.importing.xlsx import open_xlsx

PREVIEW_ROWS = 10
ALLOWED_SUFFIXES = {".csv", ".txt", ".tsv", ".xlsx", ".xlsm"}
_SNIFF_BYTES = 64 * 1024

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
        raise bad_file("Файл не похож на таблицу CSV: в нём двоичные данные. " + _ENCODING_HELP)
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


def check_suffix(suffix: str) -> None:
    """Refuse a file whose name does not end as a CSV or an XLSX does (".xls" said by name)."""
    if suffix not in ALLOWED_SUFFIXES:
        if suffix == ".xls":
            raise bad_file(
                "Формат XLS (Excel 97–2003) не поддерживается: сохраните файл как «Книга Excel "
                "(*.xlsx)» или CSV."
            )
        raise bad_file("Поддерживаются файлы CSV и XLSX.")


@contextmanager
def open_table(path: Path, filename: str) -> Iterator[Table]:
    """Open an uploaded CSV or XLSX file; raise ValidationError (field "file") if unreadable."""
    suffix = Path(filename).suffix.lower()
    if suffix:
        check_suffix(suffix)
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF_BYTES)
    except OSError as err:
        raise bad_file("Загруженный файл не найден: загрузите его снова.") from err
    if not head.strip(b" \t\r\n\x00" + codecs.BOM_UTF8):
        raise bad_file("Файл пуст.")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise bad_file(
            "Это файл старого формата Excel (XLS) или книга, защищённая паролем: снимите пароль "
            "и сохраните файл как «Книга Excel (*.xlsx)» или CSV."
        )
    if head.startswith(b"PK\x03\x04"):
        with open_xlsx(path) as table:
            yield table
        return
    if suffix in (".xlsx", ".xlsm"):
        raise bad_file(
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
        raise bad_file("Не удалось прочитать файл: неизвестная кодировка. " + _ENCODING_HELP)
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
                        yield number, trimmed(row)
            except (csv.Error, UnicodeDecodeError) as err:
                raise bad_file(
                    f"Не удалось прочитать файл после строки {number}: нарушен формат CSV или "
                    "кодировка. " + _ENCODING_HELP
                ) from err

        rows = numbered()
        header, header_row, buffered = find_header(rows)
        label = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "utf-16": "UTF-16"}.get(
            encoding, "Windows-1251"
        )
        sign = {";": "«;»", ",": "«,»", "\t": "табуляция"}[delimiter]
        yield Table(
            header=header,
            header_row=header_row,
            rows=data_rows(buffered, rows),
            total=None,
            source=f"CSV, кодировка {label}, разделитель {sign}",
        )


def batched(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
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
