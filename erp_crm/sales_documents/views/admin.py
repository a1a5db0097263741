"""Admin pages: document templates (upload, check, preview), number formats, stamp images."""

from __future__ import annotations

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from PIL import Image, UnidentifiedImageError
from sqlalchemy import select
from werkzeug.wrappers import Response

from documents.numbering import DEFAULT_PATTERNS
from erp_crm.auth.access import require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.db import db, writes_on_get
from erp_crm.errors import NotFound, ValidationError
from erp_crm.organizations.models import Organization
from erp_crm.projects.models import Project
from erp_crm.sales_documents import numbering, template_store, templates_admin
from erp_crm.sales_documents.models import DocumentTemplate, NumberFormat
from erp_crm.sales_documents.schema import DOCX_KINDS, PLACEHOLDERS
from erp_crm.sales_documents.views.common import send_bytes

bp = Blueprint("document_templates", __name__, url_prefix="/documents/templates")

MAX_IMAGE_BYTES = 2 * 1024 * 1024
IMAGE_FIELDS = {
    "stamp_image": "Печать",
    "signature_image": "Подпись руководителя",
    "accountant_signature_image": "Подпись главного бухгалтера",
}


def _template_file(content: bytes, filename: str, engine: str) -> Response:
    """A template to download for editing (HTML as text: never rendered by the browser)."""
    if engine == "docx":
        return send_bytes(content, filename, "docx")
    response = Response(content, mimetype="text/plain; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _template(template_id: int) -> DocumentTemplate:
    template = db.session.get(DocumentTemplate, template_id)
    if template is None:
        raise NotFound("Шаблон не найден.")
    return template


@bp.route("/")
@require_permission(Perm.TEMPLATES_MANAGE)
def index() -> str:
    organizations = db.session.scalars(
        select(Organization).where(Organization.is_active.is_(True)).order_by(Organization.id)
    ).all()
    formats = {
        (f.organization_id, f.kind): f.pattern for f in db.session.scalars(select(NumberFormat))
    }
    shipped = [
        (kind, engine)
        for kind in templates_admin.TEMPLATE_KINDS
        for engine in ("html", "docx")
        if template_store.shipped(kind, engine) is not None
    ]
    return render_template(
        "documents/templates.html",
        templates=db.session.scalars(
            select(DocumentTemplate).order_by(DocumentTemplate.id.desc())
        ).all(),
        projects=db.session.scalars(select(Project).order_by(Project.opening_date.desc())).all(),
        template_kinds=templates_admin.TEMPLATE_KINDS,
        docx_kinds={k.value for k in DOCX_KINDS},
        shipped=shipped,
        placeholders=PLACEHOLDERS,
        organizations=organizations,
        formats=formats,
        default_patterns=DEFAULT_PATTERNS,
        image_fields=IMAGE_FIELDS,
    )


@bp.route("/upload", methods=["POST"])
@require_permission(Perm.TEMPLATES_MANAGE)
def upload() -> Response:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError("Выберите файл шаблона.", fields={"file": "не выбран"})
    project_id = request.form.get("project_id", type=int)
    project = db.session.get(Project, project_id) if project_id else None
    template = templates_admin.upload_template(
        db.session,
        kind=request.form.get("kind", ""),
        filename=upload.filename,
        data=upload.read(templates_admin.MAX_HTML_BYTES * 6),
        name=request.form.get("name"),
        project=project,
        actor=current_user,
    )
    flash(
        f"Шаблон «{template.name}» загружен и проверен. Откройте предпросмотр и, если документ "
        "выглядит как нужно, включите шаблон: до этого действует прежний.",
        "success",
    )
    return redirect(url_for("document_templates.index"))


@bp.route("/<int:template_id>/preview")
@require_permission(Perm.TEMPLATES_MANAGE)
@writes_on_get  # a preview marks the template ready to activate
def preview(template_id: int) -> Response:
    template = _template(template_id)
    result = templates_admin.preview_template(db.session, template, actor=current_user)
    fmt = "docx" if result.filename.endswith(".docx") else "pdf"
    return send_bytes(result.content, result.filename, fmt, inline=fmt == "pdf")


@bp.route("/<int:template_id>/download")
@require_permission(Perm.TEMPLATES_MANAGE)
def download(template_id: int) -> Response:
    template = _template(template_id)
    return _template_file(template.content, template.filename, template.engine)


@bp.route("/<int:template_id>/active", methods=["POST"])
@require_permission(Perm.TEMPLATES_MANAGE)
def set_active(template_id: int) -> Response:
    template = _template(template_id)
    active = request.form.get("active") == "1"
    templates_admin.set_active(db.session, template, active, actor=current_user)
    flash("Шаблон включён." if active else "Шаблон отключён: действует предыдущий.", "info")
    return redirect(url_for("document_templates.index"))


@bp.route("/shipped/<kind>/<engine>")
@require_permission(Perm.TEMPLATES_MANAGE)
def shipped(kind: str, engine: str) -> Response:
    if kind not in templates_admin.TEMPLATE_KINDS or engine not in ("html", "docx"):
        abort(404)
    if request.args.get("preview") == "1":
        result = templates_admin.preview_shipped(kind, engine, actor=current_user)
        fmt = "docx" if engine == "docx" else "pdf"
        return send_bytes(result.content, result.filename, fmt, inline=fmt == "pdf")
    found = template_store.shipped(kind, engine)
    if found is None:
        abort(404)
    return _template_file(found.content, f"{kind}.{engine}", engine)


@bp.route("/number-format/<int:organization_id>", methods=["POST"])
@require_permission(Perm.TEMPLATES_MANAGE)
def number_format(organization_id: int) -> Response:
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        raise NotFound("Организация не найдена.")
    kind = request.form.get("kind", "")
    numbering.set_number_pattern(
        db.session, organization, kind, request.form.get("pattern", ""), actor=current_user
    )
    flash("Формат номера сохранён: он действует для следующих документов.", "success")
    return redirect(url_for("document_templates.index") + "#numbers")


def _checked_image(data: bytes) -> bytes:
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationError("Изображение больше 2 МБ.", fields={"file": "слишком большое"})
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            fmt = image.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ValidationError("Файл не является изображением PNG или JPEG.") from err
    if fmt not in ("PNG", "JPEG"):
        raise ValidationError("Загрузите печать или подпись в формате PNG или JPEG.")
    return data


@bp.route("/organizations/<int:organization_id>/image", methods=["POST"])
@require_permission(Perm.ORGANIZATIONS_MANAGE)
def organization_image(organization_id: int) -> Response:
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        raise NotFound("Организация не найдена.")
    field = request.form.get("field", "")
    if field not in IMAGE_FIELDS:
        raise ValidationError("Неизвестное изображение.")
    if request.form.get("clear") == "1":
        setattr(organization, field, None)
        flash(f"{IMAGE_FIELDS[field]}: удалено.", "info")
    else:
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise ValidationError("Выберите файл изображения.")
        setattr(organization, field, _checked_image(upload.read(MAX_IMAGE_BYTES + 1)))
        flash(f"{IMAGE_FIELDS[field]}: загружено, будет на новых документах.", "success")
    db.session.flush()
    return redirect(url_for("document_templates.index") + "#images")


@bp.route("/organizations/<int:organization_id>/image/<field>")
@require_permission(Perm.ORGANIZATIONS_VIEW)
def organization_image_file(organization_id: int, field: str) -> Response:
    if field not in IMAGE_FIELDS:
        abort(404)
    organization = db.session.get(Organization, organization_id)
    data = getattr(organization, field) if organization else None
    if not data:
        abort(404)
    mime = "image/png" if data[:4] == b"\x89PNG" else "image/jpeg"
    return Response(data, mimetype=mime, headers={"Cache-Control": "private, no-store"})
