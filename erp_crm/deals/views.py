"""Deal pages: list, card, lines, stage moves, the kanban board."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("deals", __name__, url_prefix="/deals")
