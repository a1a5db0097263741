"""`flask backup` → `flask restore` round trip on SQLite and PostgreSQL: every table's row count
and every issued document's SHA-256 equal; a corrupted archive is refused with a clear message."""

from __future__ import annotations

import hashlib
import uuid

import psycopg
import pytest
from sqlalchemy import select

from erp_crm.auth.models import User
from erp_crm.backup.archive import document_hashes, table_counts
from erp_crm.db import db, set_actor
from erp_crm.organizations import services as org_services
from erp_crm.sales_documents import services as doc_services
from tests.fixtures.app import PG_URL, make_test_app
from tests.fixtures.deals import make_client, make_project
from tests.fixtures.documents import make_deal, sell
from tests.fixtures.jobs_live import head_of_sales, migrated_app
from tests.fixtures.organizations import VALID


@pytest.fixture
def source(backend, tmp_path):
    with migrated_app(backend, tmp_path, "src") as app:
        with app.app_context():
            with db.job_session() as session:
                set_actor(session, None)
                boss = head_of_sales(session, "backupboss")
                org_services.create_organization(
                    session, org_services.OrganizationData(**VALID), actor=boss
                )
                project = make_project(session, code="BKP", name="Копия-Экспо", stands=3)
                for i, inn in enumerate(["7707083893", "7710140679", "7736207543"]):
                    client = make_client(session, boss, name=f"ООО «Копия {i}»", inn=inn)
                    deal = sell(
                        session,
                        make_deal(session, boss, project=project, client=client, stand_no=i),
                        boss,
                    )
                    doc_services.issue_document(session, deal, "invoice", actor=boss)
        storage = tmp_path / "src" / "storage"
        (storage / "imports").mkdir(parents=True, exist_ok=True)
        (storage / "imports" / "clients.csv").write_bytes("Наименование;ИНН\n".encode())
        yield app


@pytest.fixture
def empty_target(backend, tmp_path):
    """A URL of an empty database (a new SQLite file; a new PostgreSQL database)."""
    if backend == "sqlite":
        yield "sqlite:///" + str(tmp_path / "restored.sqlite3"), None
        return
    name = f"restore_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}", name
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def _schema_of(app) -> str | None:
    url = app.config["DATABASE_URL"]
    return url.split("search_path%3D", 1)[1] if "search_path%3D" in url else None


def test_a_backup_restores_into_an_empty_database_with_equal_counts_and_hashes(
    source, empty_target, tmp_path
):
    runner = source.test_cli_runner()
    result = runner.invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert result.exit_code == 0, result.output
    archive = next((tmp_path / "backups").glob("backup-*.tar.gz"))
    engine = source.extensions["erp_db"].engine
    counts, hashes = table_counts(engine), document_hashes(engine)
    assert counts["documents"] == 3 and len(hashes) >= 3 and counts["alembic_version"] == 1

    url, _ = empty_target
    schema = _schema_of(source)
    if schema:  # the dump keeps the source's schema: the restored app looks there too
        url = f"{url}?options=-csearch_path%3D{schema}"
    target = make_test_app(url, tmp_path / "dst")
    restored = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert "SHA-256 всех" in restored.output
    restored_engine = target.extensions["erp_db"].engine
    assert table_counts(restored_engine) == counts
    assert document_hashes(restored_engine) == hashes
    with target.app_context(), db.job_session() as session:
        assert session.scalar(select(User.username).where(User.username == "backupboss"))
        stored = dict(session.execute(select_files()).all())
    assert {str(k): v for k, v in stored.items()} == hashes  # the stored hash = the bytes' hash
    copied = tmp_path / "dst" / "storage" / "imports" / "clients.csv"
    assert copied.read_bytes() == "Наименование;ИНН\n".encode()

    again = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert again.exit_code != 0 and "только в пустую базу данных" in again.output
    restored_engine.dispose()


def select_files():
    from erp_crm.sales_documents.models import DocumentFile

    return select(DocumentFile.id, DocumentFile.sha256)


def test_a_corrupted_archive_is_refused_and_nothing_is_restored(source, empty_target, tmp_path):
    runner = source.test_cli_runner()
    assert runner.invoke(args=["backup", "--to", str(tmp_path / "b")]).exit_code == 0
    archive = next((tmp_path / "b").glob("backup-*.tar.gz"))
    data = bytearray(archive.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(b ^ 0xFF for b in data[middle : middle + 64])
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(bytes(data))
    url, _ = empty_target
    target = make_test_app(url, tmp_path / "dst")
    result = target.test_cli_runner().invoke(args=["restore", str(broken)])
    assert result.exit_code != 0
    assert "Архив повреждён" in result.output
    assert table_counts(target.extensions["erp_db"].engine) == {}
    not_an_archive = tmp_path / "note.tar.gz"
    not_an_archive.write_text("просто текст")
    result = target.test_cli_runner().invoke(args=["restore", str(not_an_archive)])
    assert result.exit_code != 0 and "Архив повреждён" in result.output
    assert (
        hashlib.sha256(bytes(data)).hexdigest() != hashlib.sha256(archive.read_bytes()).hexdigest()
    )
    target.extensions["erp_db"].engine.dispose()


def test_the_periodic_backup_keeps_the_newest_archives(source, tmp_path):
    from erp_crm.backup.jobs import backup_now

    source.config["BACKUP_PATH"] = tmp_path / "periodic"
    source.config["BACKUP_KEEP"] = 2
    with source.app_context():
        made = [backup_now() for _ in range(3)]
    left = sorted((tmp_path / "periodic").glob("backup-*.tar.gz"))
    assert left == sorted(made[1:])
