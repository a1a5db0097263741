"""The client base pages: list with search and filters, card, create/edit, contacts, groups."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import delete, func, select
from werkzeug.wrappers import Response

from erp_crm import signals
from erp_crm.auth.access import ensure, require_permission
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm, has_permission
from erp_crm.clients import access, competitors, contacts, groups, services, timeline
from erp_crm.clients.forms import (
    BulkGroupForm,
    ClientForm,
    CompetitorExhibitionForm,
    CompetitorParticipationForm,
    ContactForm,
    ReassignForm,
    SavedFilterForm,
)
from erp_crm.clients.models import (
    CLIENT_KIND_LABELS,
    READINESS_LABELS,
    RELATIONSHIP_LABELS,
    Client,
    CompetitorExhibition,
    CompetitorParticipation,
    ContactPerson,
    SavedFilter,
)
from erp_crm.clients.search import FILTER_LABELS, PROJECT_OUTCOMES, ClientFilter, client_query
from erp_crm.core.forms import apply_errors, choices, form_status, form_values
from erp_crm.core.pagination import paginate, parse_page
from erp_crm.core.text import display_phone
from erp_crm.db import db
from erp_crm.errors import NotFound, ValidationError
from erp_crm.projects import services as project_services
from erp_crm.ui import ru_plural

bp = Blueprint("clients", __name__, url_prefix="/clients")


def _curator_choices(empty: str) -> list:
    return choices([("", empty), *((u.id, u.full_name) for u in services.curators(db.session))])


_DISTINCT_TTL = 60.0
_distinct_cache: dict[tuple[str, str], tuple[float, list[str]]] = {}


def _distinct(column) -> list[str]:
    """Values used in the base (region, industry, source) for the filter selects.

    A GROUP BY over the whole base on every list page costs more than the search itself, and the
    set of regions barely changes: it is kept for a minute per database.
    """
    key = (str(db.engine.url), column.key)
    now = time.monotonic()
    cached = _distinct_cache.get(key)
    if cached and cached[0] > now:
        return cached[1]
    rows = db.session.scalars(
        select(column).where(column.is_not(None)).group_by(column).order_by(column).limit(500)
    )
    values = [r for r in rows if r]
    _distinct_cache[key] = (now + _DISTINCT_TTL, values)
    return values


# --- list ---------------------------------------------------------------------------------------


@bp.route("/")
@require_permission(Perm.CLIENTS_VIEW)
def index() -> str:
    flt = ClientFilter.from_args(request.args)
    page = paginate(
        db.session,
        client_query(flt, actor=current_user),
        page=parse_page(request.args.get("page")),
        per_page=current_app.config["ITEMS_PER_PAGE"],
    )
    actor = current_user._get_current_object()
    visible = groups.visible_groups(db.session, actor)
    manageable = [g for g in visible if access.can_manage_group(actor, g)]
    bulk = BulkGroupForm()
    bulk.group_id.choices = choices((g.id, g.name) for g in manageable)
    saved = db.session.scalars(
        select(SavedFilter).where(SavedFilter.user_id == current_user.id).order_by(SavedFilter.name)
    ).all()
    curators = services.curators(db.session)
    return render_template(
        "clients/index.html",
        page=page,
        flt=flt,
        filter_args=flt.as_args(),
        groups=visible,
        bulk=bulk,
        saved=saved,
        save_form=SavedFilterForm(query=urlencode(flt.as_args())),
        curators=curators,
        curator_names={u.id: u.full_name for u in curators},  # rows name them without a lookup
        # the card's address without its id: 50 rows, one url_for (each costs ~25 µs)
        card_url=url_for("clients.show", client_id=0).removesuffix("0"),
        regions=_distinct(Client.region),
        industries=_distinct(Client.industry),
        sources=_distinct(Client.source),
        competitors=db.session.scalars(
            select(CompetitorExhibition).order_by(CompetitorExhibition.name)
        ).all(),
        projects=project_services.list_projects(db.session),
        project_outcomes=PROJECT_OUTCOMES,
        filter_labels=FILTER_LABELS,
        kinds=CLIENT_KIND_LABELS,
        readiness=READINESS_LABELS,
        relationships=RELATIONSHIP_LABELS,
    )


@bp.route("/bulk-groups", methods=["POST"])
@require_permission(Perm.CLIENTS_VIEW)
def bulk_groups() -> Response:
    form = BulkGroupForm()
    visible = groups.visible_groups(db.session, current_user)
    form.group_id.choices = choices((g.id, g.name) for g in visible)
    back = request.form.get("back") or url_for("clients.index")
    if not back.startswith("/clients"):
        back = url_for("clients.index")
    if not form.validate_on_submit():
        flash("Выберите группу и отметьте клиентов.", "danger")
        return redirect(back)
    group = groups.get_group(db.session, int(form.group_id.data), actor=current_user)
    ids = [int(i) for i in form.client_ids.data if str(i).isdigit()]
    if form.action.data == "remove":
        count = groups.remove_from_group(db.session, group, ids, actor=current_user)
        flash(f"Из группы «{group.name}» убрано: {count}.", "success")
    else:
        count = groups.add_to_group(db.session, group, ids, actor=current_user)
        flash(f"В группу «{group.name}» добавлено: {count}.", "success")
    return redirect(back)


@bp.route("/filters", methods=["POST"])
@require_permission(Perm.CLIENTS_VIEW)
def save_filter() -> Response:
    form = SavedFilterForm()
    if not form.validate_on_submit():
        flash(next(iter([*form.name.errors, *form.query.errors]), "Назовите фильтр."), "danger")
        if form.query.errors:
            return redirect(url_for("clients.index"))
        return redirect(url_for("clients.index") + "?" + (form.query.data or ""))
    name = form.name.data.strip()
    existing = db.session.scalar(
        select(SavedFilter).where(SavedFilter.user_id == current_user.id, SavedFilter.name == name)
    )
    if existing:
        existing.query = form.query.data or ""
    else:
        db.session.add(SavedFilter(user_id=current_user.id, name=name, query=form.query.data or ""))
    flash(f"Фильтр «{name}» сохранён.", "success")
    return redirect(url_for("clients.index") + "?" + (form.query.data or ""))


@bp.route("/filters/<int:filter_id>/delete", methods=["POST"])
@require_permission(Perm.CLIENTS_VIEW)
def delete_filter(filter_id: int) -> Response:
    db.session.execute(
        delete(SavedFilter).where(
            SavedFilter.id == filter_id, SavedFilter.user_id == current_user.id
        )
    )
    flash("Фильтр удалён.", "info")
    return redirect(url_for("clients.index"))


# --- create / edit ------------------------------------------------------------------------------


def _client_form(client: Client | None = None) -> ClientForm:
    form = ClientForm(obj=client)
    form.curator_id.choices = _curator_choices("— без куратора —")
    if request.method == "GET" and client is not None:
        form.curator_id.data = str(client.curator_id or "")
        form.readiness.data = str(client.readiness)
    if request.method == "GET" and client is None:
        form.curator_id.data = str(current_user.id)
    return form


def _client_data(form: ClientForm) -> services.ClientData:
    return services.ClientData.from_mapping(form_values(form, "confirm_duplicate"))


@bp.route("/new", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_CREATE)
def create() -> Response | tuple[str, int]:
    from erp_crm.clients import dedupe

    form = _client_form()
    if not access.can_change_curator(current_user):
        form.curator_id.render_kw = {"disabled": True}  # a manager's new client is their own
    duplicates = []
    if form.validate_on_submit():
        data = _client_data(form)
        try:
            cleaned = services.validate_client(db.session, data)
            duplicates = dedupe.duplicates_before_saving(db.session, cleaned)
            if duplicates and not form.confirm_duplicate.data:
                form.form_errors.append(
                    "Похоже, такой контрагент уже есть. Проверьте список ниже; если это другой "
                    "контрагент, отметьте «создать всё равно»."
                )
            else:
                client = services.create_client(db.session, data, actor=current_user)
                flash(f"Контрагент «{client.name}» создан.", "success")
                return redirect(url_for("clients.show", client_id=client.id))
        except ValidationError as err:
            apply_errors(form, err)
    return render_template(
        "clients/form.html", form=form, client=None, duplicates=duplicates
    ), form_status(form)


@bp.route("/<int:client_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_VIEW)
def edit(client_id: int) -> Response | tuple[str, int]:
    from erp_crm.clients import dedupe

    client = services.get_client(db.session, client_id)
    ensure(access.can_edit_client(current_user, client))
    form = _client_form(client)
    if not access.can_change_curator(current_user):
        form.curator_id.render_kw = {"disabled": True}
    form.confirm_duplicate.label.text = "Это другой контрагент — сохранить всё равно"
    duplicates = []
    if form.validate_on_submit():
        data = _client_data(form)
        if not access.can_change_curator(current_user):
            data.curator_id = client.curator_id
        try:
            cleaned = services.validate_client(db.session, data, client)
            duplicates = dedupe.duplicates_before_saving(db.session, cleaned, client)
            if duplicates and not form.confirm_duplicate.data:
                form.form_errors.append(
                    "С такими данными уже есть контрагент. Проверьте список ниже; если это "
                    "другой контрагент, отметьте «сохранить всё равно»."
                )
            else:
                services.update_client(db.session, client, data, actor=current_user)
                flash("Изменения сохранены.", "success")
                return redirect(url_for("clients.show", client_id=client.id))
        except ValidationError as err:
            apply_errors(form, err)
    return render_template(
        "clients/form.html", form=form, client=client, duplicates=duplicates
    ), form_status(form)


# --- the card -----------------------------------------------------------------------------------


@bp.route("/<int:client_id>")
@require_permission(Perm.CLIENTS_VIEW)
def show(client_id: int) -> str:
    client = services.get_client(db.session, client_id)
    ensure(access.can_view_client(current_user, client))
    visible = groups.visible_groups(db.session, current_user)
    member_of = {g.id for g in client.groups}
    participation_form = CompetitorParticipationForm()
    participation_form.exhibition_id.choices = choices(
        (e.id, e.name)
        for e in db.session.scalars(
            select(CompetitorExhibition)
            .where(CompetitorExhibition.is_active.is_(True))
            .order_by(CompetitorExhibition.name)
        )
    )
    bulk = BulkGroupForm(action="add")
    bulk.group_id.choices = choices(
        (g.id, g.name)
        for g in visible
        if access.can_manage_group(current_user, g) and g.id not in member_of
    )
    merged = db.session.scalars(select(Client).where(Client.merged_into_id == client.id)).all()
    return render_template(
        "clients/show.html",
        client=client,
        can_edit=access.can_edit_client(current_user, client),
        client_groups=[g for g in client.groups if access.can_use_group(current_user, g)],
        can_manage_group=lambda g: access.can_manage_group(current_user, g),
        can_edit_contact=lambda c: access.can_edit_contact(current_user, c),
        timeline=timeline.timeline(db.session, client),
        actors={u.id: u for u in db.session.scalars(select(User))},
        participation_form=participation_form,
        bulk=bulk,
        merged=merged,
        card_sections=sorted(
            signals.answers(
                signals.client_card_sections, client, session=db.session, actor=current_user
            ),
            key=lambda section: section.order,
        ),
        kinds=CLIENT_KIND_LABELS,
        readiness=READINESS_LABELS,
        relationships=RELATIONSHIP_LABELS,
    )


# --- contacts -----------------------------------------------------------------------------------


def _contact_form(contact=None) -> ContactForm:
    form = ContactForm(obj=contact)
    form.curator_id.choices = _curator_choices("— как у клиента —")
    if request.method == "GET" and contact is not None:
        form.phones.data = "\n".join(display_phone(p) for p in contact.phones)
        form.emails.data = "\n".join(contact.emails)
        form.curator_id.data = str(contact.curator_id or "")
    return form


@bp.route("/<int:client_id>/contacts/new", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_VIEW)
def add_contact(client_id: int) -> Response | tuple[str, int]:
    client = services.get_client(db.session, client_id)
    ensure(access.can_edit_client(current_user, client))
    form = _contact_form()
    if form.validate_on_submit():
        try:
            contact = contacts.add_contact(
                db.session,
                client,
                contacts.ContactData.from_mapping(form_values(form)),
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash("Контактное лицо добавлено.", "success")
            _warn_shared_channels(client, contact)
            return redirect(url_for("clients.show", client_id=client.id))
    return render_template(
        "clients/contact_form.html", form=form, client=client, contact=None
    ), form_status(form)


def _warn_shared_channels(client: Client, contact: ContactPerson) -> None:
    from erp_crm.clients import dedupe

    if warning := dedupe.shared_channels_warning(db.session, client, contact):
        flash(warning, "warning")


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_VIEW)
def edit_contact(contact_id: int) -> Response | tuple[str, int]:
    contact = contacts.get_contact(db.session, contact_id)
    ensure(access.can_edit_contact(current_user, contact))
    form = _contact_form(contact)
    if form.validate_on_submit():
        try:
            contacts.update_contact(
                db.session,
                contact,
                contacts.ContactData.from_mapping(form_values(form)),
                actor=current_user,
            )
        except ValidationError as err:
            apply_errors(form, err)
        else:
            flash("Контактное лицо сохранено.", "success")
            _warn_shared_channels(contact.client, contact)
            return redirect(url_for("clients.show", client_id=contact.client_id))
    return render_template(
        "clients/contact_form.html", form=form, client=contact.client, contact=contact
    ), form_status(form)


@bp.route("/contacts/<int:contact_id>/archive", methods=["POST"])
@require_permission(Perm.CLIENTS_VIEW)
def archive_contact(contact_id: int) -> Response:
    contact = contacts.get_contact(db.session, contact_id)
    ensure(access.can_edit_contact(current_user, contact))
    contacts.set_contact_active(db.session, contact, not contact.is_active, actor=current_user)
    flash("Контакт в архиве." if not contact.is_active else "Контакт восстановлен.", "info")
    return redirect(url_for("clients.show", client_id=contact.client_id))


# --- competitors' exhibitions -------------------------------------------------------------------


@bp.route("/<int:client_id>/competitors", methods=["POST"])
@require_permission(Perm.CLIENTS_VIEW)
def add_competitor(client_id: int) -> Response:
    client = services.get_client(db.session, client_id)
    ensure(access.can_edit_client(current_user, client))
    form = CompetitorParticipationForm()
    form.exhibition_id.choices = choices(
        (e.id, e.name) for e in db.session.scalars(select(CompetitorExhibition))
    )
    if not form.validate_on_submit():
        flash("Выберите выставку и год.", "danger")
    else:
        competitors.add_competitor_participation(
            db.session, client, int(form.exhibition_id.data), form.year.data, actor=current_user
        )
        flash("Участие в выставке конкурента отмечено.", "success")
    return redirect(url_for("clients.show", client_id=client.id))


@bp.route("/competitors/<int:participation_id>/delete", methods=["POST"])
@require_permission(Perm.CLIENTS_VIEW)
def delete_competitor(participation_id: int) -> Response:
    participation = db.session.get(CompetitorParticipation, participation_id)
    if participation is None:
        raise NotFound()
    ensure(access.can_edit_client(current_user, participation.client))
    client_id = participation.client_id
    competitors.remove_competitor_participation(db.session, participation, actor=current_user)
    flash("Участие снято.", "info")
    return redirect(url_for("clients.show", client_id=client_id))


@bp.route("/competitor-exhibitions", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_VIEW)
def competitor_exhibitions() -> Response | tuple[str, int]:
    form = CompetitorExhibitionForm()
    can_manage = has_permission(current_user, Perm.GROUPS_MANAGE_COMMON)
    if request.method == "POST":
        ensure(can_manage)
        if form.validate_on_submit():
            try:
                competitors.add_competitor_exhibition(
                    db.session,
                    form.name.data,
                    organizer=form.organizer.data,
                    city=form.city.data,
                    actor=current_user,
                )
            except ValidationError as err:
                apply_errors(form, err)
            else:
                flash("Выставка добавлена в справочник.", "success")
                return redirect(url_for("clients.competitor_exhibitions"))
    rows = db.session.execute(
        select(CompetitorExhibition, func.count(CompetitorParticipation.id))
        .outerjoin(CompetitorParticipation)
        .group_by(CompetitorExhibition.id)
        .order_by(CompetitorExhibition.name)
    ).all()
    return render_template(
        "clients/competitors.html", rows=rows, form=form, can_manage=can_manage
    ), form_status(form)


# --- curators -----------------------------------------------------------------------------------


@bp.route("/reassign", methods=["GET", "POST"])
@require_permission(Perm.CLIENTS_REASSIGN)
def reassign() -> Response | tuple[str, int]:
    form = ReassignForm()
    people = db.session.scalars(select(User).order_by(User.full_name)).all()
    counts = dict(
        db.session.execute(
            select(Client.curator_id, func.count())
            .where(Client.merged_into_id.is_(None), Client.curator_id.is_not(None))
            .group_by(Client.curator_id)
        ).all()
    )
    form.from_user_id.choices = choices(
        (u.id, f"{u.full_name} — {ru_plural(counts.get(u.id, 0), 'клиент', 'клиента', 'клиентов')}")
        for u in people
        if counts.get(u.id)
    )
    form.to_user_ids.choices = choices((u.id, u.full_name) for u in services.curators(db.session))
    if form.validate_on_submit():
        from_user = db.session.get(User, int(form.from_user_id.data))
        to_users = [db.session.get(User, int(i)) for i in form.to_user_ids.data]
        if from_user is None or None in to_users:
            raise NotFound("Пользователь не найден.")
        try:
            result = services.reassign_clients(db.session, from_user, to_users, actor=current_user)
        except ValidationError as err:
            apply_errors(form, err)
        else:
            along = "".join(f", {label}: {n}" for label, n in result.moved_along.items())
            flash(
                f"Передано клиентов: {result.clients}{along}. Контактов, закреплённых лично: "
                f"{result.contacts} — теперь их ведут кураторы их клиентов.",
                "success",
            )
            return redirect(url_for("clients.reassign"))
    return render_template("clients/reassign.html", form=form), form_status(form)
