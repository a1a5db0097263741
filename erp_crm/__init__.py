"""erp_crm: the Flask application of the exhibition company's sales back office."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

from erp_crm.config import PROJECT_ROOT, Config
from erp_crm.db import MAX_ID, db

log = logging.getLogger(__name__)


def create_app(config: Config | dict[str, Any] | None = None) -> Flask:
    """Build the application. `config` is a Config, a dict of overrides, or None (environment)."""
    if config is None:
        config = Config()
    elif isinstance(config, dict):
        config = Config(**config)
    app = Flask(__name__, instance_path=str(config.INSTANCE_PATH), instance_relative_config=False)
    app.url_map.converters["int"] = RecordIdConverter
    app.config.update(config.as_dict())
    Path(app.config["INSTANCE_PATH"]).mkdir(parents=True, exist_ok=True)
    Path(app.config["STORAGE_PATH"]).mkdir(parents=True, exist_ok=True)

    # All mappers known before the first query; importing the areas connects their signal
    # receivers (erp_crm/signals.py), so nothing here wires one area into another.
    import erp_crm.models  # noqa: F401

    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]

    _init_extensions(app)
    from erp_crm.jobs.engine import JobsEngine

    app.extensions["jobs"] = JobsEngine(app)
    _register_blueprints(app)
    _register_cli(app)
    _register_request_hooks(app)

    from erp_crm.audit import presentation as audit_presentation
    from erp_crm.errors import register_error_handlers
    from erp_crm.ui import register_template_helpers

    register_error_handlers(app)
    register_template_helpers(app)
    audit_presentation.add_template_globals(app)
    _load_plugins(app)
    return app


class RecordIdConverter(IntegerConverter):
    """`<int:…>` in every route: an id the database can hold (32 bits), else the URL matches
    nothing — a 404, not PostgreSQL's "integer out of range" or SQLite's overflow as a 500."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)
        if kwargs["max"] == MAX_ID and not kwargs.get("signed"):
            # The bound in the pattern too: werkzeug checks a rule's methods before the value,
            # so PATCH /x/99999999999 of a GET-and-PATCH rule would be a 405 instead of a 404.
            self.regex = _UP_TO_MAX_ID


def _digits_up_to(limit: str) -> str:
    """A regex for the decimal numbers 0 … `limit` (no sign; leading zeros count as digits)."""
    parts = [rf"\d{{1,{len(limit) - 1}}}"] if len(limit) > 1 else []
    for index, digit in enumerate(limit):
        if digit != "0" and (index or digit != "1"):
            low = "0" if index else "1"
            rest = len(limit) - index - 1
            parts.append(
                f"{limit[:index]}[{low}-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else "")
            )
    parts.append(limit)
    return "(?:" + "|".join(parts) + ")"


_UP_TO_MAX_ID = _digits_up_to(str(MAX_ID))


def _load_plugins(app: Flask) -> None:
    """Installed adapters (entry points `erp_crm.plugins`) hook in without being imported here."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="erp_crm.plugins"):
        entry.load()(app)


def _init_extensions(app: Flask) -> None:
    from erp_crm.auth.services import load_session_user
    from erp_crm.extensions import csrf, login_manager, migrate

    db.init_app(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)

    @login_manager.user_loader
    def _load_user(session_id: str) -> Any:
        return load_session_user(db.session, session_id)


def _register_blueprints(app: Flask) -> None:
    from erp_crm import api
    from erp_crm.activities.views import bp as activities_bp
    from erp_crm.activities.views import calendar_bp, reminders_bp
    from erp_crm.audit.views import bp as audit_bp
    from erp_crm.auth.access import install_login_guard
    from erp_crm.auth.views import admin_bp as users_bp
    from erp_crm.auth.views import bp as auth_bp
    from erp_crm.billing.views import bp as billing_bp
    from erp_crm.budgets.views import bp as budgets_bp
    from erp_crm.clients.views import clients_bp, groups_bp
    from erp_crm.clients.views import duplicates_bp as client_duplicates_bp
    from erp_crm.clients.views import transfer_bp as client_transfer_bp
    from erp_crm.deals.leads.views import bp as leads_bp
    from erp_crm.deals.pipelines.views import bp as pipelines_bp
    from erp_crm.deals.views import deals_bp, kanban_bp
    from erp_crm.extensions import csrf
    from erp_crm.integration.views import bp as exchange_bp
    from erp_crm.jobs.views import bp as jobs_bp
    from erp_crm.mailing.views import bp as mailing_bp
    from erp_crm.mailing.views import public_bp as mailing_public_bp
    from erp_crm.main.views import bp as main_bp
    from erp_crm.organizations.views import bp as organizations_bp
    from erp_crm.projects.views import plans_bp, projects_bp
    from erp_crm.reports.views import bp as reports_bp
    from erp_crm.sales_documents.views import (
        document_templates_bp,
        documents_bp,
        project_documents_bp,
    )

    api.register_api_modules()
    # The API authenticates by bearer tokens only, never by the session cookie, so CSRF cannot
    # reach it; every other POST needs the form's token.
    csrf.exempt(api.bp)
    blueprints = (
        mailing_bp,
        mailing_public_bp,
        main_bp,
        auth_bp,
        users_bp,
        organizations_bp,
        audit_bp,
        client_transfer_bp,
        client_duplicates_bp,
        clients_bp,
        groups_bp,
        projects_bp,
        plans_bp,
        deals_bp,
        kanban_bp,
        pipelines_bp,
        leads_bp,
        documents_bp,
        document_templates_bp,
        project_documents_bp,
        budgets_bp,
        billing_bp,
        exchange_bp,
        jobs_bp,
        activities_bp,
        calendar_bp,
        reminders_bp,
        reports_bp,
        api.bp,
    )
    for bp in blueprints:
        app.register_blueprint(bp)
    install_login_guard(app)


def _register_cli(app: Flask) -> None:
    from erp_crm.activities.cli import activities_cli
    from erp_crm.auth.cli import create_user_command
    from erp_crm.backup.cli import backup_command, restore_command
    from erp_crm.demo import demo_data_command
    from erp_crm.jobs.cli import jobs_cli
    from erp_crm.mailing.cli import mailing_cli
    from erp_crm.projects.cli import projects_cli
    from erp_crm.reports.cli import reports_cli

    app.cli.add_command(create_user_command)
    app.cli.add_command(demo_data_command)
    app.cli.add_command(projects_cli)
    app.cli.add_command(activities_cli)
    app.cli.add_command(mailing_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(reports_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


def _register_request_hooks(app: Flask) -> None:
    @app.after_request
    def _commit(response: Response) -> Response:
        """The one commit point of a request: success commits, any error status rolls back."""
        session = g.get("_db_session")
        if session is not None:
            if response.status_code < 400:
                try:
                    session.commit()
                except (IntegrityError, DataError, OverflowError, UnicodeEncodeError) as err:
                    return _commit_refused(session, response, err)
            else:
                session.rollback()
        return response

    def _commit_refused(session: Any, response: Response, err: Exception) -> Response:
        """The database refused the request's changes at commit (a value it cannot store, a
        unique key taken meanwhile): nothing is written, the user is told, no 500."""
        from erp_crm.errors import CONFLICT_MESSAGE, UNSTORABLE_MESSAGE, error_response

        session.rollback()
        log.warning("Commit refused on %s %s", request.method, request.path, exc_info=err)
        conflict = isinstance(err, IntegrityError)
        refused = error_response(
            409 if conflict else 400, CONFLICT_MESSAGE if conflict else UNSTORABLE_MESSAGE
        )
        for header, value in response.headers.items():
            if header.startswith(("X-", "Content-Security", "Referrer", "Strict-Transport")):
                refused.headers[header] = value
        return refused

    @app.after_request
    def _security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            # FullCalendar's own CSS carries its arrow icons as a data: font
            "default-src 'self'; img-src 'self' data:; font-src 'self' data:; "
            "style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        )
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        return response
