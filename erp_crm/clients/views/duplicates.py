"""The duplicates page and merging two clients (pages)."""

from __future__ import annotations

import math

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from erp_crm.audit.vocabulary import moved_label
from erp_crm.auth.access import require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.clients import dedupe, services
from erp_crm.clients.models import CLIENT_KIND_LABELS, READINESS_LABELS, Client
from erp_crm.core.pagination import Page, parse_page
from erp_crm.core.text import display_phone
from erp_crm.db import db
from erp_crm.errors import Conflict, NotFound, ValidationError

bp = Blueprint("client_duplicates", __name__, url_prefix="/clients")

# The rows of the side-by-side comparison: (field, label).
COMPARED = [
    ("kind", "Вид"),
    ("full_name", "Полное наименование"),
    ("inn", "ИНН"),
    ("kpp", "КПП"),
    ("ogrn", "ОГРН / ОГРНИП"),
    ("legal_address", "Юридический адрес"),
    ("postal_address", "Почтовый адрес"),
    ("region", "Регион"),
    ("city", "Город"),
    ("industry", "Отрасль"),
    ("website", "Сайт"),
    ("source", "Источник"),
    ("curator_id", "Куратор"),
    ("readiness", "Готовность"),
    ("notes", "Заметки"),
    ("external_id", "Внешний код"),
]


def _int(value: str | None, default: int | None = None) -> int | None:
    try:
        return int(value) if value not in (None, "") else default
    except (TypeError, ValueError):
        return default


def _min_score() -> int:
    score = _int(request.args.get("min_score"), dedupe.DEFAULT_MIN_SCORE)
    return max(0, min(100, score if score is not None else dedupe.DEFAULT_MIN_SCORE))


@bp.route("/duplicates")
@require_permission(Perm.CLIENTS_MERGE)
def index() -> str:
    number = parse_page(request.args.get("page"))
    per_page = current_app.config["ITEMS_PER_PAGE"]
    min_score = _min_score()
    result = dedupe.candidate_pairs(
        db.session, limit=per_page, offset=(number - 1) * per_page, min_score=min_score
    )
    if not result.items and result.total:  # past the last page (pairs were merged meanwhile)
        number = math.ceil(result.total / per_page)
        result = dedupe.candidate_pairs(
            db.session, limit=per_page, offset=(number - 1) * per_page, min_score=min_score
        )
    page = Page(items=result.items, page=number, per_page=per_page, total=result.total)
    return render_template(
        "clients/duplicates.html",
        page=page,
        min_score=min_score,
        recent=dedupe.recent_merges(db.session, limit=10),
    )


def _other(client: Client) -> tuple[Client | None, str | None]:
    """The second client of the merge page (?duplicate_id= or the form's field), or an error."""
    raw = request.values.get("duplicate_id")
    if raw in (None, ""):
        return None, None
    other_id = _int(raw)
    if other_id is None:
        return None, "Номер контрагента — целое число."
    try:
        return services.get_client(db.session, other_id), None
    except NotFound:
        return None, f"Контрагент № {other_id} не найден."


def _render(client: Client, other: Client | None, error: str | None, status: int = 200):
    candidates = []
    if other is None and not client.is_merged:
        candidates = dedupe.likely_duplicates_of(db.session, client)
    survivor = None
    if other is not None:
        chosen = _int(request.form.get("survivor_id"))
        survivor = other if chosen == other.id else client
    template = "clients/merge_compare.html" if other is not None else "clients/merge.html"
    return (
        render_template(
            template,
            client=client,
            other=other,
            survivor=survivor,
            error=error,
            candidates=candidates,
            compared=COMPARED,
            kinds=CLIENT_KIND_LABELS,
            readiness=READINESS_LABELS,
            display_phone=display_phone,
            merged_into=(
                services.get_client(db.session, client.merged_into_id) if client.is_merged else None
            ),
        ),
        status,
    )


@bp.route("/<int:client_id>/merge", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_MERGE)
def merge(client_id: int) -> Response | tuple[str, int]:
    """GET: choose the other record and compare; POST: merge (duplicate_id, survivor_id)."""
    client = services.get_client(db.session, client_id)
    other, error = _other(client)
    if request.method == "GET":
        return _render(client, other, error, 200 if error is None else 404)
    if other is None:
        return _render(client, None, error or "Выберите запись, с которой объединить.", 422)
    survivor_id = _int(request.form.get("survivor_id"), client.id)
    if survivor_id not in (client.id, other.id):
        return _render(client, other, "Выберите, какая запись останется.", 422)
    survivor, duplicate = (client, other) if survivor_id == client.id else (other, client)
    try:
        result = dedupe.merge_clients(db.session, survivor, duplicate, actor=current_user)
    except (ValidationError, Conflict) as err:
        db.session.rollback()
        return _render(client, other, err.message, err.status_code)
    along = "".join(
        f", {moved_label(name.split('.')[0]) or name} — {len(ids)}"
        for name, ids in result.moved.items()
    )
    flash(
        f"«{duplicate.name}» объединён с «{survivor.name}»: перенесено контактов — "
        f"{len(result.contact_ids)}, групп — {len(result.group_ids)}, участий в выставках — "
        f"{len(result.participation_ids)}{along}; заполнено пустых полей — {len(result.filled)}.",
        "success",
    )
    return redirect(url_for("clients.show", client_id=survivor.id))


@bp.route("/<int:client_id>/unmerge", methods=["POST"])
@require_permission(Perm.CLIENTS_MERGE)
def unmerge(client_id: int) -> Response:
    duplicate = services.get_client(db.session, client_id)
    survivor = dedupe.unmerge_client(db.session, duplicate, actor=current_user)
    flash(
        f"Объединение отменено: «{duplicate.name}» снова отдельная запись, перенесённое "
        f"возвращено из «{survivor.name}». Заполненные при объединении поля остались.",
        "success",
    )
    return redirect(url_for("clients.show", client_id=duplicate.id))
