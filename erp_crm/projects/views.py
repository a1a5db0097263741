"""Exhibition projects pages: projects, halls, stands, price lists, the hall plan."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("projects", __name__, url_prefix="/projects")
