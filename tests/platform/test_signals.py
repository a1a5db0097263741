"""The cross-area signals: connected when the areas are imported, not by create_app."""

from __future__ import annotations

import json
import subprocess
import sys

from erp_crm import signals
from erp_crm.deals import services as deal_services

EXPECTED = {
    "client_timeline": {
        "erp_crm.deals.receivers:deal_events",
        "erp_crm.sales_documents.receivers:document_events",
        "erp_crm.billing.receivers:payment_events",
        "erp_crm.activities.receivers:activity_events",
        "erp_crm.mailing.receivers:sent_mail_events",
    },
    "deal_next_contact_set": {"erp_crm.activities.receivers:plan_next_contact"},
    "deal_next_contacts": {"erp_crm.activities.receivers:next_contacts_of_deals"},
    "deal_card_sections": {
        "erp_crm.activities.receivers:deal_activities_block",
        "erp_crm.mailing.receivers:deal_mail_block",
    },
    "client_card_sections": {
        "erp_crm.deals.receivers:deals_block",
        "erp_crm.activities.receivers:activities_block",
        "erp_crm.mailing.receivers:postal_block",
    },
    "client_sales": {"erp_crm.deals.receivers:sales_of_clients"},
    "client_project_condition": {"erp_crm.deals.receivers:took_part_in_project"},
    "clients_reassigned": {
        "erp_crm.deals.receivers:move_open_deals",
        "erp_crm.activities.receivers:move_planned_contacts",
        "erp_crm.billing.receivers:move_receivable_deals",
    },
    "document_issued": {"erp_crm.integration.receivers:on_issued"},
    "document_cancelled": {"erp_crm.integration.receivers:on_cancelled"},
    "budget_approved": {"erp_crm.integration.receivers:on_budget_approved"},
    "budget_exchange_state": {"erp_crm.integration.receivers:budget_state"},
    "document_cancel_refusal": {"erp_crm.billing.receivers:refuse_cancel_when_paid"},
    "document_payment_orders": {"erp_crm.billing.receivers:payment_documents"},
    "invoice_payment_states": {"erp_crm.billing.receivers:invoice_states"},
    "first_payment_received": {"erp_crm.billing.receivers:move_deal_on_first_payment"},
    "stand_deal_condition": {"erp_crm.deals.receivers:deal_may_take_stand"},
    "stand_deal_facts": {"erp_crm.deals.receivers:deal_facts"},
    "project_won_sellers": {"erp_crm.deals.receivers:won_sellers"},
    "won_sales": {"erp_crm.deals.receivers:won_sales_rows"},
    "stand_exhibitors": {"erp_crm.deals.receivers:exhibitors_of_deals"},
    "project_payments": {"erp_crm.billing.receivers:project_paid_by_month"},
    "document_exchange_state": {"erp_crm.integration.receivers:document_state"},
    "deal_stage_changed": {"erp_crm.reports.receivers:record_stage_move"},
}

_PROBE = """
import json
import flask
made = []
flask.Flask.__init__ = lambda self, *a, **k: made.append(1)  # no app may be built
import erp_crm.models
from erp_crm import signals
print(json.dumps({
    "apps": len(made),
    "receivers": {
        name: sorted(signals.receiver_key(r) for r in getattr(signals, name).receivers_for(None))
        for name in %r
    },
}))
"""


def test_importing_the_models_connects_every_receiver_without_an_app() -> None:
    """A CLI command, a job or a script that only imports the app's models gets the same
    cross-area behaviour as a request: nothing is wired in create_app."""
    out = subprocess.run(  # noqa: S603 - our own interpreter and probe
        [sys.executable, "-c", _PROBE % sorted(EXPECTED)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    probe = json.loads(out.strip().splitlines()[-1])
    assert probe["apps"] == 0
    assert {name: set(keys) for name, keys in probe["receivers"].items()} == EXPECTED


def test_each_signal_has_its_receivers_once_in_the_test_process(app) -> None:
    for name, keys in EXPECTED.items():
        connected = [signals.receiver_key(r) for r in getattr(signals, name).receivers_for(None)]
        assert sorted(connected) == sorted(keys), name


def test_answers_skip_receivers_that_have_nothing_to_say() -> None:
    question = signals._namespace.signal("test-question")

    def says(_sender, **_):
        return "да"

    def silent(_sender, **_):
        return None

    with question.connected_to(says), question.connected_to(silent):
        assert signals.answers(question) == ["да"]
        assert signals.keyed_answers(question) == {signals.receiver_key(says): "да"}


def test_a_stage_move_and_a_new_deal_send_deal_stage_changed(db_session, make_user) -> None:
    from tests.fixtures.deals import make_client, make_project

    manager = make_user("sales_manager")
    project = make_project(db_session)
    client = make_client(db_session, manager)
    seen: list[tuple] = []

    def listen(deal, *, change, from_stage, to_stage, actor, **_):
        seen.append((deal.id, change.to_stage_id, from_stage, to_stage.id, actor.id))

    with signals.deal_stage_changed.connected_to(listen):
        deal = deal_services.create_deal(
            db_session,
            deal_services.DealData(client_id=client.id, project_id=project.id),
            actor=manager,
        )
        first = deal.stage
        second = sorted(deal.pipeline.stages, key=lambda s: s.percent)[1]
        deal_services.move_to_stage(db_session, deal, second, actor=manager)
        deal_services.move_to_stage(db_session, deal, second, actor=manager)  # no move
    assert seen == [
        (deal.id, first.id, None, first.id, manager.id),
        (deal.id, second.id, first, second.id, manager.id),
    ]


def test_projects_never_import_deals_even_inside_functions() -> None:
    """Dependency direction: deals use projects, never the other way (function bodies too)."""
    import ast
    from pathlib import Path

    import erp_crm.projects

    root = Path(erp_crm.projects.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                names = [module] + [f"{module}.{alias.name}" for alias in node.names]
            else:
                continue
            if any(n == "erp_crm.deals" or n.startswith("erp_crm.deals.") for n in names):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
