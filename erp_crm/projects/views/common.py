"""What the projects pages share: the one `projects` blueprint and small helpers. The pages
(projects.py, stands.py, and the deals area's views/booking.py) import it; it imports none."""

from __future__ import annotations

from flask import Blueprint, current_app, url_for

from erp_crm.core.forms import choices
from erp_crm.projects.models import Project

bp = Blueprint("projects", __name__, url_prefix="/projects")


def deal_url(deal_id: int) -> str:
    """The deal's page: the deals area's endpoint when it is there, else its plain path."""
    if "deals.show" in current_app.view_functions:
        return url_for("deals.show", deal_id=deal_id)
    return f"/deals/{deal_id}"


def hall_choices(project: Project) -> list:
    return choices((h.id, h.name) for h in project.halls)
