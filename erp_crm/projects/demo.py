"""Demo exhibition projects: three shows of 2027 at «Экспо-Волга», Самара, built through the
services — halls with real-looking sizes, price lists, service catalogs, sales plans and a few
hundred stands laid out in blocks with aisles.

Layout of a hall: a row of wall stands along the back wall (one side open), then blocks of
back-to-back stands two deep, separated by 4 m aisles. In a block the end stands are corners
(two sides open), a block one stand wide is a pair of peninsulas (three sides open), and the
large stands standing alone in the front zone are islands (four sides open).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from erp_crm.auth.models import User
from erp_crm.projects import plans, prices, services
from erp_crm.projects import stand_services as ss
from erp_crm.projects.models import Hall, Project, StandPosition, StandType

AISLE = Decimal(4)
WALL_GAP = Decimal(2)  # from the hall walls to the first stands


@dataclass(frozen=True)
class HallSpec:
    name: str
    prefix: str  # stand numbers: A-101, B-214 …
    width: int
    depth: int
    module: int  # stand width along a block, m (a 3 × 3 module: 9 m²)
    stand_depth: int
    blocks: list[int]  # stands per row in each block, left to right
    block_rows: int  # rows of blocks (each block is two stands deep)
    islands: int  # large stands in the front zone
    stand_type: str = StandType.RAW.value


@dataclass(frozen=True)
class ProjectSpec:
    name: str
    code: str
    opening: dt.date
    days: int
    description: str
    prices: dict[str, Decimal]
    surcharges: dict[str, tuple[str, Decimal]]
    registration_fee: Decimal
    halls: list[HallSpec]
    services: list[tuple[str, str, str, Decimal]]  # name, unit, OKEI, price
    plan_m2: int  # the whole project's plan, m² (spread over the selling months)
    # How the price list is quoted: «included» (НДС в т.ч.) or «on_top» (без НДС, НДС сверху).
    vat_mode: str = "included"


COMMON_SERVICES = [
    ("Запись в официальном каталоге выставки", "усл. ед.", "876", Decimal("6500.00")),
    ("Подключение электроэнергии до 5 кВт", "шт", "796", Decimal("9800.00")),
    ("Стол переговорный", "шт", "796", Decimal("2400.00")),
    ("Стул", "шт", "796", Decimal("650.00")),
    ("Информационная стойка", "шт", "796", Decimal("5200.00")),
    ("Ковровое покрытие", "м²", "055", Decimal("480.00")),
    ("Дополнительный бейдж участника", "шт", "796", Decimal("900.00")),
    ("Уборка стенда ежедневная", "усл. ед.", "876", Decimal("3500.00")),
]

PROJECTS = [
    ProjectSpec(
        name="ВолгаСтройЭкспо-2027",
        code="VSE-2027",
        opening=dt.date(2027, 3, 16),
        days=3,
        description=(
            "Межрегиональная строительная выставка: стройматериалы, инженерные системы, "
            "спецтехника, загородное домостроение."
        ),
        prices={
            StandType.RAW.value: Decimal("9500.00"),
            StandType.SHELL.value: Decimal("12500.00"),
            StandType.OPEN.value: Decimal("4500.00"),
        },
        surcharges={
            StandPosition.CORNER.value: ("percent", Decimal("10")),
            StandPosition.PENINSULA.value: ("percent", Decimal("15")),
            StandPosition.ISLAND.value: ("percent", Decimal("20")),
        },
        registration_fee=Decimal("15000.00"),
        halls=[
            HallSpec("Павильон 1", "A", 72, 48, 3, 3, [6, 6, 1, 4], 3, 3),
            HallSpec("Павильон 2", "B", 60, 36, 3, 3, [5, 4, 1, 4], 2, 2, StandType.SHELL.value),
            HallSpec("Открытая площадка", "C", 60, 30, 6, 5, [4, 4], 2, 0, StandType.OPEN.value),
        ],
        services=COMMON_SERVICES
        + [("Разгрузка спецтехники краном", "усл. ед.", "876", Decimal("18000.00"))],
        plan_m2=2600,
    ),
    ProjectSpec(
        name="Агропромышленный форум Поволжья 2027",
        code="AGRO-2027",
        opening=dt.date(2027, 10, 5),
        days=3,
        description=(
            "Сельскохозяйственная техника, растениеводство, животноводство, переработка "
            "и хранение продукции. Деловая программа для аграриев региона."
        ),
        prices={
            StandType.RAW.value: Decimal("8200.00"),
            StandType.SHELL.value: Decimal("10900.00"),
            StandType.OPEN.value: Decimal("3200.00"),
        },
        surcharges={
            StandPosition.CORNER.value: ("percent", Decimal("10")),
            StandPosition.PENINSULA.value: ("amount", Decimal("25000.00")),
            StandPosition.ISLAND.value: ("percent", Decimal("15")),
        },
        registration_fee=Decimal("12000.00"),
        halls=[
            HallSpec("Павильон 1", "A", 72, 48, 3, 3, [5, 5, 5, 1], 3, 2),
            HallSpec("Открытая площадка", "D", 90, 40, 9, 6, [4, 4], 2, 0, StandType.OPEN.value),
        ],
        services=COMMON_SERVICES
        + [("Место для демонстрации техники", "м²", "055", Decimal("1500.00"))],
        plan_m2=2900,
    ),
    ProjectSpec(
        name="Медицина и здоровье 2027",
        code="MED-2027",
        vat_mode="on_top",  # quoted net, VAT on top, as Russian exhibition price lists often are
        opening=dt.date(2027, 11, 23),
        days=3,
        description=(
            "Медицинское оборудование и расходные материалы, лабораторная диагностика, "
            "фармацевтика, санаторно-курортное лечение."
        ),
        prices={
            StandType.RAW.value: Decimal("10500.00"),
            StandType.SHELL.value: Decimal("13900.00"),
        },
        surcharges={
            StandPosition.CORNER.value: ("percent", Decimal("12")),
            StandPosition.PENINSULA.value: ("percent", Decimal("18")),
            StandPosition.ISLAND.value: ("percent", Decimal("25")),
        },
        registration_fee=Decimal("18000.00"),
        halls=[
            HallSpec("Павильон 2", "B", 60, 36, 3, 3, [5, 4, 1, 4], 2, 2, StandType.SHELL.value),
            HallSpec("Конгресс-холл", "K", 36, 24, 3, 2, [4, 4], 1, 0, StandType.SHELL.value),
        ],
        services=COMMON_SERVICES + [("Подключение воды и слива", "шт", "796", Decimal("14500.00"))],
        plan_m2=1100,
    ),
]


def _stand(
    session: Session,
    project: Project,
    hall: Hall,
    number: str,
    x: Decimal,
    y: Decimal,
    width: Decimal,
    depth: Decimal,
    *,
    stand_type: str,
    position: str,
    actor: User,
    footprints: list[ss.Footprint],
) -> None:
    stand = ss.create_stand(
        session,
        project,
        ss.StandData(
            hall_id=hall.id,
            number=number,
            stand_type=stand_type,
            position=position,
            x_m=x,
            y_m=y,
            width_m=width,
            depth_m=depth,
        ),
        actor=actor,
        footprints=footprints,
    )
    footprints.append(ss.Footprint(stand.id, number, x, y, width, depth))


def _lay_out(session: Session, project: Project, hall: Hall, spec: HallSpec, actor: User) -> None:
    module, depth = Decimal(spec.module), Decimal(spec.stand_depth)
    footprints: list[ss.Footprint] = []
    counter = iter(range(1, 1000))

    def number() -> str:
        return f"{spec.prefix}-{next(counter):02d}"

    # Wall stands along the back wall: row stands, corners at both ends of the run.
    y = WALL_GAP
    wall_count = int((Decimal(spec.width) - 2 * WALL_GAP) // module)
    if spec.stand_type != StandType.OPEN.value:
        for i in range(wall_count):
            position = StandPosition.CORNER if i in (0, wall_count - 1) else StandPosition.ROW
            _stand(
                session,
                project,
                hall,
                number(),
                WALL_GAP + module * i,
                y,
                module,
                depth,
                stand_type=spec.stand_type,
                position=position.value,
                actor=actor,
                footprints=footprints,
            )
        y += depth + AISLE
    # Blocks of back-to-back stands.
    for _ in range(spec.block_rows):
        x = WALL_GAP
        for size in spec.blocks:
            if x + module * size > Decimal(spec.width) - WALL_GAP:
                break
            for row in range(2):
                for i in range(size):
                    if size == 1:
                        position = StandPosition.PENINSULA
                    elif i in (0, size - 1):
                        position = StandPosition.CORNER
                    else:
                        position = StandPosition.ROW
                    _stand(
                        session,
                        project,
                        hall,
                        number(),
                        x + module * i,
                        y + depth * row,
                        module,
                        depth,
                        stand_type=spec.stand_type,
                        position=position.value,
                        actor=actor,
                        footprints=footprints,
                    )
            x += module * size + AISLE
        y += depth * 2 + AISLE
    # Islands: big stands alone in the front zone, aisles on every side.
    island_w, island_d = module * 3, depth * 2
    x = WALL_GAP + AISLE
    for _ in range(spec.islands):
        if x + island_w > Decimal(spec.width) - WALL_GAP or y + island_d > Decimal(spec.depth):
            break
        _stand(
            session,
            project,
            hall,
            number(),
            x,
            y,
            island_w,
            island_d,
            stand_type=StandType.RAW.value,
            position=StandPosition.ISLAND.value,
            actor=actor,
            footprints=footprints,
        )
        x += island_w + AISLE * 2


def _selling_months(opening: dt.date) -> list[dt.date]:
    end = plans.add_months(plans.month_start(opening), -1)
    return plans.months_between(plans.add_months(end, -9), end)


def _plans(session: Session, project: Project, spec: ProjectSpec, team: list[User], actor: User):
    """A plan rising towards the opening, for the project and split among the team."""
    months = _selling_months(spec.opening)
    weights = list(range(1, len(months) + 1))
    total_weight = sum(weights)
    price = spec.prices[StandType.RAW.value]
    cells = []
    for month, weight in zip(months, weights, strict=True):
        area = Decimal(spec.plan_m2 * weight / total_weight).quantize(Decimal(1))
        cells.append(plans.PlanCell(None, month, area, area * price))
        for member in team:
            share = (area / len(team)).quantize(Decimal(1))
            cells.append(plans.PlanCell(member.id, month, share, share * price))
    plans.save_plan(session, project, cells, actor=actor)


def load_demo_projects(session: Session, users: dict[str, User]) -> list[Project]:
    """Create the demo projects. `users`: the demo users by username (admin, project, manager1…)."""
    admin = users["admin"]
    project_manager = users.get("project")
    team = [users[u] for u in ("manager1", "manager2", "manager3") if u in users]
    created = []
    for spec in PROJECTS:
        project = services.create_project(
            session,
            services.ProjectData(
                name=spec.name,
                code=spec.code,
                venue="МВЦ «Экспо-Волга»",
                city="Самара",
                build_up_date=spec.opening - dt.timedelta(days=2),
                opening_date=spec.opening,
                closing_date=spec.opening + dt.timedelta(days=spec.days - 1),
                dismantling_date=spec.opening + dt.timedelta(days=spec.days),
                status="selling",
                description=spec.description,
                project_manager_id=project_manager.id if project_manager else None,
                member_ids=[u.id for u in team],
            ),
            actor=admin,
        )
        prices.save_price_list(
            session,
            project,
            prices.PriceListData(
                registration_fee=spec.registration_fee,
                default_vat_rate="auto",
                prices={t: (price, "auto") for t, price in spec.prices.items()},
                surcharges=spec.surcharges,
                modes={t: spec.vat_mode for t in spec.prices},
                registration_vat_mode=spec.vat_mode,
            ),
            actor=admin,
        )
        for name, unit, code, price in spec.services:
            prices.create_service(
                session,
                project,
                prices.ServiceData(
                    name=name, unit=unit, unit_code=code, price=price, vat_mode=spec.vat_mode
                ),
                actor=admin,
            )
        for position, hall_spec in enumerate(spec.halls, start=1):
            hall = services.create_hall(
                session,
                project,
                services.HallData(
                    name=hall_spec.name,
                    width_m=hall_spec.width,
                    depth_m=hall_spec.depth,
                    position=position,
                ),
                actor=admin,
            )
            _lay_out(session, project, hall, hall_spec, admin)
        if team:
            _plans(session, project, spec, team, admin)
        created.append(project)
    return created
