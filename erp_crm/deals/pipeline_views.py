"""Admin pages for pipelines, stages and lost reasons."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pipelines", __name__, url_prefix="/admin/pipelines")
