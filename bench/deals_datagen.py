"""A fast, seeded generator of exhibition projects, hall plans, deals and sales plans.

What it builds (defaults of `python -m bench.deals`): 50 projects, each with 4 halls of 100
stands laid out on a grid (rows of stands back to back, 4 m aisles, so the hall plan has real
geometry), a price list per m² by stand type and position surcharges; ~20 000 clients (through
`bench.datagen`, so name_norm/city_norm are filled exactly as `erp_crm.clients.services._apply`
does); 100 000 deals spread over the projects, the three seeded pipelines (migration 0003),
their stages and outcomes; one priced line per deal; and a sales plan per project × manager ×
month plus the project's own plan.

The data keeps the app's rules:

- open deals stand on stages that are not a sale, won deals on `is_sale` stages (a sales-pipeline
  deal reaches a sale stage → won, see deals.services.move_to_stage); the instalments pipeline is
  all sale stages, so its deals are won; deferred-demand deals have a next contact date;
- lost deals have a lost reason and `closed_at`; won deals `closed_at` spread over the months of
  selling (what plan-vs-actual groups by);
- a stand is taken by at most one deal: `sold` to a won deal of its project, `reserved` (until a
  moment in the future, so no page frees it during the run) by an open one, else `free`; the
  deal's line of kind 'stand' points at it, every other deal gets a line of kind 'space' (m²);
- deal.amount / vat_amount / area_m2 are the sums of the lines, priced like deals.pricing
  (area × price per m² + surcharge, VAT extracted from the VAT-inclusive amount per line).

Rows go in with explicit ids through COPY (psycopg) on PostgreSQL and chunked Core
`insert(table)` executemany elsewhere, bypassing the services (and so the audit trail).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

from bench import datagen
from documents.money import money, resolve_rate, split_gross
from erp_crm.deals.models import Deal, DealLine, LostReason, Pipeline, Stage
from erp_crm.projects.models import (
    STAND_TYPE_LABELS,
    Hall,
    PositionSurcharge,
    Project,
    ProjectMember,
    SalesPlan,
    Stand,
    StandPrice,
    StandType,
)

ZERO = Decimal("0.00")
CHUNK = 10_000

THEMES = [
    ("ВолгаСтройЭкспо", "VSE", "Строительство, стройматериалы, инженерные системы"),
    ("АгроПромФорум", "APF", "Сельское хозяйство и пищевая промышленность"),
    ("Медицина и здоровье", "MED", "Медицинская техника и фармацевтика"),
    ("ПромТехЭкспо", "PTE", "Машиностроение, станки, металлообработка"),
    ("ЭнергоСиб", "ENS", "Энергетика и электротехника"),
    ("Мебель и интерьер", "MEB", "Мебельное производство и дизайн интерьера"),
    ("ТрансЛогистика", "TRL", "Транспорт, логистика, складская техника"),
    ("ИТ-Форум Поволжья", "ITF", "Информационные технологии и связь"),
    ("Дом и сад", "DIS", "Загородное домостроение и ландшафт"),
    ("ПродЭкспо-Регион", "PRR", "Продукты питания и напитки"),
]
VENUES = [
    ("Экспо-Волга", "Самара"),
    ("Казань Экспо", "Казань"),
    ("Екатеринбург-ЭКСПО", "Екатеринбург"),
    ("Новосибирск Экспоцентр", "Новосибирск"),
    ("ВертолЭкспо", "Ростов-на-Дону"),
]
# price of raw space per m² (VAT included); shell stands +30 %, open area −40 %
BASE_PRICES = [Decimal(p) for p in ("8500", "9500", "10500", "11800", "12500", "14000")]
TYPE_FACTOR = {
    StandType.RAW.value: Decimal("1.00"),
    StandType.SHELL.value: Decimal("1.30"),
    StandType.OPEN.value: Decimal("0.60"),
}
SURCHARGES = {"corner": ("percent", Decimal(10)), "peninsula": ("percent", Decimal(15))}
STAND_WIDTHS = [Decimal(3), Decimal(4), Decimal(6)]  # along a row; every stand is 3 m deep
STAND_DEPTH = Decimal(3)
AISLE = Decimal(4)
WALL_GAP = Decimal(2)
SPACE_AREAS = [Decimal(a) for a in (6, 9, 12, 12, 18, 18, 24, 36, 48)]


@dataclass
class Users:
    admin_id: int
    head_id: int
    manager_ids: list[int]


@dataclass
class ProjectInfo:
    id: int
    name: str
    opening: dt.date
    status: str
    weight: float
    prices: dict[str, Decimal]
    sell_from: dt.datetime
    sell_to: dt.datetime
    stand_ids: list[int] = field(default_factory=list)


@dataclass
class DealsStats:
    projects: int = 0
    halls: int = 0
    stands: int = 0
    clients: int = 0
    contacts: int = 0
    deals: int = 0
    lines: int = 0
    plans: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)
    stands_by_status: dict[str, int] = field(default_factory=dict)
    busy_project_id: int = 0
    busy_project_deals: int = 0
    seconds_clients: float = 0.0
    seconds: float = 0.0


# --- users (through the service: the admin must be able to log in) ------------------------------


def create_users(session: Any, password: str, managers: int = 10) -> Users:
    """Admin, head of sales and `managers` sales managers, created by auth.services.create_user."""
    from erp_crm.auth import services as auth_services

    def user(username: str, full_name: str, role: str) -> int:
        data = auth_services.UserData(
            username=username, full_name=full_name, role=role, password=password
        )
        return auth_services.create_user(session, data, actor=None).id

    admin = user("bench.admin", "Бенчмарков Админ Петрович", "admin")
    head = user("bench.head", "Руководов Андрей Ильич", "head_of_sales")
    names = datagen.MALE_NAMES
    ids = [
        user(
            f"bench.manager{n + 1}",
            f"{datagen.SURNAMES[(n * 7 + 3) % len(datagen.SURNAMES)]} "
            f"{names[n % len(names)][0]} {names[(n * 5 + 2) % len(names)][1]}",
            "sales_manager",
        )
        for n in range(managers)
    ]
    return Users(admin_id=admin, head_id=head, manager_ids=ids)


# --- writing ------------------------------------------------------------------------------------


class Loader(datagen.Writer):
    """The client generator's writer (COPY on PostgreSQL, Core executemany elsewhere), in chunks."""

    def write(self, table: Any, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        for start in range(0, len(rows), CHUNK):
            super().write(table, columns, rows[start : start + CHUNK])


def _next_id(conn: Connection, table: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1


# --- dates --------------------------------------------------------------------------------------


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 7, 0, tzinfo=dt.UTC)


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    span = max(0.0, (end - start).total_seconds())
    return (start + dt.timedelta(seconds=rng.random() * span)).replace(microsecond=0)


# --- projects, halls, stands ---------------------------------------------------------------------


def _hall_layout(
    rng: random.Random, stands: int, letter: str
) -> tuple[Decimal, Decimal, list[dict[str, Any]]]:
    """Rows of stands back to back (two rows per block), 4 m aisles between blocks.

    Returns (hall width, hall depth, stands) with x/y/width/depth in metres from the hall's
    top-left corner; the stands at the ends of a row are corners, the end stands of the hall's
    first block peninsulas.
    """
    per_row = max(1, math.ceil(math.sqrt(stands)))
    rows = math.ceil(stands / per_row)
    out: list[dict[str, Any]] = []
    widest = Decimal(0)
    made = 0
    for row in range(rows):
        y = WALL_GAP + (row // 2) * (2 * STAND_DEPTH + AISLE) + (row % 2) * STAND_DEPTH
        x = WALL_GAP
        in_row = min(per_row, stands - made)
        for col in range(in_row):
            width = rng.choice(STAND_WIDTHS)
            if col in (0, in_row - 1):
                position = "peninsula" if row == 0 and in_row > 1 else "corner"
            else:
                position = "row"
            roll = rng.random()
            stand_type = (
                StandType.RAW.value
                if roll < 0.6
                else (StandType.SHELL.value if roll < 0.9 else StandType.OPEN.value)
            )
            out.append(
                {
                    "number": f"{letter}-{row + 1}{col + 1:02d}",
                    "x": x,
                    "y": y,
                    "width": width,
                    "depth": STAND_DEPTH,
                    "area": width * STAND_DEPTH,
                    "position": position,
                    "stand_type": stand_type,
                }
            )
            x += width
            made += 1
        widest = max(widest, x)
    depth = WALL_GAP + math.ceil(rows / 2) * 2 * STAND_DEPTH + (math.ceil(rows / 2) - 1) * AISLE
    return widest + WALL_GAP, depth + WALL_GAP, out


def _status_of(opening: dt.date, closing: dt.date, today: dt.date) -> str:
    if closing < today:
        return "closed"
    if opening <= today:
        return "running"
    if opening <= _add_months(today, 14):
        return "selling"
    return "planned"


# --- the whole thing ----------------------------------------------------------------------------


def _pick(rng: random.Random, cumulative: list[float], items: list[Any]) -> Any:
    roll = rng.random() * cumulative[-1]
    for item, bound in zip(items, cumulative, strict=True):
        if roll < bound:
            return item
    return items[-1]


def _cum(weights: Iterable[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def generate(
    conn: Connection,
    *,
    users: Users,
    projects: int = 50,
    stands: int = 20_000,
    deals: int = 100_000,
    clients: int | None = None,
    halls_per_project: int = 4,
    seed: int = 42,
    now: dt.datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> DealsStats:
    """Insert the whole data set on `conn` (one transaction, the caller's)."""

    started = time.perf_counter()
    say = progress or (lambda _m: None)
    now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    today = now.date()
    rng = random.Random(seed * 7_777 + 13)
    loader = Loader(conn)
    stats = DealsStats()
    clients = clients if clients is not None else max(1000, deals // 5)

    # -- clients: the client base generator (name_norm / city_norm as services._apply) --
    begun = time.perf_counter()
    world = datagen.create_world(
        conn, [users.head_id, *users.manager_ids], [users.admin_id, users.head_id]
    )
    client_stats = datagen.generate(
        conn, clients=clients, world=world, seed=seed, contacts_per_client=1.5
    )
    stats.clients, stats.contacts = client_stats.clients, client_stats.contacts
    stats.seconds_clients = time.perf_counter() - begun
    client_ids = list(
        conn.execute(text("SELECT id FROM clients WHERE merged_into_id IS NULL ORDER BY id"))
        .scalars()
        .all()
    )
    say(f"{stats.clients} clients, {stats.contacts} contacts in {stats.seconds_clients:.1f} s")

    # -- catalog rows seeded by migration 0003 --
    stages_by_pipeline: dict[str, list[tuple[int, int, bool]]] = defaultdict(list)
    for code, stage_id, position, is_sale in conn.execute(
        select(Pipeline.code, Stage.id, Stage.position, Stage.is_sale)
        .join(Stage, Stage.pipeline_id == Pipeline.id)
        .order_by(Pipeline.code, Stage.position)
    ):
        stages_by_pipeline[code].append((stage_id, position, bool(is_sale)))
    pipeline_ids = dict(conn.execute(select(Pipeline.code, Pipeline.id)).all())
    reason_ids = list(conn.execute(select(LostReason.id).order_by(LostReason.id)).scalars())
    sales = stages_by_pipeline["sales"]
    sales_open = [s for s in sales if not s[2]]
    sales_won = [s for s in sales if s[2]]
    deferred = stages_by_pipeline["deferred"]
    instalments = stages_by_pipeline["instalments"]

    # -- projects --
    project_id = _next_id(conn, Project.__table__)
    hall_id = _next_id(conn, Hall.__table__)
    stand_id = _next_id(conn, Stand.__table__)
    first_month = _add_months(today, -(projects * 3) // 5)
    busy_index = min(projects - 1, (projects * 3) // 5 + 4)  # opens in ~4 months: selling
    infos: list[ProjectInfo] = []
    project_rows, hall_rows, stand_rows_meta, price_rows, surcharge_rows = [], [], [], [], []
    member_rows, plan_rows = [], []
    per_project = max(1, stands // projects)
    names: set[str] = set()
    for n in range(projects):
        theme, abbr, description = THEMES[n % len(THEMES)]
        venue, city = VENUES[n % len(VENUES)]
        opening = _add_months(first_month, n) + dt.timedelta(days=rng.randrange(2, 20))
        closing = opening + dt.timedelta(days=rng.choice((2, 3, 3, 4)))
        status = _status_of(opening, closing, today)
        year = opening.year
        name, again = f"{theme}-{year}", 2
        while (
            name in names
        ):  # a theme twice in a year: «… (весна)» would be nicer, a number will do
            name, again = f"{theme}-{year} ({again})", again + 1
        names.add(name)
        base = rng.choice(BASE_PRICES)
        prices = {t: money(base * f) for t, f in TYPE_FACTOR.items()}
        # the busy project: ~1.4 × the average, ≈ 2 000 open and won sales deals on its board
        weight = 1.37 if n == busy_index else 0.5 + rng.random()
        sell_to = min(_at(opening), now - dt.timedelta(hours=1))
        sell_from = _at(_add_months(opening, -13))
        pid = project_id + n
        info = ProjectInfo(pid, name, opening, status, weight, prices, sell_from, sell_to)
        infos.append(info)
        created = _at(_add_months(opening, -15))
        project_rows.append(
            (
                pid,
                name,
                f"{abbr}-{year}-{n + 1:03d}",
                venue,
                city,
                opening - dt.timedelta(days=2),
                opening,
                closing,
                closing + dt.timedelta(days=1),
                status,
                description,
                Decimal("15000.00"),
                "auto",
                users.head_id,
                created,
                created,
            )
        )
        for t, price in prices.items():
            price_rows.append((pid, t, price, "auto"))
        for position, (kind, value) in SURCHARGES.items():
            surcharge_rows.append((pid, position, kind, value))
        for uid in users.manager_ids:
            member_rows.append((pid, uid))
        in_project = per_project + (1 if n < stands - per_project * projects else 0)
        per_hall = [in_project // halls_per_project] * halls_per_project
        for h in range(in_project - sum(per_hall)):
            per_hall[h] += 1
        for h, count in enumerate(per_hall):
            letter = "ABCDEFGHJKLMNPRSTUVWXYZ"[h % 23]
            width, depth, laid = _hall_layout(rng, count, letter)
            hid = hall_id
            hall_id += 1
            hall_rows.append((hid, pid, f"Павильон {h + 1}", width, depth, h))
            for s in laid:
                s["id"], s["hall_id"], s["project_id"] = stand_id, hid, pid
                info.stand_ids.append(stand_id)
                stand_rows_meta.append(s)
                stand_id += 1
    stands_by_id = {s["id"]: s for s in stand_rows_meta}
    stats.projects, stats.halls, stats.stands = (
        len(project_rows),
        len(hall_rows),
        len(stand_rows_meta),
    )

    # -- deals: counts per project by weight, then shuffled so a project's rows are spread --
    total_weight = sum(i.weight for i in infos)
    counts = [int(deals * i.weight / total_weight) for i in infos]
    for k in range(deals - sum(counts)):
        counts[k % len(counts)] += 1
    assignment = [n for n, c in enumerate(counts) for _ in range(c)]
    rng.shuffle(assignment)
    deal_id0 = _next_id(conn, Deal.__table__)
    line_id0 = _next_id(conn, DealLine.__table__)

    outcome_mix = {  # sales pipeline (open, won, lost) by project status
        "closed": (0.05, 0.50, 0.45),
        "running": (0.25, 0.50, 0.25),
        "selling": (0.55, 0.27, 0.18),
        "planned": (0.85, 0.0, 0.15),
    }
    open_cum = _cum(1.0 / (1 + k * 0.35) for k in range(len(sales_open)))  # early stages fuller
    won_cum = _cum((4, 3, 2, 1)[: len(sales_won)] + (1,) * max(0, len(sales_won) - 4))
    deal_meta: list[dict[str, Any]] = []
    for k, n in enumerate(assignment):
        info = infos[n]
        drng = random.Random(seed * 1_000_003 + k)
        pipe = drng.random()
        window_ok = info.sell_to > info.sell_from
        created = (
            _between(drng, info.sell_from, info.sell_to)
            if window_ok
            else now - dt.timedelta(days=drng.randrange(1, 60), hours=drng.randrange(0, 20))
        )
        if pipe < 0.09:
            code = "deferred"
            outcome = "lost" if drng.random() < 0.15 else "open"
            stage = drng.choice(deferred)
        elif pipe < 0.15 and window_ok and info.status != "planned":
            code, outcome, stage = "instalments", "won", drng.choice(instalments)
        else:
            code = "sales"
            o, w, _ = outcome_mix[info.status]
            roll = drng.random()
            outcome = "open" if roll < o else ("won" if roll < o + w else "lost")
            if outcome == "won":
                stage = _pick(drng, won_cum, sales_won)
            else:
                stage = _pick(drng, open_cum, sales_open)
        if not window_ok and outcome != "open":
            outcome = "open"
            if stage[2]:
                code, stage = "sales", sales_open[0]
        closed_at = None
        if outcome != "open":
            closed_at = created + dt.timedelta(
                days=drng.randrange(3, 120), hours=drng.randrange(0, 10)
            )
            if closed_at > info.sell_to:  # not after today (or the opening): spread, not piled up
                closed_at = _between(drng, created, max(created, info.sell_to))
        deal_meta.append(
            {
                "id": deal_id0 + k,
                "project": n,
                "client_id": client_ids[int(drng.random() * len(client_ids))],
                "manager_id": users.manager_ids[int(drng.random() * len(users.manager_ids))],
                "pipeline_id": pipeline_ids[code],
                "code": code,
                "stage_id": stage[0],
                "outcome": outcome,
                "created": created,
                "closed_at": closed_at,
                "lost_reason_id": drng.choice(reason_ids) if outcome == "lost" else None,
                "stand_id": None,
                "reserved_until": None,
            }
        )

    # -- stands: sold to won deals, reserved by open ones (one deal at most per stand) --
    by_project: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for d in deal_meta:
        by_project[d["project"]].append(d)
    for n, info in enumerate(infos):
        srng = random.Random(seed * 31 + n)
        stand_order = info.stand_ids[:]
        srng.shuffle(stand_order)
        won = [d for d in by_project[n] if d["outcome"] == "won"]
        open_ = [d for d in by_project[n] if d["outcome"] == "open" and d["code"] == "sales"]
        srng.shuffle(won)
        srng.shuffle(open_)
        sold_share = 0.85 if info.status in ("closed", "running") else 0.55
        n_sold = min(len(won), int(len(stand_order) * sold_share))
        n_reserved = min(len(open_), int(len(stand_order) * 0.15), len(stand_order) - n_sold)
        if info.status == "closed":
            n_reserved = 0  # the show is over: nothing is held any more
        for d, sid in zip(won[:n_sold], stand_order[:n_sold], strict=True):
            d["stand_id"] = sid
            stands_by_id[sid]["status"], stands_by_id[sid]["deal_id"] = "sold", d["id"]
        for d, sid in zip(
            open_[:n_reserved], stand_order[n_sold : n_sold + n_reserved], strict=True
        ):
            until = now + dt.timedelta(days=srng.randrange(3, 30), hours=srng.randrange(0, 23))
            d["stand_id"], d["reserved_until"] = sid, until
            stands_by_id[sid]["status"], stands_by_id[sid]["deal_id"] = "reserved", d["id"]
            stands_by_id[sid]["reserved_until"] = until
    positions: dict[tuple[int, int, int], int] = defaultdict(int)

    deal_rows, line_rows = [], []
    for k, d in enumerate(deal_meta):
        info = infos[d["project"]]
        drng = random.Random(seed * 2_000_003 + k)
        on = d["created"].date()
        rate = resolve_rate("auto", on)
        if d["stand_id"] is not None:
            s = stands_by_id[d["stand_id"]]
            area, price = s["area"], info.prices[s["stand_type"]]
            base = money(area * price)
            rule = SURCHARGES.get(s["position"])
            surcharge = money(base * rule[1] / 100) if rule else ZERO
            kind, line_stand = "stand", s["id"]
            description = (
                f"Стенд № {s['number']}, {STAND_TYPE_LABELS[StandType(s['stand_type'])].lower()}"
            )
            title = f"Стенд {s['number']}, {area:g} м²"
        else:
            area = drng.choice(SPACE_AREAS)
            price = info.prices[StandType.RAW.value]
            base, surcharge = money(area * price), ZERO
            kind, line_stand = "space", None
            description = "Необорудованная площадь"
            title = f"Площадь {area:g} м²" if drng.random() < 0.7 else None
        gross = base + surcharge
        discount = money(gross * Decimal("0.05")) if drng.random() < 0.15 else ZERO
        amount = gross - discount
        vat = split_gross(amount, rate).vat
        key = (d["project"], d["pipeline_id"], d["stage_id"])
        position = positions[key]
        positions[key] += 1
        stats.by_outcome[d["outcome"]] = stats.by_outcome.get(d["outcome"], 0) + 1
        updated = d["closed_at"] or d["created"]
        deal_rows.append(
            (
                d["id"],
                d["client_id"],
                info.id,
                d["manager_id"],
                d["pipeline_id"],
                d["stage_id"],
                d["outcome"],
                title,
                on,
                "percent" if discount else None,
                Decimal("5.00") if discount else None,
                "Постоянный участник" if discount else None,
                amount,
                vat,
                area,
                d["lost_reason_id"],
                d["closed_at"],
                position,
                d["created"],
                updated,
            )
        )
        line_rows.append(
            (
                line_id0 + k,
                d["id"],
                kind,
                line_stand,
                description,
                "м²",
                "055",
                area,
                price,
                surcharge,
                gross,
                discount,
                amount,
                rate,
                vat,
                area,
            )
        )
    stats.deals, stats.lines = len(deal_rows), len(line_rows)
    busy = infos[busy_index]
    stats.busy_project_id = busy.id
    stats.busy_project_deals = counts[busy_index]

    # -- sales plans: the project's own plan and each manager's, per month of selling --
    for info in infos:
        total_area = sum(stands_by_id[s]["area"] for s in info.stand_ids)
        months = [_add_months(info.opening, -m) for m in range(11, -1, -1)]
        for m, month in enumerate(months):
            share = Decimal(m + 1) / Decimal(78)  # rising towards the opening (1+…+12 = 78)
            area = (total_area * Decimal("0.8") * share).quantize(ZERO)
            plan_rows.append(
                (info.id, None, month, area, money(area * info.prices[StandType.RAW.value]))
            )
            for uid in users.manager_ids:
                own = (area / len(users.manager_ids) * Decimal(0.8 + rng.random() * 0.4)).quantize(
                    ZERO
                )
                plan_rows.append(
                    (info.id, uid, month, own, money(own * info.prices[StandType.RAW.value]))
                )
    stats.plans = len(plan_rows)

    # -- write (FK order: projects, halls, prices, deals, stands, lines, plans) --
    say(f"rows built in {time.perf_counter() - started - stats.seconds_clients:.1f} s, writing …")
    loader.write(
        Project.__table__,
        [
            "id",
            "name",
            "code",
            "venue",
            "city",
            "build_up_date",
            "opening_date",
            "closing_date",
            "dismantling_date",
            "status",
            "description",
            "registration_fee",
            "default_vat_rate",
            "project_manager_id",
            "created_at",
            "updated_at",
        ],
        project_rows,
    )
    loader.write(
        Hall.__table__, ["id", "project_id", "name", "width_m", "depth_m", "position"], hall_rows
    )
    loader.write(
        StandPrice.__table__, ["project_id", "stand_type", "price_per_m2", "vat_rate"], price_rows
    )
    loader.write(
        PositionSurcharge.__table__, ["project_id", "position", "kind", "value"], surcharge_rows
    )
    loader.write(ProjectMember.__table__, ["project_id", "user_id"], member_rows)
    loader.write(
        Deal.__table__,
        [
            "id",
            "client_id",
            "project_id",
            "manager_id",
            "pipeline_id",
            "stage_id",
            "outcome",
            "title",
            "pricing_date",
            "discount_kind",
            "discount_value",
            "discount_reason",
            "amount",
            "vat_amount",
            "area_m2",
            "lost_reason_id",
            "closed_at",
            "position",
            "created_at",
            "updated_at",
        ],
        deal_rows,
    )
    stand_rows = []
    for s in stand_rows_meta:
        status = s.get("status", "free")
        stats.stands_by_status[status] = stats.stands_by_status.get(status, 0) + 1
        stand_rows.append(
            (
                s["id"],
                s["project_id"],
                s["hall_id"],
                s["number"],
                s["area"],
                s["stand_type"],
                s["position"],
                s["x"],
                s["y"],
                s["width"],
                s["depth"],
                status,
                s.get("deal_id"),
                s.get("reserved_until"),
                True,
                now,
                now,
            )
        )
    loader.write(
        Stand.__table__,
        [
            "id",
            "project_id",
            "hall_id",
            "number",
            "area_m2",
            "stand_type",
            "position",
            "x_m",
            "y_m",
            "width_m",
            "depth_m",
            "status",
            "deal_id",
            "reserved_until",
            "is_active",
            "created_at",
            "updated_at",
        ],
        stand_rows,
    )
    loader.write(
        DealLine.__table__,
        [
            "id",
            "deal_id",
            "kind",
            "stand_id",
            "description",
            "unit",
            "unit_code",
            "quantity",
            "unit_price",
            "surcharge",
            "base_amount",
            "discount",
            "amount",
            "vat_rate",
            "vat_amount",
            "area_m2",
        ],
        line_rows,
    )
    loader.write(
        SalesPlan.__table__, ["project_id", "user_id", "month", "area_m2", "amount"], plan_rows
    )
    loader.reset_sequences(
        [
            Project.__table__,
            Hall.__table__,
            StandPrice.__table__,
            PositionSurcharge.__table__,
            ProjectMember.__table__,
            Deal.__table__,
            Stand.__table__,
            DealLine.__table__,
            SalesPlan.__table__,
        ]
    )
    stats.seconds = time.perf_counter() - started
    return stats
