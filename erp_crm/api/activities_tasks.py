"""The activities API: requests forwarded to colleagues (of any service), their answers."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from werkzeug.wrappers import Response

from erp_crm.activities import access, tasks
from erp_crm.activities.models import Task
from erp_crm.api.routing import api_route, api_user, json_body
from erp_crm.auth.permissions import Perm
from erp_crm.db import db
from erp_crm.errors import NotFound, PermissionDenied, ValidationError

_INT = {"type": ["integer", "null"]}
_STR = {"type": ["string", "null"]}
TASK = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "author_id": {"type": "integer"},
        "assignee_id": {"type": "integer"},
        "client_id": _INT,
        "deal_id": _INT,
        "goal": {"type": "string"},
        "due_on": {"type": "string", "format": "date"},
        "status": {"type": "string"},
        "answer": _STR,
    },
}
TASK_REQUEST = {
    "type": "object",
    "required": ["assignee_id", "goal", "due_on"],
    "properties": {
        "assignee_id": {"type": "integer"},
        "goal": {"type": "string"},
        "due_on": {"type": "string", "format": "date"},
        "client_id": _INT,
        "deal_id": _INT,
        "activity_id": _INT,
    },
}


def task_dict(task: Task) -> dict[str, Any]:
    return {
        "id": task.id,
        "author_id": task.author_id,
        "assignee_id": task.assignee_id,
        "client_id": task.client_id,
        "deal_id": task.deal_id,
        "goal": task.goal,
        "due_on": task.due_on.isoformat(),
        "status": task.status,
        "answer": task.answer,
    }


@api_route(
    "/tasks",
    "GET",
    summary="Запросы, отправленные и полученные вызывающим",
    tag="activities",
    response_schema={"type": "object", "properties": {"items": {"type": "array", "items": TASK}}},
)
def list_tasks() -> Response:
    return jsonify(items=[task_dict(t) for t in tasks.tasks_of(db.session, api_user())])


@api_route(
    "/tasks",
    "POST",
    summary="Переадресовать запрос коллеге (любой службы)",
    tag="activities",
    perm=Perm.ACTIVITIES_WORK,
    request_schema=TASK_REQUEST,
    response_schema=TASK,
    status=201,
)
def forward_task() -> tuple[Response, int]:
    task = tasks.forward(db.session, tasks.TaskData.from_mapping(json_body()), actor=api_user())
    return jsonify(task_dict(task)), 201


def _task(task_id: int) -> Task:
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound("Запрос не найден.")
    if not access.can_view_task(api_user(), task):
        raise PermissionDenied("Запрос видят его автор, исполнитель и руководитель ОП.")
    return task


@api_route(
    "/tasks/<int:task_id>",
    "GET",
    summary="Запрос коллеге (автору, исполнителю, руководителю ОП)",
    tag="activities",
    response_schema=TASK,
)
def get_task(task_id: int) -> Response:
    return jsonify(task_dict(_task(task_id)))


@api_route(
    "/tasks/<int:task_id>/<any(accept, done, return):action>",
    "POST",
    summary="Исполнитель принимает запрос (accept), выполняет (done) или возвращает (return) "
    "с ответом автору",
    tag="activities",
    request_schema={
        "type": "object",
        "properties": {"answer": {**_STR, "description": "обязателен для done и return"}},
    },
    response_schema=TASK,
)
def answer_task(task_id: int, action: str) -> Response:
    task = _task(task_id)
    body = request.get_json(silent=True) or {}
    answer = body.get("answer") if isinstance(body, dict) else None
    if answer is not None and not isinstance(answer, str):
        raise ValidationError(fields={"answer": "Ответ — строка текста."})
    if action == "accept":
        tasks.accept(db.session, task, actor=api_user())
    else:
        tasks.close(db.session, task, answer or "", actor=api_user(), done=action == "done")
    return jsonify(task_dict(task))
