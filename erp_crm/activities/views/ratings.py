"""«Оценка клиентом» recorded from the deal card or the client card (a done contact takes its
rating with the result, on the completion form)."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from erp_crm.activities import access, results
from erp_crm.activities.forms import RatingForm
from erp_crm.activities.views.common import bp
from erp_crm.auth.access import ensure, require_permission
from erp_crm.auth.permissions import Perm
from erp_crm.clients.models import Client
from erp_crm.db import db
from erp_crm.deals.models import Deal
from erp_crm.errors import ValidationError


@bp.route("/ratings/<any(client, deal):kind>/<int:record_id>", methods=["POST"])
@require_permission(Perm.ACTIVITIES_WORK)
def rate(kind: str, record_id: int) -> Response:
    form = RatingForm()
    if not form.validate_on_submit():
        abort(400)
    if kind == "deal":
        deal = db.session.get(Deal, record_id) or abort(404)
        client = deal.client
    else:
        deal, client = None, db.session.get(Client, record_id) or abort(404)
    ensure(access.can_rate(current_user, client, deal=deal))
    back = (
        url_for("deals.show", deal_id=deal.id, _anchor="deal-ratings")
        if deal is not None
        else url_for("clients.show", client_id=client.id)
    )
    try:
        data = results.RatingData.from_mapping(
            {
                "manager_score": form.manager_score.data,
                "project_score": form.project_score.data,
                "company_score": form.company_score.data,
                "comment": form.comment.data,
            }
        )
        results.rate(db.session, client, data, actor=current_user, deal=deal)
    except ValidationError as err:
        flash("Оценка не записана: " + " ".join(dict.fromkeys(err.fields.values())), "danger")
    else:
        flash("Оценка клиента записана.", "success")
    return redirect(back)
