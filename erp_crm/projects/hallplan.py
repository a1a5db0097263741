"""The hall plan: one SVG per hall drawn from the stands' coordinates (metres).

The SVG's viewBox is the hall in metres, so stands are drawn at their real size and the picture
is scaled as a whole. Each stand is a link to its page with a <title> tooltip (number, area, type,
status, exhibitor) and is coloured by its effective status. The markup comes from an
autoescaping Jinja template: client names contain « » & < > and stay text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from flask import render_template
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_crm import signals
from erp_crm.db import utcnow
from erp_crm.projects import stands
from erp_crm.projects.models import (
    STAND_POSITION_LABELS,
    STAND_STATUS_LABELS,
    STAND_TYPE_LABELS,
    Hall,
    Project,
    Stand,
    StandPosition,
    StandStatus,
    StandType,
)

# (fill, stroke) by effective status: free green, reserved amber, sold red.
COLOURS = {
    StandStatus.FREE.value: ("#b7e4c7", "#2d6a4f"),
    StandStatus.RESERVED.value: ("#ffe08a", "#a07800"),
    StandStatus.SOLD.value: ("#f4a6ab", "#9b1c24"),
}
SCREEN_WIDTH_PX = 1100
MAX_PX_PER_METRE = 24


@dataclass(frozen=True)
class PlanStand:
    id: int
    number: str
    area_m2: Decimal
    stand_type: str
    position: str
    x: Decimal
    y: Decimal
    width: Decimal
    depth: Decimal
    status: str  # effective
    deal_id: int | None
    exhibitor: str | None

    @property
    def fill(self) -> str:
        return COLOURS[self.status][0]

    @property
    def stroke(self) -> str:
        return COLOURS[self.status][1]

    @property
    def type_label(self) -> str:
        return STAND_TYPE_LABELS.get(StandType(self.stand_type), self.stand_type)

    @property
    def position_label(self) -> str:
        return STAND_POSITION_LABELS.get(StandPosition(self.position), self.position)

    @property
    def status_label(self) -> str:
        return STAND_STATUS_LABELS[StandStatus(self.status)]

    @property
    def font_size(self) -> float:
        """Label size in metres: readable on small stands, not shouting on big ones."""
        return round(max(0.35, min(1.1, float(min(self.width, self.depth)) * 0.28)), 2)

    @property
    def centre(self) -> tuple[float, float]:
        return float(self.x + self.width / 2), float(self.y + self.depth / 2)

    @property
    def shows_area(self) -> bool:
        return float(self.depth) >= self.font_size * 3.2 and float(self.width) >= self.font_size * 3


@dataclass
class HallPlan:
    hall: Hall
    stands: list[PlanStand] = field(default_factory=list)

    @property
    def width(self) -> float:
        return float(self.hall.width_m)

    @property
    def depth(self) -> float:
        return float(self.hall.depth_m)

    def area(self, status: str) -> Decimal:
        return sum((s.area_m2 for s in self.stands if s.status == status), Decimal("0.00"))

    def count(self, status: str) -> int:
        return sum(1 for s in self.stands if s.status == status)

    @property
    def total_area(self) -> Decimal:
        return sum((s.area_m2 for s in self.stands), Decimal("0.00"))

    @property
    def line(self) -> float:
        """Stroke width in metres (about one screen pixel on a typical hall)."""
        return round(max(self.width, self.depth) / 900, 3)


def project_plan(
    session: Session, project: Project, *, now: dt.datetime | None = None
) -> list[HallPlan]:
    """Every hall of the project with its active stands, their effective status and exhibitor."""
    now = now or utcnow()
    halls = list(
        session.scalars(
            select(Hall).where(Hall.project_id == project.id).order_by(Hall.position, Hall.name)
        )
    )
    plans = {h.id: HallPlan(hall=h) for h in halls}
    rows = list(
        session.scalars(
            select(Stand)
            .where(Stand.project_id == project.id, Stand.is_active.is_(True))
            .order_by(Stand.number)
        )
    )
    deal_ids = {stand.deal_id for stand in rows if stand.deal_id is not None}
    exhibitors: dict[int, str] = {}
    if deal_ids:
        for answer in signals.answers(signals.stand_exhibitors, session=session, deal_ids=deal_ids):
            exhibitors.update(answer)
    for stand in rows:
        client_name = exhibitors.get(stand.deal_id) if stand.deal_id is not None else None
        status = stands.effective_status(stand, now)
        taken = status != StandStatus.FREE.value
        plans[stand.hall_id].stands.append(
            PlanStand(
                id=stand.id,
                number=stand.number,
                area_m2=stand.area_m2,
                stand_type=stand.stand_type,
                position=stand.position,
                x=stand.x_m,
                y=stand.y_m,
                width=stand.width_m,
                depth=stand.depth_m,
                status=status,
                deal_id=stand.deal_id if taken else None,
                exhibitor=client_name if taken else None,
            )
        )
    return [plans[h.id] for h in halls]


def screen_size(plan: HallPlan) -> tuple[str, str]:
    """Width and height attributes (px) of the on-screen SVG; CSS lets it shrink to fit."""
    scale = min(MAX_PX_PER_METRE, SCREEN_WIDTH_PX / max(plan.width, 1))
    return f"{plan.width * scale:.0f}", f"{plan.depth * scale:.0f}"


def print_size(plan: HallPlan, *, width_mm: float = 277, height_mm: float = 150) -> tuple[str, str]:
    """Width and height (mm) that fit the hall on an A4 landscape page."""
    scale = min(width_mm / max(plan.width, 1), height_mm / max(plan.depth, 1))
    return f"{plan.width * scale:.1f}mm", f"{plan.depth * scale:.1f}mm"


def hall_svg(
    plan: HallPlan,
    *,
    stand_url: Callable[[int], str],
    size: tuple[str, str] | None = None,
    responsive: bool = True,
) -> Markup:
    width, height = size or screen_size(plan)
    return Markup(  # noqa: S704  (rendered by an autoescaping template)
        render_template(
            "projects/_hall_svg.html",
            plan=plan,
            stand_url=stand_url,
            width=width,
            height=height,
            responsive=responsive,
        )
    )
