"""Fixtures: every database test runs on SQLite and on PostgreSQL (when reachable; required on CI).

The schema is built by the Alembic migrations, once per backend and run, in a database of its own
(a temp SQLite file; a fresh PostgreSQL schema), so two runs never collide. Each test runs inside
an outer transaction that is rolled back; the app's sessions join it through SAVEPOINTs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import flask_migrate
import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from erp_crm.auth import services as auth_services
from erp_crm.auth.models import User
from erp_crm.config import normalize_database_url
from erp_crm.db import Base, make_engine, set_actor
from tests.fixtures.app import PASSWORD, PG_URL, Client, make_test_app

# Shared fixtures of an area (the `world` of the activities tests) live in fixture modules.
pytest_plugins = [
    "tests.fixtures.activities",
    "tests.fixtures.mailing",
    "tests.fixtures.reports",
]


def _postgres_required() -> bool:
    return bool(os.environ.get("CI") or os.environ.get("TEST_REQUIRE_POSTGRES"))


def _postgres_reachable() -> str | None:
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as err:
        return str(err)
    return None


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if request.param == "sqlite":
        yield "sqlite:///" + str(tmp_path_factory.mktemp("sqlite") / "test.sqlite3")
        return
    problem = _postgres_reachable()
    if problem:
        message = f"PostgreSQL at {PG_URL} is unreachable: {problem}"
        if _postgres_required():
            pytest.fail(message)
        pytest.skip(message)
    schema = f"test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = make_test_app(database_url, tmp_path_factory.mktemp("instance"))
    with app.app_context():
        flask_migrate.upgrade()
    yield app
    app.extensions["erp_db"].engine.dispose()


@pytest.fixture
def backend(app: Flask) -> str:
    return app.extensions["erp_db"].engine.dialect.name


@pytest.fixture
def db_session(app: Flask) -> Iterator[Session]:
    """A session inside the test's outer transaction; requests made meanwhile join it too."""
    state = app.extensions["erp_db"]
    connection = state.engine.connect()
    outer = connection.begin()
    state.bind_override = connection
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    set_actor(session, None)
    try:
        yield session
    finally:
        session.close()
        state.bind_override = None
        outer.rollback()
        connection.close()


@pytest.fixture
def client(app: Flask, db_session: Session) -> FlaskClient:
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def make_user(db_session: Session):
    """Create users through the service; password PASSWORD unless given."""
    counter = iter(range(1, 10_000))

    def factory(role: str = "sales_manager", username: str | None = None, **kwargs) -> User:
        name = username or f"{role.replace('_', '')}{next(counter)}"
        user = auth_services.create_user(
            db_session,
            auth_services.UserData(
                username=name,
                full_name=kwargs.pop("full_name", f"Тестовый {name}"),
                role=role,
                password=kwargs.pop("password", PASSWORD),
                **kwargs,
            ),
            actor=None,
        )
        db_session.commit()
        return user

    return factory


@pytest.fixture
def api_token(client: Client):
    def issue(username: str, password: str = PASSWORD) -> dict[str, str]:
        response = client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        )
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['token']}"}

    return issue


@pytest.fixture
def count_rows(db_session: Session):
    def count(table: str) -> int:
        return db_session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608

    return count


@pytest.fixture
def runner_factory(app: Flask, db_session: Session):
    """Flask CLI runner; commands' job sessions join the test transaction."""
    return app.test_cli_runner


@pytest.fixture
def race_engine(backend, tmp_path):
    """A database of its own (a fresh PostgreSQL schema, a SQLite file): the threads commit for
    real, so nothing here may live in the test's rolled-back transaction."""
    if backend == "postgresql":
        schema = f"race_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        separator = "&" if "?" in PG_URL else "?"
        engine = make_engine(
            normalize_database_url(f"{PG_URL}{separator}options=-csearch_path%3D{schema}")
        )
    else:
        engine = make_engine("sqlite:///" + str(tmp_path / "race.sqlite3"))
    try:
        Base.metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        if backend == "postgresql":
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="module")
def memo_password_hashing():
    """For modules that log a fresh user in on every one of hundreds of cases and test nothing of
    the passwords (tests/api/test_body_types.py): argon2 hashes the tests' password once and checks
    each (hash, password) pair once per module; the answers are argon2's own, only not recomputed
    (~45 ms a case). The password tests (tests/auth/) keep the real hasher."""
    from erp_crm.auth import services as auth_services

    real = auth_services._hasher
    hashes: dict[str, str] = {}
    checks: dict[tuple[str, str], bool | BaseException] = {}

    class MemoHasher:
        def hash(self, password: str) -> str:
            if password not in hashes:
                hashes[password] = real.hash(password)
            return hashes[password]

        def verify(self, password_hash: str, password: str) -> bool:
            key = (password_hash, password)
            if key not in checks:
                try:
                    checks[key] = real.verify(password_hash, password)
                except Exception as err:  # noqa: BLE001 - argon2's refusal, raised again below
                    checks[key] = err
            if isinstance(checks[key], BaseException):
                raise checks[key]
            return checks[key]

        def check_needs_rehash(self, password_hash: str) -> bool:
            return real.check_needs_rehash(password_hash)

    auth_services._hasher = MemoHasher()
    try:
        yield
    finally:
        auth_services._hasher = real
