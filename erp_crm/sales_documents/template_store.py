"""Which template renders a kind: an uploaded one (project-specific first), else the shipped one.

Shipped templates live in the top-level templates/ folder: templates/html/<kind>.html and
templates/docx/<kind>.docx. A template's version string goes into every issued document.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm.config import PROJECT_ROOT
from erp_crm.sales_documents.models import DocumentTemplate

SHIPPED_DIR = PROJECT_ROOT / "templates"
EXTENSIONS = {"html": "html", "docx": "docx"}


@dataclass(frozen=True)
class ResolvedTemplate:
    engine: str  # html | docx
    content: bytes
    version: str
    template_id: int | None = None

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")


def shipped_path(kind: str, engine: str) -> Path:
    return SHIPPED_DIR / engine / f"{kind}.{EXTENSIONS[engine]}"


@lru_cache(maxsize=64)
def _shipped(path: Path, mtime: float) -> ResolvedTemplate:
    content = path.read_bytes()
    engine = path.parent.name
    version = f"shipped:{engine}/{path.name}:{hashlib.sha256(content).hexdigest()[:12]}"
    return ResolvedTemplate(engine=engine, content=content, version=version)


def shipped(kind: str, engine: str) -> ResolvedTemplate | None:
    path = shipped_path(kind, engine)
    if not path.is_file():
        return None
    return _shipped(path, path.stat().st_mtime)


def active_upload(
    session: Session, kind: str, engine: str, project_id: int | None
) -> DocumentTemplate | None:
    query = (
        select(DocumentTemplate)
        .where(
            DocumentTemplate.kind == kind,
            DocumentTemplate.engine == engine,
            DocumentTemplate.is_active.is_(True),
        )
        .order_by(DocumentTemplate.id.desc())
    )
    if project_id is not None:
        own = session.scalars(query.where(DocumentTemplate.project_id == project_id)).first()
        if own is not None:
            return own
    return session.scalars(query.where(DocumentTemplate.project_id.is_(None))).first()


def resolve(
    session: Session, kind: str, engine: str, project_id: int | None
) -> ResolvedTemplate | None:
    upload = active_upload(session, kind, engine, project_id)
    if upload is not None:
        return ResolvedTemplate(
            engine=engine,
            content=upload.content,
            version=upload.version,
            template_id=upload.id,
        )
    return shipped(kind, engine)
