"""Alembic environment: the app's engine and the metadata of every model."""

import importlib
import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

import erp_crm.models  # noqa: F401  (registers every table on the metadata)
from erp_crm.db import Base, UTCDateTime, include_object

config = context.config
if config.config_file_name and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")
target_metadata = Base.metadata


def _engine():
    return current_app.extensions["erp_db"].engine


def render_item(type_, obj, autogen_context):
    """Write the app's column types as plain SQLAlchemy types: migrations never import the app."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


class AtHeadTasks:
    """Data steps that need the app's code, run once the schema stands at head.

    A migration that back-fills with the app's own functions (the report counters' `rebuild`)
    does not import them: those functions read the models of the newest code, which may name
    columns a later migration adds. It declares `AT_HEAD = ("package.module:function", ...)`;
    each function is called with the connection after the last migration, in the same
    transaction. Upgraded to an older revision, the tasks are not run and the log names them.
    """

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.heads: set[str] = set()

    def on_version_apply(self, ctx, step, heads, run_args) -> None:
        self.heads = set(heads)
        if step.is_upgrade and step.is_migration:
            for task in getattr(step.up_revision.module, "AT_HEAD", ()):
                if task not in self.pending:
                    self.pending.append(task)

    def run(self, connection) -> None:
        if not self.pending:
            return
        if self.heads != set(context.script.get_heads()):
            logger.warning(
                "Not at head: run later, at head, %s (flask reports rebuild-counters).",
                ", ".join(self.pending),
            )
            return
        for task in self.pending:
            module, _, name = task.partition(":")
            logger.info("Running %s at head", task)
            getattr(importlib.import_module(module), name)(connection)


def run_migrations_offline() -> None:
    context.configure(
        url=_engine().url.render_as_string(hide_password=False),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def process_revision_directives(_context, _revision, directives):
        # `flask db migrate` with no model changes writes no empty revision.
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", process_revision_directives)
    conf_args.setdefault("compare_type", True)
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("include_object", include_object)
    at_head = AtHeadTasks()
    conf_args.setdefault("on_version_apply", [at_head.on_version_apply])
    with _engine().connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, **conf_args)
        with context.begin_transaction():
            context.run_migrations()
            at_head.run(connection)
        # Without transactional DDL (SQLite) each migration committed on its own and the outer
        # block above is no transaction: the tasks' writes are committed here.
        if connection.in_transaction():
            connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
