"""The reports benchmark: the report pages at 100 000 clients, 100 000 deals, 1 000 000 contacts
and 500 000 stage moves on PostgreSQL, and the department report's XLSX.

Data (INSERT … SELECT generate_series in a schema of its own): 50 managers, 10 projects; deals
spread over the projects, managers and the sales pipeline's stages (won at the sale stages, one in
seven of the others lost), created over the past year; 5 ledger moves per deal; contacts over
±1 year around today (90 % of the past done with a spread of results, some on a deal); a rating
per 100 contacts; a plan per manager × project × month. Each page is timed through the Flask
test client as the head of sales (view, ORM, template), interleaved run by run with the bare SQL
of the same figures on one open DBAPI connection. The figures asked for: p95 ≤ 300 ms, ratio of
medians ≤ 3; the department XLSX ≤ 2 s.

`python -m bench.reports --help`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.activities import PASSWORD, _login
from bench.clients import Timing, postgres_problem, say
from bench.deals import _measure
from bench.schemas import drop_schema, schema_url, url_of

TARGET_P95_MS = 300.0
TARGET_RATIO = 3.0
WARMUP = 8  # runs of each side before the timed ones
TARGET_XLSX_S = 2.0
PROJECTS = 10


def _array(ids: Sequence[int]) -> str:
    return "ARRAY[" + ",".join(str(i) for i in ids) + "]"


def _generate(conn: Any, options: argparse.Namespace, managers: list[int]) -> dict[str, Any]:
    from sqlalchemy import text

    def run(sql: str, **params: Any) -> None:
        conn.execute(text(sql), params)

    m = _array(managers)
    nm = len(managers)
    for n in range(PROJECTS):
        run(
            "INSERT INTO projects (name, code, venue, city, opening_date, closing_date, status, "
            "registration_fee, default_vat_rate, project_manager_id, created_at, updated_at) "
            "VALUES (:name, :code, 'Экспо', 'Самара', :open, :close, 'selling', 15000, 'auto', "
            "NULL, now(), now())",
            name=f"Выставка {n + 1}",
            code=f"EXPO{n + 1:02d}",
            open=dt.date.today() + dt.timedelta(days=30 * (n + 1)),
            close=dt.date.today() + dt.timedelta(days=30 * (n + 1) + 3),
        )
    projects = conn.execute(text("SELECT id FROM projects ORDER BY id")).scalars().all()
    p = _array(projects)
    stages = conn.execute(
        text(
            "SELECT s.id, s.is_sale FROM stages s JOIN pipelines p ON p.id = s.pipeline_id "
            "WHERE p.code = 'sales' ORDER BY s.position"
        )
    ).all()
    pipeline = conn.execute(text("SELECT id FROM pipelines WHERE code = 'sales'")).scalar_one()
    stage_ids = _array([s.id for s in stages])
    sale_from = next(i for i, s in enumerate(stages) if s.is_sale)  # 0-based
    reason = conn.execute(text("SELECT min(id) FROM lost_reasons")).scalar_one()
    run(
        "INSERT INTO clients (kind, name, name_norm, readiness, mailing_consent, "  # noqa: S608
        "relationship_type, curator_id, region, industry, created_at, updated_at) "
        "SELECT 'legal', 'ООО «Клиент ' || g || '»', 'клиент ' || g, g % 5, false, "
        "(ARRAY['cold','potential','current','permanent'])[1 + g % 4], "
        f"({m})[1 + g % {nm}], 'Регион ' || (g % 85), 'Отрасль ' || (g % 40), now(), now() "
        "FROM generate_series(1, :n) g",
        n=options.clients,
    )
    first_client = conn.execute(text("SELECT min(id) FROM clients")).scalar_one()
    # Deals: the stage index k = g % 9; sale stages are won, one in seven of the rest lost.
    run(
        "INSERT INTO deals (client_id, project_id, manager_id, pipeline_id, stage_id, outcome, "  # noqa: S608
        "title, pricing_date, amount, vat_amount, area_m2, lost_reason_id, closed_at, position, "
        "created_at, updated_at) "
        "SELECT t.client_id, t.project_id, t.manager_id, :pipeline, "
        f"({stage_ids})[1 + t.k], "
        f"CASE WHEN t.k >= {sale_from} THEN 'won' WHEN t.g % 7 = 0 THEN 'lost' ELSE 'open' END, "
        "'Сделка ' || t.g, current_date, (t.g % 50 + 1) * 10000, 0, t.g % 20 + 4, "
        f"CASE WHEN t.k < {sale_from} AND t.g % 7 = 0 THEN {reason} END, "
        f"CASE WHEN t.k >= {sale_from} OR t.g % 7 = 0 "
        "     THEN t.created_at + (t.g % 60) * interval '1 day' END, 0, t.created_at, now() "
        "FROM (SELECT g, g % :stages AS k, "
        f"  {first_client} + (g * 7919) % :clients AS client_id, "
        f"  ({p})[1 + g % {len(projects)}] AS project_id, "
        f"  ({m})[1 + (g / 3) % {nm}] AS manager_id, "
        "  now() - (g % 365) * interval '1 day' AS created_at "
        "  FROM generate_series(1, :n) g) t",
        pipeline=pipeline,
        stages=len(stages),
        clients=options.clients,
        n=options.deals,
    )
    first_deal = conn.execute(text("SELECT min(id) FROM deals")).scalar_one()
    # The ledger: `moves` per deal, along the stages up to the deal's own.
    per_deal = max(1, options.moves // options.deals)
    run(
        "INSERT INTO report_stage_moves (deal_id, project_id, pipeline_id, from_stage_id, "
        "to_stage_id, from_percent, to_percent, at, actor_id, manager_id, area_m2, amount, "
        "outcome) "
        "SELECT d.id, d.project_id, d.pipeline_id, fs.id, ts.id, fs.percent, ts.percent, "
        "d.created_at + k * interval '2 days', d.manager_id, d.manager_id, d.area_m2, d.amount, "
        "CASE WHEN ts.is_sale THEN 'won' ELSE 'open' END "
        "FROM deals d CROSS JOIN generate_series(0, :per - 1) k "
        "JOIN stages cur ON cur.id = d.stage_id "
        "JOIN stages ts ON ts.pipeline_id = d.pipeline_id "
        "  AND ts.position = (cur.position * k) / GREATEST(:per - 1, 1) "
        "LEFT JOIN stages fs ON fs.pipeline_id = d.pipeline_id AND k > 0 "
        "  AND fs.position = (cur.position * (k - 1)) / GREATEST(:per - 1, 1)",
        per=per_deal,
    )
    types = conn.execute(text("SELECT id FROM activity_types ORDER BY id")).scalars().all()
    results = "ARRAY['other','postponed','invitation_sent','manual_sent','sale','other']"
    run(
        "INSERT INTO activities (type_id, goal, client_id, deal_id, project_id, responsible_id, "  # noqa: S608
        "starts_at, duration_minutes, reminders, status, result_kind, completed_at, created_at, "
        "updated_at) "
        "SELECT t.type_id, 'Звонок ' || t.g, t.client_id, t.deal_id, t.project_id, t.manager_id, "
        "t.starts_at, 15, '[15]'::json, "
        "CASE WHEN t.starts_at >= now() THEN 'planned' "
        "     WHEN t.g % 10 = 0 THEN 'cancelled' WHEN t.g % 50 = 1 THEN 'planned' "
        "     ELSE 'done' END, "
        "CASE WHEN t.starts_at < now() AND t.g % 10 <> 0 AND t.g % 50 <> 1 "
        f"     THEN ({results})[1 + t.g % 6] END, "
        "CASE WHEN t.starts_at < now() AND t.g % 10 <> 0 AND t.g % 50 <> 1 "
        "     THEN t.starts_at + (t.g % 3) * interval '1 day' END, now(), now() "
        "FROM (SELECT g, "
        f"  ({_array(types)})[1 + g % {len(types)}] AS type_id, "
        f"  {first_client} + (g * 7919) % :clients AS client_id, "
        f"  CASE WHEN g % 3 = 0 THEN {first_deal} + (g * 31) % :deals END AS deal_id, "
        f"  ({p})[1 + g % {len(projects)}] AS project_id, "
        f"  ({m})[1 + (g / 7) % {nm}] AS manager_id, "
        "  date_trunc('hour', now()) + ((g * 104729) % 35040 - 17520) * interval '30 minutes'"
        "    AS starts_at "
        "  FROM generate_series(1::bigint, :n) g) t",
        clients=options.clients,
        deals=options.deals,
        n=options.activities,
    )
    run(
        "INSERT INTO client_ratings (client_id, activity_id, manager_id, manager_score, "
        "project_score, company_score, recorded_at) "
        "SELECT client_id, id, responsible_id, 1 + id % 5, 1 + id % 4, 1 + id % 3, completed_at "
        "FROM activities WHERE status = 'done' AND id % 100 = 0"
    )
    run(
        "INSERT INTO sales_plans (project_id, user_id, month, area_m2, amount) "  # noqa: S608
        f"SELECT p, u, date_trunc('month', current_date)::date + (mo * interval '1 month'), 50, "
        f"500000 FROM unnest({p}) p, unnest({m}) u, generate_series(-6, 5) mo"
    )
    for table in ("clients", "deals", "activities", "report_stage_moves", "client_ratings"):
        run(f"ANALYZE {table}")
    return {"projects": projects, "pipeline": pipeline}


# The bare SQL of the department report, the figures as the page computes them: the contact and
# deal counters of the period's whole months (the bench's period is a calendar year), overdue
# contacts and client × project pairs live, the ratings and the plans.
DEPARTMENT_SQL = [
    """SELECT manager_id, sum(planned), sum(done), sum(on_time), sum(postponed), sum(forward)
    FROM report_counters WHERE kind = 'a' AND month >= %(first)s AND month <= %(last)s
    GROUP BY manager_id""",
    """SELECT responsible_id, count(*) FROM activities WHERE starts_at >= %(start)s
    AND starts_at < %(end)s AND status = 'planned' AND starts_at < now()
    GROUP BY responsible_id""",
    """SELECT responsible_id, count(*) FROM (SELECT DISTINCT responsible_id, client_id,
      project_id FROM activities WHERE starts_at >= %(start)s AND starts_at < %(end)s
      AND status = 'done') p GROUP BY responsible_id""",
    """SELECT manager_id, sum(opened), sum(won), sum(lost), sum(won_m2), sum(won_amount),
      sum(lost_m2), sum(lost_amount), sum(sale_days_sum), sum(sale_days_n)
    FROM report_counters WHERE kind = 'd' AND month >= %(first)s AND month <= %(last)s
    GROUP BY manager_id""",
    """SELECT manager_id, count(*), sum(manager_score) FROM client_ratings
    WHERE manager_id IS NOT NULL AND recorded_at >= %(start)s AND recorded_at < %(end)s
    GROUP BY manager_id""",
    """SELECT user_id, sum(area_m2), sum(amount) FROM sales_plans WHERE user_id IS NOT NULL
    AND month >= %(first)s AND month <= %(last)s GROUP BY user_id""",
]
# The funnel's figures as the page computes them: each deal's furthest stage in the ledger (reached
# per stage), current and lost per stage, the median stay per stage, the totals, the days to the
# sale, lost reasons, the open deals without a planned contact, the forecast and the m².
FUNNEL_SQL = [
    """SELECT position, count(*) FROM (SELECT d.id, max(s.position) AS position FROM deals d
    JOIN report_stage_moves m ON m.deal_id = d.id JOIN stages s ON s.id = m.to_stage_id
    WHERE d.project_id = %(project)s AND d.pipeline_id = %(pipeline)s
    AND s.pipeline_id = %(pipeline)s GROUP BY d.id) f GROUP BY position""",
    """SELECT stage_id, outcome = 'lost', count(*) FROM deals WHERE project_id = %(project)s
    AND pipeline_id = %(pipeline)s GROUP BY stage_id, outcome = 'lost'""",
    """SELECT to_stage_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY
    extract(epoch FROM next_at - at) / 86400) FROM (SELECT to_stage_id, at,
    lead(at) OVER (PARTITION BY deal_id ORDER BY at, id) AS next_at FROM report_stage_moves
    WHERE project_id = %(project)s) s WHERE next_at IS NOT NULL GROUP BY to_stage_id""",
    """SELECT count(*), sum(CASE WHEN outcome = 'won' THEN 1 ELSE 0 END),
    sum(CASE WHEN outcome = 'lost' THEN 1 ELSE 0 END),
    sum(CASE WHEN outcome = 'open' THEN 1 ELSE 0 END),
    avg(CASE WHEN outcome = 'won' THEN amount END) FROM deals
    WHERE project_id = %(project)s AND pipeline_id = %(pipeline)s""",
    """SELECT avg(extract(epoch FROM closed_at - created_at) / 86400) FROM deals
    WHERE project_id = %(project)s AND pipeline_id = %(pipeline)s AND outcome = 'won'
    AND closed_at >= %(start)s AND closed_at < %(end)s""",
    """SELECT r.id, r.name, count(d.id), sum(d.area_m2), sum(d.amount) FROM deals d
    JOIN lost_reasons r ON r.id = d.lost_reason_id WHERE d.project_id = %(project)s
    AND d.outcome = 'lost' AND d.closed_at >= %(start)s AND d.closed_at < %(end)s
    GROUP BY r.id, r.name ORDER BY count(d.id) DESC, r.name""",
    """SELECT d.id FROM deals d WHERE d.project_id = %(project)s AND d.outcome = 'open'
    AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.deal_id = d.id AND a.status = 'planned')
    ORDER BY d.id""",
    """SELECT p.opening_date, count(d.id), sum(d.amount), sum(d.amount * s.percent / 100),
    sum(d.area_m2 * s.percent / 100) FROM deals d JOIN stages s ON s.id = d.stage_id
    JOIN projects p ON p.id = d.project_id WHERE d.project_id = %(project)s
    AND d.outcome = 'open' GROUP BY p.opening_date""",
    """SELECT sum(CASE WHEN d.outcome = 'won' THEN d.area_m2 ELSE 0 END),
    sum(CASE WHEN d.outcome = 'open' THEN d.area_m2 * s.percent / 100 ELSE 0 END)
    FROM deals d JOIN stages s ON s.id = d.stage_id WHERE d.project_id = %(project)s""",
]
# The market page's figures: the live clients by region, industry, relationship and readiness,
# their total, the exhibitors of our projects and the competitors' exhibitions.
MARKET_SQL = [
    *[
        f"SELECT {column}, count(id) FROM clients WHERE merged_into_id IS NULL "  # noqa: S608
        f"GROUP BY {column} ORDER BY count(id) DESC, {column}"
        for column in ("region", "industry", "relationship_type", "readiness")
    ],
    "SELECT count(id) FROM clients WHERE merged_into_id IS NULL",
    """SELECT p.id, p.name, count(DISTINCT d.client_id), sum(d.area_m2) FROM projects p
    JOIN deals d ON d.project_id = p.id JOIN clients c ON c.id = d.client_id
    WHERE d.outcome = 'won' AND c.merged_into_id IS NULL
    GROUP BY p.id, p.name, p.opening_date ORDER BY p.opening_date DESC""",
    """SELECT e.id, e.name, cp.year, count(DISTINCT cp.client_id)
    FROM competitor_participations cp JOIN competitor_exhibitions e ON e.id = cp.exhibition_id
    JOIN clients c ON c.id = cp.client_id WHERE c.merged_into_id IS NULL
    GROUP BY e.id, e.name, cp.year ORDER BY cp.year DESC, e.name""",
]
RECORDS_SQL = [  # the figure's count and its first page of records
    """SELECT count(*) FROM deals d WHERE d.manager_id = %(manager)s AND d.outcome = 'won'
    AND d.closed_at >= %(start)s AND d.closed_at < %(end)s""",
    """SELECT d.id, d.title, c.name, u.full_name, s.name, d.area_m2, d.amount, d.closed_at
    FROM deals d JOIN clients c ON c.id = d.client_id JOIN users u ON u.id = d.manager_id
    JOIN stages s ON s.id = d.stage_id WHERE d.manager_id = %(manager)s AND d.outcome = 'won'
    AND d.closed_at >= %(start)s AND d.closed_at < %(end)s ORDER BY d.id DESC LIMIT 50""",
]


def _narrowed(conditions: list[str]) -> list[str]:
    """DEPARTMENT_SQL with one more condition each (the manager's or the project's figures)."""
    out = []
    for sql, cond in zip(DEPARTMENT_SQL, conditions, strict=True):
        marker = ") p GROUP BY" if ") p GROUP BY" in sql else "GROUP BY"
        head, _, tail = sql.rpartition(marker)
        out.append(f"{head} AND {cond} {marker}{tail}")
    return out


def _existing(engine: Any) -> tuple[list[int], dict[str, Any]]:
    """The managers, projects and pipeline of a kept bench schema."""
    from sqlalchemy import text

    with engine.connect() as conn:
        managers = (
            conn.execute(
                text("SELECT id FROM users WHERE username LIKE 'bench.manager%' ORDER BY id")
            )
            .scalars()
            .all()
        )
        projects = conn.execute(text("SELECT id FROM projects ORDER BY id")).scalars().all()
        pipeline = conn.execute(text("SELECT id FROM pipelines WHERE code = 'sales'")).scalar_one()
    return list(managers), {"projects": list(projects), "pipeline": pipeline}


def _line(name: str, app: Timing, bare: Timing | None) -> str:
    if bare is None:
        ok = app.p95_ms <= TARGET_P95_MS
        return (
            f"{name:<34} {app.median_ms:>9.1f} {app.p95_ms:>9.1f} {'—':>9} {'—':>7}  "
            f"{'OK' if ok else 'SLOW'}"
        )
    ratio = app.median_ms / bare.median_ms if bare.median_ms else float("inf")
    ok = app.p95_ms <= TARGET_P95_MS and ratio <= TARGET_RATIO
    return (
        f"{name:<34} {app.median_ms:>9.1f} {app.p95_ms:>9.1f} {bare.median_ms:>9.1f} "
        f"{ratio:>7.2f}  {'OK' if ok else 'SLOW'}"
    )


def run(options: argparse.Namespace) -> list[str]:
    import flask_migrate
    import psycopg
    from sqlalchemy import text

    from bench import deals_datagen
    from erp_crm import create_app
    from erp_crm.config import Config
    from erp_crm.db import db, set_actor
    from erp_crm.reports import counters
    from erp_crm.reports.filters import ReportFilter

    schema = options.reuse or f"bench_reports_{os.getpid()}"
    url = url_of(schema) if options.reuse else schema_url(schema, fresh=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    app = create_app(
        Config(
            DATABASE_URL=url,
            SECRET_KEY="x" * 40,
            INSTANCE_PATH=tmp / "instance",
            STORAGE_PATH=tmp / "instance" / "storage",
        )
    )
    lines: list[str] = []
    try:
        with app.app_context():
            flask_migrate.upgrade()
        engine = db.state(app).engine
        if options.reuse:
            manager_ids, world = _existing(engine)
        else:
            with db.job_session(app) as session:
                set_actor(session, None)
                users = deals_datagen.create_users(session, PASSWORD, managers=options.managers)
            manager_ids = users.manager_ids
            started = time.perf_counter()
            with engine.begin() as conn:
                world = _generate(conn, options, manager_ids)
                counters_started = time.perf_counter()
                counters.rebuild(conn)  # the data came in by SQL, past the live maintenance
                say(f"counters rebuilt in {time.perf_counter() - counters_started:.1f} s")
            # the state a running database is in (autovacuum): the visibility map set, so the
            # index-only scans are index-only
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in ("activities", "deals", "report_stage_moves", "report_counters"):
                    conn.execute(text(f"VACUUM ANALYZE {table}"))
                conn.execute(text("ANALYZE"))  # the small tables too (stages, projects, users)
            say(
                f"data: {options.clients} clients, {options.deals} deals, {options.activities} "
                f"contacts, ~{options.moves} stage moves in {time.perf_counter() - started:.0f} s"
                f" (schema {schema})"
            )
        http = _login(app, "bench.head")
        year = ReportFilter.default()
        args = f"date_from={year.date_from}&date_to={year.date_to}"
        project, pipeline = world["projects"][0], world["pipeline"]
        manager = manager_ids[0]
        params = {
            "start": year.starts,
            "end": year.ends,
            "first": year.months()[0],
            "last": year.months()[1],
            "project": project,
            "pipeline": pipeline,
            "manager": manager,
        }
        # autocommit: a failing case must not leave this connection holding locks on the schema
        # the `finally` drops
        raw = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
        raw.execute("SET jit = off")  # the session settings the pages take (figures.prepare)
        raw.execute("SET work_mem = '32MB'")
        lines.append(
            f"{'case':<34} {'app med':>9} {'app p95':>9} {'bare med':>9} {'ratio':>7}  "
            f"verdict (p95 ≤ {TARGET_P95_MS:.0f} ms, ratio ≤ {TARGET_RATIO:.0f})"
        )
        manager_sql = _narrowed(
            [
                "manager_id = %(manager)s",
                "responsible_id = %(manager)s",
                "responsible_id = %(manager)s",
                "manager_id = %(manager)s",
                "manager_id = %(manager)s",
                "user_id = %(manager)s",
            ]
        )
        manager_sql += [  # the personal report's table by contact type, and postponements
            DEPARTMENT_SQL[0]
            .replace("GROUP BY manager_id", "GROUP BY manager_id, type_id")
            .replace("WHERE kind", "WHERE manager_id = %(manager)s AND kind"),
            DEPARTMENT_SQL[1]
            .replace("GROUP BY responsible_id", "GROUP BY responsible_id, type_id")
            .replace("WHERE starts_at", "WHERE responsible_id = %(manager)s AND starts_at"),
            """SELECT a.client_id, c.name, a.project_id, p.name, count(*) FROM activities a
            JOIN clients c ON c.id = a.client_id LEFT JOIN projects p ON p.id = a.project_id
            WHERE a.starts_at >= %(start)s AND a.starts_at < %(end)s
            AND a.responsible_id = %(manager)s AND a.status = 'done'
            AND a.result_kind = 'postponed'
            GROUP BY a.client_id, c.name, a.project_id, p.name ORDER BY count(*) DESC, c.name
            LIMIT 50""",
        ]
        project_sql = _narrowed(
            [
                "project_id = %(project)s",
                "project_id = %(project)s",
                "project_id = %(project)s",
                "project_id = %(project)s",
                "(deal_id IN (SELECT id FROM deals WHERE project_id = %(project)s) OR "
                "activity_id IN (SELECT id FROM activities WHERE project_id = %(project)s))",
                "project_id = %(project)s",
            ]
        )
        cases: list[tuple[str, str, list[str] | None]] = [
            ("department report", f"/reports/department?{args}", DEPARTMENT_SQL),
            ("manager's report", f"/reports/manager?manager_id={manager}&{args}", manager_sql),
            ("project group report", f"/reports/project/{project}?{args}", project_sql),
            (
                "funnel",
                f"/reports/funnel?project_id={project}&pipeline_id={pipeline}&{args}",
                FUNNEL_SQL,
            ),
            (
                "drill-down: won deals",
                f"/reports/records?figure=won&manager_id={manager}&{args}",
                RECORDS_SQL,
            ),
            ("market analytics", "/reports/market", MARKET_SQL),
            ("home (head of sales)", "/", None),
        ]
        for name, path, sqls in cases:
            if options.only and options.only not in name:
                continue
            answer = http.get(path)
            if answer.status_code != 200:
                raise RuntimeError(f"GET {path}: HTTP {answer.status_code}")

            def page(path: str = path) -> None:
                http.get(path).get_data()

            def bare(sqls: list[str] | None = sqls) -> None:
                for sql in sqls or ():
                    raw.execute(sql, params).fetchall()

            # Steady state, for both sides: the driver prepares a statement on its 6th run
            # (psycopg's prepare_threshold) and a template compiles on its first render.
            app_t, bare_t = _measure(page, bare, runs=options.runs, warmup=WARMUP)
            lines.append(_line(name, app_t, bare_t if sqls else None))
            say(lines[-1])
        raw.close()
        samples = []
        for _ in range(3 if not options.only or options.only in "department XLSX" else 0):
            started = time.perf_counter()
            answer = http.get(f"/reports/department.xlsx?{args}")
            answer.get_data()
            samples.append(time.perf_counter() - started)
        worst = max(samples, default=0.0)
        if samples:
            lines.append(
                f"department XLSX: {len(answer.data)} bytes, worst of 3 {worst:.2f} s "
                f"({'OK' if worst <= TARGET_XLSX_S else 'SLOW'}, target ≤ {TARGET_XLSX_S:.0f} s)"
            )
    finally:
        db.state(app).engine.dispose()
        if not (options.keep_db or options.reuse):
            drop_schema(schema)
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--moves", type=int, default=500_000)
    parser.add_argument("--managers", type=int, default=50)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep-db", action="store_true", help="keep the generated schema")
    parser.add_argument(
        "--reuse",
        metavar="SCHEMA",
        help="measure on a schema kept by --keep-db (migrated to the head first; not dropped)",
    )
    parser.add_argument("--only", help="measure only the cases whose name contains this")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    problem = postgres_problem()
    if problem:
        say(f"PostgreSQL is not reachable ({problem}): the reports bench needs it.")
        return 2
    for line in run(options):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
