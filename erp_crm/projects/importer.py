"""Import of stands from a CSV or XLSX table: зал, номер, площадь, тип, расположение, x, y,
ширина, глубина (Russian or English headers and values).

A row finds its stand by (hall, number): a new one is created, an existing one updated by the
same rules as the stand form (a reserved or sold stand keeps its area, type and position). Each
row is applied in a SAVEPOINT, so a refused row changes nothing; a dry run applies every row the
same way and rolls everything back, so its report is exactly what a real import would do.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.errors import DomainError, ValidationError
from erp_crm.projects import stand_services as ss
from erp_crm.projects.models import Hall, Project, Stand
from erp_crm.projects.services import require_manage

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 5000

COLUMNS = {
    "hall": "зал",
    "number": "номер",
    "area_m2": "площадь",
    "stand_type": "тип",
    "position": "расположение",
    "x_m": "x",
    "y_m": "y",
    "width_m": "ширина",
    "depth_m": "глубина",
}
REQUIRED = ("hall", "number", "x_m", "y_m", "width_m", "depth_m")
_HEADERS = {
    "hall": {"зал", "hall", "павильон", "pavilion"},
    "number": {"номер", "номер стенда", "№", "№ стенда", "стенд", "number", "stand", "stand no"},
    "area_m2": {"площадь", "area", "s"},
    "stand_type": {"тип", "тип стенда", "type", "stand type"},
    "position": {"расположение", "позиция", "тип расположения", "position", "location"},
    "x_m": {"x"},
    "y_m": {"y"},
    "width_m": {"ширина", "width", "w"},
    "depth_m": {"глубина", "depth", "d"},
}
_UNITS = re.compile(r"[,(]?\s*(м2|м²|кв\.?\s*м|m2|m²|sq\.?\s*m|м|m)\s*\)?$")


def normalize_header(value: Any) -> str:
    text = str(value or "").casefold().replace("ё", "е").strip()
    text = _UNITS.sub("", text).strip(" ,.:;")
    return re.sub(r"\s+", " ", text)


def _header_map(header: list[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = normalize_header(cell)
        for key, names in _HEADERS.items():
            if name in names and key not in found:
                found[key] = index
    return found


class BadFile(ValidationError):
    def __init__(self, message: str):
        super().__init__(message, fields={"file": message})


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise BadFile("Не удалось прочитать файл: сохраните таблицу в UTF-8 или Windows-1251.")


def _csv_rows(content: bytes) -> list[list[Any]]:
    text = _decode(content)
    sample = text[:4096]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=";,\t").delimiter
    except csv.Error:
        delimiter = ";"
    try:
        return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
    except csv.Error as err:
        raise BadFile(f"Файл CSV повреждён: {err}.") from err


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as err:  # noqa: BLE001  (zip, XML and openpyxl errors alike: a broken file)
        raise BadFile("Не удалось открыть книгу Excel: файл повреждён или не XLSX.") from err
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append(list(row))
            if len(rows) > MAX_ROWS + 20:
                break
        return rows
    finally:
        workbook.close()


def read_table(filename: str, content: bytes) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    """(header, [(line number, cells)]): the first non-empty row is the header."""
    if not content:
        raise BadFile("Файл пуст.")
    if len(content) > MAX_BYTES:
        raise BadFile("Файл больше 5 МБ: разделите его на части.")
    if filename.lower().endswith(".xlsx") or content[:2] == b"PK":
        rows = _xlsx_rows(content)
    elif filename.lower().endswith((".csv", ".txt")):
        rows = _csv_rows(content)
    else:
        raise BadFile("Загрузите таблицу CSV или XLSX.")
    numbered = [
        (n, row)
        for n, row in enumerate(rows, start=1)
        if any(c not in (None, "") and str(c).strip() for c in row)
    ]
    if not numbered:
        raise BadFile("В файле нет строк.")
    (_, header), data = numbered[0], numbered[1:]
    if len(data) > MAX_ROWS:
        raise BadFile(f"В файле больше {MAX_ROWS} строк: разделите его на части.")
    return header, data


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    text = str(value).strip()
    return text or None


def _label(value: Any) -> str | None:
    """A hall name or stand number; «12» read from Excel as the number 12.0 stays «12»."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value)
    return str(value)


@dataclass
class RowResult:
    line: int
    hall: str | None
    number: str | None
    outcome: str  # created, updated, unchanged, rejected
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return "; ".join(
            f"{COLUMNS.get(key, key)}: {text}" if key in COLUMNS else text
            for key, text in self.errors.items()
        )


@dataclass
class ImportReport:
    dry_run: bool
    rows: list[RowResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r.outcome == outcome)

    @property
    def rejected(self) -> list[RowResult]:
        return [r for r in self.rows if r.outcome == "rejected"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "created": self.count("created"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "rejected": [
                {"line": r.line, "hall": r.hall, "number": r.number, "errors": r.errors}
                for r in self.rejected
            ],
        }


def _errors(err: DomainError) -> dict[str, str]:
    errors = dict(err.fields)
    if "hall_id" in errors:
        errors["hall"] = errors.pop("hall_id")
    return errors or {"row": err.message}


def import_stands(
    session: Session,
    project: Project,
    filename: str,
    content: bytes,
    *,
    actor: User,
    dry_run: bool = False,
) -> ImportReport:
    require_manage(actor)
    header, rows = read_table(filename, content)
    columns = _header_map(header)
    missing = [COLUMNS[key] for key in REQUIRED if key not in columns]
    if missing:
        raise BadFile(
            "Нет столбцов: " + ", ".join(f"«{m}»" for m in missing) + ". Первая строка — "
            "заголовки: зал, номер, площадь, тип, расположение, x, y, ширина, глубина."
        )
    halls = {
        normalize_header(h.name): h
        for h in session.scalars(select(Hall).where(Hall.project_id == project.id))
    }
    footprints: dict[int, list[ss.Footprint]] = {}
    report = ImportReport(dry_run=dry_run)
    outer = session.begin_nested() if dry_run else None
    try:
        for line, cells in rows:
            values = {
                key: _cell(cells[index]) if index < len(cells) else None
                for key, index in columns.items()
            }
            report.rows.append(
                _import_row(session, project, halls, footprints, line, values, actor)
            )
    finally:
        if outer is not None:
            outer.rollback()
    return report


def _import_row(
    session: Session,
    project: Project,
    halls: dict[str, Hall],
    footprints: dict[int, list[ss.Footprint]],
    line: int,
    values: dict[str, Any],
    actor: User,
) -> RowResult:
    hall_name = _label(values.get("hall"))
    number = _label(values.get("number"))
    result = RowResult(line=line, hall=hall_name, number=number, outcome="rejected")
    hall = halls.get(normalize_header(hall_name)) if hall_name else None
    if hall is None:
        result.errors["hall"] = (
            f"Зал «{hall_name}» не найден в проекте: сначала заведите зал."
            if hall_name
            else "Укажите зал."
        )
        return result
    data = ss.StandData(
        hall_id=hall.id,
        number=number,
        area_m2=values.get("area_m2"),
        stand_type=values.get("stand_type"),
        position=values.get("position"),
        x_m=values.get("x_m"),
        y_m=values.get("y_m"),
        width_m=values.get("width_m"),
        depth_m=values.get("depth_m"),
    )
    if hall.id not in footprints:
        footprints[hall.id] = ss.hall_footprints(session, hall.id)
    existing = (
        session.scalar(select(Stand).where(Stand.hall_id == hall.id, Stand.number == number))
        if number
        else None
    )
    savepoint = session.begin_nested()
    try:
        if existing is None:
            stand = ss.create_stand(
                session, project, data, actor=actor, footprints=footprints[hall.id]
            )
            result.outcome = "created"
        else:
            before = ss.StandData.from_model(existing).__dict__.copy()
            for key in ("area_m2", "stand_type", "position"):  # an empty cell keeps the value
                if getattr(data, key) is None:
                    setattr(data, key, getattr(existing, key))
            stand = ss.update_stand(
                session, existing, data, actor=actor, footprints=footprints[hall.id]
            )
            after = ss.StandData.from_model(stand).__dict__
            result.outcome = "updated" if before != after else "unchanged"
        savepoint.commit()
    except DomainError as err:
        savepoint.rollback()
        result.errors = _errors(err)
        return result
    footprints[hall.id] = [f for f in footprints[hall.id] if f.stand_id != stand.id] + [
        ss.Footprint(stand.id, stand.number, stand.x_m, stand.y_m, stand.width_m, stand.depth_m)
    ]
    return result
