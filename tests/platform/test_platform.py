"""Migrations, error pages, demo data, the layout contract."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select

import erp_crm.models  # noqa: F401
from erp_crm.auth.models import User
from erp_crm.db import Base, include_object
from erp_crm.organizations.models import Organization

ROOT = Path(__file__).resolve().parents[2]


def test_migrations_build_exactly_the_models_schema(app, db_session):
    """The test schema comes from `alembic upgrade head`; it must equal the models' metadata."""
    context = MigrationContext.configure(
        db_session.connection(), opts={"compare_type": True, "include_object": include_object}
    )
    diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_russian_404_page_and_json_404(client, make_user):
    make_user("sales_manager", username="lost")
    client.login("lost")
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Страница не найдена" in response.get_data(as_text=True)


def test_an_upload_past_the_limit_names_the_limit_and_keeps_the_user_on_the_form(
    app, client, db_session, make_user, monkeypatch
):
    import io

    from erp_crm.clients.models import ImportJob

    make_user("analyst", username="bigfile")
    client.login("bigfile")
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    response = client.submit(
        "/clients/import",
        {"file": (io.BytesIO(b"x" * (1536 * 1024)), "base.csv")},
        content_type="multipart/form-data",
        headers={"Referer": "http://localhost/clients/import"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/clients/import")
    page = client.get("/clients/import").get_data(as_text=True)
    assert "не больше 1 МБ за раз" in page and "Ничего не сохранено" in page
    assert db_session.scalar(select(func.count()).select_from(ImportJob)) == 0
    bare = client.post("/clients/import", data=b"x" * (1536 * 1024))  # no referrer: the page
    assert bare.status_code == 413 and "не больше 1 МБ" in bare.get_data(as_text=True)


def test_the_favicon_is_served(client):
    answer = client.get("/favicon.ico")
    assert answer.status_code == 301
    icon = client.get(answer.headers["Location"])
    assert icon.status_code == 200 and icon.data.startswith(b"<svg")
    assert 'rel="icon"' in client.get("/login").get_data(as_text=True)


def test_unexpected_errors_show_no_stack_trace(tmp_path):
    from erp_crm.auth.access import public
    from tests.fixtures.app import make_test_app

    app = make_test_app("sqlite:///" + str(tmp_path / "x.sqlite3"), tmp_path)

    @app.route("/__boom")
    @public
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/__boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Внутренняя ошибка" in body
    assert "secret internals" not in body and "Traceback" not in body


def test_demo_data_fills_an_empty_database_once(app, client, db_session, runner_factory):
    runner = runner_factory()
    result = runner.invoke(args=["demo-data", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "admin-demo-2026" in result.output
    roles = set(db_session.scalars(select(User.role)))
    assert roles == {
        "admin",
        "head_of_sales",
        "sales_manager",
        "analyst",
        "accountant",
        "project_manager",
    }
    assert db_session.scalar(select(Organization.inn)) == "6315001231"
    again = runner.invoke(args=["demo-data", "--if-empty"])
    assert again.exit_code == 0 and "уже заполнена" in again.output
    assert len(db_session.scalars(select(User)).all()) == 8
    refused = runner.invoke(args=["demo-data"])
    assert refused.exit_code != 0
    client.login("manager1", "manager1-demo-2026")
    assert client.get("/").status_code == 200
    # a believable base: every kind of client, and duplicates for the analysts to find
    from erp_crm.clients import dedupe
    from erp_crm.clients.models import Client

    kinds = set(db_session.scalars(select(Client.kind)))
    assert kinds == {"legal", "sole_trader", "person"}
    pairs = dedupe.scored_pairs(db_session)
    assert len(pairs) >= 6
    # the demo invoices were issued in date order: the numbers grow with the dates
    from erp_crm.sales_documents.models import Document

    invoices = db_session.execute(
        select(Document.seq, Document.doc_date)
        .where(Document.kind == "invoice")
        .order_by(Document.year, Document.seq)
    ).all()
    assert len(invoices) >= 5
    assert [day for _, day in invoices] == sorted(day for _, day in invoices)
    # the demo's done contacts are all in the past, its planned ones in the future or overdue
    from erp_crm.activities.models import Activity
    from erp_crm.db import utcnow

    assert not db_session.scalar(
        select(func.count())
        .select_from(Activity)
        .where(Activity.status == "done", Activity.starts_at > utcnow())
    )
    # most clients have a postal address by its parts, a few letters came back
    from erp_crm.mailing.models import PostalAddress

    live = db_session.scalar(select(func.count(Client.id)).where(Client.merged_into_id.is_(None)))
    postal = db_session.scalars(select(PostalAddress)).all()
    assert len(postal) > 0.8 * live
    assert all(len(a.postcode) == 6 and a.postcode.isdigit() for a in postal)
    assert sum(a.returned for a in postal) >= 1


def test_wsgi_is_two_lines_and_layout_exists():
    assert len((ROOT / "wsgi.py").read_text().strip().splitlines()) == 2
    for name in ("erp_crm", "documents", "templates", "accounting_sync", "migrations", "tests"):
        assert (ROOT / name).is_dir(), name


def test_no_third_party_front_end_code_is_committed():
    import subprocess

    tracked = subprocess.run(
        ["git", "ls-files", "erp_crm/static"],  # noqa: S607
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert not [f for f in tracked if "/vendor/" in f]


def test_a_get_that_writes_takes_the_write_lock_at_begin(app):
    """An audited export is a GET that writes: on SQLite it must begin IMMEDIATE like a POST,
    or a read transaction upgraded while others write fails with «database is locked»."""
    from erp_crm.db import _is_write_request

    for path, writes in [
        ("/clients/export.csv", True),
        ("/clients/export.xlsx", True),
        ("/documents/templates/1/preview", True),
        ("/clients/", False),
        ("/healthz", False),
    ]:
        with app.test_request_context(path):
            assert _is_write_request() is writes, path
    with app.test_request_context("/clients/", method="POST"):
        assert _is_write_request()
