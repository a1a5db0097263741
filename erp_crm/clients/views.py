"""The client base pages: list with search and filters, card, create/edit, contacts, groups."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("clients", __name__, url_prefix="/clients")
groups_bp = Blueprint("groups", __name__, url_prefix="/groups")
