"""Reminders in the app: the badge in the navigation bar (polled by htmx every minute) and the
list of due reminders, new requests and answers to the user's own requests."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select, update
from werkzeug.wrappers import Response

from erp_crm.activities import tasks
from erp_crm.activities.forms import CancelForm
from erp_crm.activities.models import Activity, ReminderSent
from erp_crm.db import db, utcnow

bp = Blueprint("reminders", __name__, url_prefix="/reminders")


def _unread():
    return select(ReminderSent).where(
        ReminderSent.user_id == current_user.id,
        ReminderSent.channel == "app",
        ReminderSent.read_at.is_(None),
    )


@bp.route("/badge")
def badge() -> str:
    count = db.session.scalar(select(func.count()).select_from(_unread().subquery())) or 0
    requests = [t for t in tasks.inbox(db.session, current_user) if t.status == "new"]
    answers = tasks.unseen_answers(db.session, current_user)
    return render_template("reminders/_badge.html", total=count + len(requests) + len(answers))


@bp.route("/")
def index() -> str:
    rows = db.session.execute(
        _unread()
        .add_columns(Activity)
        .join(Activity, Activity.id == ReminderSent.activity_id)
        .order_by(Activity.starts_at)
    ).all()
    return render_template(
        "reminders/index.html",
        reminders=[(row, activity) for row, activity in rows],
        requests=[t for t in tasks.inbox(db.session, current_user) if t.status == "new"],
        answers=tasks.unseen_answers(db.session, current_user),
        form=CancelForm(formdata=None),
    )


@bp.route("/<int:reminder_id>/read", methods=["POST"])
def read(reminder_id: int) -> Response:
    if not CancelForm().validate_on_submit():
        abort(400)
    row = db.session.get(ReminderSent, reminder_id)
    if row is None or row.user_id != current_user.id:
        abort(404)
    row.read_at = row.read_at or utcnow()
    return redirect(url_for("reminders.index"))


@bp.route("/read-all", methods=["POST"])
def read_all() -> Response:
    if not CancelForm().validate_on_submit():
        abort(400)
    db.session.execute(
        update(ReminderSent)
        .where(
            ReminderSent.user_id == current_user.id,
            ReminderSent.channel == "app",
            ReminderSent.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )
    return redirect(url_for("reminders.index"))
