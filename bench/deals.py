"""The deals benchmark: the kanban board, the hall plan and plan-vs-actual on a big data set.

With 50 projects, 20 000 stands and 100 000 deals (bench.deals_datagen) each page is timed two
ways, each interleaved run by run with the bare SQL that feeds it (hand-written, on one open
DBAPI connection, every row fetched):

- page:    GET through the Flask test client as a logged-in admin (view, ORM, template);
- service: the function the view calls (kanban.load_board, hallplan.project_plan,
           plans.plan_vs_actual) in a fresh session: the ORM part without the template.

The ratio of the medians app/bare is the issue's figure; a page is flagged when its p95 is over
300 ms or its ratio over 5. Every page is then diagnosed once (the statements of one request with
their time, a cProfile of one request, EXPLAIN ANALYZE of the app's and the bare statements) into
bench/results/deals-<date>-<backend>-diagnostics.txt.

`python -m bench.deals --help`; see bench/README-deals.md.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import os
import pstats
import re
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bench.clients import (
    PG_URL,
    PROJECT_ROOT,
    RESULTS_DIR,
    Timing,
    environment,
    postgres_problem,
    say,
)

PASSWORD = "bench-password-2026"
ADMIN = "bench.admin"
TARGET_P95_MS = 300.0
TARGET_RATIO = 5.0


# --- results ------------------------------------------------------------------------------------


@dataclass
class CaseResult:
    backend: str
    case: str
    path: str  # "page" (HTTP through the test client) or "service" (the view's function)
    app: Timing | None = None
    bare: Timing | None = None
    size: str = ""  # what the page shows (cards, stands, months × managers)
    same: bool | None = None  # app and bare agree on the rows and sums
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.app is None or self.bare is None or not self.bare.median_ms:
            return None
        return self.app.median_ms / self.bare.median_ms

    def verdict(self) -> str:
        if self.app is None:
            return "—"
        if self.path != "page":
            return "(split)"
        misses = []
        if self.app.p95_ms > TARGET_P95_MS:
            misses.append(f"p95>{TARGET_P95_MS:.0f}")
        if self.ratio is not None and self.ratio > TARGET_RATIO:
            misses.append(f"ratio>{TARGET_RATIO:.0f}")
        return "ok" if not misses else "SLOW: " + ", ".join(misses)


@dataclass
class Report:
    args: dict[str, Any]
    lines: list[str] = field(default_factory=list)
    cases: list[CaseResult] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # one-line summaries of the diagnostics

    def note(self, message: str) -> None:
        say(message)
        self.lines.append(message)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def format_table(report: Report) -> str:
    header = (
        f"{'backend':<11} {'case':<40} {'path':<8} {'app med':>8} {'app p95':>8} "
        f"{'bare med':>8} {'bare p95':>8} {'ratio':>6} {'runs':>4}  {'rows':<5} verdict"
    )
    out = [header, "-" * len(header)]
    for c in report.cases:
        out.append(
            f"{c.backend:<11} {c.case:<40} {c.path:<8} "
            f"{_fmt(c.app.median_ms if c.app else None):>8} "
            f"{_fmt(c.app.p95_ms if c.app else None):>8} "
            f"{_fmt(c.bare.median_ms if c.bare else None):>8} "
            f"{_fmt(c.bare.p95_ms if c.bare else None):>8} "
            f"{_fmt(c.ratio, 1):>6} {len(c.app.samples) if c.app else 0:>4}  "
            f"{'' if c.same is None else ('same' if c.same else 'DIFF'):<5} {c.verdict()}"
            + (f"  [{c.note}]" if c.note else "")
        )
    out.append(
        f"(times in ms; ratio = app median / bare median; verdict: page p95 ≤ {TARGET_P95_MS:.0f} "
        f"ms and ratio ≤ {TARGET_RATIO:.0f}; rows = app and bare agree on rows and sums)"
    )
    sizes = {(c.backend, c.case): c.size for c in report.cases if c.size}
    if sizes:
        out.append("")
        out += [f"{b:<11} {case}: {size}" for (b, case), size in sizes.items()]
    return "\n".join(out)


class GcClock:
    """Seconds the cyclic garbage collector ran while `on` (gc.callbacks around the app's runs)."""

    def __init__(self) -> None:
        self.on = False
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, _info: dict[str, Any]) -> None:
        if not self.on:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started

    def __enter__(self) -> GcClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self)


def _measure(
    app_run: Callable[[], Any],
    bare_run: Callable[[], Any],
    *,
    runs: int,
    warmup: int,
    clock: GcClock | None = None,
) -> tuple[Timing, Timing]:
    """Interleaved runs (app, bare, app, bare …) so drift on a shared machine hits both alike."""
    app_samples: list[float] = []
    bare_samples: list[float] = []
    for n in range(warmup + runs):
        if clock is not None:
            clock.on = n >= warmup
        started = time.perf_counter()
        app_run()
        elapsed = time.perf_counter() - started
        if clock is not None:
            clock.on = False
        if n >= warmup:
            app_samples.append(elapsed)
        started = time.perf_counter()
        bare_run()
        elapsed = time.perf_counter() - started
        if n >= warmup:
            bare_samples.append(elapsed)
    return Timing(app_samples), Timing(bare_samples)


# --- the cases ----------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    url: str
    service: Callable[[Any], Any]  # session -> a comparable summary
    bare: list[tuple[str, tuple[Any, ...]]]  # the hand SQL statements, with their parameters
    summarize_bare: Callable[[list[list[tuple[Any, ...]]]], Any]
    size: Callable[[Any], str]  # the service's summary -> what the page shows


def _dec(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def kanban_case(backend: str, project_id: int, pipeline_id: int, admin_id: int) -> Case:
    from erp_crm.auth.models import User
    from erp_crm.deals import kanban

    p = "?" if backend == "sqlite" else "%s"
    where = f"d.project_id = {p} AND d.pipeline_id = {p} AND d.outcome <> 'lost'"
    totals_sql = (
        "SELECT d.stage_id, count(*), coalesce(sum(d.amount), 0), coalesce(sum(d.area_m2), 0) "  # noqa: S608
        f"FROM deals d WHERE {where} GROUP BY d.stage_id"
    )
    cards_sql = (
        "SELECT d.id, d.stage_id, d.title, d.client_id, c.name, d.amount, d.area_m2, "  # noqa: S608
        "d.manager_id, u.full_name, d.outcome, d.position, (SELECT min(a.starts_at) "
        "FROM activities a WHERE a.deal_id = d.id AND a.status = 'planned') AS next_at "
        "FROM deals d JOIN clients c ON c.id = d.client_id JOIN users u ON u.id = d.manager_id "
        f"WHERE {where} ORDER BY d.stage_id, d.position, d.id"
    )
    params = (project_id, pipeline_id)

    def service(session: Any) -> Any:
        admin = session.get(User, admin_id)
        board = kanban.load_board(
            session, project_id=project_id, pipeline_id=pipeline_id, actor=admin
        )
        ids = frozenset(card.id for column in board.columns for card in column.cards)
        total = board.totals
        return (total.count, _dec(total.amount), ids, len(board.columns))

    def summarize(results: list[list[tuple[Any, ...]]]) -> Any:
        totals, cards = results
        return (
            sum(r[1] for r in totals),
            _dec(sum((Decimal(str(r[2])) for r in totals), Decimal(0))),
            frozenset(r[0] for r in cards),
        )

    return Case(
        name=f"kanban: project {project_id}, sales pipeline",
        url=f"/kanban/?project_id={project_id}&pipeline_id={pipeline_id}",
        service=service,
        bare=[(totals_sql, params), (cards_sql, params)],
        summarize_bare=summarize,
        size=lambda s: f"{len(s[2])} cards in {s[3]} columns, Σ {s[1]} ₽",
    )


def plan_case(backend: str, project_id: int) -> Case:
    from erp_crm.projects import hallplan, stands
    from erp_crm.projects.models import Project

    p = "?" if backend == "sqlite" else "%s"
    true = "1" if backend == "sqlite" else "true"
    halls_sql = (
        "SELECT id, project_id, name, width_m, depth_m, position FROM halls "  # noqa: S608
        f"WHERE project_id = {p} ORDER BY position, name"
    )
    stands_sql = (
        "SELECT s.id, s.hall_id, s.number, s.area_m2, s.stand_type, s.position, s.x_m, s.y_m, "  # noqa: S608
        "s.width_m, s.depth_m, s.status, s.deal_id, s.reserved_until, c.name "
        "FROM stands s LEFT JOIN deals d ON d.id = s.deal_id "
        "LEFT JOIN clients c ON c.id = d.client_id "
        f"WHERE s.project_id = {p} AND s.is_active = {true} ORDER BY s.number"
    )

    def service(session: Any) -> Any:
        project = session.get(Project, project_id)
        stands.release_expired(session)
        plans = hallplan.project_plan(session, project)
        taken = frozenset((s.id, s.exhibitor) for plan in plans for s in plan.stands if s.exhibitor)
        count = sum(len(plan.stands) for plan in plans)
        sold = sum(plan.count("sold") for plan in plans)
        reserved = sum(plan.count("reserved") for plan in plans)
        return (count, taken, len(plans), sold, reserved)

    def summarize(results: list[list[tuple[Any, ...]]]) -> Any:
        _halls, rows = results
        return (len(rows), frozenset((r[0], r[13]) for r in rows if r[10] != "free"))

    return Case(
        name=f"hall plan: project {project_id}",
        url=f"/projects/{project_id}/plan",
        service=service,
        bare=[(halls_sql, (project_id,)), (stands_sql, (project_id,))],
        summarize_bare=summarize,
        size=lambda s: f"{s[0]} stands in {s[2]} halls ({s[3]} sold, {s[4]} reserved)",
    )


def report_case(backend: str, project_id: int) -> Case:
    from erp_crm.projects import plans
    from erp_crm.projects.models import Project

    p = "?" if backend == "sqlite" else "%s"
    if backend == "sqlite":
        month = "strftime('%Y-%m', closed_at, '+3 hours')"
    else:
        month = "to_char(closed_at AT TIME ZONE 'Europe/Moscow', 'YYYY-MM')"
    actual_sql = (
        f"SELECT {month} AS month, manager_id, coalesce(sum(area_m2), 0), "  # noqa: S608
        "coalesce(sum(amount), 0), count(*) FROM deals "
        f"WHERE project_id = {p} AND outcome = 'won' AND closed_at IS NOT NULL "
        "GROUP BY 1, manager_id"
    )
    plan_sql = (
        "SELECT month, user_id, area_m2, amount FROM sales_plans "  # noqa: S608
        f"WHERE project_id = {p}"
    )

    def service(session: Any) -> Any:
        project = session.get(Project, project_id)
        report = plans.plan_vs_actual(session, project)
        total = report.total
        return (
            total.deals,
            total.fact_amount,
            total.plan_amount,
            len(report.months),
            len(report.managers),
        )

    def summarize(results: list[list[tuple[Any, ...]]]) -> Any:
        actual, plan = results
        has_project_plan = any(r[1] is None for r in plan)
        plan_amount = sum(
            (_dec(r[3]) for r in plan if (r[1] is None) == has_project_plan), Decimal("0.00")
        )
        return (
            sum(r[4] for r in actual),
            sum((_dec(r[3]) for r in actual), Decimal("0.00")),
            plan_amount,
        )

    return Case(
        name=f"plan vs actual: project {project_id}",
        url=f"/plans/{project_id}",
        service=service,
        bare=[(actual_sql, (project_id,)), (plan_sql, (project_id,))],
        summarize_bare=summarize,
        size=lambda s: f"{s[3]} months × {s[4]} managers, {s[0]} won deals, Σ {s[1]} ₽",
    )


# --- one backend --------------------------------------------------------------------------------


class DealsBench:
    def __init__(self, backend: str, options: Any, report: Report) -> None:
        self.backend = backend
        self.options = options
        self.report = report
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-deals-{backend}-"))
        self.schema: str | None = None
        self.app: Any = None
        self.url = ""
        self.users: Any = None
        self.stats: Any = None

    def database_url(self) -> str:
        if self.backend == "sqlite":
            return "sqlite:///" + str(self.tmp / "bench.sqlite3")
        from bench.schemas import schema_url

        self.schema = f"bench_deals_{os.getpid()}"
        return schema_url(self.schema, fresh=True)

    # -- setup --

    def setup(self) -> None:
        import logging

        import flask_migrate

        from bench import deals_datagen
        from erp_crm import create_app
        from erp_crm.config import Config
        from erp_crm.db import db, set_actor

        options = self.options
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
        with db.job_session(self.app) as session:
            set_actor(session, None)
            self.users = deals_datagen.create_users(session, PASSWORD, managers=options.managers)
        engine = db.state(self.app).engine
        started = time.perf_counter()
        with engine.begin() as conn:
            self.stats = deals_datagen.generate(
                conn,
                users=self.users,
                projects=options.projects,
                stands=options.stands,
                deals=options.deals,
                clients=options.clients,
                seed=options.seed,
                progress=lambda m: say(f"[{self.backend}]   {m}"),
            )
        s = self.stats
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(s.by_outcome.items()))
        statuses = ", ".join(f"{k} {v}" for k, v in sorted(s.stands_by_status.items()))
        self.report.note(
            f"[{self.backend}] generated {s.projects} projects, {s.halls} halls, {s.stands} stands "
            f"({statuses}), {s.clients} clients ({s.contacts} contacts), {s.deals} deals "
            f"({outcomes}), {s.lines} deal lines, {s.plans} plan rows in "
            f"{time.perf_counter() - started:.1f} s (clients {s.seconds_clients:.1f} s); "
            f"the measured project {s.busy_project_id} has {s.busy_project_deals} deals"
        )
        gc.collect()
        started = time.perf_counter()
        raw = engine.raw_connection()
        try:
            if self.backend == "postgresql":
                raw.driver_connection.autocommit = True
                raw.driver_connection.execute("VACUUM (ANALYZE)")
            else:
                raw.driver_connection.execute("ANALYZE")
                raw.driver_connection.commit()
        finally:
            if self.backend == "postgresql":
                raw.driver_connection.autocommit = False
            raw.close()
        self.report.note(
            f"[{self.backend}] {'VACUUM (ANALYZE)' if self.backend == 'postgresql' else 'ANALYZE'}"
            f": {time.perf_counter() - started:.1f} s"
        )

    # -- measuring --

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

    def cases(self) -> list[Case]:
        from sqlalchemy import select

        from erp_crm.db import db
        from erp_crm.deals.models import Pipeline

        with self.app.app_context():
            session = db.state(self.app).new_session()
            try:
                sales = session.scalar(select(Pipeline.id).where(Pipeline.code == "sales"))
            finally:
                session.close()
        project = self.stats.busy_project_id
        return [
            kanban_case(self.backend, project, sales, self.users.admin_id),
            plan_case(self.backend, project),
            report_case(self.backend, project),
        ]

    def _bare(self, raw: Any, case: Case) -> Callable[[], list[list[tuple[Any, ...]]]]:
        def run() -> list[list[tuple[Any, ...]]]:
            out = []
            cursor = raw.cursor()
            try:
                for sql, params in case.bare:
                    cursor.execute(sql, params)
                    out.append(cursor.fetchall())
            finally:
                cursor.close()
            return out

        return run

    def _service(self, case: Case) -> Callable[[], Any]:
        from erp_crm.db import db

        def run() -> Any:
            with self.app.app_context():
                session = db.state(self.app).new_session()
                try:
                    return case.service(session)
                finally:
                    session.rollback()
                    session.close()

        return run

    def measure(self) -> None:
        from erp_crm.db import db

        engine = db.state(self.app).engine
        raw = engine.raw_connection()  # the bare queries' own connection, open throughout
        if self.backend == "postgresql":
            raw.driver_connection.autocommit = True
        try:
            http = self._login()
            gc.collect()
            self.report.note(
                f"[{self.backend}] objects tracked by the garbage collector before measuring: "
                f"{len(gc.get_objects())} (the app as loaded; full collections walk them all)"
                + ("; frozen (--gc-freeze)" if self.options.gc_freeze else "")
            )
            if self.options.gc_freeze:
                gc.freeze()
            for case in self.cases():
                try:
                    self._measure_case(case, raw, http)
                except Exception:  # noqa: BLE001 - one case failing must not hide the others
                    self.report.note(
                        f"[{self.backend}] {case.name} FAILED:\n{traceback.format_exc()}"
                    )
                    continue
                try:
                    self.diagnose(case, raw, http)
                except Exception:  # noqa: BLE001 - a diagnostic is never fatal
                    self.report.note(
                        f"[{self.backend}] diagnostics of {case.name} failed:\n"
                        + traceback.format_exc()
                    )
        finally:
            gc.unfreeze()
            if self.backend == "postgresql":
                raw.driver_connection.autocommit = False
            raw.close()

    def _measure_case(self, case: Case, raw: Any, http: Any) -> None:
        options = self.options
        bare = self._bare(raw, case)
        service = self._service(case)
        page_bytes = [0]

        def page() -> None:
            response = http.get(case.url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {case.url}: HTTP {response.status_code}")
            page_bytes[0] = len(response.get_data())

        started = time.perf_counter()
        summary = service()
        probe_service = time.perf_counter() - started
        started = time.perf_counter()
        page()
        probe_page = time.perf_counter() - started
        bare_summary = case.summarize_bare(bare())
        same = tuple(summary[: len(bare_summary)]) == tuple(bare_summary)
        if not same:
            say(f"[{self.backend}] {case.name}: app {summary[:2]} ≠ bare {bare_summary[:2]}")
        size = case.size(summary)
        say(
            f"[{self.backend}] {case.name}: {size}; first run: page {probe_page * 1000:.0f} ms, "
            f"service {probe_service * 1000:.0f} ms; page {page_bytes[0] / 1024:.0f} KiB"
        )
        for path, run, probe in (("page", page, probe_page), ("service", service, probe_service)):
            runs, warmup, note = options.runs, options.warmup, ""
            if probe * (runs + warmup) > options.case_budget:
                runs = max(3, int(options.case_budget / max(probe, 1e-6)) - 1)
                warmup = 1
                note = f"slow: {runs} runs only"
            with GcClock() as clock:
                app_t, bare_t = _measure(run, bare, runs=runs, warmup=warmup, clock=clock)
            gc_ms = clock.seconds * 1000 / max(1, len(app_t.samples))
            extra = [note, f"GC {gc_ms:.1f} ms/run"]
            if path == "page":
                extra.append(f"HTML {page_bytes[0] / 1024:.0f} KiB")
            note = "; ".join(filter(None, extra))
            self.report.cases.append(
                CaseResult(self.backend, case.name, path, app_t, bare_t, size, same, note)
            )
            say(
                f"[{self.backend}]   {path:<7} median {app_t.median_ms:.1f} ms, "
                f"p95 {app_t.p95_ms:.1f} ms; bare {bare_t.median_ms:.1f} / {bare_t.p95_ms:.1f} ms"
            )

    # -- diagnostics --

    def diagnose(self, case: Case, raw: Any, http: Any) -> None:
        """The statements of one request, a cProfile of one, and EXPLAIN ANALYZE of the SQL.

        The garbage collector is off meanwhile: a full collection landing in the one request
        looked at would be billed to whatever function happened to allocate (the table reports
        the collector's time per run separately).
        """
        http.get(case.url)  # warm
        gc.collect()
        gc.disable()
        try:
            log, total, out = self._statements(case, http)
            by_name, profile_total, profile = self._profile(case, http)
        finally:
            gc.enable()
        out += profile
        sql_total = sum(t for t, _, _ in log)
        self._summarize(case, by_name, profile_total, len(log), sql_total, total)
        # the plans of the app's statements (those over 0.5 ms) and of the bare ones
        prefix = (
            "EXPLAIN QUERY PLAN " if self.backend == "sqlite" else "EXPLAIN (ANALYZE, BUFFERS) "
        )
        for elapsed, statement, parameters in log:
            if elapsed < 0.0005 or not statement.lstrip().upper().startswith("SELECT"):
                continue
            out.append(f"--- app ({elapsed * 1000:.1f} ms): {' '.join(statement.split())}")
            out.append(f"    parameters: {parameters}")
            out += self._plan(raw, prefix + statement, parameters)
        for sql, params in case.bare:
            out.append(f"--- bare: {sql}  {params}")
            out += self._plan(raw, prefix + sql, params)
        self.report.diagnostics.append("\n".join(out))

    def _statements(
        self, case: Case, http: Any
    ) -> tuple[list[tuple[float, str, Any]], float, list[str]]:
        """Every statement of one request with its time (execute + fetch)."""
        from sqlalchemy import event

        from erp_crm.db import db

        engine = db.state(self.app).engine
        log: list[tuple[float, str, Any]] = []
        started: dict[int, float] = {}

        def before(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            started[id(cursor)] = time.perf_counter()

        def after(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
            elapsed = time.perf_counter() - started.pop(id(cursor), time.perf_counter())
            log.append((elapsed, statement, parameters))

        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        try:
            begun = time.perf_counter()
            http.get(case.url)
            total = time.perf_counter() - begun
        finally:
            event.remove(engine, "before_cursor_execute", before)
            event.remove(engine, "after_cursor_execute", after)
        sql_total = sum(t for t, _, _ in log)
        out = [
            f"=== {self.backend}: GET {case.url} — {len(log)} statements, "
            f"{sql_total * 1000:.1f} ms in SQL (execute and transfer; rows become Python "
            f"objects later) of {total * 1000:.1f} ms (garbage collector off)"
        ]
        out += [f"    {t * 1000:8.2f} ms  {' '.join(s.split())[:220]}" for t, s, _ in log]
        return log, total, out

    def _profile(
        self, case: Case, http: Any
    ) -> tuple[dict[str, tuple[int, float]], float, list[str]]:
        """Where the Python time of one request goes (cProfile)."""
        profiler = cProfile.Profile()
        profiler.enable()
        http.get(case.url)
        profiler.disable()
        stats = pstats.Stats(profiler)
        by_name: dict[str, tuple[int, float]] = {}
        watched = {
            "render_template": "flask render_template (whole template)",
            "ru_number": "erp_crm.ui.ru_number",
            "ru_date": "erp_crm.ui.ru_date (babel format_date)",
            "url_for": "flask url_for",
            "deal_url": "views.kanban.deal_url",
            "load_board": "kanban.load_board",
            "cards": "kanban.cards",
            "project_plan": "hallplan.project_plan",
            "hall_svg": "hallplan.hall_svg",
            "plan_vs_actual": "plans.plan_vs_actual",
            "release_expired": "stands.release_expired",
        }
        where = {
            "url_for": "flask/helpers.py",
            "render_template": "flask/templating.py",
            "cards": "deals/kanban.py",
        }
        for (filename, _line, name), (_cc, ncalls, _tt, cumtime, _callers) in stats.stats.items():  # type: ignore[attr-defined]
            if name not in watched or where.get(name, "") not in filename:
                continue
            calls, cum = by_name.get(name, (0, 0.0))
            by_name[name] = (calls + ncalls, max(cum, cumtime))
        profile_total = stats.total_tt  # type: ignore[attr-defined]
        out = [f"--- cProfile of one request: {profile_total * 1000:.0f} ms under the profiler"]
        for name, label in watched.items():
            if name in by_name:
                calls, cum = by_name[name]
                out.append(
                    f"    {cum * 1000:8.1f} ms  {cum / profile_total * 100:5.1f} %  "
                    f"{calls:>6} calls  {label}"
                )
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(18)
        out.append("--- top functions by own time:")
        out += ["    " + line for line in buffer.getvalue().splitlines() if line.strip()][-20:]
        return by_name, profile_total, out

    def _summarize(
        self,
        case: Case,
        by_name: dict[str, tuple[int, float]],
        profile_total: float,
        statements: int,
        sql_total: float,
        total: float,
    ) -> None:
        def share(name: str) -> str:
            if name not in by_name:
                return ""
            calls, cum = by_name[name]
            return f"{name} {cum / profile_total * 100:.0f} %" + (
                f" ({calls} calls)" if calls > 1 else ""
            )

        orm = {"/kanban/": "load_board", "/projects/": "project_plan", "/plans/": "plan_vs_actual"}
        step = next((v for k, v in orm.items() if case.url.startswith(k)), "")
        parts = [share(n) for n in (step, "render_template", "ru_number", "url_for")]
        self.report.findings.append(
            f"[{self.backend}] {case.name}: {statements} statements, SQL {sql_total * 1000:.1f} "
            f"of {total * 1000:.1f} ms; under cProfile: " + ", ".join(p for p in parts if p)
        )

    def _plan(self, raw: Any, sql: str, params: Any) -> list[str]:
        cursor = raw.cursor()
        try:
            if params:
                cursor.execute(sql, params)
            else:
                cursor.execute(sql)
            rows = cursor.fetchall()
        except Exception as err:  # noqa: BLE001 - a plan is a diagnostic, never fatal
            if self.backend == "sqlite":
                raw.rollback()
            return [f"    (no plan: {err})"]
        finally:
            cursor.close()
        if self.backend == "sqlite":
            return ["    " + " | ".join(str(v) for v in row) for row in rows]
        return ["    " + row[0] for row in rows]

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


# --- the whole run ------------------------------------------------------------------------------


def run(options: Any) -> Report:
    report = Report(args=vars(options))
    backends = ["postgresql", "sqlite"] if options.backend == "all" else [options.backend]
    for backend in backends:
        if backend == "postgresql":
            problem = postgres_problem()
            if problem:
                report.note(f"[postgresql] skipped: {PG_URL} is unreachable ({problem})")
                continue
        bench = DealsBench(backend, options, report)
        began = time.perf_counter()
        try:
            bench.setup()
            bench.measure()
        except Exception:  # noqa: BLE001 - one backend failing must not hide the other's figures
            report.note(f"[{backend}] FAILED:\n{traceback.format_exc()}")
        finally:
            bench.teardown()
        report.note(f"[{backend}] done in {time.perf_counter() - began:.0f} s")
    return report


def _git_head() -> str:
    """The commit measured (and whether the work tree differs from it)."""
    import subprocess

    def git(*args: str) -> str:
        command = ["git", *args]
        return subprocess.run(  # noqa: S603 - git on our own repository
            command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()

    try:
        head = git("log", "-1", "--format=%h %ad %s", "--date=iso")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    return head + (" + uncommitted changes" if dirty else "")


def save(report: Report, table: str, started: float) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    backend = report.args.get("backend", "all")
    suffix = "-gc-freeze" if report.args.get("gc_freeze") else ""
    path = RESULTS_DIR / f"deals-{dt.date.today().isoformat()}-{backend}{suffix}.txt"
    args = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in report.args.items() if v is not None)
    body = [
        "Экспо CRM — deals benchmark (python -m bench.deals)",
        *environment(),
        f"code: {_git_head()}",
        f"arguments: {args}",
        f"total run time: {time.perf_counter() - started:.0f} s",
        "",
        *report.lines,
        "",
        table,
        "",
        "where the time goes (one request each; details in the diagnostics file):",
        *report.findings,
        "",
    ]
    path.write_text("\n".join(body), encoding="utf-8")
    if report.diagnostics:
        path.with_name(path.stem + "-diagnostics.txt").write_text(
            "\n\n".join(report.diagnostics) + "\n", encoding="utf-8"
        )
    return path


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.deals",
        description="Kanban, hall plan and plan-vs-actual pages beside their bare SQL, on a "
        "generated data set of projects, stands and deals.",
    )
    parser.add_argument("--projects", type=int, default=50, help="exhibition projects")
    parser.add_argument("--stands", type=int, default=20_000, help="stands over all projects")
    parser.add_argument("--deals", type=int, default=100_000, help="deals over all projects")
    parser.add_argument(
        "--clients", type=int, default=None, help="clients (default: deals / 5, at least 1000)"
    )
    parser.add_argument("--managers", type=int, default=10, help="sales managers")
    parser.add_argument(
        "--backend",
        choices=("postgresql", "sqlite", "all"),
        default="postgresql",
        help="databases (the issue's figures are PostgreSQL's)",
    )
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each case")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before them")
    parser.add_argument(
        "--case-budget",
        type=float,
        default=90.0,
        help="seconds one path of a case may take; slower ones get fewer runs",
    )
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() the loaded app before measuring (what a `gc.freeze()` after "
        "create_app() in wsgi.py would do): full garbage collections stop walking its objects",
    )
    parser.add_argument(
        "--keep-db", action="store_true", help="keep the generated schema / SQLite file"
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the generated data")
    options = parser.parse_args(argv)
    if options.projects < 1 or options.stands < options.projects or options.deals < 100:
        parser.error("need at least 1 project, a stand per project and 100 deals")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    started = time.perf_counter()
    say(
        f"Deals benchmark: {options.projects} projects, {options.stands} stands, "
        f"{options.deals} deals, backend {options.backend}, {options.runs} runs "
        f"(+{options.warmup} warm-up) per case"
    )
    report = run(options)
    table = format_table(report)
    print()
    print(table)
    if report.findings:
        print("\nwhere the time goes (one request each):")
        print("\n".join(report.findings))
    if not report.cases:  # skipped or failed: keep the last real results
        print(f"\nnothing measured, nothing saved; total {time.perf_counter() - started:.0f} s")
        return 1 if any("FAILED" in line for line in report.lines) else 0  # unreachable: a skip
    path = save(report, table, started)
    print(
        f"\nsaved to {path.relative_to(PROJECT_ROOT)} (statements, profiles, plans: "
        f"{path.stem}-diagnostics.txt); total {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
