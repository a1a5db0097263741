"""The calendar of contacts (day / week / month, drag to move) and the private iCal feed.

GET /calendar/ is the page (static/js/calendar.js runs FullCalendar on it); the page reads
GET /calendar/events and a dropped or resized event calls POST /calendar/events/<id>/move. Both
answer JSON, refusals as {"error": {"message": ...}} in Russian. GET /calendar/feed manages the
secret link of the iCal feed, GET /calendar/ical/<secret>.ics is the feed itself (no login: the
secret is the key).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from erp_crm.activities import access, calendar, services
from erp_crm.activities.models import Activity
from erp_crm.auth.access import public, require_permission
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm
from erp_crm.db import db
from erp_crm.errors import DomainError

bp = Blueprint("calendar", __name__, url_prefix="/calendar")

VIEWS = ("timeGridDay", "timeGridWeek", "dayGridMonth")
NOT_YOURS = "Календарь другого менеджера видит только руководитель отдела продаж."


def _error(status: int, message: str, fields: dict | None = None) -> tuple[Response, int]:
    db.session.rollback()  # nothing of a refused request is kept
    return jsonify({"error": {"message": message, "fields": fields or {}}}), status


def _message(err: DomainError) -> str:
    return " ".join(dict.fromkeys(err.fields.values())) if err.fields else err.message


def _whose(raw: str | None) -> tuple[str, list[User]] | None:
    """The chosen calendar («", "all" or a user's id) and whose contacts it shows; None when
    the viewer may not look at it."""
    raw = (raw or "").strip()
    if raw in ("", str(current_user.id)):
        return str(current_user.id), [current_user]
    if not access.can_see_others(current_user):
        return None
    if raw == "all":
        return "all", calendar.department(db.session)
    user = db.session.get(User, int(raw)) if raw.isdigit() else None
    if user is None:
        return None
    return str(user.id), [user]


@bp.route("/")
@require_permission(Perm.ACTIVITIES_VIEW)
def index() -> str:
    chosen = _whose(request.args.get("user_id"))
    if chosen is None:
        abort(403)
    selected, _users = chosen
    view = request.args.get("view")
    day = request.args.get("date", "")
    try:
        initial_date = dt.date.fromisoformat(day).isoformat() if day else ""
    except ValueError:
        initial_date = ""
    return render_template(
        "calendar/index.html",
        selected=selected,
        people=calendar.department(db.session) if access.can_see_others(current_user) else [],
        time_zone=services.zone_of(current_user).key,
        initial_view=view if view in VIEWS else "timeGridWeek",
        initial_date=initial_date,
    )


@bp.route("/events")
@require_permission(Perm.ACTIVITIES_VIEW)
def events() -> tuple[Response, int] | Response:
    chosen = _whose(request.args.get("user_id"))
    if chosen is None:
        return _error(403, NOT_YOURS)
    selected, users = chosen
    try:
        start = calendar.parse_moment(request.args.get("start"), current_user, "start")
        end = calendar.parse_moment(request.args.get("end"), current_user, "end")
        calendar.checked_range(start, end)
    except DomainError as err:
        return _error(400, _message(err), err.fields)
    rows = calendar.events_between(db.session, [u.id for u in users], start, end)
    me = current_user._get_current_object()  # once: the proxy costs on every row's checks
    with_owner = selected != str(me.id)
    return jsonify(calendar.events_json(rows, me, with_owner=with_owner))


@bp.route("/events/<int:activity_id>/move", methods=["POST"])
@require_permission(Perm.ACTIVITIES_WORK)
def move(activity_id: int) -> tuple[Response, int] | Response:
    activity = db.session.get(Activity, activity_id)
    if activity is None:
        return _error(404, "Контакт не найден: обновите календарь.")
    payload: Any = request.get_json(silent=True)
    if not isinstance(payload, dict) or not payload.get("start"):
        return _error(400, "Не указано новое время контакта.")
    try:
        start = calendar.parse_moment(payload.get("start"), current_user, "start")
        duration = None
        if payload.get("end"):
            end = calendar.parse_moment(payload.get("end"), current_user, "end")
            duration = int((end - start).total_seconds() // 60)
        services.move(db.session, activity, start, actor=current_user, duration_minutes=duration)
    except DomainError as err:
        return _error(err.status_code, _message(err), err.fields)
    with_owner = activity.responsible_id != current_user.id
    return jsonify({"event": calendar.event_json(activity, current_user, with_owner=with_owner)})


# --- the iCal feed ------------------------------------------------------------------------------


def _feed_page(feed_url: str | None = None) -> Response:
    response = Response(
        render_template(
            "calendar/feed.html",
            has_feed=current_user.calendar_token_hash is not None,
            feed_url=feed_url,
        )
    )
    response.headers["Cache-Control"] = "private, no-store"  # the secret is shown once
    return response


@bp.route("/feed")
@require_permission(Perm.ACTIVITIES_VIEW)
def feed() -> Response:
    return _feed_page()


@bp.route("/feed", methods=["POST"])
@require_permission(Perm.ACTIVITIES_VIEW)
def create_feed() -> Response:
    secret = calendar.issue_feed_token(db.session, current_user)
    return _feed_page(url_for("calendar.ical", token=secret, _external=True))


@bp.route("/feed/revoke", methods=["POST"])
@require_permission(Perm.ACTIVITIES_VIEW)
def revoke_feed() -> Response:
    calendar.revoke_feed_token(db.session, current_user)
    return _feed_page()


@bp.route("/ical/<token>.ics")
@public
def ical(token: str) -> Response:
    user = calendar.user_by_feed_token(db.session, token)
    if user is None:
        abort(404)
    root = request.host_url.rstrip("/")
    body = calendar.build_feed(
        db.session,
        user,
        host=request.host.split(":")[0],
        card_url=lambda activity_id: f"{root}/activities/{activity_id}",
    )
    response = Response(body, mimetype="text/calendar")
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = 'inline; filename="expo-crm.ics"'
    return response
