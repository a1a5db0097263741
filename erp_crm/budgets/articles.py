"""The managed list of budget articles («статьи бюджета»): income and expense, each with the code
accounting knows it by. An article used in a budget or by an actual is never deleted (only
deactivated), and its code and direction no longer change; renaming is always allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.budgets.access import require_keeper
from erp_crm.budgets.models import BudgetActual, BudgetArticle, BudgetLine, Direction
from erp_crm.errors import Conflict, NotFound, ValidationError
from erp_crm.projects import values as v

CODE_RE = re.compile(r"^[0-9A-Za-zА-Яа-яЁё._-]{1,32}$")


@dataclass
class ArticleData:
    code: Any = None
    name: Any = None
    direction: Any = None
    position: Any = None


def get_article(session: Session, article_id: int) -> BudgetArticle:
    article = session.get(BudgetArticle, article_id)
    if article is None:
        raise NotFound("Статья бюджета не найдена.")
    return article


def list_articles(session: Session, *, active_only: bool = False) -> list[BudgetArticle]:
    """Income first, then expense; by position and name inside a direction."""
    query = select(BudgetArticle)
    if active_only:
        query = query.where(BudgetArticle.is_active.is_(True))
    articles = list(session.scalars(query))
    order = {Direction.INCOME.value: 0, Direction.EXPENSE.value: 1}
    return sorted(articles, key=lambda a: (order[a.direction], a.position, a.name.casefold()))


def article_in_use(session: Session, article: BudgetArticle) -> bool:
    """Used by a budget line of any version or by an actual: then it is never deleted."""
    return bool(
        session.scalar(
            select(
                or_(
                    exists().where(BudgetLine.article_id == article.id),
                    exists().where(BudgetActual.article_id == article.id),
                )
            )
        )
    )


def articles_in_use(session: Session) -> set[int]:
    used = set(session.scalars(select(BudgetLine.article_id).distinct()))
    used.update(session.scalars(select(BudgetActual.article_id).distinct()))
    return used


def _clean_article(
    session: Session, data: ArticleData, article: BudgetArticle | None
) -> tuple[str, str, str, int | None]:
    """Checked (code, name, direction, position); position None when not given."""
    errors: dict[str, str] = {}
    code = (v.text(data.code) or "").upper()  # stored upper-cased, looked up as is
    name = v.text(data.name) or ""
    direction = v.text(data.direction) or ""
    if not code:
        errors["code"] = "Укажите код статьи."
    elif not CODE_RE.match(code):
        errors["code"] = "Код — до 32 букв, цифр, точек, дефисов и подчёркиваний, без пробелов."
    if not name:
        errors["name"] = "Укажите название статьи."
    elif len(name) > 200:
        errors["name"] = "Название — не длиннее 200 символов."
    if direction not in (Direction.INCOME.value, Direction.EXPENSE.value):
        errors["direction"] = "Выберите: доход или расход."
    position = None
    if data.position not in (None, ""):
        try:
            position = int(str(data.position).strip())
        except ValueError:
            errors["position"] = "Порядок — целое число."
        else:
            if not 0 <= position <= 9999:
                errors["position"] = "Порядок — от 0 до 9999."
    if "code" not in errors:
        clash = session.scalar(select(BudgetArticle).where(BudgetArticle.code == code))
        if clash is not None and clash is not article:
            errors["code"] = f"Код {code} уже у статьи «{clash.name}»."
    if "name" not in errors and "direction" not in errors:
        # Compared in Python: SQLite's lower() knows no Cyrillic, and the list is short.
        same = session.scalars(select(BudgetArticle).where(BudgetArticle.direction == direction))
        if any(a.name.casefold() == name.casefold() and a is not article for a in same):
            errors["name"] = "Статья с таким названием уже есть."
    if article is not None and not errors and article_in_use(session, article):
        if code != article.code:
            errors["code"] = (
                "Статья уже в бюджетах или в факте: её код знает бухгалтерия, он не меняется."
            )
        if direction != article.direction:
            errors["direction"] = "Статья уже в бюджетах или в факте: направление не меняется."
    if errors:
        raise ValidationError("Проверьте поля статьи.", fields=errors)
    return code, name, direction, position


def create_article(session: Session, data: ArticleData, *, actor: User | None) -> BudgetArticle:
    require_keeper(actor)
    code, name, direction, position = _clean_article(session, data, None)
    if position is None:  # after the last article of its direction
        last = session.scalar(
            select(func.max(BudgetArticle.position)).where(BudgetArticle.direction == direction)
        )
        position = (last or 0) + 10
    article = BudgetArticle(
        code=code, name=name, direction=direction, position=position, is_active=True
    )
    session.add(article)
    session.flush()
    return article


def update_article(
    session: Session, article: BudgetArticle, data: ArticleData, *, actor: User | None
) -> BudgetArticle:
    """Rename or reorder; the code and direction change only while nothing uses the article."""
    require_keeper(actor)
    code, name, direction, position = _clean_article(session, data, article)
    article.code, article.name, article.direction = code, name, direction
    if position is not None:
        article.position = position
    session.flush()
    return article


def set_article_active(
    session: Session, article: BudgetArticle, active: bool, *, actor: User | None
) -> BudgetArticle:
    """A deactivated article keeps its amounts but is not offered for new ones."""
    require_keeper(actor)
    article.is_active = active
    session.flush()
    return article


def delete_article(session: Session, article: BudgetArticle, *, actor: User | None) -> None:
    require_keeper(actor)
    if article_in_use(session, article):
        raise Conflict(
            f"Статья «{article.name}» уже есть в бюджетах или в факте: её можно только отключить."
        )
    session.delete(article)
    session.flush()
