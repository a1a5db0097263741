"""Paginating a SELECT: one COUNT and one LIMIT/OFFSET query."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def window(self, size: int = 2) -> list[int | None]:
        """Page numbers to show, with None where a gap is (1 … 4 5 6 … 20)."""
        shown: list[int | None] = []
        for number in range(1, self.pages + 1):
            if number in (1, self.pages) or abs(number - self.page) <= size:
                shown.append(number)
            elif shown and shown[-1] is not None:
                shown.append(None)
        return shown


def parse_page(value: Any) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def page_bounds(total: int, page: int, per_page: int) -> tuple[int, int]:
    """The page clamped to 1…last and its offset."""
    last = max(1, math.ceil(total / per_page))
    page = min(max(1, page), last)
    return page, (page - 1) * per_page


def paginate(session: Session, query: Select, *, page: int, per_page: int) -> Page:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page, offset = page_bounds(total, page, per_page)
    items = list(session.scalars(query.limit(per_page).offset(offset)))
    return Page(items=items, page=page, per_page=per_page, total=total)
