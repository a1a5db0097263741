"""Leads: the public intake form, the leads queue, manual entry, qualification."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from erp_crm.auth.access import public, require_permission
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.core.forms import apply_errors, choices, form_values
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.db import db
from erp_crm.deals.leads import services as leads
from erp_crm.deals.leads.forms import ConvertForm, LeadForm, PublicLeadForm, RejectForm
from erp_crm.deals.models import Lead, LeadStatus
from erp_crm.errors import Conflict, ValidationError

log = logging.getLogger(__name__)

bp = Blueprint("leads", __name__, url_prefix="/leads")


def _project_choices(empty: str) -> list:
    return choices([("", empty), *((p.id, p.name) for p in leads.open_projects(db.session))])


def _deal_url(deal_id: int) -> str | None:
    try:
        return url_for("deals.show", deal_id=deal_id)
    except BuildError:
        return None


# --- the public intake --------------------------------------------------------------------------


@bp.route("/apply", methods=["GET", "POST"])
@public
def apply() -> Response | str | tuple[str, int]:
    form = PublicLeadForm()
    form.project_id.choices = _project_choices("— ещё не решили —")
    if request.method == "GET" and request.args.get("project_id"):
        form.project_id.data = request.args["project_id"]
    status = 200
    if form.validate_on_submit():
        if form.homepage.data:
            # A bot filled the hidden field: answer as if accepted, keep nothing.
            log.info("lead honeypot filled from %s", request.remote_addr)
            return redirect(url_for("leads.thanks"))
        try:
            leads.submit_lead(
                db.session,
                leads.LeadData.from_mapping(form_values(form, "homepage")),
                ip=request.remote_addr,
                source="web",
            )
        except leads.TooManyLeads as err:
            form.form_errors.append(err.message)
            html = render_template("leads/apply.html", form=form)
            return html, 429, {"Retry-After": str(err.retry_after)}  # type: ignore[return-value]
        except ValidationError as err:
            apply_errors(form, err)
            status = 422
        else:
            return redirect(url_for("leads.thanks"))
    elif request.method == "POST":
        status = 422
    return render_template("leads/apply.html", form=form), status


@bp.route("/apply/thanks")
@public
def thanks() -> str:
    return render_template("leads/thanks.html")


# --- the queue ----------------------------------------------------------------------------------


@bp.route("/")
@require_permission(Perm.LEADS_WORK)
def index() -> str:
    status = request.args.get("status", LeadStatus.NEW.value)
    if status not in {s.value for s in LeadStatus} and status != "all":
        status = LeadStatus.NEW.value
    page = paginate(
        db.session,
        leads.leads_query(status).options(selectinload(Lead.project), selectinload(Lead.client)),
        page=parse_page(request.args.get("page")),
        per_page=current_app.config["ITEMS_PER_PAGE"],
    )
    return render_template(
        "leads/index.html",
        page=page,
        status=status,
        counts=leads.status_counts(db.session),
        status_labels=leads.LEAD_STATUS_LABELS,
        source_labels=leads.LEAD_SOURCE_LABELS,
    )


@bp.route("/new", methods=["GET", "POST"])
@require_permission(Perm.LEADS_WORK)
def create() -> Response | tuple[str, int]:
    form = LeadForm()
    form.project_id.choices = _project_choices("— не указан —")
    if form.validate_on_submit():
        try:
            lead = leads.create_lead(
                db.session, leads.LeadData.from_mapping(form_values(form)), actor=current_user
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Лид «{lead.company_name}» добавлен.", "success")
            return redirect(url_for("leads.show", lead_id=lead.id))
    status = 422 if request.method == "POST" else 200
    return render_template("leads/form.html", form=form), status


# --- one lead -----------------------------------------------------------------------------------


def _render_show(
    lead: Lead,
    *,
    reject_form: RejectForm | None = None,
    convert_form: ConvertForm | None = None,
    problem: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    candidates = []
    if lead.status == LeadStatus.NEW.value:
        candidates = leads.lead_candidates(db.session, lead)
    if convert_form is None:
        convert_form = ConvertForm()
        convert_form.project_id.data = str(lead.project_id or "")
        same_inn = leads.inn_matches(lead, candidates)
        convert_form.client_choice.data = str(same_inn[0].id) if len(same_inn) == 1 else ""
    convert_form.project_id.choices = _project_choices("— выберите проект —")
    deal = leads.deal_of_lead(db.session, lead) if lead.status == "converted" else None
    html = render_template(
        "leads/show.html",
        lead=lead,
        candidates=candidates,
        inn_ids={c.id for c in leads.inn_matches(lead, candidates)},
        reject_form=reject_form or RejectForm(),
        convert_form=convert_form,
        can_convert=has_permission(current_user, Perm.DEALS_WORK),
        problem=problem,
        deal=deal,
        deal_url=_deal_url(deal.id) if deal else None,
        status_labels=leads.LEAD_STATUS_LABELS,
        source_labels=leads.LEAD_SOURCE_LABELS,
    )
    return html, status


@bp.route("/<int:lead_id>")
@require_permission(Perm.LEADS_WORK)
def show(lead_id: int) -> tuple[str, int]:
    return _render_show(leads.get_lead(db.session, lead_id))


@bp.route("/<int:lead_id>/reject", methods=["POST"])
@require_permission(Perm.LEADS_WORK)
def reject(lead_id: int) -> Response | tuple[str, int]:
    lead = leads.get_lead(db.session, lead_id)
    form = RejectForm()
    if form.validate_on_submit():
        try:
            leads.reject_lead(db.session, lead, form.reason.data, actor=current_user)
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash(f"Лид «{lead.company_name}» отклонён.", "info")
            return redirect(url_for("leads.show", lead_id=lead.id))
    return _render_show(lead, reject_form=form, status=422)


@bp.route("/<int:lead_id>/convert", methods=["POST"])
@require_permission(Perm.LEADS_WORK, Perm.DEALS_WORK)
def convert(lead_id: int) -> Response | tuple[str, int]:
    lead = leads.get_lead(db.session, lead_id)
    form = ConvertForm()
    form.project_id.choices = _project_choices("— выберите проект —")
    if not form.validate_on_submit():
        return _render_show(lead, convert_form=form, status=422)
    choice = (form.client_choice.data or "").strip()
    try:
        result = leads.convert_lead(
            db.session,
            lead,
            actor=current_user,
            project_id=form.project_id.data,
            client_id=choice if choice not in ("", "new") else None,
            create_new=choice == "new",
            create_contact=bool(form.create_contact.data),
        )
    except (ValidationError, Conflict) as err:
        # Nothing of a refused conversion stays (a client may have been created before the deal
        # was refused); the page is drawn from the database as it was.
        db.session.rollback()
        lead = leads.get_lead(db.session, lead_id)
        if isinstance(err, ValidationError):
            apply_errors(form, err)
        message = err.message if isinstance(err, Conflict) else None
        return _render_show(lead, convert_form=form, problem=message, status=err.status_code)
    what = "новый контрагент" if result.client_created else "контрагент из базы"
    flash(
        f"Лид преобразован: {what} «{result.client.name}», сделка № {result.deal.id}.",
        "success",
    )
    for note in result.notes:
        flash(note, "warning")
    return redirect(url_for("leads.show", lead_id=lead.id))
