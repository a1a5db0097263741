"""Budget rules: versions of a project's budget and their grid, approval (which sends the
version to accounting: the `budget_approved` signal, the integration area queues it), and the
actuals accounting reports.

Every function takes the session first and never commits; the request (or the sync job) does.
The list of articles is in `budgets.articles`, the plan-vs-actual figures in `budgets.report`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.audit import services as audit
from erp_crm.auth.models import User
from erp_crm.budgets.access import require_keeper
from erp_crm.budgets.models import (
    DIRECTION_LABELS,
    BudgetActual,
    BudgetArticle,
    BudgetLine,
    BudgetVersion,
    Direction,
    VersionStatus,
)
from erp_crm.core.guids import guid_for
from erp_crm.db import utcnow
from erp_crm.errors import Conflict, NotFound, ValidationError
from erp_crm.projects import plans
from erp_crm.projects import values as v
from erp_crm.projects.models import Project

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MONTHS_BEFORE_OPENING = 9  # the grid starts this many months before the show's month
MONTHS_AFTER_CLOSING = 1  # … and ends the month after it (final settlements)


# --- months -------------------------------------------------------------------------------------


def budget_months(
    project: Project, extra: list[dt.date] | tuple[dt.date, ...] = ()
) -> list[dt.date]:
    """From a few months before the show to the month after it, widened to `extra` months."""
    start = plans.add_months(plans.month_start(project.opening_date), -MONTHS_BEFORE_OPENING)
    end = plans.add_months(plans.month_start(project.closing_date), MONTHS_AFTER_CLOSING)
    months = set(plans.months_between(start, end))
    months.update(plans.month_start(m) for m in extra)
    return sorted(months)


def cell_field(article_id: int, month: dt.date) -> str:
    """The grid's input name of one cell: «amount-<article id>-YYYY-MM»."""
    return f"amount-{article_id}-{plans.month_key(month)}"


# --- versions -----------------------------------------------------------------------------------


def get_version(session: Session, version_id: int) -> BudgetVersion:
    version = session.get(BudgetVersion, version_id)
    if version is None:
        raise NotFound("Версия бюджета не найдена.")
    return version


def list_versions(session: Session, project: Project) -> list[BudgetVersion]:
    """Newest first."""
    return list(
        session.scalars(
            select(BudgetVersion)
            .where(BudgetVersion.project_id == project.id)
            .order_by(BudgetVersion.number.desc())
        )
    )


def approved_version(session: Session, project: Project) -> BudgetVersion | None:
    return session.scalar(
        select(BudgetVersion).where(
            BudgetVersion.project_id == project.id,
            BudgetVersion.status == VersionStatus.APPROVED.value,
        )
    )


def draft_version(session: Session, project: Project) -> BudgetVersion | None:
    return session.scalar(
        select(BudgetVersion).where(
            BudgetVersion.project_id == project.id,
            BudgetVersion.status == VersionStatus.DRAFT.value,
        )
    )


def version_amounts(session: Session, version: BudgetVersion) -> dict[tuple[int, dt.date], Decimal]:
    """{(article id, month): amount} of the version's stored (non-zero) cells."""
    rows = session.execute(
        select(BudgetLine.article_id, BudgetLine.month, BudgetLine.amount).where(
            BudgetLine.version_id == version.id
        )
    )
    return {(article_id, month): amount for article_id, month, amount in rows}


def create_version(
    session: Session,
    project: Project,
    *,
    actor: User | None,
    copy_latest: bool = True,
    comment: str | None = None,
) -> BudgetVersion:
    """A new draft, numbered after the last version; a copy of the latest version's amounts
    unless `copy_latest` is false. One draft per project at a time."""
    require_keeper(actor)
    session.get(Project, project.id, with_for_update=True)  # one numbering at a time
    draft = draft_version(session, project)
    if draft is not None:
        raise Conflict(
            f"У проекта уже есть черновик бюджета (версия {draft.number}): "
            "измените или утвердите его."
        )
    latest = session.scalar(
        select(BudgetVersion)
        .where(BudgetVersion.project_id == project.id)
        .order_by(BudgetVersion.number.desc())
        .limit(1)
    )
    version = BudgetVersion(
        project=project,
        number=(latest.number + 1) if latest else 1,
        status=VersionStatus.DRAFT.value,
        guid=str(uuid.uuid4()),
        comment=v.text(comment),
        based_on_id=latest.id if (latest and copy_latest) else None,
        created_by_id=getattr(actor, "id", None),
    )
    session.add(version)
    session.flush()
    if latest is not None and copy_latest:
        session.add_all(
            BudgetLine(
                version_id=version.id,
                article_id=line.article_id,
                month=line.month,
                amount=line.amount,
            )
            for line in session.scalars(
                select(BudgetLine).where(BudgetLine.version_id == latest.id)
            )
        )
        session.flush()
    return version


def _ensure_draft(version: BudgetVersion) -> None:
    if version.status == VersionStatus.APPROVED.value:
        raise Conflict(f"Версия {version.number} утверждена и не меняется: создайте новую версию.")
    if version.status != VersionStatus.DRAFT.value:
        raise Conflict(
            f"Версия {version.number} заменена более новой и не меняется: создайте новую версию."
        )


@dataclass(frozen=True)
class BudgetCell:
    """One cell of the grid as typed: an article, a month and a raw amount («1 234,50»)."""

    article_id: int
    month: dt.date
    amount: Any


def save_lines(
    session: Session, version: BudgetVersion, cells: list[BudgetCell], *, actor: User | None
) -> int:
    """Store the grid of a draft: empty or zero deletes the cell. Returns the changed cells.

    Every wrong cell is reported at once (ValidationError.fields keyed by `cell_field`) and
    nothing is stored then.
    """
    require_keeper(actor)
    session.refresh(version, with_for_update=True)  # two saves of one grid: one after the other
    _ensure_draft(version)
    articles = {a.id: a for a in session.scalars(select(BudgetArticle))}
    stored = version_amounts(session, version)
    errors: dict[str, str] = {}
    cleaned: dict[tuple[int, dt.date], Decimal] = {}
    for cell in cells:
        month = plans.month_start(cell.month)
        name = cell_field(cell.article_id, month)
        amount = v.decimal(cell.amount, name, errors, label="сумму")
        article = articles.get(cell.article_id)
        if article is None:
            errors[name] = "Такой статьи бюджета нет."
            continue
        if amount and not article.is_active and not stored.get((article.id, month)):
            errors[name] = f"Статья «{article.name}» отключена: новые суммы по ней не вносятся."
            continue
        if name not in errors:
            cleaned[(article.id, month)] = amount or ZERO
    if errors:
        raise ValidationError(
            f"Проверьте отмеченные ячейки бюджета ({len(errors)}): суммы неотрицательные, "
            "не больше двух знаков после запятой.",
            fields=errors,
        )
    existing = {
        (line.article_id, line.month): line
        for line in session.scalars(select(BudgetLine).where(BudgetLine.version_id == version.id))
    }
    changes: dict[str, list[str]] = {}
    for (article_id, month), amount in sorted(cleaned.items()):
        line = existing.get((article_id, month))
        old = line.amount if line is not None else ZERO
        if old == amount:
            continue
        changes[f"{articles[article_id].name} · {plans.month_key(month)}"] = [str(old), str(amount)]
        if amount == 0:
            session.delete(line)
        elif line is None:
            session.add(
                BudgetLine(version_id=version.id, article_id=article_id, month=month, amount=amount)
            )
        else:
            line.amount = amount
    session.flush()
    if changes:
        audit.record(session, version, "budget_lines", changes)
    return len(changes)


def delete_draft(session: Session, version: BudgetVersion, *, actor: User | None) -> None:
    """Discard a draft (it was never sent anywhere). Approved and superseded versions stay."""
    require_keeper(actor)
    _ensure_draft(version)
    session.delete(version)
    session.flush()


def approve_version(
    session: Session, version: BudgetVersion, *, actor: User | None
) -> BudgetVersion:
    """The draft becomes the project's approved budget; the previous approved version becomes
    superseded (still readable), and the version is queued for accounting in this transaction
    (the integration area's receiver of `budget_approved` writes the outbox row)."""
    require_keeper(actor)
    project = session.get(Project, version.project_id, with_for_update=True)
    assert project is not None
    session.refresh(version)
    _ensure_draft(version)
    has_amounts = session.scalar(
        select(exists().where(BudgetLine.version_id == version.id, BudgetLine.amount > 0))
    )
    if not has_amounts:
        raise ValidationError("В версии нет ни одной суммы: утверждать нечего.")
    now = utcnow()
    previous = approved_version(session, project)
    if previous is not None:
        previous.status = VersionStatus.SUPERSEDED.value
        previous.superseded_at = now
        session.flush()  # before the draft takes the project's one approved place
    version.status = VersionStatus.APPROVED.value
    version.approved_at = now
    version.approved_by_id = getattr(actor, "id", None)
    session.flush()
    signals.budget_approved.send(version, session=session, actor=actor)
    return version


# --- actuals from accounting --------------------------------------------------------------------


def project_by_guid(session: Session, project_guid: str) -> Project | None:
    """Our projects' GUIDs are derived from their ids (guid_for): compared over the few dozen
    projects, the map kept for the session (a sync applies many actuals in one)."""
    wanted = str(project_guid or "").strip().lower()
    known: dict[str, int] = session.info.setdefault("budget_project_guids", {})
    if wanted not in known:  # a project created since: build the map again
        known.clear()
        known.update(
            (guid_for("projects", project_id), project_id)
            for project_id in session.scalars(select(Project.id))
        )
    project_id = known.get(wanted)
    return session.get(Project, project_id) if project_id is not None else None


def apply_actual(
    session: Session,
    *,
    project_guid: str,
    article_code: str,
    direction: str,
    month: dt.date,
    amount: Decimal,
) -> bool:
    """Store the cumulative actual of (project, article, month) reported by accounting.

    Idempotent: the same report twice leaves one row with the same value; a new value replaces
    the old one. Returns False and changes nothing when the project or the article (its code
    with that direction) is unknown. Inactive articles still take actuals.
    """
    project = project_by_guid(session, project_guid)
    code = str(article_code or "").strip().upper()
    article = session.scalar(select(BudgetArticle).where(BudgetArticle.code == code))
    if project is None or article is None or article.direction != str(direction or "").strip():
        return False
    try:
        value = Decimal(str(amount)).quantize(CENT)
    except InvalidOperation:
        return False
    if isinstance(month, dt.datetime):
        month = month.date()
    month = plans.month_start(month)

    def current() -> BudgetActual | None:
        return session.scalar(
            select(BudgetActual).where(
                BudgetActual.project_id == project.id,
                BudgetActual.article_id == article.id,
                BudgetActual.month == month,
            )
        )

    row = current()
    if row is None:
        try:
            with session.begin_nested():  # a concurrent first report wins the insert
                session.add(
                    BudgetActual(
                        project_id=project.id, article_id=article.id, month=month, amount=value
                    )
                )
        except IntegrityError:
            row = current()
            if row is None:
                raise
        else:
            return True
    if row.amount != value:
        row.amount = value
        session.flush()
    return True


def actual_amounts(session: Session, project: Project) -> dict[tuple[int, dt.date], Decimal]:
    rows = session.execute(
        select(BudgetActual.article_id, BudgetActual.month, BudgetActual.amount).where(
            BudgetActual.project_id == project.id
        )
    )
    return {(article_id, month): amount for article_id, month, amount in rows}


def direction_label(direction: str) -> str:
    return DIRECTION_LABELS[Direction(direction)]


OUTBOX_STATUS_LABELS = {
    "pending": "ждёт отправки в бухгалтерию",
    "sent": "принят бухгалтерией",
    "dead": "не отправлен: ошибка обмена (см. журнал обмена)",
}


def exchange_status(session: Session, version: BudgetVersion) -> str | None:
    """Where the version stands with accounting: the status of its latest outbox message
    ('pending', 'sent', 'dead'; see OUTBOX_STATUS_LABELS), None for drafts."""
    for status in signals.answers(signals.budget_exchange_state, version, session=session):
        return status
    return None
