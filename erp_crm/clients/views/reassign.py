"""Handing a departing manager's clients over to other curators."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from erp_crm.auth.access import require_permission
from erp_crm.auth.models import User
from erp_crm.auth.permissions import Perm
from erp_crm.clients import services
from erp_crm.clients.forms import ReassignForm
from erp_crm.clients.models import Client
from erp_crm.clients.views.common import bp
from erp_crm.core.forms import apply_errors, choices, form_status
from erp_crm.db import db
from erp_crm.errors import NotFound, ValidationError
from erp_crm.ui import ru_plural


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
            result = services.reassign_clients(
                db.session,
                from_user,
                to_users,
                actor=current_user,
                with_receivables=bool(form.with_receivables.data),
            )
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
