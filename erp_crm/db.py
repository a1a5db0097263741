"""Database plumbing: the declarative base, shared column types and the per-app session.

Views use `db.session` (one per application context, committed once at the end of a request by
the `_commit` hook in `create_app`); services take a session argument and never commit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Annotated, Any, ClassVar, TypeVar

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import DateTime, MetaData, Numeric, String, create_engine, event, func
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Money = Annotated[Decimal, mapped_column(Numeric(14, 2))]
Str100 = Annotated[str, mapped_column(String(100))]
Str255 = Annotated[str, mapped_column(String(255))]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware timestamps on every backend (SQLite gives naive values back otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a timezone-aware column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: UTCDateTime(),
        Decimal: Numeric(14, 2),
    }


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class Audited:
    """Mixin: every insert, update and delete of the class is written to the audit log.

    Only the opt-in and its settings live here, below every area (auth included): the writer
    that reads them is `erp_crm/audit/services.py`, which listens to every session's flush, so a
    model is audited without its area importing the audit package.

    `__audit_exclude__` names attributes left out of the log entirely (technical counters),
    `__audit_secret__` those whose change is logged as "***" without the value (and
    `__audit_secret_texts__` what the pages say of one: {column: (when set, when changed)}),
    `__audit_view_permission__` is the permission needed to read a record's history,
    `__audit_title__` the record's kind in Russian; `__audit_labels__` (column → Russian name) and
    `__audit_values__` (column → {code: label}) are the model's own words on the history pages.
    """

    __audit_exclude__: ClassVar[frozenset[str]] = frozenset()
    __audit_secret__: ClassVar[frozenset[str]] = frozenset()
    __audit_secret_texts__: ClassVar[dict[str, tuple[str, str]]] = {}
    __audit_view_permission__: ClassVar[Any] = None
    __audit_title__: ClassVar[str] = ""

    def audit_label(self) -> str:
        return str(getattr(self, "id", ""))

    def audit_extra(self) -> dict[str, Any]:
        """Values beyond the columns that belong in the record's snapshot (e.g. child rows)."""
        return {}


def set_actor(session: Session, actor: Any | None) -> None:
    """Attribute the session's changes to `actor` (a user or None for the system).

    The audit writer reads `session.info["actor_id"]`; CLI commands, jobs and tests set it here."""
    session.info["actor_id"] = getattr(actor, "id", None)


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL, a busy timeout, and transactions SQLAlchemy really controls.

    pysqlite's own implicit BEGIN breaks SAVEPOINTs; we switch it off and emit BEGIN ourselves
    (the recipe from SQLAlchemy's pysqlite documentation).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's filter: PostgreSQL-only trigram indexes (`*_trgm`) live in migrations only."""
    return not (type_ == "index" and name is not None and name.endswith("_trgm"))


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


class Database:
    """Holds the engine of the current app and hands out one session per app context.

    Tests may set `bind_override` to a connection inside an outer transaction; sessions then join
    it through SAVEPOINTs, so every test is rolled back.
    """

    def __init__(self) -> None:
        self.metadata = Base.metadata  # Flask-Migrate reads this

    def init_app(self, app: Flask) -> None:
        state = _DbState(make_engine(app.config["DATABASE_URL"]))
        app.extensions["erp_db"] = state

        @app.teardown_appcontext
        def _close_session(_exc: BaseException | None) -> None:
            session = g.pop("_db_session", None)
            if session is not None:
                session.close()

    @staticmethod
    def state(app: Flask | None = None) -> _DbState:
        return (app or current_app).extensions["erp_db"]

    @property
    def engine(self) -> Engine:
        return self.state().engine

    def get_engine(self) -> Engine:  # Flask-Migrate's env.py calls this
        return self.engine

    @property
    def session(self) -> Session:
        session = g.get("_db_session")
        if session is None:
            session = self.state().new_session(write=_is_write_request())
            g._db_session = session
        return session

    @contextmanager
    def job_session(self, app: Flask | None = None, *, write: bool = False) -> Iterator[Session]:
        """A session for CLI commands and workers: commits on success, rolls back on error.

        `write=True` for a session that will change data: on SQLite it begins with the write
        lock (see take_write_lock), so it waits for another writer instead of failing with
        «database is locked» when it reads first and writes later.
        """
        session = self.state(app).new_session()
        if write:
            take_write_lock(session)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


class _DbState:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.bind_override: Connection | None = None

    def new_session(self, *, write: bool = False) -> Session:
        if self.bind_override is not None:
            return Session(
                bind=self.bind_override,
                join_transaction_mode="create_savepoint",
                expire_on_commit=False,
            )
        engine = self.engine
        if write and engine.dialect.name == "sqlite":
            # A request that changes data takes SQLite's write lock at BEGIN: a deferred
            # transaction that read first and writes later fails with SQLITE_BUSY when another
            # writer committed in between (busy_timeout cannot help that upgrade).
            engine = engine.execution_options(sqlite_begin="IMMEDIATE")
        return Session(bind=engine, expire_on_commit=False)


def take_write_lock(session: Session) -> None:
    """On SQLite, begin the session's transaction with BEGIN IMMEDIATE (the write lock at once,
    not halfway through, when another writer may have committed). No-op on PostgreSQL. Call it
    before the session's first statement."""
    bind = session.get_bind()
    if isinstance(bind, Engine) and bind.dialect.name == "sqlite":
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def _is_write_request() -> bool:
    if not has_request_context():
        return False
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "writes_on_get", False))


F = TypeVar("F", bound=Callable[..., Any])


def writes_on_get(view: F) -> F:
    """Mark a GET view that writes (an export's audit row, a preview's mark): its request takes
    SQLite's write lock at BEGIN like a POST, instead of failing with «database is locked» when
    it upgrades a read transaction while others write. Put it under the route decorator."""
    view.writes_on_get = True  # type: ignore[attr-defined]
    return view


db = Database()


# Ids are INTEGER columns: 32 bits on PostgreSQL. A bigger number in a link or a body names no
# record (PostgreSQL would refuse to compare it, SQLite to bind it).
MAX_ID = 2**31 - 1


def column_length(column: Any) -> int | None:
    """The String length of a model column (`Client.__table__.c.name` or `Client.name`), None
    for Text: forms, services and the API take their limits from here, never copy them."""
    column = getattr(column, "expression", column)  # an ORM attribute → its Column
    return getattr(column.type, "length", None)
