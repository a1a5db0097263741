"""Requests forwarded to colleagues: the list, a new request, its page with the answer."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from erp_crm.activities import access, tasks
from erp_crm.activities.forms import (
    AnswerForm,
    TaskForm,
)
from erp_crm.activities.models import (
    TASK_STATUS_LABELS,
    Task,
)
from erp_crm.activities.views.common import bp, colleagues, int_arg
from erp_crm.auth.access import ensure, require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.clients.models import Client
from erp_crm.core.forms import apply_errors, choices, form_status
from erp_crm.db import db
from erp_crm.errors import ValidationError

# --- forwarded requests -------------------------------------------------------------------------


def _task(task_id: int) -> Task:
    task = db.session.get(Task, task_id)
    if task is None:
        abort(404)
    ensure(access.can_view_task(current_user, task))
    return task


@bp.route("/tasks/")
def task_list() -> str:
    return render_template(
        "activities/tasks.html",
        tasks=tasks.tasks_of(db.session, current_user),
        statuses=TASK_STATUS_LABELS,
    )


@bp.route("/tasks/new", methods=["GET", "POST"])
@require_permission(Perm.ACTIVITIES_WORK)
def task_create() -> Response | tuple[str, int]:
    form = TaskForm()
    if request.method == "GET":
        for name in ("client_id", "deal_id", "activity_id"):
            form[name].data = request.args.get(name, "")
        form.due_on.data = dt.date.today() + dt.timedelta(days=2)
    form.assignee_id.choices = choices(
        [
            ("", "— выберите —"),
            *((u.id, u.full_name) for u in colleagues() if u.id != current_user.id),
        ]
    )
    if form.validate_on_submit():
        try:
            task = tasks.forward(
                db.session,
                tasks.TaskData.from_mapping(
                    {
                        "assignee_id": form.assignee_id.data,
                        "goal": form.goal.data,
                        "due_on": form.due_on.data,
                        "client_id": form.client_id.data,
                        "deal_id": form.deal_id.data,
                        "activity_id": form.activity_id.data,
                    }
                ),
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Запрос переадресован: {task.assignee.full_name}.", "success")
            return redirect(url_for("activities.task_show", task_id=task.id))
    client = db.session.get(Client, int_arg(form.client_id.data) or 0)
    return render_template("activities/task_new.html", form=form, client=client), form_status(form)


@bp.route("/tasks/<int:task_id>")
def task_show(task_id: int) -> str:
    task = _task(task_id)
    tasks.mark_seen(db.session, task, actor=current_user)
    return render_template(
        "activities/task_show.html",
        task=task,
        form=AnswerForm(formdata=None),
        can_answer=access.can_answer_task(current_user, task),
        statuses=TASK_STATUS_LABELS,
    )


@bp.route("/tasks/<int:task_id>/<any(accept, done, return):action>", methods=["POST"])
def task_answer(task_id: int, action: str) -> Response | tuple[str, int]:
    task = _task(task_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if action == "accept":
            tasks.accept(db.session, task, actor=current_user)
        else:
            tasks.close(
                db.session, task, form.answer.data or "", actor=current_user, done=action == "done"
            )
    except ValidationError as err:
        apply_errors(form, err)
        return render_template(
            "activities/task_show.html",
            task=task,
            form=form,
            can_answer=True,
            statuses=TASK_STATUS_LABELS,
        ), 422
    flash(f"Запрос: {TASK_STATUS_LABELS[task.status].lower()}.", "success")
    return redirect(url_for("activities.task_show", task_id=task.id))
