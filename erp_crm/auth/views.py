"""Login, logout, own password; the admin's user management."""

from __future__ import annotations

import unicodedata
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from erp_crm.auth import services
from erp_crm.auth.access import public, require_permission
from erp_crm.auth.forms import ChangePasswordForm, LoginForm, UserForm
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm
from erp_crm.core.forms import apply_errors, form_status, form_values
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.errors import AuthenticationFailed, NotFound, ValidationError

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never an open redirect. Browsers drop tabs and newlines and read
    a backslash as a slash, so a tab or a backslash after the first slash would make the path a
    host; a scheme, a host, a control or invisible character or a backslash sends home."""
    home = url_for("main.index")
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return home
    if any(_unsafe_char(ch) for ch in target):
        return home
    try:
        parts = urlsplit(target)
    except ValueError:
        return home
    if parts.scheme or parts.netloc or parts.path.startswith("//"):
        return home
    return target


def _unsafe_char(ch: str) -> bool:
    return ch != " " and (ch.isspace() or unicodedata.category(ch)[0] == "C")


def login_policy() -> services.LoginPolicy:
    cfg = current_app.config
    return services.LoginPolicy(
        max_failures=cfg["LOGIN_MAX_FAILURES"],
        lockout=cfg["LOGIN_LOCKOUT"],
        max_failures_per_ip=cfg["LOGIN_MAX_FAILURES_PER_IP"],
    )


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                db.session,
                form.username.data,
                form.password.data,
                ip=request.remote_addr or "",
                policy=login_policy(),
            )
        except AuthenticationFailed as err:
            # 200 on purpose: the failed attempt is committed and counts toward the lockout.
            form.form_errors.append(err.message)
        else:
            next_url = _safe_next(request.args.get("next"))
            session.clear()  # no fixation: the new session starts empty
            session.permanent = True  # PERMANENT_SESSION_LIFETIME bounds an idle browser session
            services.start_login_session(db.session, user)
            login_user(user, remember=form.remember.data)
            return redirect(next_url)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Ends this login session on the server too: a copy of its cookies no longer works."""
    if current_user.is_authenticated:
        services.end_login_session(db.session, current_user)
    logout_user()
    session.clear()
    flash("Вы вышли из системы.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/logout/everywhere", methods=["POST"])
def logout_everywhere() -> Response:
    """«Выйти на всех устройствах»: every login session of the user ends, this one too."""
    services.end_all_login_sessions(db.session, current_user)
    logout_user()
    session.clear()
    flash("Вы вышли на всех устройствах.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> Response | tuple[str, int] | str:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_own_password(
                db.session, current_user, form.current_password.data, form.new_password.data
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            login_user(current_user)  # keep this session alive with the new session version
            flash("Пароль изменён. Другие сеансы завершены.", "success")
            return redirect(url_for("main.index"))
    status = form_status(form)
    return render_template("auth/change_password.html", form=form), status


# --- admin: users ------------------------------------------------------------------------------

admin_bp = Blueprint("users", __name__, url_prefix="/admin/users")


def _get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("Пользователь не найден.")
    return user


@admin_bp.route("/")
@require_permission(Perm.USERS_MANAGE)
def index() -> str:
    query = select(User).order_by(User.is_active.desc(), User.full_name)
    role = request.args.get("role")
    if role:
        query = query.where(User.role == role)
    page = paginate(
        db.session,
        query,
        page=parse_page(request.args.get("page")),
        per_page=current_app.config["ITEMS_PER_PAGE"],
    )
    return render_template("admin/users.html", page=page, role=role)


def _user_data(form: UserForm) -> services.UserData:
    return services.UserData(**form_values(form))


@admin_bp.route("/new", methods=["GET", "POST"])
@require_permission(Perm.USERS_MANAGE)
def create() -> Response | tuple[str, int]:
    form = UserForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(db.session, _user_data(form), actor=current_user)
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Пользователь {user.username} создан.", "success")
            return redirect(url_for("users.index"))
    status = form_status(form)
    return render_template("admin/user_form.html", form=form, user=None), status


@admin_bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.USERS_MANAGE)
def edit(user_id: int) -> Response | tuple[str, int]:
    user = _get_user(user_id)
    form = UserForm(obj=user)
    if request.method == "GET":
        form.password.data = ""
    if form.validate_on_submit():
        try:
            services.update_user(db.session, user, _user_data(form), actor=current_user)
        except ValidationError as err:
            apply_errors(form, err)
        else:
            if user.id == current_user.id:
                login_user(user)  # an admin who set their own password keeps this session
            flash("Изменения сохранены.", "success")
            return redirect(url_for("users.index"))
    status = form_status(form)
    return render_template("admin/user_form.html", form=form, user=user), status


@admin_bp.route("/<int:user_id>/deactivate", methods=["POST"])
@require_permission(Perm.USERS_MANAGE)
def deactivate(user_id: int) -> Response:
    user = _get_user(user_id)
    services.set_active(db.session, user, False, actor=current_user)
    flash(f"Учётная запись {user.username} отключена, её сеансы завершены.", "success")
    return redirect(url_for("users.index"))


@admin_bp.route("/<int:user_id>/activate", methods=["POST"])
@require_permission(Perm.USERS_MANAGE)
def activate(user_id: int) -> Response:
    user = _get_user(user_id)
    services.set_active(db.session, user, True, actor=current_user)
    flash(f"Учётная запись {user.username} снова действует.", "success")
    return redirect(url_for("users.index"))
