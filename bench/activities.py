"""The activities benchmark: the calendar week and «Мой день» at 1 000 000 contacts and 100 000
clients on PostgreSQL, and bulk planning of 10 000 calls.

Data: 100 000 clients and 1 000 000 activities spread over 50 managers and ±1 year around today
(90% done or cancelled in the past, the rest planned), written with INSERT … SELECT
generate_series in a schema of its own. Each page is timed through the Flask test client as the
manager (view, ORM, template), interleaved run by run with the bare SQL that returns the same
rows on one open DBAPI connection. The figures asked for: p95 ≤ 150 ms, ratio of medians ≤ 3;
bulk planning of 10 000 calls ≤ 10 s.

`python -m bench.activities --help`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.clients import PG_URL, Timing, postgres_problem, say
from bench.deals import _measure

PASSWORD = "bench-password-2026"
TARGET_P95_MS = 150.0
TARGET_RATIO = 3.0
TARGET_BULK_S = 10.0


def _schema_url(schema: str) -> str:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{separator}options=-csearch_path%3D{schema}"


def _generate(conn: Any, manager_ids: list[int], clients: int, activities: int) -> None:
    from sqlalchemy import text

    ids = "ARRAY[" + ",".join(str(i) for i in manager_ids) + "]"
    conn.execute(
        text(
            "INSERT INTO clients (kind, name, name_norm, readiness, mailing_consent, "  # noqa: S608
            "relationship_type, curator_id, created_at, updated_at) "
            f"SELECT 'legal', 'ООО «Клиент ' || g || '»', 'клиент ' || g, 0, false, 'cold', "
            f"({ids})[1 + g % {len(manager_ids)}], now(), now() "
            "FROM generate_series(1, :n) g"
        ),
        {"n": clients},
    )
    first_client = conn.execute(text("SELECT min(id) FROM clients")).scalar_one()
    types = conn.execute(text("SELECT id FROM activity_types ORDER BY id")).scalars().all()
    type_ids = "ARRAY[" + ",".join(str(t) for t in types) + "]"
    # Start times: ±365 days around now on the half hour; the past is done (90%) or cancelled.
    conn.execute(
        text(
            "INSERT INTO activities (type_id, goal, client_id, responsible_id, starts_at, "  # noqa: S608
            "duration_minutes, reminders, status, result_kind, completed_at, created_at, "
            "updated_at) "
            "SELECT t.type_id, 'Звонок ' || t.g, t.client_id, t.manager_id, t.starts_at, 15, "
            "'[15]'::json, "
            "CASE WHEN t.starts_at >= now() THEN 'planned' "
            "     WHEN t.g % 10 = 0 THEN 'cancelled' WHEN t.g % 50 = 1 THEN 'planned' "
            "     ELSE 'done' END, "
            "CASE WHEN t.starts_at < now() AND t.g % 10 <> 0 AND t.g % 50 <> 1 "
            "     THEN 'other' END, "
            "CASE WHEN t.starts_at < now() AND t.g % 10 <> 0 AND t.g % 50 <> 1 "
            "     THEN t.starts_at END, now(), now() "
            "FROM (SELECT g, "
            f"  ({type_ids})[1 + g % {len(types)}] AS type_id, "
            f"  {first_client} + (g * 7919) % :clients AS client_id, "
            f"  ({ids})[1 + (g / 7) % {len(manager_ids)}] AS manager_id, "
            "  date_trunc('hour', now()) + ((g * 104729) % 35040 - 17520) * interval '30 minutes'"
            "    AS starts_at "
            "  FROM generate_series(1::bigint, :n) g) t"
        ),
        {"n": activities, "clients": clients},
    )
    conn.execute(text("ANALYZE clients"))
    conn.execute(text("ANALYZE activities"))


def _login(app: Any, username: str) -> Any:
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    if not match:
        raise RuntimeError("no CSRF token on /login")
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": match.group(1)}
    )
    if answer.status_code != 302:
        raise RuntimeError(f"login failed: HTTP {answer.status_code}")
    return client


def _line(name: str, rows: int, app: Timing, bare: Timing) -> str:
    ratio = app.median_ms / bare.median_ms if bare.median_ms else float("inf")
    ok = app.p95_ms <= TARGET_P95_MS and ratio <= TARGET_RATIO
    return (
        f"{name:<28} {rows:>6} {app.median_ms:>9.1f} {app.p95_ms:>9.1f} "
        f"{bare.median_ms:>9.1f} {ratio:>7.2f}  {'OK' if ok else 'SLOW'}"
    )


def run(options: argparse.Namespace) -> list[str]:
    import flask_migrate
    import psycopg
    from sqlalchemy import select

    from bench import deals_datagen
    from erp_crm import create_app
    from erp_crm.activities import bulk
    from erp_crm.activities.models import ActivityType
    from erp_crm.auth.models import User
    from erp_crm.clients.models import Client
    from erp_crm.config import Config
    from erp_crm.db import db, set_actor

    schema = f"bench_activities_{os.getpid()}"
    url = _schema_url(schema)
    tmp = Path(tempfile.mkdtemp(prefix="bench-activities-"))
    app = create_app(
        Config(
            DATABASE_URL=url,
            SECRET_KEY="x" * 40,
            INSTANCE_PATH=tmp / "instance",
            STORAGE_PATH=tmp / "instance" / "storage",
        )
    )
    lines = []
    try:
        with app.app_context():
            flask_migrate.upgrade()
        with db.job_session(app) as session:
            set_actor(session, None)
            users = deals_datagen.create_users(session, PASSWORD, managers=options.managers)
        engine = db.state(app).engine
        started = time.perf_counter()
        with engine.begin() as conn:
            _generate(conn, users.manager_ids, options.clients, options.activities)
        say(
            f"data: {options.clients} clients, {options.activities} activities, "
            f"{options.managers} managers in {time.perf_counter() - started:.0f} s"
        )
        manager_id = users.manager_ids[0]
        with db.job_session(app) as session:
            manager = session.get(User, manager_id)
            username = manager.username
        http = _login(app, username)
        today = dt.date.today()
        monday = today - dt.timedelta(days=today.weekday())
        start, end = monday.isoformat(), (monday + dt.timedelta(days=7)).isoformat()
        week_url = f"/calendar/events?start={start}T00:00:00&end={end}T00:00:00"
        # The same rows as the page: the manager's contacts that overlap the week.
        week_sql = (
            "SELECT a.id, a.starts_at, a.duration_minutes, a.status, a.goal, t.name, c.name "
            "FROM activities a JOIN activity_types t ON t.id = a.type_id "
            "JOIN clients c ON c.id = a.client_id "
            "WHERE a.responsible_id = %s "
            "AND a.starts_at < %s AND a.starts_at >= %s - interval '1 day' ORDER BY a.starts_at"
        )
        day_sql = (
            "SELECT a.id, a.starts_at, a.goal, c.name FROM activities a "
            "JOIN clients c ON c.id = a.client_id "
            "WHERE a.responsible_id = %s AND a.status = 'planned' "
            "AND a.starts_at < date_trunc('day', now()) + interval '2 day' "
            "ORDER BY a.starts_at LIMIT 600"
        )
        raw = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
        week_from = dt.datetime.combine(monday, dt.time(), tzinfo=dt.UTC)
        week_to = week_from + dt.timedelta(days=7)
        lines.append(
            f"{'case':<28} {'rows':>6} {'app med':>9} {'app p95':>9} {'bare med':>9} "
            f"{'ratio':>7}  verdict (p95 ≤ {TARGET_P95_MS:.0f} ms, ratio ≤ {TARGET_RATIO:.0f})"
        )
        for name, path, sql, params in (
            ("calendar week (JSON)", week_url, week_sql, (manager_id, week_to, week_from)),
            ("«Мой день» page", "/activities/", day_sql, (manager_id,)),
        ):
            answer = http.get(path)
            if answer.status_code != 200:
                raise RuntimeError(f"GET {path}: HTTP {answer.status_code}")
            rows = len(raw.execute(sql, params).fetchall())

            def page(path: str = path) -> None:
                http.get(path).get_data()

            def bare(sql: str = sql, params: tuple = params) -> None:
                raw.execute(sql, params).fetchall()

            app_t, bare_t = _measure(page, bare, runs=options.runs, warmup=3)
            lines.append(_line(name, rows, app_t, bare_t))
        raw.close()

        with db.job_session(app) as session:
            set_actor(session, None)
            head = session.get(User, users.head_id)
            call = session.scalar(select(ActivityType).where(ActivityType.code == "call"))
            client_ids = list(
                session.scalars(select(Client.id).order_by(Client.id).limit(options.bulk))
            )
            started = time.perf_counter()
            result = bulk.bulk_plan(
                session,
                bulk.BulkPlan(
                    client_ids=client_ids,
                    type_id=call.id,
                    goal="Пригласить на выставку",
                    first_day=today + dt.timedelta(days=1),
                    working_days=20,
                ),
                actor=head,
            )
            session.flush()
            elapsed = time.perf_counter() - started
        lines.append(
            f"bulk planning: {result.planned} calls in {elapsed:.2f} s "
            f"({'OK' if elapsed <= TARGET_BULK_S else 'SLOW'}, target ≤ {TARGET_BULK_S:.0f} s)"
        )
    finally:
        db.state(app).engine.dispose()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.activities", description=__doc__)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--managers", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--bulk", type=int, default=10_000)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    problem = postgres_problem()
    if problem:
        say(f"PostgreSQL is not reachable ({problem}): the activities bench needs it.")
        return 2
    for line in run(options):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
