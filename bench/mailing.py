"""The mailing benchmark: address labels for 10 000 addresses as one PDF.

Two figures: (1) rendering alone — 10 000 generated addresses (some too long for their label,
so the shrink-and-wrap path runs) on the 3 × 8 sheet; (2) end to end on SQLite — 10 000 clients
with postal addresses, a selection, the campaign's list frozen (10 000 rows) and its labels
printed through the services. Target: ≤ 20 s with bounded memory. Peak memory is the maximum
resident set of this process and, separately, of the render pool's workers (WeasyPrint runs
there, PAGES_PER_CHUNK pages per call, a few calls at a time).

`python -m bench.mailing --help`. Prints the figures and saves them under bench/results/.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from bench.clients import RESULTS_DIR, environment, say

TARGET_S = 20.0
STREETS = ["ул. Ленина", "ул. Мичурина", "Московское шоссе", "пр-т Кирова", "ул. Садовая"]


def addresses(n: int, seed: int = 16) -> list[tuple[list[str], list[str], str]]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        name = f"ООО «Клиент {i}»"
        if i % 50 == 0:  # a long name: wrapped and shrunk
            name = f"ООО «Межрегиональная производственно-коммерческая компания {i}»"
        rows.append(
            (
                [name, f"Иванову И. И. ({i % 97})"],
                [
                    f"{rng.choice(STREETS)}, д. {rng.randint(1, 200)}, оф. {rng.randint(1, 500)}",
                    "г. Самара",
                    "Самарская обл.",
                ],
                f"443{rng.randint(0, 999):03d}",
            )
        )
    return rows


def rss_mb() -> tuple[float, float]:
    """(this process, the largest child) peak resident set in MB (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def sheet():
    from erp_crm.mailing.models import LabelFormat

    return LabelFormat(
        code="a4-3x8", name="A4, 3 × 8", rows_count=8, columns_count=3,
        page_width=Decimal(210), page_height=Decimal(297), label_width=Decimal(70),
        label_height=Decimal(36), margin_top=Decimal("4.5"), margin_left=Decimal(0),
        gap_x=Decimal(0), gap_y=Decimal(0), offset_x=Decimal(0), offset_y=Decimal(0),
        padding=Decimal(3),
    )  # fmt: skip


def render_only(n: int) -> dict:
    from documents import pool
    from erp_crm.mailing import printing

    pool.warm_up()
    data = addresses(n)
    started = time.perf_counter()
    report = printing.labels_pdf(sheet(), iter(data))
    elapsed = time.perf_counter() - started
    from pypdf import PdfReader

    pages = len(PdfReader(io.BytesIO(report.pdf)).pages)
    own, child = rss_mb()
    return {
        "addresses": n,
        "seconds": round(elapsed, 2),
        "pages": pages,
        "pdf_mb": round(len(report.pdf) / 2**20, 1),
        "shrunk": report.shrunk,
        "not_fitting": len(report.not_fitting),
        "peak_rss_mb": round(own),
        "peak_worker_rss_mb": round(child),
        "workers": pool.workers(),
    }


def end_to_end(n: int) -> dict:
    import flask_migrate
    from sqlalchemy import insert, select

    from erp_crm import create_app
    from erp_crm.auth import services as auth_services
    from erp_crm.clients.models import Client
    from erp_crm.config import Config
    from erp_crm.db import db, set_actor
    from erp_crm.mailing import printing, selections
    from erp_crm.mailing.models import LabelFormat, PostalAddress

    tmp = Path(tempfile.mkdtemp(prefix="bench-mailing-"))
    app = create_app(
        Config(
            DATABASE_URL=f"sqlite:///{tmp}/bench.sqlite3",
            INSTANCE_PATH=tmp,
            SECRET_KEY="bench-secret-" + "x" * 32,
            TESTING=True,
        )
    )
    with app.app_context():
        flask_migrate.upgrade()
        with db.job_session() as session:
            analyst = auth_services.create_user(
                session,
                auth_services.UserData(
                    username="bench.analyst",
                    full_name="ИАО",
                    role="analyst",
                    password="bench-password-2026",
                ),
                actor=None,
            )
            set_actor(session, analyst)
            session.execute(
                insert(Client),
                [
                    {
                        "kind": "legal",
                        "name": f"ООО «Клиент {i}»",
                        "name_norm": f"клиент {i}",
                        "city": "Самара",
                        "city_norm": "самара",
                        "mailing_consent": i % 10 != 0,
                        "readiness": 0,
                        "relationship_type": "cold",
                    }
                    for i in range(n)
                ],
            )
            ids = session.scalars(select(Client.id).order_by(Client.id)).all()
            rows = addresses(n)
            session.execute(
                insert(PostalAddress),
                [
                    {
                        "client_id": cid,
                        "postcode": postcode,
                        "city": "г. Самара",
                        "street": where[0].split(",")[0],
                        "building": where[0].split(",")[1].strip(),
                        "office": where[0].split(",")[2].strip(),
                        "region": "Самарская обл.",
                        "returned": False,
                    }
                    for cid, (_who, where, postcode) in zip(ids, rows, strict=True)
                ],
            )
        started = time.perf_counter()
        with db.job_session(write=True) as session:
            analyst = session.scalar(select(auth_services.User).limit(1))
            set_actor(session, analyst)
            selection = selections.save_selection(
                session, name="Самара", filter_args={"city": "Самара"}, actor=analyst
            )
            campaign = selections.create_campaign(
                session, selection, name="Bench", channel="post", actor=analyst
            )
            fmt = session.scalar(select(LabelFormat).where(LabelFormat.code == "a4-3x8"))
            selections.freeze(session, campaign, actor=analyst)
            frozen = time.perf_counter() - started
            report = printing.campaign_labels(session, campaign, fmt, actor=analyst)
        elapsed = time.perf_counter() - started
    own, child = rss_mb()
    return {
        "clients": n,
        "labels": report.labels,
        "freeze_seconds": round(frozen, 2),
        "seconds": round(elapsed, 2),
        "peak_rss_mb": round(own),
        "peak_worker_rss_mb": round(child),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addresses", type=int, default=10_000)
    parser.add_argument("--skip-end-to-end", action="store_true")
    options = parser.parse_args()
    say(f"Labels for {options.addresses} addresses (3 × 8 sheet)…")
    render = render_only(options.addresses)
    say(json.dumps(render, ensure_ascii=False))
    result = {"render": render, "target_seconds": TARGET_S}
    if not options.skip_end_to_end:
        say(f"End to end on SQLite: {options.addresses} clients, freeze, labels…")
        result["end_to_end"] = end_to_end(options.addresses)
        say(json.dumps(result["end_to_end"], ensure_ascii=False))
    result["environment"] = environment()
    verdict = "OK" if render["seconds"] <= TARGET_S else "OVER TARGET"
    say(f"render {render['seconds']} s (target ≤ {TARGET_S} s): {verdict}")
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "mailing.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
