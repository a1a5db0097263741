"""How the client base's audit rows read: its field names and values, merges and reassignments.

Registered with the generic audit renderer (`erp_crm/audit/vocabulary.py`) on import of the
package; the audit part knows nothing of clients.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from erp_crm.audit import vocabulary
from erp_crm.audit.presentation import (
    Line,
    field_label,
    model_for,
    record_name,
    user_name,
    value_text,
)
from erp_crm.core.text import quoted


def _client_ref(client_id: Any, name: str | None = None) -> str:
    """«ООО «Ромашка»» (№ 3), the name as stored in the row or looked up."""
    if not isinstance(client_id, int):
        return quoted(name) if name else "другая запись"
    name = name or record_name("clients", client_id)
    return f"{quoted(name)} (№ {client_id})" if name else f"№ {client_id}"


def _client_text(name: str | None, client_id: int) -> str:
    return f"{name} (№ {client_id})" if name else f"№ {client_id}"


def _counts(parts: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{label} {count}" for label, count in parts if count)


def _moved(by_table: Any) -> list[tuple[str, int]]:
    """{"deals.client_id": [ids] or a count, …} → [("сделок", 2), …], the known tables first."""
    if not isinstance(by_table, dict):
        return []
    totals: dict[str, int] = {}
    for name, rows in by_table.items():
        table = str(name).split(".", 1)[0]
        count = len(rows) if isinstance(rows, list) else rows if isinstance(rows, int) else 0
        totals[table] = totals.get(table, 0) + count
    known = vocabulary.moved_tables()
    ordered = [t for t in known if t in totals] + sorted(t for t in totals if t not in known)
    result = []
    for table in ordered:
        label = vocabulary.moved_label(table)
        if label is None:
            title = getattr(model_for(table), "__audit_title__", "") or table
            label = f"записей «{title}»"
        result.append((label, totals[table]))
    return result


def _length(value: Any) -> int:
    return len(value) if isinstance(value, list | dict) else 0


def _filled(filled: Any, cls: type | None, *, values: bool = True) -> str:
    if not isinstance(filled, dict) or not filled:
        return ""
    if not values:
        return ", ".join(field_label(k, cls) for k in filled)
    return "; ".join(f"{field_label(k, cls)} — {value_text(k, v, cls)}" for k, v in filled.items())


def _merge_lines(
    action: str, details: dict[str, Any], cls: type | None, entity_id: int | None
) -> list[Line]:
    """A merge or its undo, summarized: with which record, what moved, which fields were filled."""
    cls = cls or model_for("clients")
    survivor = _client_ref(details.get("survivor_id"), details.get("survivor_name"))
    duplicate = _client_ref(details.get("duplicate_id"), details.get("duplicate_name"))
    lines = []
    if action == "unmerged":
        if entity_id is not None and entity_id == details.get("duplicate_id"):
            lines.append(Line(None, f"Отменено объединение с {survivor}"))
        else:
            lines.append(Line(None, f"Отделена запись {duplicate}"))
        returned = _counts(
            [
                ("контактов", _length(details.get("contact_ids"))),
                ("групп", _length(details.get("group_ids"))),
                ("участий в выставках конкурентов", _length(details.get("participation_ids"))),
                ("ранее объединённых записей", _length(details.get("repointed_ids"))),
                *_moved(details.get("moved_back_from_hooks")),
            ]
        )
        if returned:
            lines.append(Line(None, f"Возвращено: {returned}"))
        kept = _filled(details.get("filled_kept"), cls, values=False)
        if kept:
            lines.append(Line(None, f"Заполненные при объединении поля остались: {kept}"))
        return lines

    if action == "merged":
        lines.append(Line(None, f"Присоединена запись {duplicate}"))
    else:
        lines.append(Line(None, f"Объединена с {survivor}"))
    moved = _counts(
        [
            ("контактов", _length(details.get("contact_ids"))),
            ("групп", _length(details.get("group_ids"))),
            ("участий в выставках конкурентов", _length(details.get("participation_ids"))),
            ("ранее объединённых записей", _length(details.get("repointed_ids"))),
            *_moved(details.get("moved_by_hooks")),
        ]
    )
    lines.append(Line(None, f"Перенесено: {moved}" if moved else "Переносить было нечего"))
    left = _counts(
        [
            ("участий в выставках конкурентов", _length(details.get("participation_ids_kept"))),
            *_moved(details.get("left_on_duplicate")),
        ]
    )
    if left:
        lines.append(Line(None, f"Осталось на объединённой записи: {left}"))
    filled = _filled(details.get("filled"), cls)
    if filled:
        where = "Заполнено из объединённой записи" if action == "merged" else "Заполнено у основной"
        lines.append(Line(None, f"{where}: {filled}"))
    return lines


def _reassign_lines(
    _action: str, details: dict[str, Any], _cls: type | None, _entity_id: int | None
) -> list[Line]:
    """«Клиенты переданы: 86 (Иванов — 43, Петров — 43), открытых сделок 26, контактов 4»."""
    to = details.get("to") if isinstance(details.get("to"), dict) else {}
    heirs = ", ".join(
        f"{user_name(int(uid)) if str(uid).isdigit() else uid} — {n}" for uid, n in to.items()
    )
    text = f"Клиенты переданы: {details.get('clients', 0)}" + (f" ({heirs})" if heirs else "")
    # What the later areas moved along, labelled by them in Russian: {"открытых сделок": 26}.
    along = [
        (str(k), v)
        for k, v in details.items()
        if k not in {"clients", "contacts", "to"} and isinstance(v, int)
    ]
    extra = _counts([*along, ("контактов", details.get("contacts") or 0)])
    return [Line(None, f"{text}, {extra}" if extra else text)]


vocabulary.register(
    actions={
        "merged": "объединение с дублем",
        "merged_into": "объединена в другую запись",
        "unmerged": "объединение отменено",
        "competitor_added": "отмечено участие в выставке конкурента",
        "competitor_removed": "снято участие в выставке конкурента",
        "members_added": "добавлены участники группы",
        "members_removed": "убраны участники группы",
        "clients_exported": "выгрузка списка контрагентов",
        "clients_reassigned": "клиенты переданы другим кураторам",
    },
    fields={
        "full_name": "Полное наименование / ФИО",
        "region": "Регион",
        "city": "Город",
        "industry": "Отрасль",
        "website": "Сайт",
        "source": "Источник",
        "readiness": "Готовность",
        "relationship_type": "Тип отношений",
        "curator_id": "Куратор",
        "owner_id": "Владелец",
        "mailing_consent": "Согласие на рассылку",
        "notes": "Заметки",
        "external_id": "Внешний код",
        "merged_into_id": "Объединена с",
        "merged_at": "Дата объединения",
        "phones": "Телефоны",
        "emails": "E-mail",
        "birthday": "День рождения",
        "client_id": "Контрагент",
        "contact_id": "Контактное лицо",
        "category": "Категория",
        "organizer": "Организатор",
        "client_ids": "Контрагенты",
        # clients_exported: the format, the row count and the list's filter
        "format": "Формат",
        "rows": "Строк",
        "filter": "Отбор",
        "q": "Поиск",
        "group_id": "Группа",
        "competitor_id": "Участник выставки конкурента",
        "project_outcome": "Участие в проекте",
        "include_merged": "С объединёнными записями",
        "sort": "Сортировка",
        "direction": "Порядок",
    },
    values={
        "format": {"xlsx": "Excel (XLSX)", "csv": "CSV"},
        "direction": {"asc": "по возрастанию", "desc": "по убыванию"},
        "sort": {
            "name": "по наименованию",
            "created": "по дате создания",
            "readiness": "по готовности",
            "city": "по городу",
            "inn": "по ИНН",
        },
        "project_outcome": {"won": "участник", "open": "в работе", "lost": "отказ"},
        "mailing_consent": {"yes": "есть", "no": "нет"},  # the client list's filter
    },
    users=("curator_id", "owner_id"),
    references={
        "client_id": "clients",
        "client_ids": "clients",
        "merged_into_id": "clients",
        "survivor_id": "clients",
        "duplicate_id": "clients",
        "group_id": "client_groups",
        "competitor_id": "competitor_exhibitions",
    },
    phones=("phones",),
    nested={"filter": "clients"},  # an export's filter holds the client list's fields
    record_texts={"clients": _client_text},
    summaries={
        "merged": _merge_lines,
        "merged_into": _merge_lines,
        "unmerged": _merge_lines,
        "clients_reassigned": _reassign_lines,
    },
)
