"""The deals board: GET /kanban/ shows it, POST /kanban/move is what a dropped card calls.

The move answers JSON in both cases: the new column totals, or the refusal with its Russian
message and status (422 a stage rule, 409 a lost deal, 403 not the user's deal), after which the
page's script puts the card back.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, jsonify, render_template, request, url_for
from flask_login import current_user
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from erp_crm.auth.access import require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.db import db
from erp_crm.deals import kanban, services
from erp_crm.deals.models import Stage
from erp_crm.errors import DomainError, NotFound
from erp_crm.ui import ru_number

bp = Blueprint("kanban", __name__, url_prefix="/kanban")


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def deal_url(deal_id: int) -> str | None:
    """The deal's page, once the deals area has one."""
    try:
        return url_for("deals.show", deal_id=deal_id)
    except BuildError:
        return None


@bp.route("/")
@require_permission(Perm.DEALS_VIEW)
def board() -> str:
    projects = kanban.projects(db.session)
    pipelines = kanban.pipelines(db.session)
    project_id = _int(request.args.get("project_id"))
    pipeline_id = _int(request.args.get("pipeline_id"))
    if project_id not in {p.id for p in projects}:
        project_id = projects[0].id if projects else None
    if pipeline_id not in {p.id for p in pipelines}:
        sales = next((p for p in pipelines if p.code == "sales"), None)
        pipeline_id = (sales or pipelines[0]).id if pipelines else None
    board = None
    if project_id is not None and pipeline_id is not None:
        board = kanban.load_board(
            db.session, project_id=project_id, pipeline_id=pipeline_id, actor=current_user
        )
    return render_template(
        "deals/kanban.html",
        board=board,
        projects=projects,
        pipelines=pipelines,
        project_id=project_id,
        pipeline_id=pipeline_id,
        deal_url=deal_url,
    )


def _totals_json(stage: Stage, totals: kanban.Totals) -> dict:
    return {
        "stage_id": stage.id,
        "count": totals.count,
        "amount": str(totals.amount),
        "area_m2": str(totals.area_m2),
        "amount_display": ru_number(totals.amount),
        "area_display": ru_number(totals.area_m2),
    }


def _refusal(err: DomainError, deal_id: int) -> tuple[Response, int]:
    db.session.rollback()  # nothing of a refused move is kept
    message = " ".join(dict.fromkeys(err.fields.values())) if err.fields else err.message
    body = {"error": {"message": message, "fields": err.fields}, "deal": {"id": deal_id}}
    return jsonify(body), err.status_code


@bp.route("/move", methods=["POST"])
@require_permission(Perm.DEALS_WORK)
def move() -> tuple[Response, int] | Response:
    payload = request.get_json(silent=True) if request.is_json else request.form
    if not hasattr(payload, "get"):  # a JSON array or nothing
        payload = {}
    deal_id, stage_id = _int(payload.get("deal_id")), _int(payload.get("stage_id"))
    position = _int(payload.get("position"))
    raw_date = payload.get("next_contact_date")
    next_contact: dt.date | None = None
    problems = []
    if deal_id is None or stage_id is None:
        problems.append("Не указаны сделка и этап.")
    if raw_date:
        try:
            next_contact = dt.date.fromisoformat(str(raw_date))
        except ValueError:
            problems.append("Дата следующего контакта в формате ГГГГ-ММ-ДД.")
    if problems or deal_id is None or stage_id is None:
        return jsonify({"error": {"message": " ".join(problems)}}), 400
    try:
        deal = services.get_deal(db.session, deal_id)
        stage = db.session.get(Stage, stage_id)
        if stage is None:
            raise NotFound("Этап не найден.")
        from_pipeline = deal.pipeline_id
        kanban.move_card(
            db.session,
            deal,
            stage,
            actor=current_user,
            position=position,
            next_contact_date=next_contact,
        )
    except DomainError as err:
        return _refusal(err, deal_id)
    totals = kanban.stage_totals(db.session, deal.project_id, [from_pipeline, deal.pipeline_id])
    return jsonify(
        {
            "deal": {
                "id": deal.id,
                "stage_id": deal.stage_id,
                "pipeline_id": deal.pipeline_id,
                "outcome": deal.outcome,
                "position": deal.position,
            },
            "columns": [_totals_json(stage, t) for stage, t in totals],
        }
    )
