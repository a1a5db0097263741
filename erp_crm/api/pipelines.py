"""API: pipelines, their stages and the lost-reasons catalog — the same services as the admin
page (deals.pipelines): nothing deals use is deleted, it is deactivated; the sales pipeline keeps
an active stage; a stage with open deals keeps its «sale» flag.

Everyone who sees deals reads them (a deal names its stage and lost reason); changes need
pipelines.manage.
"""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.db import db
from erp_crm.deals import pipelines as services
from erp_crm.deals.models import LostReason, Pipeline, Stage

TAG = "pipelines"
_TRIGGER = {
    "type": ["string", "null"],
    "enum": [*services.TRIGGERS, None],
    "description": "событие, которое переводит сделки на этап: "
    + "; ".join(f"{k} — {v}" for k, v in services.TRIGGERS.items()),
}
STAGE_FIELDS = {
    "name": {"type": "string", "maxLength": 200},
    "percent": {"type": "integer", "minimum": 0, "maximum": 100},
    "position": {
        "type": ["integer", "null"],
        "description": "номер этапа в воронке (1, 2, 3 …); без него новый этап — последний",
    },
    "is_sale": {"type": "boolean", "description": "сделка на этапе считается продажей"},
    "requires_next_contact": {"type": "boolean"},
    "trigger": _TRIGGER,
}
STAGE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "pipeline_id": {"type": "integer"},
        "name": {"type": "string"},
        "percent": {"type": "integer"},
        "position": {"type": "integer", "description": "номер этапа в воронке, с 1"},
        "is_sale": {"type": "boolean"},
        "requires_next_contact": {"type": "boolean"},
        "trigger": {"type": ["string", "null"]},
        "is_active": {"type": "boolean"},
    },
}
PIPELINE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "code": {"type": "string"},
        "name": {"type": "string"},
        "is_active": {"type": "boolean"},
        "stages": {"type": "array", "items": STAGE},
    },
}
REASON = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "is_active": {"type": "boolean"},
    },
}
_STAGE_LABELS = {
    "name": "Название",
    "percent": "Процент",
    "position": "Порядок",
    "is_sale": "Продажа",
    "requires_next_contact": "Нужна дата следующего контакта",
    "trigger": "Событие",
    "is_active": "Действует",
}


def _ordered(pipeline: Pipeline) -> list[Stage]:
    return sorted(pipeline.stages, key=lambda s: (s.position, s.id))


def stage_dict(stage: Stage) -> dict:
    return {
        "id": stage.id,
        "pipeline_id": stage.pipeline_id,
        "name": stage.name,
        "percent": stage.percent,
        "position": _ordered(stage.pipeline).index(stage) + 1,
        "is_sale": stage.is_sale,
        "requires_next_contact": stage.requires_next_contact,
        "trigger": stage.trigger,
        "is_active": stage.is_active,
    }


def pipeline_dict(pipeline: Pipeline) -> dict:
    return {
        "id": pipeline.id,
        "code": pipeline.code,
        "name": pipeline.name,
        "is_active": pipeline.is_active,
        "stages": [stage_dict(s) for s in _ordered(pipeline)],
    }


def reason_dict(reason: LostReason) -> dict:
    return {"id": reason.id, "name": reason.name, "is_active": reason.is_active}


# --- pipelines ----------------------------------------------------------------------------------


@api_route(
    "/pipelines",
    "GET",
    summary="Воронки с этапами по порядку",
    tag=TAG,
    perm=Perm.DEALS_VIEW,
    response_schema={
        "type": "object",
        "properties": {"items": {"type": "array", "items": PIPELINE}},
    },
)
def list_pipelines() -> Response:
    return jsonify(items=[pipeline_dict(p) for p in services.pipelines(db.session)])


@api_route(
    "/pipelines",
    "POST",
    summary="Создать воронку (код — латиницей; без него присваивается)",
    tag=TAG,
    perm=Perm.PIPELINES_MANAGE,
    request_schema={
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 200},
            "code": {"type": ["string", "null"], "description": "a-z, 0-9 и «_», 2–32 знака"},
        },
    },
    labels={"name": "Название", "code": "Код"},
    response_schema=PIPELINE,
    status=201,
)
def create_pipeline() -> tuple[Response, int]:
    body = json_body()
    pipeline = services.create_pipeline(
        db.session, body.get("name"), body.get("code"), actor=api_user()
    )
    return jsonify(pipeline_dict(pipeline)), 201


@api_route(
    "/pipelines/<int:pipeline_id>",
    "GET",
    summary="Воронка с этапами",
    tag=TAG,
    perm=Perm.DEALS_VIEW,
    response_schema=PIPELINE,
)
def get_pipeline(pipeline_id: int) -> Response:
    return jsonify(pipeline_dict(services.get_pipeline(db.session, pipeline_id)))


# The body of a PATCH that renames a pipeline or a lost reason, or switches it off and on.
RENAME_OR_SWITCH = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 200},
        "is_active": {"type": "boolean"},
    },
}
RENAME_OR_SWITCH_LABELS = {"name": "Название", "is_active": "Действует"}


@api_route(
    "/pipelines/<int:pipeline_id>",
    "PATCH",
    summary="Переименовать, включить или отключить воронку (воронку продаж не отключить — 409)",
    tag=TAG,
    perm=Perm.PIPELINES_MANAGE,
    request_schema=RENAME_OR_SWITCH,
    labels=RENAME_OR_SWITCH_LABELS,
    response_schema=PIPELINE,
)
def update_pipeline(pipeline_id: int) -> Response:
    pipeline = services.get_pipeline(db.session, pipeline_id)
    body = json_body()
    if "name" in body:
        services.rename_pipeline(db.session, pipeline, body["name"], actor=api_user())
    if "is_active" in body and body["is_active"] != pipeline.is_active:
        services.set_pipeline_active(db.session, pipeline, body["is_active"], actor=api_user())
    return jsonify(pipeline_dict(pipeline))


# --- stages -------------------------------------------------------------------------------------


@api_route(
    "/pipelines/<int:pipeline_id>/stages",
    "POST",
    summary="Добавить этап в воронку",
    tag=TAG,
    perm=Perm.PIPELINES_MANAGE,
    request_schema={"type": "object", "required": ["name", "percent"], "properties": STAGE_FIELDS},
    labels=_STAGE_LABELS,
    response_schema=STAGE,
    status=201,
)
def add_stage(pipeline_id: int) -> tuple[Response, int]:
    pipeline = services.get_pipeline(db.session, pipeline_id)
    data = services.StageData.from_mapping(json_body())
    stage = services.add_stage(db.session, pipeline, data, actor=api_user())
    return jsonify(stage_dict(stage)), 201


@api_route(
    "/stages/<int:stage_id>",
    "GET",
    summary="Этап воронки",
    tag=TAG,
    perm=Perm.DEALS_VIEW,
    response_schema=STAGE,
)
def get_stage(stage_id: int) -> Response:
    return jsonify(stage_dict(services.get_stage(db.session, stage_id)))


@api_route(
    "/stages/<int:stage_id>",
    "PATCH",
    summary="Изменить этап (is_active: false — отключить; этап со сделками — 409)",
    tag=TAG,
    perm=Perm.PIPELINES_MANAGE,
    request_schema={
        "type": "object",
        "properties": {**STAGE_FIELDS, "is_active": {"type": "boolean"}},
    },
    labels=_STAGE_LABELS,
    response_schema=STAGE,
)
def update_stage(stage_id: int) -> Response:
    stage = services.get_stage(db.session, stage_id)
    body = json_body()
    fields = {k: val for k, val in body.items() if k in STAGE_FIELDS}
    if fields:
        current = {
            "name": stage.name,
            "percent": stage.percent,
            "is_sale": stage.is_sale,
            "requires_next_contact": stage.requires_next_contact,
            "trigger": stage.trigger,
        }
        data = services.StageData.from_mapping({**current, **fields})
        services.update_stage(db.session, stage, data, actor=api_user())
    if "is_active" in body and body["is_active"] != stage.is_active:
        services.set_stage_active(db.session, stage, body["is_active"], actor=api_user())
    return jsonify(stage_dict(stage))


# --- lost reasons -------------------------------------------------------------------------------


@api_route(
    "/lost-reasons",
    "GET",
    summary="Справочник причин отказа (active=true — только действующие)",
    tag=TAG,
    perm=Perm.DEALS_VIEW,
    query=[{"name": "active", "in": "query", "required": False, "schema": {"type": "boolean"}}],
    response_schema={
        "type": "object",
        "properties": {"items": {"type": "array", "items": REASON}},
    },
)
def list_lost_reasons() -> Response:
    active_only = (request.args.get("active") or "").lower() in ("1", "true", "yes")
    reasons = services.lost_reasons(db.session, active_only=active_only)
    return jsonify(items=[reason_dict(r) for r in reasons])


@api_route(
    "/lost-reasons",
    "POST",
    summary="Добавить причину отказа",
    tag=TAG,
    perm=Perm.PIPELINES_MANAGE,
    request_schema={
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string", "maxLength": 200}},
    },
    labels={"name": "Название"},
    response_schema=REASON,
    status=201,
)
def create_lost_reason() -> tuple[Response, int]:
    reason = services.add_lost_reason(db.session, json_body().get("name"), actor=api_user())
    return jsonify(reason_dict(reason)), 201


@api_route(
    "/lost-reasons/<int:reason_id>",
    "PATCH",
    summary="Переименовать, отключить или включить причину отказа",
    tag=TAG,
    perm=Perm.PIPELINES_MANAGE,
    request_schema=RENAME_OR_SWITCH,
    labels=RENAME_OR_SWITCH_LABELS,
    response_schema=REASON,
)
def update_lost_reason(reason_id: int) -> Response:
    reason = services.get_reason(db.session, reason_id)
    body = json_body()
    if "name" in body:
        services.rename_lost_reason(db.session, reason, body["name"], actor=api_user())
    if "is_active" in body and body["is_active"] != reason.is_active:
        services.set_lost_reason_active(db.session, reason, body["is_active"], actor=api_user())
    return jsonify(reason_dict(reason))
