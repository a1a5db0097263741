"""The documents benchmark: issuing each kind end to end beside bare renderers.

Per kind, in one run and on the same machine:
- issue:      POST /api/v1/deals/<id>/documents through the Flask test client (token auth, the
              service, numbering, rendering, storing file + hash + snapshot, the commit) — the
              median of N fresh deals;
- weasyprint: the bare WeasyPrint render of the same HTML (already filled in);
- wkhtmltopdf: Debian's wkhtmltopdf on that HTML file (a process per document, as it is used);
- libreoffice: LibreOffice headless converting the equivalent DOCX (application, contract,
              check list) — and, for the kinds that have no DOCX, the same HTML file.
Then: font subsetting's share of a one-page invoice (cProfile of fontTools) with the shared
FontConfiguration and without it; the whole package of a deal (4 documents, one transaction);
batch printing of B invoices through the print job (wall time, peak RSS sampled every 0.2 s).

`python -m bench.documents --help`. Prints the table and saves it under bench/results/.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

from bench.clients import PG_URL, RESULTS_DIR, environment, postgres_problem, say

KINDS = ["application", "contract", "checklist", "invoice", "act", "vat_invoice"]
PASSWORD = "bench-password-2026"


def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class PeakRss:
    def __init__(self) -> None:
        self.peak = rss_mb()
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            value = rss_mb()
            self.samples.append(value)
            self.peak = max(self.peak, value)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def build_app(database_url: str, instance: Path):
    import flask_migrate

    from erp_crm import create_app
    from erp_crm.config import Config

    app = create_app(
        Config(
            DATABASE_URL=database_url,
            SECRET_KEY="bench-" + "x" * 40,
            INSTANCE_PATH=instance,
            STORAGE_PATH=instance / "storage",
            TESTING=True,
        )
    )
    with app.app_context():
        flask_migrate.upgrade()
    return app


def seed(app, deals: int):
    """An organization, a project with enough stands, an admin, `deals` priced deals."""
    from sqlalchemy import select

    from erp_crm.auth import services as auth_services
    from erp_crm.clients import services as client_services
    from erp_crm.core.requisites import complete_inn
    from erp_crm.db import db
    from erp_crm.deals import lines as deal_lines
    from erp_crm.deals import services as deal_services
    from erp_crm.demo import DEMO_ORGANIZATION
    from erp_crm.organizations import services as org_services
    from erp_crm.projects.models import Hall, Project, ServiceItem, Stand, StandPrice

    with app.app_context(), db.job_session(app) as session:
        admin = auth_services.create_user(
            session,
            auth_services.UserData(
                username="bench.admin", full_name="Бенч Админ", role="admin", password=PASSWORD
            ),
            actor=None,
        )
        org_services.create_organization(session, DEMO_ORGANIZATION, actor=admin)
        project = Project(
            name="Бенч-Экспо 2027",
            code="BENCH27",
            venue="Экспо-Волга",
            city="Самара",
            opening_date=dt.date(2027, 3, 10),
            closing_date=dt.date(2027, 3, 12),
            status="selling",
            registration_fee=Decimal("15000.00"),
        )
        session.add(project)
        session.flush()
        hall = Hall(
            project_id=project.id, name="Павильон 1", width_m=Decimal(400), depth_m=Decimal(400)
        )
        session.add(hall)
        session.add(
            StandPrice(project_id=project.id, stand_type="raw", price_per_m2=Decimal("9500.00"))
        )
        item = ServiceItem(
            project_id=project.id,
            name="Электроподключение 5 кВт",
            unit="шт",
            unit_code="796",
            price=Decimal("3750.50"),
        )
        session.add(item)
        session.flush()
        stands = []
        for n in range(deals):
            stand = Stand(
                project_id=project.id,
                hall_id=hall.id,
                number=f"B{n + 1}",
                area_m2=Decimal(12),
                stand_type="raw",
                position="row",
                x_m=Decimal(3 * (n % 100)),
                y_m=Decimal(3 * (n // 100)),
            )
            session.add(stand)
            stands.append(stand)
        session.flush()
        deal_ids = []
        for n, stand in enumerate(stands):
            inn = complete_inn(f"77{n:07d}"[:9])
            client = client_services.create_client(
                session,
                client_services.ClientData(name=f"ООО «Экспонент & {n}»", inn=inn, city="Самара"),
                actor=admin,
            )
            deal = deal_services.create_deal(
                session,
                deal_services.DealData(client_id=client.id, project_id=project.id),
                actor=admin,
            )
            deal_lines.add_stand_line(session, deal, stand, actor=admin)
            deal_lines.add_service_line(session, deal, item, Decimal(2), actor=admin)
            deal_ids.append(deal.id)
        project_id = project.id
        session.flush()
        assert session.scalar(select(Project.id).where(Project.id == project_id))
    return project_id, deal_ids


def html_of(app, deal_id: int, kind: str) -> str:
    """The filled-in HTML of a kind for a deal, as the issue path renders it."""
    from documents.sandbox import render_string
    from erp_crm.db import db
    from erp_crm.deals.models import Deal
    from erp_crm.sales_documents import context as contexts
    from erp_crm.sales_documents import services, template_store

    with app.app_context():
        session = db.session
        deal = session.get(Deal, deal_id)
        org = services.seller_of(session, deal)
        ctx = contexts.build(deal, org, kind=kind, number="77", doc_date=dt.date.today())
        ctx["contract"] = {"number": "1", "date": dt.date.today()}
        ctx["act"] = {"number": "5", "date": dt.date.today()}
        ctx["invoice"] = {"number": "7", "date": dt.date.today()}
        source = template_store.resolve(session, kind, "html", deal.project_id).text
        return render_string(source, ctx)


def time_issue(app, client, headers, deal_ids: list[int], kind: str, runs: int) -> list[float]:
    times = []
    for deal_id in deal_ids[:runs]:
        started = time.perf_counter()
        # acts before the exhibition's closing are confirmed, as a user would
        response = client.post(
            f"/api/v1/deals/{deal_id}/documents",
            json={"kind": kind, "confirm_early": True},
            headers=headers,
        )
        times.append(time.perf_counter() - started)
        if response.status_code != 201:
            raise RuntimeError(f"{kind}: {response.status_code} {response.get_data(as_text=True)}")
    return times


def time_weasyprint(html: str, runs: int, reuse: bool = True) -> list[float]:
    from documents.render_html import render_pdf

    render_pdf(html, reuse_fonts=reuse)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        render_pdf(html, reuse_fonts=reuse)
        times.append(time.perf_counter() - started)
    return times


def time_command(args: list[str], runs: int, cwd: Path) -> list[float] | None:
    if shutil.which(args[0]) is None:
        return None
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(  # noqa: S603 - fixed tool names and our own temp files
            args, cwd=cwd, check=True, capture_output=True, timeout=300
        )
        times.append(time.perf_counter() - started)
    return times


def libreoffice(path: Path, runs: int, work: Path) -> list[float] | None:
    binary = shutil.which("soffice") or shutil.which("libreoffice")
    if binary is None:
        return None
    profile = (work / "lo-profile").as_uri()
    return time_command(
        [
            binary,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work / "lo-out"),
            str(path),
        ],
        runs,
        work,
    )


def fonttools_share(html: str, reuse: bool) -> tuple[float, float]:
    """(total ms, fontTools ms) of five renders under cProfile, per render."""
    from documents.render_html import render_pdf

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        render_pdf(html, reuse_fonts=reuse)
    profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    font = sum(v[2] for k, v in stats.stats.items() if "fontTools" in k[0])
    config = sum(
        v[3] for k, v in stats.stats.items() if k[2] == "__init__" and "text/fonts.py" in k[0]
    )
    return total / 5 * 1000, font / 5 * 1000, config / 5 * 1000


def run(options) -> str:
    lines: list[str] = []
    out = lines.append
    work = Path(tempfile.mkdtemp(prefix="bench-docs-"))
    if options.backend == "postgresql":
        problem = postgres_problem()
        if problem:
            raise SystemExit(f"PostgreSQL unreachable: {problem}")
        import psycopg

        schema = f"bench_docs_{os.getpid()}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        url = PG_URL.replace("postgresql://", "postgresql+psycopg://") + (
            f"?options=-csearch_path%3D{schema}"
        )
    else:
        url = "sqlite:///" + str(work / "bench.sqlite3")
    total_deals = len(KINDS) * options.runs + options.runs + options.batch + 2
    say(f"Seeding {total_deals} deals on {options.backend} …")
    app = build_app(url, work / "instance")
    project_id, deal_ids = seed(app, total_deals)
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/token", json={"username": "bench.admin", "password": PASSWORD}
    ).get_json()
    headers = {"Authorization": f"Bearer {token['token']}"}

    out(f"# Documents benchmark ({options.backend}), median of {options.runs} runs, ms")
    out("")
    out(
        "| kind | issue end to end | bare WeasyPrint | wkhtmltopdf | LibreOffice (what) | "
        "issue/wk | LO/WeasyPrint |"
    )
    out("|---|---:|---:|---:|---:|---:|---:|")
    pool = iter(deal_ids)
    used_for_kinds = [next(pool) for _ in range(options.runs)]
    # The chain: act needs an invoice, a VAT invoice needs the act — so kinds go in order on the
    # same deals (each deal gets one document of each kind).
    figures = {}
    for kind in KINDS:
        say(f"  {kind} …")
        issue = time_issue(app, client, headers, used_for_kinds, kind, options.runs)
        html = html_of(app, used_for_kinds[0], kind)
        html_path = work / f"{kind}.html"
        html_path.write_text(html, encoding="utf-8")
        bare = time_weasyprint(html, options.runs)
        wk = time_command(
            [
                "wkhtmltopdf",
                "--quiet",
                "--encoding",
                "utf-8",
                str(html_path),
                str(work / f"{kind}-wk.pdf"),
            ],
            options.runs,
            work,
        )
        lo_what = "DOCX"
        docx_path = work / f"{kind}.docx"
        if kind in ("application", "contract", "checklist"):
            from erp_crm.db import db
            from erp_crm.sales_documents.models import Document, DocumentFile

            with app.app_context():
                from sqlalchemy import select

                data = db.session.scalar(
                    select(DocumentFile.content)
                    .join(Document)
                    .where(
                        Document.deal_id == used_for_kinds[0],
                        Document.kind == kind,
                        DocumentFile.format == "docx",
                    )
                )
            docx_path.write_bytes(data)
            lo = libreoffice(docx_path, max(2, options.runs // 3), work)
        else:
            lo_what = "HTML"
            lo = libreoffice(html_path, max(2, options.runs // 3), work)
        figures[kind] = (issue, bare, wk, lo)
        wk_ms = median_ms(wk) if wk else None
        lo_ms = median_ms(lo) if lo else None
        out(
            f"| {kind} | {median_ms(issue)} | {median_ms(bare)} | "
            f"{wk_ms if wk_ms is not None else 'not installed'} | "
            f"{lo_ms if lo_ms is not None else 'not installed'} ({lo_what}) | "
            f"{round(median_ms(issue) / wk_ms, 2) if wk_ms else '—'} | "
            f"{round(lo_ms / median_ms(bare), 1) if lo_ms else '—'} |"
        )

    invoice_html = html_of(app, used_for_kinds[0], "invoice")
    out("")
    out("## Font handling on a one-page invoice (per render, cProfile)")
    for reuse in (False, True):
        total, font, config = fonttools_share(invoice_html, reuse)
        plain = median_ms(time_weasyprint(invoice_html, options.runs, reuse=reuse))
        out(
            f"- FontConfiguration {'shared per thread' if reuse else 'new per render (default)'}"
            f": median {plain} ms; under cProfile {total:.0f} ms of which fontTools subsetting "
            f"{font:.0f} ms ({font / total:.0%}), FontConfiguration setup {config:.0f} ms"
        )
    dejavu = invoice_html.replace('"Liberation Sans"', '"DejaVu Sans"')
    out(
        f"- the same invoice set in DejaVu Sans instead of Liberation Sans: median "
        f"{median_ms(time_weasyprint(dejavu, options.runs))} ms"
    )

    say("  package …")
    from erp_crm.auth.models import User
    from erp_crm.db import db
    from erp_crm.deals.models import Deal
    from erp_crm.sales_documents import services

    package_times = []
    for _ in range(options.runs):
        deal_id = next(pool)
        with app.app_context():
            started = time.perf_counter()
            with db.job_session(app) as session:
                from sqlalchemy import select

                admin = session.scalar(select(User).where(User.username == "bench.admin"))
                issued = services.issue_package(session, session.get(Deal, deal_id), actor=admin)
            package_times.append(time.perf_counter() - started)
            assert len(issued) == 4
    out("")
    out(
        f"## Whole package of a deal (application, contract + DOCX, check list + DOCX, "
        f"invoice; one transaction): median {median_ms(package_times)} ms, "
        f"max {round(max(package_times) * 1000, 1)} ms (goal < 1000 ms)"
    )

    say(f"  batch of {options.batch} invoices …")
    from erp_crm.sales_documents import jobs
    from erp_crm.sales_documents.models import PrintJob

    batch_ids = [next(pool) for _ in range(options.batch)]
    with app.app_context(), db.job_session(app) as session:
        admin = session.scalar(select(User).where(User.username == "bench.admin"))
        job = PrintJob(
            project_id=project_id,
            kind="invoice",
            created_by_id=admin.id,
            deal_ids=batch_ids,
            total=len(batch_ids),
            failed=[],
        )
        session.add(job)
        session.flush()
        job_id = job.id
    before = rss_mb()
    with PeakRss() as rss:
        started = time.perf_counter()
        jobs.run(app, job_id)
        elapsed = time.perf_counter() - started
    with app.app_context():
        job = db.session.get(PrintJob, job_id)
        status, issued_count = job.status, job.issued
        zip_path, pdf_path = jobs.result_paths(app, job_id)
    quarter = rss.samples[len(rss.samples) // 4] if rss.samples else before
    out("")
    out(f"## Batch printing: {options.batch} invoices issued and collected by the print job")
    out(
        f"- {status}, issued {issued_count}, wall {elapsed:.1f} s "
        f"({elapsed / max(1, options.batch) * 1000:.0f} ms per invoice; goal < 60 s for 500)"
    )
    out(
        f"- RSS: {before:.0f} MB before, {quarter:.0f} MB at a quarter, peak {rss.peak:.0f} MB "
        f"(bounded: flat after warm-up); ZIP {zip_path.stat().st_size // 1024} KB, one PDF "
        f"{pdf_path.stat().st_size // 1024} KB"
    )
    out("")
    out("Environment: " + "; ".join(environment()))
    shutil.rmtree(work, ignore_errors=True)
    if options.backend == "postgresql":
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--batch", type=int, default=500)
    options = parser.parse_args(argv)
    table = run(options)
    print(table)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"documents-{dt.date.today()}-{options.backend}.md"
    path.write_text(table + "\n", encoding="utf-8")
    say(f"saved {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
