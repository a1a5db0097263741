"""The activities benchmark: the calendar week and «Мой день» at 1 000 000 contacts and 100 000
clients on PostgreSQL, and bulk planning of 10 000 calls.

Data: 100 000 clients, each with a contact person and their phone, and 1 000 000 activities
spread over 50 managers and ±1 year around today (90% done or cancelled in the past, the rest
planned; two in three name the client's contact person), written with INSERT … SELECT
generate_series in a schema of its own.

Each page is timed through the Flask test client as the manager (login check, view, ORM,
template), interleaved run by run with the bare SQL that returns the same rows and columns the
page shows, on one open DBAPI connection:
- the calendar week is what the browser waits for: the page GET /calendar/ and then its events
  feed GET /calendar/events for the week (FullCalendar loads the events from it); its bare SQL
  is the one statement returning the feed's rows (type, icon, client, curator for «editable»,
  responsible, times, status) — the page itself reads no rows;
- «Мой день»: overdue, today and tomorrow (each up to 200, type, icon, client, goal, contact
  person with their phones, time, status) and the requests to the user and the unseen answers
  (with the author / assignee): the same statements by hand.
The ids the page and the bare SQL return are compared before timing. The figures asked for:
p95 ≤ 150 ms, ratio of medians ≤ 3; bulk planning of 10 000 calls ≤ 10 s.

`python -m bench.activities --help`; `--schema NAME --keep` keeps the generated data for the next
run, `--profile` prints a cProfile of the pages, `--explain` the app's statements of one request
with their times and EXPLAIN ANALYZE of the bare SQL.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.clients import Timing, postgres_problem, say
from bench.deals import _measure
from bench.schemas import drop_schema, schema_url

PASSWORD = "bench-password-2026"
TARGET_P95_MS = 150.0
TARGET_RATIO = 3.0
WARMUP = 8  # runs of each side before the timed ones
TARGET_BULK_S = 10.0
ZONE = ZoneInfo("Europe/Moscow")  # the managers' zone (the default): the pages' days are its days


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
    # One contact person per client, with a phone: the «Мой день» rows show them.
    conn.execute(
        text(
            "INSERT INTO contact_persons (client_id, full_name, name_norm, is_active, "
            "created_at, updated_at) "
            "SELECT id, 'Иванов Пётр ' || id, 'иванов пётр ' || id, true, now(), now() "
            "FROM clients ORDER BY id"
        )
    )
    conn.execute(
        text(
            "INSERT INTO contact_channels (contact_id, kind, value) "
            "SELECT id, 'phone', '+7927' || lpad((id % 10000000)::text, 7, '0') "
            "FROM contact_persons ORDER BY id"
        )
    )
    first_contact = conn.execute(text("SELECT min(id) FROM contact_persons")).scalar_one()
    types = conn.execute(text("SELECT id FROM activity_types ORDER BY id")).scalars().all()
    type_ids = "ARRAY[" + ",".join(str(t) for t in types) + "]"
    # Start times: ±365 days around now on the half hour; the past is done (90%) or cancelled.
    conn.execute(
        text(
            "INSERT INTO activities (type_id, goal, client_id, contact_id, "  # noqa: S608
            "responsible_id, starts_at, "
            "duration_minutes, reminders, status, result_kind, completed_at, created_at, "
            "updated_at) "
            "SELECT t.type_id, 'Звонок ' || t.g, t.client_id, "
            f"CASE WHEN t.g % 3 <> 0 THEN t.client_id - {first_client} + {first_contact} END, "
            "t.manager_id, t.starts_at, 15, "
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
    for table in ("clients", "contact_persons", "contact_channels", "activities"):
        conn.execute(text(f"ANALYZE {table}"))


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


def _line(name: str, rows: int, app: Timing, bare: Timing | None) -> str:
    if bare is None:
        return f"{name:<28} {rows:>6} {app.median_ms:>9.1f} {app.p95_ms:>9.1f}"
    ratio = app.median_ms / bare.median_ms if bare.median_ms else float("inf")
    ok = app.p95_ms <= TARGET_P95_MS and ratio <= TARGET_RATIO
    return (
        f"{name:<28} {rows:>6} {app.median_ms:>9.1f} {app.p95_ms:>9.1f} "
        f"{bare.median_ms:>9.1f} {ratio:>7.2f}  {'OK' if ok else 'SLOW'}"
    )


# --- the bare SQL -------------------------------------------------------------------------------

# The feed's rows: the manager's contacts that overlap the week (a contact lasts at most a day),
# with what each event shows: type and icon, client (and its curator: «editable»), responsible.
WEEK_SQL = (
    "SELECT a.id, a.starts_at, a.duration_minutes, a.status, a.client_id, t.name, t.icon, "
    "c.name, c.curator_id, u.full_name "
    "FROM activities a JOIN activity_types t ON t.id = a.type_id "
    "JOIN clients c ON c.id = a.client_id JOIN users u ON u.id = a.responsible_id "
    "WHERE a.responsible_id = %(user)s AND a.starts_at >= %(start)s - interval '1 day' "
    "AND a.starts_at < %(end)s "
    "AND a.starts_at + a.duration_minutes * interval '1 minute' > %(start)s "
    "ORDER BY a.starts_at, a.id"
)

# «Мой день»: one section's planned contacts with type, client, contact person and phones.
DAY_SECTION_SQL = (
    "SELECT a.id, a.starts_at, a.goal, a.status, t.name, t.icon, c.name, p.full_name, "
    "(SELECT array_agg(ch.value ORDER BY ch.id) FROM contact_channels ch "
    " WHERE ch.contact_id = p.id AND ch.kind = 'phone') "
    "FROM activities a JOIN activity_types t ON t.id = a.type_id "
    "JOIN clients c ON c.id = a.client_id LEFT JOIN contact_persons p ON p.id = a.contact_id "
    "WHERE a.responsible_id = %(user)s AND a.status = 'planned' "
    "AND a.starts_at >= %(from)s AND a.starts_at < %(to)s "
    "ORDER BY a.starts_at, a.id LIMIT 200"
)
INBOX_SQL = (
    "SELECT k.id, k.goal, k.due_on, u.full_name FROM activity_tasks k "
    "JOIN users u ON u.id = k.author_id "
    "WHERE k.assignee_id = %(user)s AND k.status IN ('new', 'accepted') ORDER BY k.due_on, k.id"
)
ANSWERS_SQL = (
    "SELECT k.id, k.goal, k.answer, u.full_name FROM activity_tasks k "
    "JOIN users u ON u.id = k.assignee_id "
    "WHERE k.author_id = %(user)s AND k.answered_at IS NOT NULL AND k.author_seen_at IS NULL "
    "ORDER BY k.answered_at DESC"
)


def _day_statements(user_id: int, now: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
    local_today = now.astimezone(ZONE).date()
    start = dt.datetime.combine(local_today, dt.time(), tzinfo=ZONE).astimezone(dt.UTC)
    day = dt.timedelta(days=1)
    far_past = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
    return [
        (DAY_SECTION_SQL, {"user": user_id, "from": far_past, "to": now}),
        (DAY_SECTION_SQL, {"user": user_id, "from": now, "to": start + day}),
        (DAY_SECTION_SQL, {"user": user_id, "from": start + day, "to": start + 2 * day}),
        (INBOX_SQL, {"user": user_id}),
        (ANSWERS_SQL, {"user": user_id}),
    ]


def _run_bare(raw: Any, statements: list[tuple[str, dict[str, Any]]]) -> list[list[tuple]]:
    return [raw.execute(sql, params).fetchall() for sql, params in statements]


# --- what the pages returned --------------------------------------------------------------------


def _page_ids(html: str, section: str) -> list[int]:
    """The contact ids of one «Мой день» card (overdue / today / tomorrow), in page order."""
    match = re.search(rf'<div class="card mb-3" id="{section}">(.*?)</ul>', html, re.S)
    if not match:
        raise RuntimeError(f"«Мой день»: no section {section}")
    return [int(i) for i in re.findall(r'href="/activities/(\d+)"', match.group(1))]


def _check_same(name: str, app_ids: list[int], bare_ids: list[int]) -> None:
    if app_ids != bare_ids:
        say(f"{name}: same rows in another order" if sorted(app_ids) == sorted(bare_ids) else "")
    if sorted(app_ids) != sorted(bare_ids):
        raise RuntimeError(
            f"{name}: the page and the bare SQL differ: {len(app_ids)} vs {len(bare_ids)} rows, "
            f"first ids {app_ids[:5]} vs {bare_ids[:5]}"
        )


# --- diagnostics --------------------------------------------------------------------------------


def _profile(name: str, run: Callable[[], Any], runs: int = 20) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        run()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(30)
    say(f"--- cProfile of {runs} × {name} ---\n{out.getvalue()}")


def _statements_of(engine: Any, run: Callable[[], Any]) -> list[tuple[float, str]]:
    from sqlalchemy import event

    seen: list[tuple[float, str]] = []
    started: list[float] = []

    def before(*_args: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(((time.perf_counter() - started.pop()) * 1000, statement))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return seen


def _explain(
    name: str, engine: Any, run: Callable[[], Any], raw: Any, bare: list[tuple[str, dict]]
) -> None:
    statements = _statements_of(engine, run)
    say(f"--- {name}: {len(statements)} statements of one request ---")
    for ms, sql in statements:
        say(f"{ms:7.2f} ms  {' '.join(sql.split())[:300]}")
    for sql, params in bare:
        plan = raw.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
        say(f"--- EXPLAIN ANALYZE (bare) {' '.join(sql.split())[:120]}")
        say("\n".join(row[0] for row in plan))


# --- the run ------------------------------------------------------------------------------------


def run(options: argparse.Namespace) -> list[str]:
    import flask_migrate
    import psycopg
    from sqlalchemy import select, text

    from bench import deals_datagen
    from erp_crm import create_app
    from erp_crm.activities import bulk
    from erp_crm.activities.models import ActivityType
    from erp_crm.auth.models import User
    from erp_crm.clients.models import Client
    from erp_crm.config import Config
    from erp_crm.db import db, set_actor

    schema = options.schema or f"bench_activities_{os.getpid()}"
    keep = options.keep or bool(options.schema)
    url = schema_url(schema, fresh=not options.schema)
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
        engine = db.state(app).engine
        with engine.connect() as conn:
            existing = conn.execute(text("SELECT count(*) FROM activities")).scalar_one()
        if existing:
            with db.job_session(app) as session:
                head_id = session.scalar(select(User.id).where(User.username == "bench.head"))
                manager_id = session.scalar(
                    select(User.id).where(User.username == "bench.manager1")
                )
            say(f"data: reusing schema {schema} ({existing} activities)")
        else:
            with db.job_session(app) as session:
                set_actor(session, None)
                users = deals_datagen.create_users(session, PASSWORD, managers=options.managers)
            started = time.perf_counter()
            with engine.begin() as conn:
                _generate(conn, users.manager_ids, options.clients, options.activities)
            say(
                f"data: {options.clients} clients, {options.activities} activities, "
                f"{options.managers} managers in {time.perf_counter() - started:.0f} s"
            )
            manager_id, head_id = users.manager_ids[0], users.head_id
        with db.job_session(app) as session:
            username = session.get(User, manager_id).username
        http = _login(app, username)
        today = dt.datetime.now(ZONE).date()
        monday = today - dt.timedelta(days=today.weekday())
        week_from = dt.datetime.combine(monday, dt.time(), tzinfo=ZONE)
        week_to = week_from + dt.timedelta(days=7)
        page_url = "/calendar/?view=timeGridWeek"
        # As FullCalendar asks: the week's bounds in the calendar's zone, with the offset.
        feed_url = (
            f"/calendar/events?user_id={manager_id}"
            f"&start={week_from.isoformat().replace('+', '%2B')}"
            f"&end={week_to.isoformat().replace('+', '%2B')}"
        )
        raw = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
        week_bare = [(WEEK_SQL, {"user": manager_id, "start": week_from, "end": week_to})]
        lines.append(
            f"{'case':<28} {'rows':>6} {'app med':>9} {'app p95':>9} {'bare med':>9} "
            f"{'ratio':>7}  verdict (p95 ≤ {TARGET_P95_MS:.0f} ms, ratio ≤ {TARGET_RATIO:.0f})"
        )

        def get(path: str) -> Any:
            answer = http.get(path)
            if answer.status_code != 200:
                raise RuntimeError(f"GET {path}: HTTP {answer.status_code}")
            return answer

        # The rows the pages show = the rows of the bare SQL.
        events = get(feed_url).get_json()
        week_rows = _run_bare(raw, week_bare)[0]
        _check_same("calendar week", [int(e["id"]) for e in events], [r[0] for r in week_rows])
        now = dt.datetime.now(dt.UTC)
        html = get("/activities/").get_data(as_text=True)
        day_bare = _day_statements(manager_id, now)
        day_rows = _run_bare(raw, day_bare)
        for section, rows in zip(("overdue", "today", "tomorrow"), day_rows, strict=False):
            _check_same(f"«Мой день» {section}", _page_ids(html, section), [r[0] for r in rows])
        day_count = sum(len(rows) for rows in day_rows[:3])

        def week_page() -> None:  # what the browser waits for: the page, then its events
            get(page_url).get_data()
            get(feed_url).get_data()

        def feed() -> None:
            get(feed_url).get_data()

        def day_page() -> None:
            get("/activities/").get_data()

        cases: list[tuple[str, int, Callable[[], Any], list[tuple[str, dict]] | None]] = [
            ("calendar week page+events", len(week_rows), week_page, week_bare),
            ("  of which: events JSON", len(week_rows), feed, week_bare),
            ("  of which: page HTML", 0, lambda: get(page_url).get_data(), None),
            ("«Мой день» page", day_count, day_page, day_bare),
        ]
        for name, rows, page, bare_statements in cases:
            if options.explain and bare_statements is not None and "of which" not in name:
                _explain(name, engine, page, raw, bare_statements)
            if options.profile and "of which" not in name:
                _profile(name, page)

            def bare(statements: list | None = bare_statements) -> None:
                if statements:
                    _run_bare(raw, statements)

            # Steady state, for both sides: the driver prepares a statement on its 6th run
            # (psycopg's prepare_threshold) and a template compiles on its first render.
            app_t, bare_t = _measure(page, bare, runs=options.runs, warmup=WARMUP)
            lines.append(_line(name, rows, app_t, bare_t if bare_statements else None))
        raw.close()

        if options.bulk:
            with db.job_session(app) as session:
                set_actor(session, None)
                head = session.get(User, head_id)
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
                session.rollback()  # a kept schema stays as generated
            lines.append(
                f"bulk planning: {result.planned} calls in {elapsed:.2f} s "
                f"({'OK' if elapsed <= TARGET_BULK_S else 'SLOW'}, target ≤ {TARGET_BULK_S:.0f} s)"
            )
    finally:
        db.state(app).engine.dispose()
        if not keep:
            drop_schema(schema)
    return lines


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.activities", description=__doc__)
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--managers", type=int, default=50)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--bulk", type=int, default=10_000, help="calls to plan in bulk (0: skip)")
    parser.add_argument(
        "--schema", default=None, help="use (and keep) this schema; data generated once"
    )
    parser.add_argument("--keep", action="store_true", help="do not drop the generated schema")
    parser.add_argument("--profile", action="store_true", help="cProfile the pages")
    parser.add_argument(
        "--explain", action="store_true", help="the app's statements and EXPLAIN ANALYZE"
    )
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
