"""The manager's pages of contacts: «Мой день», planning, completing with a result, requests
forwarded to colleagues."""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from erp_crm.activities import access, results, services, tasks
from erp_crm.activities import bulk as bulk_planning
from erp_crm.activities.forms import (
    BulkForm,
    CancelForm,
    CompleteForm,
    PlanForm,
    ResultTextForm,
)
from erp_crm.activities.models import (
    RESULT_LABELS,
    STATUS_LABELS,
    Activity,
    ReasonKind,
)
from erp_crm.activities.views.common import bp, colleagues, int_arg
from erp_crm.auth.access import ensure, require_permission
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients.models import Client, ClientGroup, client_group_members
from erp_crm.core.forms import apply_errors, choices, form_status
from erp_crm.db import db, utcnow
from erp_crm.deals.models import Deal, LostReason, Outcome
from erp_crm.errors import DomainError, ValidationError
from erp_crm.projects.models import Project, ProjectStatus


def _activity(activity_id: int) -> Activity:
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        abort(404)
    return activity


def _plan_choices(form: PlanForm, client: Client | None) -> None:
    form.type_id.choices = choices((t.id, t.name) for t in services.active_types(db.session))
    contacts = client.contacts if client else []
    form.contact_id.choices = choices(
        [("", "— не выбрано —"), *((c.id, c.full_name) for c in contacts)]
    )
    deals = (
        db.session.scalars(
            select(Deal).where(Deal.client_id == client.id, Deal.outcome != Outcome.LOST.value)
        ).all()
        if client
        else []
    )
    form.deal_id.choices = choices([("", "— без сделки —"), *((d.id, d.title) for d in deals)])
    projects = db.session.scalars(
        select(Project)
        .where(Project.status != ProjectStatus.CLOSED.value)
        .order_by(Project.opening_date)
    )
    form.project_id.choices = choices(
        [("", "— без проекта —"), *((p.id, p.name) for p in projects)]
    )
    form.responsible_id.choices = choices(
        [("", "— я —"), *((u.id, u.full_name) for u in colleagues() if u.id != current_user.id)]
    )


def _plan_values(form: PlanForm) -> dict:
    return {
        "type_id": form.type_id.data,
        "goal": form.goal.data,
        "client_id": form.client_id.data,
        "contact_id": form.contact_id.data,
        "deal_id": form.deal_id.data,
        "project_id": form.project_id.data,
        "responsible_id": form.responsible_id.data,
        "starts_at": form.starts_at.data,
        "duration_minutes": form.duration_minutes.data,
        "reminders": form.reminders.data or [],
    }


# --- my day -------------------------------------------------------------------------------------


@bp.route("/")
@require_permission(Perm.ACTIVITIES_VIEW)
def index() -> str:
    user = current_user
    chosen = int_arg(request.args.get("user_id"))
    if chosen and chosen != current_user.id and access.can_see_others(current_user):
        user = db.session.get(User, chosen) or abort(404)
    day = services.day_of(db.session, user)
    people = colleagues() if access.can_see_others(current_user) else []
    return render_template(
        "activities/day.html",
        user=user,
        day=day,
        inbox=tasks.inbox(db.session, current_user),
        answers=tasks.unseen_answers(db.session, current_user),
        managers=people,
        department=services.department_day(
            db.session, [u for u in people if has_permission(u, Perm.ACTIVITIES_WORK)]
        ),
        statuses=STATUS_LABELS,
    )


# --- planning -----------------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@require_permission(Perm.ACTIVITIES_WORK)
def create() -> Response | tuple[str, int]:
    form = PlanForm()
    if request.method == "GET":
        for name in ("client_id", "contact_id", "deal_id", "project_id", "goal"):
            if request.args.get(name):
                form[name].data = request.args[name]
        if request.args.get("starts_at"):
            try:
                form.starts_at.data = dt.datetime.fromisoformat(request.args["starts_at"][:16])
            except ValueError:
                pass
        form.reminders.data = ["15"]
    client = db.session.get(Client, int_arg(form.client_id.data) or 0)
    deal = db.session.get(Deal, int_arg(form.deal_id.data) or 0)
    if client is None and deal is not None:
        client = deal.client
        form.client_id.data = str(client.id)
    if request.method == "GET" and deal is not None:
        form.project_id.data = str(deal.project_id)
    _plan_choices(form, client)
    if form.validate_on_submit():
        try:
            activity = services.plan(
                db.session,
                services.ActivityData.from_mapping(_plan_values(form)),
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            local = services.to_local(activity.starts_at, activity.responsible)
            flash(f"Контакт запланирован на {local:%d.%m.%Y %H:%M}.", "success")
            return redirect(url_for("activities.show", activity_id=activity.id))
    clients = (
        []
        if client
        else db.session.scalars(
            select(Client)
            .where(Client.merged_into_id.is_(None), Client.curator_id == current_user.id)
            .order_by(Client.name)
            .limit(200)
        ).all()
    )
    return render_template(
        "activities/new.html", form=form, client=client, clients=clients
    ), form_status(form)


@bp.route("/bulk", methods=["GET", "POST"])
@require_permission(Perm.ACTIVITIES_WORK)
def bulk() -> Response | tuple[str, int]:
    """From the client list's «С отмеченными» (client_ids) or a group's page (group_id)."""
    form = BulkForm()
    ids = [int(i) for i in request.values.getlist("client_ids") if str(i).isdigit()]
    group = db.session.get(ClientGroup, int_arg(request.values.get("group_id")) or 0)
    if group is not None:
        ids = list(
            db.session.scalars(
                select(client_group_members.c.client_id).where(
                    client_group_members.c.group_id == group.id
                )
            )
        )
    form.client_ids.choices = choices((i, str(i)) for i in ids)
    form.client_ids.data = [str(i) for i in ids]
    form.type_id.choices = choices((t.id, t.name) for t in services.active_types(db.session))
    can_all = has_permission(current_user, Perm.ACTIVITIES_ALL)
    form.responsible_id.choices = choices(
        [
            ("", "кураторы клиентов" if can_all else "я (и кураторы моих клиентов)"),
            *((u.id, u.full_name) for u in colleagues() if can_all),
        ]
    )
    if request.method == "GET" or "goal" not in request.form:
        form.first_day.data = form.first_day.data or dt.date.today() + dt.timedelta(days=1)
        form.reminders.data = ["15"]
        return render_template("activities/bulk.html", form=form, count=len(ids), group=group), 200
    if form.validate_on_submit():
        try:
            result = bulk_planning.bulk_plan(
                db.session,
                bulk_planning.BulkPlan(
                    client_ids=ids,
                    type_id=int_arg(form.type_id.data),
                    goal=form.goal.data or "",
                    first_day=form.first_day.data,
                    working_days=form.working_days.data or 5,
                    day_start=form.day_start.data or dt.time(10, 0),
                    day_end=form.day_end.data or dt.time(18, 0),
                    responsible_id=int_arg(form.responsible_id.data) if can_all else None,
                    reminders=[int(r) for r in form.reminders.data or [] if str(r).isdigit()],
                ),
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            skipped = (
                f", объединённых пропущено: {result.skipped_merged}"
                if result.skipped_merged
                else ""
            )
            flash(f"Запланировано контактов: {result.planned}{skipped}.", "success")
            return redirect(url_for("activities.index"))
    return render_template("activities/bulk.html", form=form, count=len(ids), group=group), 422


# --- one contact --------------------------------------------------------------------------------


def _complete_choices(form: CompleteForm, activity: Activity) -> None:
    form.postpone_reason_id.choices = choices(
        [
            ("", "— выберите —"),
            *((r.id, r.name) for r in services.reasons(db.session, ReasonKind.POSTPONE)),
        ]
    )
    form.visit_reason_id.choices = choices(
        [
            ("", "— выберите —"),
            *((r.id, r.name) for r in services.reasons(db.session, ReasonKind.REFUSE_VISIT)),
        ]
    )
    form.lost_reason_id.choices = choices(
        [
            ("", "— выберите —"),
            *(
                (r.id, r.name)
                for r in db.session.scalars(
                    select(LostReason)
                    .where(LostReason.is_active.is_(True))
                    .order_by(LostReason.name)
                )
            ),
        ]
    )
    deals = db.session.scalars(
        select(Deal).where(Deal.client_id == activity.client_id, Deal.outcome != Outcome.LOST.value)
    ).all()
    form.deal_id.choices = choices([("", "— выберите —"), *((d.id, d.title) for d in deals)])
    if request.method == "GET" and activity.deal_id:
        form.deal_id.data = str(activity.deal_id)


def _render_show(activity: Activity, complete_form=None, status: int = 200):
    complete_form = complete_form or CompleteForm(formdata=None)
    _complete_choices(complete_form, activity)
    workable = access.can_work_activity(current_user, activity)
    return render_template(
        "activities/show.html",
        activity=activity,
        local=services.to_local(activity.starts_at, current_user),
        complete_form=complete_form,
        cancel_form=CancelForm(formdata=None),
        result_form=ResultTextForm(formdata=None, data={"text": activity.result_text or ""}),
        can_work=workable,
        can_edit_result=access.can_edit_result(current_user, activity),
        postponements=results.postponements(db.session, activity.client_id, activity.project_id),
        previous=db.session.get(Activity, activity.previous_activity_id or 0),
        following=db.session.get(Activity, activity.next_activity_id or 0),
        results=RESULT_LABELS,
        statuses=STATUS_LABELS,
        now=utcnow(),
    ), status


@bp.route("/<int:activity_id>")
@require_permission(Perm.ACTIVITIES_VIEW)
def show(activity_id: int):
    return _render_show(_activity(activity_id))


@bp.route("/<int:activity_id>/complete", methods=["POST"])
@require_permission(Perm.ACTIVITIES_WORK)
def complete(activity_id: int):
    activity = _activity(activity_id)
    ensure(access.can_work_activity(current_user, activity))
    form = CompleteForm()
    _complete_choices(form, activity)
    if form.validate_on_submit():
        kind = form.kind.data
        values = {
            "kind": kind,
            "text": form.text.data or "",
            "reason_id": (
                form.postpone_reason_id.data if kind == "postponed" else form.visit_reason_id.data
            ),
            "lost_reason_id": form.lost_reason_id.data,
            "postponed_to": form.postponed_to.data,
            "deal_id": form.deal_id.data if kind == "sale" else None,
            "visitors": form.visitors.data or "" if kind == "invitation_sent" else "",
            "rating": {
                "manager_score": form.manager_score.data,
                "project_score": form.project_score.data,
                "company_score": form.company_score.data,
                "comment": form.rating_comment.data,
            },
        }
        try:
            following = results.complete(
                db.session, activity, results.ResultData.from_mapping(values), actor=current_user
            )
        except ValidationError as err:
            if "reason_id" in err.fields:  # one service field, two catalogs on the page
                name = "postpone_reason_id" if kind == "postponed" else "visit_reason_id"
                err.fields[name] = err.fields.pop("reason_id")
            apply_errors(form, err)
        else:
            message = f"Контакт выполнен: {RESULT_LABELS[kind]}."
            if following is not None:
                local = services.to_local(following.starts_at, following.responsible)
                message += f" Следующий контакт — {local:%d.%m.%Y %H:%M}."
            flash(message, "success")
            return redirect(url_for("activities.show", activity_id=activity.id))
    return _render_show(activity, form, 422)


@bp.route("/<int:activity_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.ACTIVITIES_WORK)
def edit(activity_id: int):
    activity = _activity(activity_id)
    ensure(access.can_work_activity(current_user, activity))
    form = PlanForm(obj=None if request.method == "POST" else activity)
    if request.method == "GET":
        form.starts_at.data = services.to_local(activity.starts_at, activity.responsible).replace(
            tzinfo=None
        )
        form.reminders.data = [str(r) for r in activity.reminders or []]
        for name in ("contact_id", "deal_id", "project_id", "responsible_id", "type_id"):
            value = getattr(activity, name)
            form[name].data = str(value) if value else ""
    form.client_id.data = str(activity.client_id)
    _plan_choices(form, activity.client)
    form.responsible_id.choices.insert(
        0, *choices([(activity.responsible_id, activity.responsible.full_name)])
    )
    if form.validate_on_submit():
        try:
            services.update_plan(
                db.session,
                activity,
                services.ActivityData.from_mapping(_plan_values(form)),
                actor=current_user,
            )
        except DomainError as err:
            if not isinstance(err, ValidationError):
                raise
            apply_errors(form, err)
        else:
            flash("План контакта изменён.", "success")
            return redirect(url_for("activities.show", activity_id=activity.id))
    return render_template(
        "activities/new.html", form=form, client=activity.client, clients=[], activity=activity
    ), form_status(form)


@bp.route("/<int:activity_id>/cancel", methods=["POST"])
@require_permission(Perm.ACTIVITIES_WORK)
def cancel(activity_id: int) -> Response:
    activity = _activity(activity_id)
    form = CancelForm()
    if not form.validate_on_submit():
        abort(400)
    services.cancel(db.session, activity, actor=current_user, note=form.note.data or "")
    flash("Контакт отменён.", "info")
    return redirect(url_for("activities.show", activity_id=activity.id))


@bp.route("/<int:activity_id>/result", methods=["POST"])
@require_permission(Perm.ACTIVITIES_WORK)
def edit_result(activity_id: int) -> Response:
    activity = _activity(activity_id)
    form = ResultTextForm()
    if not form.validate_on_submit():
        abort(400)
    results.edit_result(db.session, activity, form.text.data or "", actor=current_user)
    flash("Комментарий к результату изменён.", "success")
    return redirect(url_for("activities.show", activity_id=activity.id))
