"""The client base benchmark: search, list pages and the XLSX import on SQLite and PostgreSQL.

Each case is timed twice, interleaved run by run: the app's path (the page through the Flask test
client, or `client_query` + `paginate` as the page calls them) and the bare SQL that returns the
same rows (a hand-written COUNT and LIMIT 50 on one open DBAPI connection). The ratio of the
medians is the figure the issue asks for; on PostgreSQL the targets are p95 < 150 ms and a ratio
of at most 3.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.schemas import PG_URL  # re-exported: the other benches import it from here

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
PROJECT_ROOT = BENCH_DIR.parent

PASSWORD = "bench-password-2026"
ADMIN = "bench.admin"
TARGET_P95_MS = 150.0
TARGET_RATIO = 3.0
TARGET_IMPORT_S = 90.0
PER_PAGE = 50
# The cheapest page a logged-in user can open: the layout and a small form, no query of its own.
# Its time is what every page pays before its own work (the "page floor").
FLOOR_URL = "/account/password"


def say(message: str) -> None:
    print(message, flush=True)


# --- statistics ---------------------------------------------------------------------------------


@dataclass
class Timing:
    samples: list[float]  # seconds

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000


@dataclass
class CaseResult:
    backend: str
    case: str
    path: str  # "page" (HTTP), "query" (client_query + paginate)
    app: Timing | None = None
    bare: Timing | None = None
    total: int | None = None
    same_rows: bool | None = None
    note: str = ""
    floor: Timing | None = None  # pages: an authenticated page that runs no query of its own

    @property
    def ratio(self) -> float | None:
        if self.app is None or self.bare is None or not self.bare.median_ms:
            return None
        return self.app.median_ms / self.bare.median_ms

    def verdict(self) -> str:
        if self.app is None:
            return "—"
        if self.backend != "postgresql":
            return "(PG only)"
        ratio = self.ratio
        misses = []
        if self.app.p95_ms >= TARGET_P95_MS:
            misses.append(f"p95≥{TARGET_P95_MS:.0f}")
        if ratio is not None and ratio > TARGET_RATIO:
            misses.append(f"ratio>{TARGET_RATIO:.0f}")
            if self.floor is not None and self.bare is not None:
                allowed = TARGET_RATIO * self.bare.median_ms
                if self.floor.median_ms > allowed:
                    # no page can get there: the fixed cost of any page is more than allowed
                    misses.append(
                        f"{TARGET_RATIO:.0f}×bare = {allowed:.1f} ms < page floor "
                        f"{self.floor.median_ms:.1f} ms"
                    )
        return "yes" if not misses else "NO: " + ", ".join(misses)


@dataclass
class ImportResult:
    backend: str
    rows: int
    seconds: float | None = None
    peak_rss_mb: float | None = None
    baseline_rss_mb: float | None = None
    tracemalloc_peak_mb: float | None = None
    outcome: str = ""
    note: str = ""

    projected: float | None = None  # seconds, when the import was stopped at the time limit

    def verdict(self) -> str:
        if self.seconds is None:
            return "NO" if self.projected else "—"
        return "yes" if self.seconds < TARGET_IMPORT_S else "NO"


@dataclass
class Report:
    args: dict[str, Any]
    lines: list[str] = field(default_factory=list)  # setup notes (generation times etc.)
    cases: list[CaseResult] = field(default_factory=list)
    imports: list[ImportResult] = field(default_factory=list)
    explain: list[str] = field(default_factory=list)
    floors: dict[str, Timing] = field(default_factory=dict)  # backend -> the page floor
    rows_cache: dict[Any, Any] = field(default_factory=dict)  # generated rows, for both backends

    def note(self, message: str) -> None:
        say(message)
        self.lines.append(message)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def format_table(report: Report) -> str:
    header = (
        f"{'backend':<11} {'case':<34} {'path':<6} {'app med':>8} {'app p95':>8} "
        f"{'bare med':>8} {'bare p95':>8} {'ratio':>6} {'total':>7} {'rows':>5}  target"
    )
    out = [header, "-" * len(header)] if report.cases else []
    for c in report.cases:
        out.append(
            f"{c.backend:<11} {c.case:<34} {c.path:<6} "
            f"{_fmt(c.app.median_ms if c.app else None):>8} "
            f"{_fmt(c.app.p95_ms if c.app else None):>8} "
            f"{_fmt(c.bare.median_ms if c.bare else None):>8} "
            f"{_fmt(c.bare.p95_ms if c.bare else None):>8} "
            f"{_fmt(c.ratio, 2):>6} {'' if c.total is None else c.total:>7} "
            f"{'' if c.same_rows is None else ('same' if c.same_rows else 'DIFF'):>5}  "
            f"{c.verdict()}" + (f"  [{c.note}]" if c.note else "")
        )
    if report.cases:
        out.append(
            "(times in ms; ratio = app median / bare median; total = matching clients; "
            "rows = app and bare return the same page and count)"
        )
        for backend, floor in report.floors.items():
            out.append(
                f"page floor [{backend}]: GET {FLOOR_URL} (login check, layout, CSRF token, no "
                f"query of its own): median {floor.median_ms:.1f} ms, p95 {floor.p95_ms:.1f} ms"
            )
    if report.imports:
        if out:
            out.append("")
        head = (
            f"{'backend':<11} {'import':<34} {'seconds':>8} {'peak RSS MB':>12} "
            f"{'before MB':>10} {'py peak MB':>10}  target  outcome"
        )
        out += [head, "-" * len(head)]
        for i in report.imports:
            seconds = (
                _fmt(i.seconds)
                if i.seconds is not None
                else (f"~{i.projected:.0f}*" if i.projected else "—")
            )
            out.append(
                f"{i.backend:<11} {f'XLSX, {i.rows} rows':<34} {seconds:>8} "
                f"{_fmt(i.peak_rss_mb, 0):>12} {_fmt(i.baseline_rss_mb, 0):>10} "
                f"{_fmt(i.tracemalloc_peak_mb, 0):>10}  {i.verdict():<6}  {i.outcome}"
                + (f"  [{i.note}]" if i.note else "")
            )
        if any(i.projected for i in report.imports):
            out.append(
                "(* projected from the rows imported before the time limit, --import-timeout; "
                "peak RSS up to then)"
            )
    return "\n".join(out)


def _measure(
    app_run: Callable[[], Any],
    bare_run: Callable[[], Any] | None,
    *,
    runs: int,
    warmup: int,
) -> tuple[Timing, Timing | None]:
    """Interleaved runs (app, bare, app, bare …) so drift hits both alike."""
    app_samples: list[float] = []
    bare_samples: list[float] = []
    for n in range(warmup + runs):
        started = time.perf_counter()
        app_run()
        elapsed = time.perf_counter() - started
        if n >= warmup:
            app_samples.append(elapsed)
        if bare_run is not None:
            started = time.perf_counter()
            bare_run()
            elapsed = time.perf_counter() - started
            if n >= warmup:
                bare_samples.append(elapsed)
    return Timing(app_samples), (Timing(bare_samples) if bare_run is not None else None)


class TimedOut(Exception):
    pass


class Limiter:
    """Interrupts the statement running on the engine's connection after `limit` seconds.

    A runaway query (minutes on 100 000 clients) must not stall the whole benchmark: SQLite's
    `interrupt()` and psycopg's `cancel_safe()` are both safe to call from another thread.
    """

    def __init__(self, engine: Any) -> None:
        from sqlalchemy import event

        self.engine = engine
        self.current: Any = None
        self.fired = False
        event.listen(engine, "before_cursor_execute", self._remember)

    def _remember(self, conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        self.current = conn.connection.driver_connection

    def _fire(self) -> None:
        self.fired = True
        target = self.current
        if target is None:
            return
        if hasattr(target, "interrupt"):
            target.interrupt()
        elif hasattr(target, "cancel_safe"):
            target.cancel_safe()
        else:
            target.cancel()

    def call(self, fn: Callable[[], Any], limit: float) -> Any:
        import threading

        self.fired = False
        timer = threading.Timer(limit, self._fire)
        timer.start()
        try:
            result = fn()
        except Exception as err:
            if self.fired:
                raise TimedOut(f"interrupted after {limit:.0f} s") from err
            raise
        finally:
            timer.cancel()
        if self.fired:  # e.g. a page that answered 500 once its query was interrupted
            raise TimedOut(f"interrupted after {limit:.0f} s")
        return result

    def close(self) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._remember)


# --- the cases ----------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    args: dict[str, Any]  # the list page's query string / ClientFilter fields
    where: str  # the bare query's WHERE, with {p} placeholders
    params: Sequence[Any]


def pick_cases(seed: int, clients: int, contacts_per_client: float = 2.5) -> list[Case]:
    """Search terms that exist in the generated base (picked from the generator, not the DB)."""
    from bench import datagen
    from erp_crm.core import text

    def live(index: int) -> datagen.ClientSpec:
        # a client that is not a merged duplicate, of the wanted kind
        while True:
            spec = datagen.make_base_client(seed, index % clients, contacts_per_client)
            if spec.merged_into_index is None and spec.kind == "legal":
                return spec
            index += 1

    frequent = "пласт"  # a word of ~2 % of company names
    company = live(clients // 3)
    core = re.search(r"«(.+)»", company.name).group(1)  # type: ignore[union-attr]
    inn_spec = live(clients // 2)
    contact = next(
        c for i in range(clients // 4, clients) for c in live(i).contacts if c.phones and c.emails
    )
    phone = contact.phones[0]  # +79123456789, typed the way people write it
    typed_phone = f"+7 {phone[2:5]} {phone[5:8]}-{phone[8:10]}-{phone[10:]}"
    email = contact.emails[0]
    channel_where = (
        "merged_into_id IS NULL AND id IN (SELECT cp.client_id FROM contact_persons cp "
        "JOIN contact_channels ch ON ch.contact_id = cp.id "
        "WHERE ch.kind = '{kind}' AND ch.value {op} {{p}})"
    )
    inn = inn_spec.inn
    prefix = inn[:6]
    upper = str(int(prefix) + 1).zfill(6)
    name_where = "merged_into_id IS NULL AND name_norm LIKE {p}"
    return [
        Case(
            f"name: frequent word «{frequent}»",
            {"q": frequent},
            name_where,
            [text.like_pattern(text.normalize(frequent))],
        ),
        Case(
            f"name: one company «{core}»",
            {"q": core},
            name_where,
            [text.like_pattern(text.normalize(core))],
        ),
        Case(
            "ИНН: 10 digits",
            {"q": inn},
            "merged_into_id IS NULL AND inn = {p}",
            [inn],
        ),
        Case(
            "ИНН: 6-digit prefix",
            {"q": prefix},
            "merged_into_id IS NULL AND inn >= {p} AND inn < {p}",
            [prefix, upper],
        ),
        Case(
            "phone: a whole number",
            {"q": typed_phone},
            channel_where.format(kind="phone", op="="),
            [phone],  # a whole number is looked up by its E.164 form
        ),
        Case(
            "e-mail: a whole address",
            {"q": email},
            channel_where.format(kind="email", op="LIKE"),
            [text.like_pattern(email)],
        ),
        Case(
            "list: region + readiness",
            {"region": "Самарская область", "readiness": 3, "sort": "name"},
            "merged_into_id IS NULL AND region = {p} AND readiness = {p}",
            ["Самарская область", 3],
        ),
        Case(
            "list: no filter (first page)",
            {"sort": "name"},
            "merged_into_id IS NULL",
            [],
        ),
    ]


# --- one backend --------------------------------------------------------------------------------


def postgres_problem() -> str | None:
    import psycopg

    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as err:
        return str(err).strip().splitlines()[0]
    return None


class BackendBench:
    def __init__(self, backend: str, options: Any, report: Report) -> None:
        self.backend = backend
        self.options = options
        self.report = report
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{backend}-"))
        self.schema: str | None = None
        self.app: Any = None
        self.admin_id: int | None = None
        self.page_available: bool | None = None
        self.slow_cases: set[str] = set()  # too slow to repeat: no page runs, no profile
        self.floor: Timing | None = None  # the page floor (FLOOR_URL)

    # -- setup --

    def database_url(self) -> str:
        if self.backend == "sqlite":
            return "sqlite:///" + str(self.tmp / "bench.sqlite3")
        from bench.schemas import schema_url

        self.schema = f"bench_{os.getpid()}"
        return schema_url(self.schema, fresh=True)

    def setup(self) -> None:
        import logging

        import flask_migrate

        from bench import datagen
        from erp_crm import create_app
        from erp_crm.auth import services as auth_services
        from erp_crm.config import Config
        from erp_crm.db import db, set_actor

        self.url = self.database_url()
        instance = self.tmp / "instance"
        self.app = create_app(
            Config(
                DATABASE_URL=self.url,
                SECRET_KEY="x" * 40,
                INSTANCE_PATH=instance,
                STORAGE_PATH=instance / "storage",
            )
        )
        started = time.perf_counter()
        with self.app.app_context():
            flask_migrate.upgrade()
        logging.getLogger("alembic").setLevel(logging.WARNING)
        self.report.note(f"[{self.backend}] migrations: {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        with db.job_session(self.app) as session:
            set_actor(session, None)

            def user(username: str, full_name: str, role: str) -> int:
                data = auth_services.UserData(
                    username=username, full_name=full_name, role=role, password=PASSWORD
                )
                return auth_services.create_user(session, data, actor=None).id

            self.admin_id = user(ADMIN, "Бенчмарков Админ Петрович", "admin")
            analyst = user("bench.analyst", "Аналитикова Ольга Сергеевна", "analyst")
            head = user("bench.head", "Руководов Андрей Ильич", "head_of_sales")
            managers = [
                user(
                    f"bench.manager{n}",
                    f"{datagen.SURNAMES[n * 7]} {name} {father}",
                    "sales_manager",
                )
                for n, (name, father, _) in enumerate(datagen.MALE_NAMES[:8], start=1)
            ]
        say(f"[{self.backend}] users: {time.perf_counter() - started:.1f} s")

        engine = db.state(self.app).engine
        started = time.perf_counter()
        last = [0.0]

        def progress(done: int, total: int) -> None:
            now = time.perf_counter()
            if now - last[0] > 5 or done == total:
                last[0] = now
                say(f"[{self.backend}]   {done:>7} / {total} clients, {now - started:.0f} s")

        with engine.begin() as conn:
            world = datagen.create_world(conn, [head, *managers], [self.admin_id, analyst, head])
            stats = datagen.generate(
                conn,
                clients=self.options.clients,
                world=world,
                seed=self.options.seed,
                contacts_per_client=self.options.contacts_per_client,
                progress=progress,
                cache=self.report.rows_cache,
            )
        generated = time.perf_counter() - started
        self.report.note(
            f"[{self.backend}] generated {stats.clients} clients, {stats.contacts} contacts, "
            f"{stats.channels} phones/e-mails, {stats.memberships} group memberships, "
            f"{stats.participations} competitor participations in {generated:.1f} s "
            + (
                "(rows built for the first database, only loaded here)"
                if stats.reused
                else f"(built and loaded: {stats.clients / generated:.0f} clients/s)"
            )
        )
        import gc

        gc.collect()
        gc.freeze()  # the cached rows are no garbage: keep collections from walking them
        if self.backend == "postgresql":
            started = time.perf_counter()
            raw = engine.raw_connection()
            try:
                raw.driver_connection.autocommit = True
                for table in (
                    "clients",
                    "contact_persons",
                    "contact_channels",
                    "client_group_members",
                    "competitor_participations",
                    "client_groups",
                    "users",
                ):
                    raw.driver_connection.execute(f"VACUUM (ANALYZE) {table}")
            finally:
                raw.driver_connection.autocommit = False
                raw.close()
            self.report.note(
                f"[{self.backend}] VACUUM (ANALYZE): {time.perf_counter() - started:.1f} s"
            )

    # -- searching and listing --

    def _session(self) -> Any:
        from erp_crm.db import db

        return db.state(self.app).new_session()

    def _admin(self) -> Any:
        from erp_crm.auth.models import User

        with self._session() as session:
            return session.get(User, self.admin_id)

    def _bare(self, raw: Any, case: Case) -> Callable[[], tuple[int, list[int]]]:
        from erp_crm.clients.models import Client

        mark = "?" if self.backend == "sqlite" else "%s"
        where = case.where.format(p=mark)
        columns = ", ".join(c.name for c in Client.__table__.columns)
        count_sql = f"SELECT count(*) FROM clients WHERE {where}"  # noqa: S608
        page_sql = (
            f"SELECT {columns} FROM clients WHERE {where} "  # noqa: S608
            f"ORDER BY name_norm, id LIMIT {PER_PAGE}"
        )
        params = tuple(case.params)

        def run() -> tuple[int, list[int]]:
            cursor = raw.cursor()
            try:
                cursor.execute(count_sql, params)
                total = cursor.fetchone()[0]
                cursor.execute(page_sql, params)
                rows = cursor.fetchall()
            finally:
                cursor.close()
            return total, [r[0] for r in rows]

        run.sql = (count_sql, page_sql, params)  # type: ignore[attr-defined]
        return run

    def _service(self, case: Case, admin: Any) -> Callable[[], tuple[int, list[int]]]:
        from erp_crm.clients.search import ClientFilter, client_query
        from erp_crm.core.pagination import paginate

        def run() -> tuple[int, list[int]]:
            session = self._session()
            try:
                flt = ClientFilter.from_args({k: str(v) for k, v in case.args.items()})
                page = paginate(session, client_query(flt, actor=admin), page=1, per_page=PER_PAGE)
                return page.total, [c.id for c in page.items]
            finally:
                session.close()

        return run

    def _login(self) -> Any:
        client = self.app.test_client()
        html = client.get("/login").get_data(as_text=True)
        match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
        if not match:
            raise RuntimeError("no CSRF token on /login")
        response = client.post(
            "/login",
            data={"username": ADMIN, "password": PASSWORD, "csrf_token": match.group(1)},
        )
        if response.status_code != 302:
            raise RuntimeError(f"login failed: HTTP {response.status_code}")
        return client

    def measure_queries(self) -> None:
        from erp_crm.db import db

        cases = pick_cases(
            self.options.seed, self.options.clients, self.options.contacts_per_client
        )
        admin = self._admin()
        engine = db.state(self.app).engine
        raw = engine.raw_connection()  # the bare queries' own connection, open throughout
        if self.backend == "postgresql":
            raw.driver_connection.autocommit = True
        http = None
        try:
            http = self._login()
            probe = http.get("/clients/")
            self.page_available = probe.status_code == 200
            if not self.page_available:
                self.report.note(
                    f"[{self.backend}] GET /clients/ answered {probe.status_code}: the list page "
                    "is not there yet, its cases are measured on the query path only"
                )
        except Exception as err:  # noqa: BLE001 - the page is optional; report, go on
            self.page_available = False
            self.report.note(f"[{self.backend}] the list page cannot be measured: {err}")
        if self.page_available and http is not None:

            def floor_page() -> None:
                response = http.get(FLOOR_URL)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {FLOOR_URL}: HTTP {response.status_code}")

            self.floor, _ = _measure(
                floor_page, None, runs=self.options.runs, warmup=self.options.warmup
            )
            self.report.floors[self.backend] = self.floor
        limiter = Limiter(engine)
        try:
            for case in cases:
                self._measure_case(case, raw, admin, http, limiter)
            if self.page_available and http is not None:
                fast = [c for c in cases if c.name not in self.slow_cases]
                self.profile_page(http, fast, limiter)
        finally:
            limiter.close()
            if self.backend == "postgresql":
                raw.driver_connection.autocommit = False
            raw.close()

    def _measure_case(self, case: Case, raw: Any, admin: Any, http: Any, limiter: Limiter) -> None:
        options = self.options
        bare = self._bare(raw, case)
        service = self._service(case, admin)
        bare_total, bare_ids = bare()
        started = time.perf_counter()
        try:
            total, ids = limiter.call(service, options.case_timeout)
        except TimedOut as err:
            self.slow_cases.add(case.name)
            say(f"[{self.backend}] {case.name}: the query path was {err}")
            _, bare_t = _measure(bare, None, runs=options.runs, warmup=options.warmup)
            self.report.cases.append(
                CaseResult(
                    self.backend,
                    case.name,
                    "query",
                    None,
                    bare_t,
                    bare_total,
                    None,
                    f"app path {err}",
                )
            )
            self.explain(case, raw, admin)
            return
        probe = time.perf_counter() - started
        same = total == bare_total and ids == bare_ids
        runs, warmup, note = options.runs, options.warmup, ""
        say(f"[{self.backend}] {case.name}: {total} clients, first run {probe * 1000:.0f} ms")
        if 2 * probe * (runs + warmup) > options.case_budget:
            # a slow case gets what fits in its budget (query path and page alike); a very slow
            # one only its first run
            runs = int(options.case_budget / (2 * probe)) - 1
            warmup = 1 if runs >= 3 else 0
            note = f"slow: {max(runs, 1)} run(s) only"
        if runs >= 1:
            app_t, bare_t = _measure(service, bare, runs=runs, warmup=warmup)
        else:
            _, bare_t = _measure(bare, None, runs=options.runs, warmup=options.warmup)
            app_t, runs = Timing([probe]), 1
        self.report.cases.append(
            CaseResult(self.backend, case.name, "query", app_t, bare_t, total, same, note)
        )
        if runs < 3:
            self.slow_cases.add(case.name)
            say(f"[{self.backend}] {case.name}: too slow to measure the page as well")
        elif self.page_available and http is not None:
            url = "/clients/?" + urlencode(case.args)

            def page() -> None:
                response = http.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {url}: HTTP {response.status_code}")

            page_t, bare_t2 = _measure(page, bare, runs=runs, warmup=warmup)
            self.report.cases.append(
                CaseResult(
                    self.backend, case.name, "page", page_t, bare_t2, total, same, note, self.floor
                )
            )
        self.explain(case, raw, admin)

    # -- diagnostics: plans and the statements of one page request --

    def explain(self, case: Case, raw: Any, admin: Any) -> None:
        from sqlalchemy import func, select

        from erp_crm.clients.search import ClientFilter, client_query
        from erp_crm.db import db

        engine = db.state(self.app).engine
        flt = ClientFilter.from_args({k: str(v) for k, v in case.args.items()})
        query = client_query(flt, actor=admin)
        statements = {
            "app COUNT": select(func.count()).select_from(query.order_by(None).subquery()),
            "app page": query.limit(PER_PAGE).offset(0),
        }
        out = [f"=== {self.backend}: {case.name}  {case.args}"]
        prefix = (
            "EXPLAIN QUERY PLAN " if self.backend == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
        )
        for label, statement in statements.items():
            sql = str(
                statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
            )
            if self.backend == "postgresql":
                sql = sql.replace("%%", "%")  # pyformat escaping; sent without parameters
            out.append(f"--- {label}:\n{sql}")
            out += self._plan(raw, prefix + sql, ())
        count_sql, page_sql, params = self._bare(raw, case).sql  # type: ignore[attr-defined]
        for label, sql in (("bare COUNT", count_sql), ("bare page", page_sql)):
            out.append(f"--- {label}: {sql}  {params}")
            out += self._plan(raw, prefix + sql, params)
        self.report.explain.append("\n".join(out))

    def _plan(self, raw: Any, sql: str, params: Sequence[Any]) -> list[str]:
        cursor = raw.cursor()
        if self.backend == "postgresql":
            cursor.execute(f"SET statement_timeout = {int(self.options.case_timeout * 1000)}")
        try:
            if params:
                cursor.execute(sql, tuple(params))
            else:
                cursor.execute(sql)
            rows = cursor.fetchall()
        except Exception as err:  # noqa: BLE001 - a plan is a diagnostic, never fatal
            return [f"    (no plan: {err})"]
        finally:
            if self.backend == "postgresql":
                cursor.execute("RESET statement_timeout")
            cursor.close()
        if self.backend == "sqlite":
            return ["    " + " | ".join(str(v) for v in row) for row in rows]
        return ["    " + row[0] for row in rows]

    def profile_page(self, http: Any, cases: list[Case], limiter: Limiter) -> None:
        """Every SQL statement of one request of each list page, with its time."""
        from sqlalchemy import event

        from erp_crm.db import db

        engine = db.state(self.app).engine
        log: list[tuple[float, str]] = []
        started: dict[int, float] = {}

        def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            started[id(cursor)] = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            elapsed = time.perf_counter() - started.pop(id(cursor), time.perf_counter())
            log.append((elapsed, " ".join(statement.split())[:160]))

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        try:
            for case in cases:
                url = "/clients/?" + urlencode(case.args)
                try:
                    limiter.call(lambda url=url: http.get(url), self.options.case_timeout)  # warm
                    log.clear()
                    begun = time.perf_counter()
                    limiter.call(lambda url=url: http.get(url), self.options.case_timeout)
                    total = time.perf_counter() - begun
                except TimedOut:
                    continue
                sql_total = sum(t for t, _ in log)
                out = [
                    f"=== {self.backend}: statements of GET {url}: {len(log)} statements, "
                    f"{sql_total * 1000:.1f} ms in SQL of {total * 1000:.1f} ms"
                ]
                out += [f"    {t * 1000:8.2f} ms  {s}" for t, s in log]
                self.report.explain.append("\n".join(out))
        finally:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)

    # -- the import --

    def measure_import(self, xlsx: Path) -> None:
        result = ImportResult(self.backend, self.options.import_rows)
        self.report.imports.append(result)
        payload = json.dumps(
            {
                "url": self.url,
                "instance": str(self.tmp / "instance"),
                "file": str(xlsx),
                "admin": ADMIN,
                "tracemalloc": self.options.tracemalloc,
            }
        )
        limit = self.options.import_timeout
        say(f"[{self.backend}] importing {xlsx.name} in a subprocess (at most {limit:.0f} s) …")
        started = time.perf_counter()
        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench.clients", "--import-worker", payload],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: list[str] = []
        errors: list[str] = []
        readers = [
            threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True),  # type: ignore[arg-type]
            threading.Thread(target=lambda: errors.extend(proc.stderr), daemon=True),  # type: ignore[arg-type]
        ]
        for reader in readers:
            reader.start()
        timed_out = False
        last_report = started
        while proc.poll() is None:
            time.sleep(0.5)
            now = time.perf_counter()
            if now - started > limit:
                timed_out = True
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                break
            if now - last_report >= 15:
                last_report = now
                progress = _last_progress(lines)
                if progress:
                    say(
                        f"[{self.backend}]   import: {progress['processed']} rows after "
                        f"{progress['t']:.0f} s, RSS {progress['rss_mb']:.0f} MB"
                    )
        for reader in readers:
            reader.join(5)
        wall = time.perf_counter() - started
        answer = None
        for line in reversed(lines):
            if line.startswith("{") and '"progress"' not in line:
                try:
                    answer = json.loads(line)
                    break
                except ValueError:
                    continue
        if timed_out:
            progress = _last_progress(lines)
            processed = progress["processed"] if progress else 0
            result.outcome = f"stopped after {limit:.0f} s: {processed} rows imported"
            if progress and processed:
                uploaded = progress.get("uploaded", 0.0)
                rate = processed / max(progress["t"] - uploaded, 0.1)
                result.projected = uploaded + result.rows / rate
                result.peak_rss_mb = max(
                    json.loads(x)["progress"]["rss_mb"] for x in lines if '"progress"' in x
                )
                result.baseline_rss_mb = progress.get("baseline_rss_mb")
                result.outcome += (
                    f" (upload {uploaded:.0f} s, then {rate:.0f} rows/s → "
                    f"~{result.projected:.0f} s projected for {result.rows} rows)"
                )
            say(f"[{self.backend}] import {result.outcome}")
            return
        if answer is None:
            result.outcome = "failed"
            tail = "".join(errors).strip().splitlines()[-5:]
            result.note = f"worker exit {proc.returncode}: " + " / ".join(tail)
            say(f"[{self.backend}] import failed after {wall:.1f} s:\n" + "".join(errors)[-3000:])
            return
        result.seconds = answer.get("seconds")
        result.peak_rss_mb = answer.get("peak_rss_mb")
        result.baseline_rss_mb = answer.get("baseline_rss_mb")
        result.tracemalloc_peak_mb = answer.get("tracemalloc_peak_mb")
        result.outcome = answer.get("outcome", "")
        result.note = answer.get("note", "")
        say(f"[{self.backend}] import: {result.outcome} in {result.seconds} s")

    # -- teardown --

    def teardown(self) -> None:
        from erp_crm.db import db

        if self.app is not None:
            db.state(self.app).engine.dispose()
        if self.options.keep_db and self.app is not None:
            say(f"[{self.backend}] kept for inspection: {self.url}  (remove it yourself)")
            return
        if self.schema:
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        shutil.rmtree(self.tmp, ignore_errors=True)


# --- the import worker (runs in its own process so its peak memory is the import's own) ----------


def _rss_mb() -> float:
    """Peak RSS of this process in MB.

    Linux's VmHWM, not ru_maxrss: ru_maxrss survives exec(), so a worker started from a big
    parent would report the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _last_progress(lines: list[str]) -> dict[str, Any] | None:
    for line in reversed(lines):
        if line.startswith('{"progress"'):
            try:
                return json.loads(line)["progress"]
            except ValueError:
                continue
    return None


_CURRENT_JOB: dict[str, int] = {}


def _monitor(app: Any, started: float, stop: threading.Event) -> None:
    """Every few seconds: the rows the running job has committed, and the peak RSS so far."""
    from sqlalchemy import text

    from erp_crm.db import db

    engine = db.state(app).engine
    baseline = round(_rss_mb(), 1)
    while not stop.wait(5):
        processed = 0
        job_id = _CURRENT_JOB.get("id")
        if job_id is not None:
            try:
                with engine.connect() as conn:
                    processed = conn.execute(
                        text("SELECT processed_rows FROM import_jobs WHERE id = :id"),
                        {"id": job_id},
                    ).scalar_one()
            except Exception:  # noqa: BLE001,S112 - progress is best effort
                continue
        line = {
            "progress": {
                "t": round(time.perf_counter() - started, 1),
                "uploaded": round(_CURRENT_JOB.get("uploaded", 0.0), 1),
                "rss_mb": round(_rss_mb(), 1),
                "baseline_rss_mb": baseline,
                "processed": processed,
            }
        }
        print(json.dumps(line), flush=True)


def find_importer() -> tuple[Callable[..., Any] | None, str]:
    """How to run an import of a file for an actor, as the importer offers it; else (None, why).

    Preferred: the import page's own path (create_job + start_run + run_job: one transaction per
    batch); else the synchronous `import_file` of the API (one transaction).
    """
    try:
        from erp_crm.clients import importing  # type: ignore[attr-defined]
    except ImportError as err:
        return None, f"importer not available ({err})"
    if all(hasattr(importing, n) for n in ("create_job", "start_run", "run_job", "get_job")):
        return _import_as_job, "job"
    if hasattr(importing, "import_file"):
        return _import_synchronously, "import_file"
    return None, "importer not available (no entry point the bench knows)"


def _actor(session: Any, username: str) -> Any:
    from sqlalchemy import select

    from erp_crm.auth.models import User

    return session.scalar(select(User).where(User.username == username))


def _import_as_job(app: Any, path: Path, username: str) -> dict[str, Any]:
    """What the import page does: store the upload, confirm the suggested mapping, run it."""
    from erp_crm.clients import importing
    from erp_crm.db import db

    started = time.perf_counter()
    with app.app_context(), db.job_session() as session:
        actor = _actor(session, username)
        with path.open("rb") as upload:
            job = importing.create_job(
                session,
                upload,
                path.name,
                storage=Path(app.config["STORAGE_PATH"]),
                actor=actor,
            )
        columns = importing.job_columns(job)  # the suggested mapping, confirmed as it is
        width = max(columns) + 1
        importing.start_run(session, job, columns, width=width, dry_run=False, actor=actor)
        job_id, actor_id = job.id, actor.id
    uploaded = time.perf_counter() - started
    _CURRENT_JOB.update(id=job_id, uploaded=uploaded)
    importing.run_job(app, job_id, actor_id)
    ran = time.perf_counter() - started - uploaded
    with app.app_context(), db.job_session() as session:
        job = importing.get_job(session, job_id)
        rejects = [r for r in (job.report or []) if r.get("action") == "reject"]
        return {
            "status": job.status,
            "created": job.created_count,
            "updated": job.updated_count,
            "rejected": job.rejected_count,
            "error": job.error,
            "upload_s": round(uploaded, 2),
            "run_s": round(ran, 2),
            "first_rejects": [r.get("errors") for r in rejects[:3]],
            "mapped": sorted(columns.values()),
        }


def _import_synchronously(app: Any, path: Path, username: str) -> dict[str, Any]:
    from erp_crm.clients import importing
    from erp_crm.db import db

    with app.app_context(), db.job_session() as session:
        actor = _actor(session, username)
        summary = importing.import_file(session, path, path.name, dry_run=False, actor=actor)
    rejects = [r for r in summary.get("rows", []) if r.get("action") == "reject"]
    return {
        "status": "done",
        "created": summary.get("created"),
        "updated": summary.get("updated"),
        "rejected": summary.get("rejected"),
        "first_rejects": [r.get("errors") for r in rejects[:3]],
    }


def import_worker(payload: str) -> int:
    options = json.loads(payload)
    answer: dict[str, Any] = {"outcome": "", "note": ""}
    try:
        from erp_crm import create_app
        from erp_crm.config import Config

        instance = Path(options["instance"])
        app = create_app(
            Config(
                DATABASE_URL=options["url"],
                SECRET_KEY="x" * 40,
                INSTANCE_PATH=instance,
                STORAGE_PATH=instance / "storage",
                IMPORT_INLINE=True,
            )
        )
        runner, how = find_importer()
        if runner is None:
            answer["outcome"] = "importer not available"
            answer["note"] = how
            print(json.dumps(answer, ensure_ascii=False), flush=True)
            return 0
        answer["baseline_rss_mb"] = round(_rss_mb(), 1)
        if options.get("tracemalloc"):
            import tracemalloc

            tracemalloc.start()
        started = time.perf_counter()
        stop = threading.Event()
        threading.Thread(target=_monitor, args=(app, started, stop), daemon=True).start()
        try:
            details = runner(app, Path(options["file"]), options["admin"])
        finally:
            stop.set()
        answer["seconds"] = round(time.perf_counter() - started, 2)
        if options.get("tracemalloc"):
            import tracemalloc

            answer["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
            tracemalloc.stop()
        answer["peak_rss_mb"] = round(_rss_mb(), 1)
        answer["details"] = details
        answer["outcome"] = (
            f"{details.get('status')}: {details.get('created')} created, "
            f"{details.get('updated')} updated, {details.get('rejected')} rejected"
            + (
                f" (upload {details['upload_s']} s + run {details['run_s']} s, via {how})"
                if "run_s" in details
                else f" (via {how})"
            )
        )
        if details.get("error"):
            answer["note"] = str(details["error"])
        elif details.get("first_rejects"):
            answer["note"] = "first rejects: " + json.dumps(
                details["first_rejects"], ensure_ascii=False
            )
    except Exception as err:  # noqa: BLE001 - reported to the parent, which prints it
        answer["outcome"] = "failed"
        answer["note"] = f"{type(err).__name__}: {err}"
        traceback.print_exc()
    print(json.dumps(answer, ensure_ascii=False), flush=True)
    return 0


# --- the whole run ------------------------------------------------------------------------------


def import_file(options: Any) -> Path:
    """The import XLSX, cached in bench/results/ (it depends only on its parameters)."""
    from bench import datagen

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / (
        f"clients-import-{options.import_rows}-base{options.clients}-seed{options.seed}.xlsx"
    )
    if path.exists():
        say(f"import file: {path.relative_to(PROJECT_ROOT)} (cached)")
        return path
    started = time.perf_counter()
    datagen.write_import_xlsx(
        path, rows=options.import_rows, base_clients=options.clients, seed=options.seed
    )
    say(
        f"import file: {path.relative_to(PROJECT_ROOT)} written in "
        f"{time.perf_counter() - started:.1f} s ({path.stat().st_size / 2**20:.1f} MB)"
    )
    return path


def environment() -> list[str]:
    import sqlalchemy

    lines = [
        f"date: {dt.datetime.now().isoformat(timespec='seconds')}",
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        f"SQLAlchemy {sqlalchemy.__version__}, SQLite {__import__('sqlite3').sqlite_version}",
        "load average at the end (1/5/15 min): "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + " — other work on the machine skews the figures",
    ]
    return lines


def run(options: Any) -> Report:
    report = Report(args=vars(options))
    backends = ["sqlite", "postgresql"] if options.backend == "all" else [options.backend]
    xlsx = None
    for backend in backends:
        if backend == "postgresql":
            problem = postgres_problem()
            if problem:
                report.note(f"[postgresql] skipped: {PG_URL} is unreachable ({problem})")
                continue
        bench = BackendBench(backend, options, report)
        began = time.perf_counter()
        try:
            bench.setup()
            if backend == backends[-1]:
                report.rows_cache.clear()  # no other database needs the generated rows
            if options.only in (None, "search"):
                bench.measure_queries()
            if options.only in (None, "import"):
                if xlsx is None:
                    xlsx = import_file(options)
                bench.measure_import(xlsx)
        except Exception:  # noqa: BLE001 - one backend failing must not hide the other's figures
            report.note(f"[{backend}] FAILED:\n{traceback.format_exc()}")
        finally:
            bench.teardown()
        report.note(f"[{backend}] done in {time.perf_counter() - began:.0f} s")
    return report


def save(report: Report, table: str, started: float) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"clients-{dt.date.today().isoformat()}.txt"
    args = " ".join(
        f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}")
        for k, v in report.args.items()
        if v is not None and v is not False
    )
    body = [
        "Экспо CRM — client base benchmark (python -m bench)",
        *environment(),
        f"arguments: {args}",
        f"total run time: {time.perf_counter() - started:.0f} s",
        "",
        *report.lines,
        "",
        table,
        "",
    ]
    path.write_text("\n".join(body), encoding="utf-8")
    if report.explain:
        explain = path.with_name(path.stem + "-plans.txt")
        explain.write_text("\n\n".join(report.explain) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__" and len(sys.argv) > 2 and sys.argv[1] == "--import-worker":
    sys.exit(import_worker(sys.argv[2]))
