from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, url_for
from sqlalchemy import text
from werkzeug.wrappers import Response

from erp_crm.auth.access import public
from erp_crm.db import db

bp = Blueprint("main", __name__)


@bp.route("/")
def index() -> str:
    from flask_login import current_user

    from erp_crm.reports.home import home_for

    return render_template("main/index.html", home=home_for(db.session, current_user))


@bp.route("/healthz")
@public
def health() -> Response:
    db.session.execute(text("SELECT 1"))
    return jsonify(status="ok")


@bp.route("/favicon.ico")
@public
def favicon() -> Response:
    """Browsers ask for /favicon.ico before they read the page's <link rel="icon">."""
    return redirect(url_for("static", filename="img/favicon.svg"), code=301)
