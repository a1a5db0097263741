"""The mailing pages: selections, campaigns (labels, envelopes, export, e-mail), postal
addresses and returned mail, label formats, the mail log and settings, unsubscribing."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from erp_crm.auth.access import ensure, public, require_permission
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import access as client_access
from erp_crm.clients.models import Client, ContactPerson
from erp_crm.clients.search import ClientFilter
from erp_crm.core.mail import SECURITY_MODES
from erp_crm.db import db
from erp_crm.deals.models import Deal
from erp_crm.errors import NotFound, ValidationError
from erp_crm.jobs.models import JobRequest
from erp_crm.mailing import addresses, outbox, printing, selections, sending
from erp_crm.mailing import jobs as mailing_jobs
from erp_crm.mailing.models import CampaignRecipient, MailMessage, MailServerSettings
from erp_crm.sales_documents.schema import MANUAL_KINDS

bp = Blueprint("mailing", __name__, url_prefix="/mailing")
public_bp = Blueprint("mailing_public", __name__, url_prefix="/m")
PREVIEW_ROWS = 300


@bp.app_template_global("described_filter")
def described_filter(args: dict) -> list[str]:
    """A selection's client-list filter in words («Город: Самара»)."""
    return selections.describe_filter(db.session, args)


def _pdf(data: bytes, name: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/")
@require_permission(Perm.MAILING_WORK)
def index():
    from sqlalchemy import select

    from erp_crm.mailing.models import Campaign, Selection

    session = db.session
    return render_template(
        "mailing/index.html",
        selections_list=session.scalars(select(Selection).order_by(Selection.id.desc())).all(),
        campaigns=session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(100)).all(),
        returned=addresses.returned_count(session),
    )


# --- selections ---------------------------------------------------------------------------------


@bp.route("/selections/new", methods=["GET", "POST"])
@require_permission(Perm.MAILING_WORK)
def selection_new():
    source = request.form if request.method == "POST" else request.args
    flt = ClientFilter.from_args(source)
    if request.method == "POST":
        selection = selections.save_selection(
            db.session,
            name=request.form.get("name"),
            filter_args=flt.as_args(),
            target=request.form.get("target", "clients"),
            contact_mode=request.form.get("contact_mode", "all"),
            position=request.form.get("position"),
            actor=current_user,
        )
        flash("Выборка сохранена.", "success")
        return redirect(url_for("mailing.selection_show", selection_id=selection.id))
    return render_template(
        "mailing/selection_new.html",
        flt=flt.as_args(),
        targets=selections.TARGETS,
        modes=selections.CONTACT_MODES,
    )


@bp.get("/selections/<int:selection_id>")
@require_permission(Perm.MAILING_WORK)
def selection_show(selection_id: int):
    selection = selections.get_selection(db.session, selection_id)
    channel = request.args.get("channel", "post")
    channel = channel if channel in selections.CHANNELS else "post"
    items = list(selections.entries(db.session, selection, actor=current_user, channel=channel))
    return render_template(
        "mailing/selection_show.html",
        selection=selection,
        channel=channel,
        items=items[:PREVIEW_ROWS],
        total=len(items),
        counts=selections.summary(items),
        exclusions=selections.EXCLUSIONS,
        channels=selections.CHANNELS,
        targets=selections.TARGETS,
        modes=selections.CONTACT_MODES,
        manuals=MANUAL_KINDS,
        projects=_projects(),
    )


def _projects():
    from sqlalchemy import select

    from erp_crm.projects.models import Project

    return db.session.scalars(select(Project).order_by(Project.id.desc()).limit(50)).all()


@bp.post("/selections/<int:selection_id>/campaigns")
@require_permission(Perm.MAILING_WORK)
def campaign_create(selection_id: int):
    selection = selections.get_selection(db.session, selection_id)
    project_id = request.form.get("project_id", type=int)
    campaign = selections.create_campaign(
        db.session,
        selection,
        name=request.form.get("name"),
        channel=request.form.get("channel", "post"),
        subject=request.form.get("subject"),
        body=request.form.get("body"),
        project_id=project_id or None,
        actor=current_user,
    )
    return redirect(url_for("mailing.campaign_show", campaign_id=campaign.id))


# --- campaigns ----------------------------------------------------------------------------------


@bp.get("/campaigns/<int:campaign_id>")
@require_permission(Perm.MAILING_WORK)
def campaign_show(campaign_id: int):
    from sqlalchemy import func, select

    session = db.session
    campaign = selections.get_campaign(session, campaign_id)
    rows = (
        session.scalars(
            select(CampaignRecipient)
            .where(CampaignRecipient.campaign_id == campaign.id)
            .order_by(CampaignRecipient.position)
            .limit(PREVIEW_ROWS)
        ).all()
        if campaign.frozen_at
        else []
    )
    counts = dict(
        session.execute(
            select(CampaignRecipient.excluded, func.count())
            .where(CampaignRecipient.campaign_id == campaign.id)
            .group_by(CampaignRecipient.excluded)
        ).all()
    )
    mail = outbox.counts_of_campaign(session, campaign.id)
    return render_template(
        "mailing/campaign_show.html",
        campaign=campaign,
        rows=rows,
        counts=counts,
        mail=mail,
        exclusions=selections.EXCLUSIONS,
        formats=printing.active_formats(session),
        envelopes=printing.ENVELOPES,
        manuals=MANUAL_KINDS,
        statuses=outbox.STATUS_LABELS,
    )


@bp.post("/campaigns/<int:campaign_id>/labels")
@require_permission(Perm.MAILING_WORK)
def campaign_labels(campaign_id: int):
    campaign = selections.get_campaign(db.session, campaign_id)
    fmt_id = request.form.get("format_id", type=int)
    if fmt_id is None:
        raise ValidationError("Выберите формат наклеек.", fields={"format_id": "не выбран"})
    fmt = printing.get_format(db.session, fmt_id)
    printing.check_format(fmt)
    background = _in_background(campaign, "labels", fmt.id)
    if background is not None:
        return background
    report = printing.campaign_labels(db.session, campaign, fmt, actor=current_user)
    return _pdf(report.pdf, f"labels-{campaign.id}.pdf")


@bp.post("/campaigns/<int:campaign_id>/envelopes")
@require_permission(Perm.MAILING_WORK)
def campaign_envelopes(campaign_id: int):
    campaign = selections.get_campaign(db.session, campaign_id)
    size = request.form.get("size", "")
    if size not in printing.ENVELOPES:
        raise ValidationError("Выберите формат конверта: DL, C6, C5 или C4.")
    background = _in_background(campaign, "envelopes", size)
    if background is not None:
        return background
    pdf, _count = printing.campaign_envelopes(db.session, campaign, size, actor=current_user)
    return _pdf(pdf, f"envelopes-{campaign.id}.pdf")


def _in_background(campaign, what: str, option: str | int) -> Response | None:
    """A large campaign prints as a job with a progress bar; a small one downloads at once."""
    if campaign.channel != "post":
        return None  # the printing service says why not
    selections.freeze(db.session, campaign, actor=current_user)
    if (
        mailing_jobs.addressees(db.session, campaign)
        <= current_app.config["MAILING_PRINT_INLINE_MAX"]
    ):
        return None
    job = mailing_jobs.request_print(db.session, campaign, what, option, actor=current_user)
    return redirect(url_for(".print_status", request_id=job.id))


def _print_job(request_id: int) -> JobRequest:
    job = db.session.get(JobRequest, request_id)
    if job is None or job.name != mailing_jobs.PRINT_JOB:
        raise NotFound("Задание печати не найдено.")
    return job


@bp.get("/prints/<int:request_id>")
@require_permission(Perm.MAILING_WORK)
def print_status(request_id: int):
    job = _print_job(request_id)
    campaign = selections.get_campaign(db.session, job.payload["campaign_id"])
    return render_template("mailing/print_status.html", job=job, campaign=campaign)


@bp.get("/prints/<int:request_id>/progress")
@require_permission(Perm.MAILING_WORK)
def print_progress(request_id: int):
    return render_template("mailing/_print_progress.html", job=_print_job(request_id))


@bp.get("/prints/<int:request_id>/result.pdf")
@require_permission(Perm.MAILING_WORK)
def print_result(request_id: int):
    job = _print_job(request_id)
    path = mailing_jobs.result_path(job.id)
    if job.status != "done" or not path.exists():
        raise NotFound("Файл ещё не готов: дождитесь окончания печати.")
    return _pdf(path.read_bytes(), f"{job.payload['what']}-{job.payload['campaign_id']}.pdf")


@bp.post("/campaigns/<int:campaign_id>/export")
@require_permission(Perm.MAILING_WORK)
def campaign_export(campaign_id: int):
    campaign = selections.get_campaign(db.session, campaign_id)
    fmt = request.form.get("format", "csv")
    if fmt == "xlsx":
        data = selections.export_xlsx(db.session, campaign, actor=current_user)
        mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif fmt == "csv":
        data = selections.export_csv(db.session, campaign, actor=current_user)
        mime = "text/csv; charset=utf-8"
    else:
        raise ValidationError("Выберите формат выгрузки: CSV или XLSX.")
    response = Response(data, mimetype=mime)
    response.headers["Content-Disposition"] = f'attachment; filename="campaign-{campaign.id}.{fmt}"'
    return response


@bp.post("/campaigns/<int:campaign_id>/send")
@require_permission(Perm.MAILING_WORK)
def campaign_send(campaign_id: int):
    campaign = selections.get_campaign(db.session, campaign_id)
    manuals = [m for m in request.form.getlist("manuals") if m]
    count = sending.send_campaign(db.session, campaign, actor=current_user, manuals=manuals)
    flash(f"Писем поставлено в очередь: {count}.", "success")
    return redirect(url_for("mailing.campaign_show", campaign_id=campaign.id))


# --- postal addresses and returned mail --------------------------------------------------------


def _client_and_contact(client_id: int) -> tuple[Client, ContactPerson | None]:
    client = db.session.get(Client, client_id)
    if client is None:
        raise NotFound("Клиент не найден.")
    contact_id = request.values.get("contact_id", type=int)
    contact = db.session.get(ContactPerson, contact_id) if contact_id else None
    if contact_id and (contact is None or contact.client_id != client.id):
        raise NotFound("Контактное лицо не найдено.")
    return client, contact


@bp.route("/addresses/client/<int:client_id>", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_VIEW)
def address_edit(client_id: int):
    client, contact = _client_and_contact(client_id)
    ensure(
        client_access.can_edit_contact(current_user, contact)
        if contact
        else client_access.can_edit_client(current_user, client)
    )
    row = addresses.address_of(db.session, client.id, contact.id if contact else None)
    errors: dict[str, str] = {}
    values = {name: getattr(row, name) if row else None for name in addresses.LABELS}
    status = 200
    if request.method == "POST":
        data = addresses.AddressData.from_mapping(request.form)
        values = {name: request.form.get(name) for name in addresses.LABELS}
        try:
            addresses.set_address(db.session, client, data, actor=current_user, contact=contact)
        except ValidationError as err:
            db.session.rollback()
            errors, status = err.fields, 422
        else:
            flash("Почтовый адрес сохранён.", "success")
            return redirect(url_for("clients.show", client_id=client.id))
    return (
        render_template(
            "mailing/address_form.html",
            client=client,
            contact=contact,
            row=row,
            values=values,
            errors=errors,
            labels=addresses.LABELS,
            required=addresses.REQUIRED,
        ),
        status,
    )


@bp.post("/addresses/<int:address_id>/returned")
@require_permission(Perm.MAILING_WORK)
def address_returned(address_id: int):
    row = addresses.get(db.session, address_id)
    addresses.mark_returned(
        db.session,
        row,
        request.form.get("reason", ""),
        note=request.form.get("note", ""),
        actor=current_user,
    )
    flash("Возврат отмечен: адрес в списке на исправление.", "success")
    return redirect(request.form.get("next") or url_for("mailing.cleanup"))


@bp.get("/cleanup")
@require_permission(Perm.MAILING_WORK)
def cleanup():
    rows = addresses.cleanup_list(db.session)
    clients = {
        c.id: c
        for c in db.session.query(Client).filter(Client.id.in_({r.client_id for r in rows} or {0}))
    }
    return render_template("mailing/cleanup.html", rows=rows, clients=clients)


# --- label formats ------------------------------------------------------------------------------


@bp.route("/formats", methods=["GET", "POST"])
@require_permission(Perm.MAILING_WORK)
def formats():
    if request.method == "POST":
        ensure(has_permission(current_user, Perm.MAILING_SETTINGS))
        printing.save_format(db.session, request.form, actor=current_user)
        flash("Формат добавлен.", "success")
        return redirect(url_for("mailing.formats"))
    return render_template(
        "mailing/formats.html",
        formats=printing.active_formats(db.session),
        fields=printing.FORMAT_FIELDS,
    )


@bp.post("/formats/<int:format_id>")
@require_permission(Perm.MAILING_SETTINGS)
def format_edit(format_id: int):
    fmt = printing.get_format(db.session, format_id)
    printing.save_format(db.session, request.form, actor=current_user, fmt=fmt)
    flash("Формат сохранён.", "success")
    return redirect(url_for("mailing.formats"))


@bp.get("/formats/<int:format_id>/calibration")
@require_permission(Perm.MAILING_WORK)
def format_calibration(format_id: int):
    fmt = printing.get_format(db.session, format_id)
    return _pdf(printing.calibration_pdf(fmt), f"calibration-{fmt.code}.pdf")


# --- e-mail: documents from the deal card, the log, settings -----------------------------------


@bp.post("/deals/<int:deal_id>/send")
@require_permission(Perm.MAILING_SEND_DOCUMENTS)
def deal_send(deal_id: int):
    deal = db.session.get(Deal, deal_id)
    if deal is None:
        raise NotFound("Сделка не найдена.")
    ensure(sending.can_send_documents(current_user, deal))
    row = sending.send_document(
        db.session,
        deal,
        what=request.form.get("what", ""),
        contact_id=request.form.get("contact_id"),
        email=request.form.get("email") or None,
        message=request.form.get("message"),
        actor=current_user,
    )
    flash(f"Письмо для {row.to_address} поставлено в очередь отправки.", "success")
    return redirect(url_for("deals.show", deal_id=deal.id) + "#deal-mail")


@bp.get("/log")
@require_permission(Perm.MAILING_LOG)
def mail_log():
    status = request.args.get("status", "")
    rows = db.session.scalars(outbox.log_query(status=status).limit(300)).all()
    return render_template(
        "mailing/log.html",
        rows=rows,
        status=status,
        statuses=outbox.STATUS_LABELS,
        counts=outbox.counts(db.session),
    )


@bp.post("/log/<int:message_id>/retry")
@require_permission(Perm.MAILING_LOG)
def mail_retry(message_id: int):
    row = db.session.get(MailMessage, message_id)
    if row is None:
        raise NotFound("Письмо не найдено.")
    outbox.retry(db.session, row, actor=current_user)
    flash("Письмо снова в очереди.", "success")
    return redirect(url_for("mailing.mail_log"))


@bp.route("/settings", methods=["GET", "POST"])
@require_permission(Perm.MAILING_SETTINGS)
def settings():
    from sqlalchemy import select

    if request.method == "POST":
        outbox.save_settings(db.session, request.form, actor=current_user)
        flash("Настройки почты сохранены.", "success")
        return redirect(url_for("mailing.settings"))
    row = db.session.scalar(select(MailServerSettings).limit(1))
    return render_template(
        "mailing/settings.html",
        row=row,
        current=outbox.policy(db.session),
        modes=SECURITY_MODES,
    )


# --- unsubscribing (no login) -------------------------------------------------------------------


@public_bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@public
def unsubscribe(token: str):
    try:
        recipient = sending.recipient_of_token(db.session, token)
    except sending.ForgedLink as err:
        return render_template("mailing/unsubscribe.html", error=err.message), 400
    done = already = False
    if request.method == "POST":
        _row, created = sending.unsubscribe(db.session, token)
        done, already = created, not created
    return render_template(
        "mailing/unsubscribe.html", recipient=recipient, done=done, already=already, error=None
    )
