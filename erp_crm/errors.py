"""Domain errors and the one place that maps them (and HTTP errors) to pages and JSON bodies.

Services raise these; views either catch ValidationError to show field errors in a form, or let
anything bubble up to `register_error_handlers`, which answers in Russian: a page for the UI, a
JSON body `{"error": {"message": ..., "fields": {...}}}` under /api/.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, flash, jsonify, redirect, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule said no. The message is shown to the user as is (Russian)."""

    status_code = 400
    default_message = "Операция не может быть выполнена."

    def __init__(self, message: str | None = None, *, fields: dict[str, str] | None = None):
        self.message = message or self.default_message
        self.fields = fields or {}
        super().__init__(self.message)


class ValidationError(DomainError):
    status_code = 422
    default_message = "Проверьте правильность заполнения полей."


class NotFound(DomainError):
    status_code = 404
    default_message = "Запись не найдена."


class PermissionDenied(DomainError):
    status_code = 403
    default_message = "Недостаточно прав для этого действия."


class Conflict(DomainError):
    status_code = 409
    default_message = "Запись изменилась или уже занята: обновите данные и попробуйте снова."


class AuthenticationFailed(DomainError):
    status_code = 401
    default_message = "Требуется вход в систему."


HTTP_MESSAGES = {
    400: "Некорректный запрос.",
    401: "Требуется вход в систему.",
    403: "Недостаточно прав для просмотра этой страницы.",
    404: "Страница не найдена.",
    405: "Метод не поддерживается.",
    409: "Конфликт данных.",
    413: "Файл слишком большой.",
    422: "Проверьте правильность заполнения полей.",
    429: "Слишком много запросов. Попробуйте позже.",
    500: "Внутренняя ошибка сервера. Мы уже знаем о ней.",
}


CONFLICT_MESSAGE = (
    "Данные изменились, пока вы их редактировали (запись с такими же данными уже есть): "
    "ничего не сохранено. Обновите страницу и повторите."
)
UNSTORABLE_MESSAGE = (
    "Значение в запросе не может быть сохранено: слишком большое число или недопустимый символ "
    "в тексте. Исправьте его и повторите."
)


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, message: str, fields: dict[str, Any] | None = None) -> Response:
    if wants_json():
        body: dict[str, Any] = {"message": message}
        if fields:
            body["fields"] = fields
        response = jsonify({"error": body})
    else:
        response = Response(
            render_template("errors/error.html", status=status, message=message, fields=fields),
            mimetype="text/html",
        )
    response.status_code = status
    if status == 401 and wants_json():
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _same_site_referrer() -> bool:
    """A form POST that came from a page of this site: the error may send the user back to it."""
    back = request.referrer
    return request.method == "POST" and bool(back) and urlsplit(back).netloc == request.host


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(err: DomainError) -> Response:
        from erp_crm.db import db  # errors is imported by db users; avoid the cycle

        db.session.rollback()  # nothing half-written: the whole business action is undone
        if not wants_json() and err.status_code in (400, 409, 422) and _same_site_referrer():
            flash(err.message, "danger")
            return redirect(request.referrer)  # type: ignore[arg-type, return-value]
        return error_response(err.status_code, err.message, err.fields)

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    @app.errorhandler(UnicodeEncodeError)
    def _unstorable(err: Exception) -> Response:
        """A value the database cannot take (a number past its range, a NUL or a lone surrogate
        in text) that no check stopped earlier: the user's input, not our failure — a 400 that
        says so, nothing written. Logged with its traceback so the missing check gets added."""
        from erp_crm.db import db

        db.session.rollback()
        log.warning("Unstorable value on %s %s", request.method, request.path, exc_info=err)
        return error_response(400, UNSTORABLE_MESSAGE)

    @app.errorhandler(CSRFError)
    def _csrf(_err: CSRFError) -> Response:
        return error_response(
            400, "Форма устарела или отправлена не со страницы системы. Обновите страницу."
        )

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_err: RequestEntityTooLarge) -> Response:
        """An upload past the limit: say the limit and keep the user on the form they sent."""
        limit = app.config.get("MAX_CONTENT_LENGTH") or 0
        message = (
            f"Файл слишком большой: можно загрузить не больше {limit // (1024 * 1024)} МБ за раз. "
            "Ничего не сохранено — выберите файл поменьше или разделите его на части."
        )
        if not wants_json() and _same_site_referrer():
            flash(message, "danger")
            return redirect(request.referrer)  # type: ignore[arg-type, return-value]
        return error_response(413, message)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Response:
        status = err.code or 500
        response = error_response(status, HTTP_MESSAGES.get(status, err.name))
        if status == 405 and hasattr(err, "valid_methods") and err.valid_methods:
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return error_response(500, HTTP_MESSAGES[500])
