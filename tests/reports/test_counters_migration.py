"""Migration 0020's back-fill of the report counters on a real database, through Flask-Migrate:
it runs with the app's code only once the schema is at head (migrations/env.py, AT_HEAD), so an
upgrade that stops short of head leaves the counters to `flask reports rebuild-counters`."""

from __future__ import annotations

import flask_migrate
import pytest
from sqlalchemy import delete, inspect, select

from erp_crm.db import db, set_actor
from erp_crm.reports import counters
from erp_crm.reports.models import ReportCounter
from tests.fixtures.deals import make_client, make_project
from tests.fixtures.documents import make_deal, sell
from tests.fixtures.jobs_live import head_of_sales, migrated_app

BEFORE_COUNTERS = "0017_net_prices"


def _counters(app) -> list[tuple]:
    with db.job_session(app) as session:
        c = ReportCounter
        return [
            tuple(r)
            for r in session.execute(
                select(*[getattr(c, k) for k in counters.COLUMNS]).order_by(
                    c.kind, c.month, c.manager_id, c.project_id, c.type_id
                )
            )
        ]


@pytest.fixture
def migrated(backend, tmp_path):
    """A fresh database at head with a sold deal (its counters kept live) and its app."""
    with migrated_app(backend, tmp_path) as app:
        with db.job_session(app) as session:
            set_actor(session, None)
            boss = head_of_sales(session, "countboss")
            project = make_project(session, code="CNT", name="Счёт-Экспо", stands=2)
            for i, inn in enumerate(["7707083893", "7710140679"]):
                client = make_client(session, boss, name=f"ООО «Счёт {i}»", inn=inn)
                deal = make_deal(session, boss, project=project, client=client, stand_no=i)
                if i == 0:
                    sell(session, deal, boss)
            counters.refresh(session)
        yield app


def test_downgrade_and_upgrade_to_head_back_fills_the_live_counters(migrated):
    live = _counters(migrated)
    assert live, "the sold deal and its planned contact are counted"
    with migrated.app_context():
        flask_migrate.downgrade(revision=BEFORE_COUNTERS)
        assert "report_counters" not in inspect(db.engine).get_table_names()
        flask_migrate.upgrade()
    assert _counters(migrated) == live


def test_upgrade_short_of_head_leaves_the_back_fill_to_the_command(migrated, capfd):
    live = _counters(migrated)
    with migrated.app_context():
        flask_migrate.downgrade(revision=BEFORE_COUNTERS)
        capfd.readouterr()
        flask_migrate.upgrade(revision="0020_report_counters")
        # alembic.ini's logging writes to stderr (env.py's fileConfig replaces pytest's handler)
        warning = capfd.readouterr().err
        assert "Not at head" in warning and "erp_crm.reports.counters:rebuild" in warning
        flask_migrate.upgrade()  # the remaining step alone does not run 0020's task
    assert _counters(migrated) == []
    result = migrated.test_cli_runner().invoke(args=["reports", "rebuild-counters"])
    assert result.exit_code == 0, result.output
    assert f"пересчитаны: {len(live)} строк" in result.output
    assert _counters(migrated) == live


def test_the_command_rebuilds_counters_lost_to_a_bulk_load(migrated):
    live = _counters(migrated)
    with db.job_session(migrated) as session:
        session.execute(delete(ReportCounter))
    result = migrated.test_cli_runner().invoke(args=["reports", "rebuild-counters"])
    assert result.exit_code == 0, result.output
    assert _counters(migrated) == live
