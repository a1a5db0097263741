"""Budget pages: the articles list, a project's budget versions and their grid, plan vs actual
and its XLSX. Thin: every change is one service call; the request hook commits."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from erp_crm.auth.access import require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.budgets import access, services
from erp_crm.budgets import articles as catalog
from erp_crm.budgets import report as reports
from erp_crm.budgets.forms import ArticleForm, NewVersionForm
from erp_crm.budgets.models import DIRECTION_LABELS, BudgetArticle, BudgetVersion
from erp_crm.core.forms import apply_errors, form_status
from erp_crm.db import db
from erp_crm.errors import ValidationError
from erp_crm.projects import plans
from erp_crm.projects import services as projects

bp = Blueprint("budgets", __name__, url_prefix="/budgets")


def _helpers() -> dict:
    return {
        "can_manage": access.can_manage(current_user),
        "month_key": plans.month_key,
        "cell_field": services.cell_field,
        "direction_labels": {k.value: label for k, label in DIRECTION_LABELS.items()},
    }


@bp.route("/")
@require_permission(Perm.BUDGETS_VIEW)
def index() -> str:
    items = projects.list_projects(db.session)
    return render_template(
        "budgets/index.html",
        projects=items,
        summary=reports.projects_summary(db.session, items),
        **_helpers(),
    )


# --- articles -----------------------------------------------------------------------------------


@bp.route("/articles")
@require_permission(Perm.BUDGETS_VIEW)
def articles() -> str:
    return render_template(
        "budgets/articles.html",
        articles=catalog.list_articles(db.session),
        in_use=catalog.articles_in_use(db.session),
        **_helpers(),
    )


def _article_data(form: ArticleForm) -> catalog.ArticleData:
    return catalog.ArticleData(
        code=form.code.data,
        name=form.name.data,
        direction=form.direction.data,
        position=form.position.data,
    )


@bp.route("/articles/new", methods=["GET", "POST"])
@require_permission(Perm.BUDGETS_MANAGE)
def article_create() -> BaseResponse | tuple[str, int]:
    form = ArticleForm()
    if form.validate_on_submit():
        try:
            article = catalog.create_article(db.session, _article_data(form), actor=current_user)
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Статья «{article.name}» добавлена.", "success")
            return redirect(url_for("budgets.articles"))
    return render_template(
        "budgets/article_form.html", form=form, article=None, in_use=False
    ), form_status(form)


@bp.route("/articles/<int:article_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.BUDGETS_MANAGE)
def article_edit(article_id: int) -> BaseResponse | tuple[str, int]:
    article = catalog.get_article(db.session, article_id)
    form = ArticleForm(obj=article)
    if request.method == "GET":
        form.position.data = str(article.position)
    if form.validate_on_submit():
        try:
            catalog.update_article(db.session, article, _article_data(form), actor=current_user)
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Статья «{article.name}» сохранена.", "success")
            return redirect(url_for("budgets.articles"))
    return render_template(
        "budgets/article_form.html",
        form=form,
        article=article,
        in_use=catalog.article_in_use(db.session, article),
    ), form_status(form)


@bp.route("/articles/<int:article_id>/active", methods=["POST"])
@require_permission(Perm.BUDGETS_MANAGE)
def article_active(article_id: int) -> BaseResponse:
    article = catalog.get_article(db.session, article_id)
    active = not article.is_active
    catalog.set_article_active(db.session, article, active, actor=current_user)
    flash(f"Статья «{article.name}» {'включена' if active else 'отключена'}.", "info")
    return redirect(url_for("budgets.articles"))


@bp.route("/articles/<int:article_id>/delete", methods=["POST"])
@require_permission(Perm.BUDGETS_MANAGE)
def article_delete(article_id: int) -> BaseResponse:
    article = catalog.get_article(db.session, article_id)
    name = article.name
    catalog.delete_article(db.session, article, actor=current_user)
    flash(f"Статья «{name}» удалена.", "info")
    return redirect(url_for("budgets.articles"))


# --- a project's versions -----------------------------------------------------------------------


@bp.route("/projects/<int:project_id>")
@require_permission(Perm.BUDGETS_VIEW)
def project(project_id: int) -> str:
    item = projects.get_project(db.session, project_id)
    versions = services.list_versions(db.session, item)
    return render_template(
        "budgets/project.html",
        project=item,
        versions=versions,
        approved=next((v for v in versions if v.status == "approved"), None),
        draft=next((v for v in versions if v.is_draft), None),
        summary=reports.projects_summary(db.session, [item])[item.id],
        **_helpers(),
    )


@bp.route("/projects/<int:project_id>/versions", methods=["POST"])
@require_permission(Perm.BUDGETS_MANAGE)
def version_create(project_id: int) -> BaseResponse:
    item = projects.get_project(db.session, project_id)
    form = NewVersionForm()
    if not form.validate_on_submit():
        flash("Комментарий слишком длинный.", "danger")
        return redirect(url_for("budgets.project", project_id=item.id))
    version = services.create_version(
        db.session,
        item,
        actor=current_user,
        copy_latest=bool(form.copy_latest.data),
        comment=form.comment.data,
    )
    flash(f"Создан черновик бюджета, версия {version.number}.", "success")
    return redirect(url_for("budgets.version_edit", version_id=version.id))


@bp.route("/versions/<int:version_id>")
@require_permission(Perm.BUDGETS_VIEW)
def version(version_id: int) -> str:
    item = services.get_version(db.session, version_id)
    return render_template(
        "budgets/version.html",
        version=item,
        project=item.project,
        report=reports.build_report(db.session, item.project, item),
        outbox_status=services.exchange_status(db.session, item),
        outbox_labels=services.OUTBOX_STATUS_LABELS,
        **_helpers(),
    )


def _grid_articles(version: BudgetVersion, stored: dict) -> list[BudgetArticle]:
    """Active articles, and inactive ones that still hold an amount in this version."""
    used = {article_id for article_id, _ in stored}
    return [a for a in catalog.list_articles(db.session) if a.is_active or a.id in used]


@bp.route("/versions/<int:version_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.BUDGETS_MANAGE)
def version_edit(version_id: int) -> BaseResponse | tuple[str, int]:
    item = services.get_version(db.session, version_id)
    if request.method == "GET" and not item.is_draft:
        flash(f"Версия {item.number} — «{item.status_label}»: её суммы не меняются.", "info")
        return redirect(url_for("budgets.version", version_id=item.id))
    stored = services.version_amounts(db.session, item)
    months = services.budget_months(item.project, [m for _, m in stored])
    articles = _grid_articles(item, stored)
    values = {
        services.cell_field(a.id, m): str(stored[(a.id, m)])
        for a in articles
        for m in months
        if (a.id, m) in stored
    }
    errors: dict[str, str] = {}
    message = None
    if request.method == "POST":  # CSRFProtect has checked the token
        cells = []
        for article in articles:
            for month in months:
                name = services.cell_field(article.id, month)
                if name in request.form:
                    values[name] = request.form[name]
                    cells.append(services.BudgetCell(article.id, month, request.form[name]))
        try:
            changed = services.save_lines(db.session, item, cells, actor=current_user)
        except ValidationError as err:
            errors, message = err.fields, err.message
        else:
            flash(f"Бюджет сохранён (изменено ячеек: {changed}).", "success")
            return redirect(url_for("budgets.version_edit", version_id=item.id))
    return render_template(
        "budgets/version_edit.html",
        version=item,
        project=item.project,
        articles=articles,
        months=months,
        values=values,
        errors=errors,
        message=message,
        **_helpers(),
    ), (422 if errors else 200)


@bp.route("/versions/<int:version_id>/approve", methods=["POST"])
@require_permission(Perm.BUDGETS_MANAGE)
def version_approve(version_id: int) -> BaseResponse:
    item = services.get_version(db.session, version_id)
    services.approve_version(db.session, item, actor=current_user)
    flash(
        f"Версия {item.number} утверждена и поставлена в очередь на отправку в бухгалтерию.",
        "success",
    )
    return redirect(url_for("budgets.version", version_id=item.id))


@bp.route("/versions/<int:version_id>/delete", methods=["POST"])
@require_permission(Perm.BUDGETS_MANAGE)
def version_delete(version_id: int) -> BaseResponse:
    item = services.get_version(db.session, version_id)
    project_id, number = item.project_id, item.number
    services.delete_draft(db.session, item, actor=current_user)
    flash(f"Черновик версии {number} удалён.", "info")
    return redirect(url_for("budgets.project", project_id=project_id))


# --- plan vs actual -----------------------------------------------------------------------------


def _report_version(project_id: int) -> BudgetVersion | None:
    """?version=<id>: compare the actual with another version of the same project."""
    raw = request.args.get("version", "")
    if not raw.isdigit():
        return None
    item = services.get_version(db.session, int(raw))
    if item.project_id != project_id:
        return None
    return item


@bp.route("/projects/<int:project_id>/report")
@require_permission(Perm.BUDGETS_VIEW)
def report(project_id: int) -> str:
    item = projects.get_project(db.session, project_id)
    return render_template(
        "budgets/report.html",
        project=item,
        report=reports.build_report(db.session, item, _report_version(item.id)),
        versions=services.list_versions(db.session, item),
        **_helpers(),
    )


@bp.route("/projects/<int:project_id>/report.xlsx")
@require_permission(Perm.BUDGETS_VIEW)
def report_xlsx(project_id: int) -> Response:
    item = projects.get_project(db.session, project_id)
    data = reports.export_xlsx(reports.build_report(db.session, item, _report_version(item.id)))
    response = Response(
        data, mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response.headers.set("Content-Disposition", "attachment", filename=f"budget-{item.code}.xlsx")
    return response
