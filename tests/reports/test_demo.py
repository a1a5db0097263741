"""The demo data gives the reports a believable season: the ledger carries the deals demo's
back-dated stage moments, and every report page renders for the demo people."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from erp_crm.deals.models import DealStageChange
from erp_crm.demo import demo_password, load_demo
from erp_crm.reports.models import StageMove


@pytest.fixture
def demo(db_session):
    load_demo(db_session)
    db_session.flush()


def test_the_demo_ledger_has_every_stage_change_at_its_moment(demo, db_session):
    changes = dict(db_session.execute(select(DealStageChange.id, DealStageChange.at)).all())
    moves = dict(db_session.execute(select(StageMove.change_id, StageMove.at)).all())
    assert changes and set(moves) == set(changes)
    assert all(moves[k] == changes[k] for k in changes)
    assert (max(moves.values()) - min(moves.values())).days >= 10  # over the past months


def test_the_report_pages_render_on_the_demo_data(demo, app, client):
    from erp_crm.reports.views import bp  # noqa: F401 - the pages below are its

    pages = {
        "head": ["/", "/reports/department", "/reports/funnel", "/reports/market"],
        "manager1": ["/", "/reports/manager", "/reports/funnel"],
        "project": ["/", "/reports/"],
        "accountant": ["/"],
    }
    for username, paths in pages.items():
        browser = app.test_client() if username != "head" else client
        browser.login(username, demo_password(username))
        for path in paths:
            assert browser.get(path).status_code == 200, (username, path)
